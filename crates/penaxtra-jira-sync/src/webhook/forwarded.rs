//! Which address a delivery came from: the peer, or, behind trusted
//! proxies, the right-most untrusted address of `X-Forwarded-For`.

use super::allowlist::contains_any;
use ipnet::IpNet;
use std::net::{IpAddr, SocketAddr};

/// Why the source address could not be determined.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum ForwardedError {
    /// An entry of `X-Forwarded-For` is not an address (e.g. `unknown`).
    Unparsable,
}

/// Resolves the source address of a request.
///
/// `X-Forwarded-For` is honoured only when the peer itself is a trusted
/// proxy: the list is then read right to left, skipping trusted proxies,
/// and the first untrusted address is the source (anything to its left was
/// written by the sender and cannot be believed). When every entry is a
/// trusted proxy, the left-most one is the source; when the header is
/// absent or blank, the peer is. An entry that is not an address makes the
/// source unknown, which the gate treats as not allowed.
pub(super) fn source_address(
    peer: IpAddr,
    forwarded_for: Option<&str>,
    trusted_proxies: &[IpNet],
) -> Result<IpAddr, ForwardedError> {
    let peer = peer.to_canonical();
    if !contains_any(trusted_proxies, peer) {
        return Ok(peer);
    }
    let Some(header) = forwarded_for.filter(|h| !h.trim().is_empty()) else {
        return Ok(peer);
    };
    let mut source = peer;
    for entry in header.rsplit(',') {
        source = parse_entry(entry)
            .ok_or(ForwardedError::Unparsable)?
            .to_canonical();
        if !contains_any(trusted_proxies, source) {
            return Ok(source);
        }
    }
    Ok(source)
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
            source_address(ip("10.0.0.2"), Some("10.1.1.1, 10.2.2.2"), &trusted),
            Ok(ip("10.1.1.1"))
        );
        assert_eq!(
            source_address(ip("10.0.0.2"), Some("   "), &trusted),
            Ok(ip("10.0.0.2"))
        );
        assert_eq!(
            source_address(ip("10.0.0.2"), Some("192.0.2.1, unknown"), &trusted),
            Err(ForwardedError::Unparsable)
        );
    }
}
