//! Which address a delivery came from: the peer, or, behind trusted
//! proxies, the right-most untrusted address of `X-Forwarded-For`.

use super::allowlist::contains_any;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// Why the source address could not be determined: the request came
/// through a trusted proxy, but `X-Forwarded-For` names no client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ForwardedError {
    /// The header is absent or blank: the proxy did not say who its client
    /// was, and the proxy itself is not the sender.
    Missing,
    /// An entry of `X-Forwarded-For` is not an address (e.g. `unknown`).
    Unparsable,
    /// Every entry is a trusted proxy: no hop names the client.
    OnlyTrustedProxies,
}

impl ForwardedError {
    /// A fixed description for the log (never the header's value).
    pub(super) fn as_str(self) -> &'static str {
        match self {
            Self::Missing => "request from a trusted proxy without X-Forwarded-For",
            Self::Unparsable => {
                "X-Forwarded-For from a trusted proxy holds an entry that is not an address"
            }
            Self::OnlyTrustedProxies => {
                "X-Forwarded-For from a trusted proxy names only trusted proxies"
            }
        }
    }
}

/// Resolves the source address of a request.
///
/// `X-Forwarded-For` is honoured only when the peer itself is a trusted
/// proxy: the list is then read right to left, skipping trusted proxies,
/// and the first untrusted address is the source (anything to its left was
/// written by the sender and cannot be believed). A request from a trusted
/// proxy must name its client: when the header is absent or blank, holds an
/// entry that is not an address, or lists only trusted proxies, the source
/// is unknown and the gate refuses the request. Falling back to the proxy's
/// own address would let anything the proxy forwards pass as the proxy.
pub(super) fn source_address(
    peer: IpAddr,
    forwarded_for: Option<&str>,
    trusted_proxies: &[IpNet],
) -> Result<IpAddr, ForwardedError> {
    let peer = peer.to_canonical();
    if !contains_any(trusted_proxies, peer) {
        return Ok(peer);
    }
    let header = forwarded_for
        .filter(|h| !h.trim().is_empty())
        .ok_or(ForwardedError::Missing)?;
    for entry in header.rsplit(',') {
        let source = parse_entry(entry)
            .ok_or(ForwardedError::Unparsable)?
            .to_canonical();
        if !contains_any(trusted_proxies, source) {
            return Ok(source);
        }
    }
    Err(ForwardedError::OnlyTrustedProxies)
}

/// One `X-Forwarded-For` entry: an address, optionally with a port
/// (`192.0.2.1:443`, `[2001:db8::1]:443`) or in brackets.
fn parse_entry(entry: &str) -> Option<IpAddr> {
    let entry = entry.trim();
    if let Ok(addr) = entry.parse::<IpAddr>() {
        return Some(addr);
    }
    if let Ok(sock) = entry.parse::<SocketAddr>() {
        return Some(sock.ip());
    }
    entry
        .strip_prefix('[')
        .and_then(|e| e.strip_suffix(']'))
        .and_then(|e| e.parse::<IpAddr>().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }
    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn entries_with_ports_and_brackets() {
        assert_eq!(parse_entry(" 192.0.2.1 "), Some(ip("192.0.2.1")));
        assert_eq!(parse_entry("192.0.2.1:8443"), Some(ip("192.0.2.1")));
        assert_eq!(parse_entry("[2001:db8::1]:443"), Some(ip("2001:db8::1")));
        assert_eq!(parse_entry("[2001:db8::1]"), Some(ip("2001:db8::1")));
        assert_eq!(parse_entry("unknown"), None);
        assert_eq!(parse_entry(""), None);
    }

    #[test]
    fn header_ignored_from_untrusted_peer() {
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            source_address(ip("203.0.113.5"), Some("192.0.2.1"), &trusted),
            Ok(ip("203.0.113.5"))
        );
    }

    #[test]
    fn right_most_untrusted_wins() {
        let trusted = nets(&["10.0.0.0/8", "fd00::/8"]);
        assert_eq!(
            source_address(
                ip("10.0.0.2"),
                Some("198.51.100.9, 192.0.2.1, fd00::3"),
                &trusted
            ),
            Ok(ip("192.0.2.1"))
        );
        assert_eq!(
            source_address(ip("10.0.0.2"), Some("192.0.2.1, unknown"), &trusted),
            Err(ForwardedError::Unparsable)
        );
    }

    #[test]
    fn a_trusted_proxy_that_names_no_client_is_refused() {
        let trusted = nets(&["10.0.0.0/8", "fd00::/8"]);
        let proxy = ip("10.0.0.2");
        // Never the proxy's own address: that would fail open.
        for blank in [None, Some(""), Some("   "), Some(" \t ")] {
            assert_eq!(
                source_address(proxy, blank, &trusted),
                Err(ForwardedError::Missing),
                "{blank:?}"
            );
        }
        for only_proxies in ["10.1.1.1, 10.2.2.2", "10.0.0.2", "fd00::3, 10.9.9.9:80"] {
            assert_eq!(
                source_address(proxy, Some(only_proxies), &trusted),
                Err(ForwardedError::OnlyTrustedProxies),
                "{only_proxies}"
            );
        }
        for junk in ["unknown", ",", "unknown, 10.1.1.1", "192.0.2.1,"] {
            assert_eq!(
                source_address(proxy, Some(junk), &trusted),
                Err(ForwardedError::Unparsable),
                "{junk}"
            );
        }
        // An IPv4-mapped proxy address is still the proxy.
        assert_eq!(
            source_address(ip("::ffff:10.0.0.2"), Some(""), &trusted),
            Err(ForwardedError::Missing)
        );
        // A peer that is not a trusted proxy is the source, header or not.
        assert_eq!(
            source_address(ip("192.0.2.9"), None, &trusted),
            Ok(ip("192.0.2.9"))
        );
    }
}
