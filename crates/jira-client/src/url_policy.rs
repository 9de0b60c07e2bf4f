//! The operator's URL policy: which Jira base URLs, and which addresses, a
//! client may reach.
//!
//! A tenant types its own Jira base URL; the operator decides where such a
//! URL may lead. The policy is checked twice:
//!
//! 1. when the client is built, on the URL itself: the scheme, the host of a
//!    Cloud site, and a host written as an IP address (reqwest never asks a
//!    resolver about those);
//! 2. at every connection, on the addresses a host name resolves to
//!    ([`PolicyResolver`]): if any of them is refused, nothing is connected
//!    to, so a name that resolves inward (`localhost`, an `/etc/hosts`
//!    entry, DNS rebinding) is refused before a byte is sent.
//!
//! The client never uses a proxy (not even `HTTPS_PROXY` from the
//! environment), since a proxy resolves and connects on the client's behalf
//! and would make the second check moot; redirects to another origin are
//! never followed.

use crate::{Error, ErrorKind};
use jira_model::Flavor;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::str::FromStr;
use std::sync::Arc;
use url::{Host, Url};

/// The hosts Jira Cloud sites live under (the host itself or any name under
/// it), and Atlassian's API gateway used with scoped tokens.
const CLOUD_SUFFIXES: [&str; 2] = ["atlassian.net", "jira.com"];
const CLOUD_GATEWAY: &str = "api.atlassian.com";
/// Atlassian's OAuth 2.0 authorization server (Cloud token endpoint).
const CLOUD_AUTH: &str = "auth.atlassian.com";

/// Where a client may connect: set by the operator, never by a tenant.
///
/// The default is strict:
///
/// | | allowed |
/// |---|---|
/// | scheme | `https` only |
/// | Jira Cloud host | `atlassian.net`, `jira.com` or a name under them; `api.atlassian.com` |
/// | addresses | public unicast only: no loopback, private (RFC 1918), link-local, shared (100.64/10), unique-local (fc00::/7), unspecified, multicast, broadcast, documentation or reserved address, also when written as IPv4-mapped, IPv4-compatible, NAT64 (64:ff9b::/96) or 6to4 IPv6 |
///
/// The operator relaxes it with [`UrlPolicy::allow_cidr`] (a private range
/// where a Data Center Jira lives) and [`UrlPolicy::allow_loopback`] (the
/// simulator and tests).
///
/// ```
/// use jira_client::UrlPolicy;
/// use std::net::IpAddr;
///
/// let strict = UrlPolicy::default();
/// assert!(!strict.allows("10.1.2.3".parse::<IpAddr>()?));
/// assert!(!strict.allows("::ffff:127.0.0.1".parse::<IpAddr>()?));
/// let corp = UrlPolicy::default().allow_cidr("10.0.0.0/8")?;
/// assert!(corp.allows("10.1.2.3".parse::<IpAddr>()?));
/// assert!(!corp.allows("127.0.0.1".parse::<IpAddr>()?));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UrlPolicy {
    loopback: bool,
    ranges: Vec<Cidr>,
}

impl UrlPolicy {
    /// The strict policy (the same as [`UrlPolicy::default`]).
    pub fn strict() -> Self {
        Self::default()
    }

    /// Also allows loopback addresses (127.0.0.0/8, `::1`, and names that
    /// resolve only to them, such as `localhost`), over `http` too, and
    /// for either flavor: the simulator serves Jira Cloud on 127.0.0.1.
    /// Meant for the simulator and tests; a multi-tenant service must not
    /// set it, or a tenant reaches the service's own sidecars.
    pub fn allow_loopback(mut self) -> Self {
        self.loopback = true;
        self
    }

    /// Also allows the non-public addresses in `cidr` (e.g. `"10.0.0.0/8"`
    /// or `"fd00:1234::/32"`) for Data Center. Loopback, unspecified,
    /// multicast and broadcast addresses stay refused whatever the range;
    /// Cloud hosts stay Atlassian's.
    ///
    /// # Errors
    /// [`CidrError`] when `cidr` is not `address/prefix`, the prefix is too
    /// long for the address, or the address has bits set past the prefix.
    pub fn allow_cidr(self, cidr: &str) -> Result<Self, CidrError> {
        Ok(self.allow_range(cidr.parse()?))
    }

    /// Like [`UrlPolicy::allow_cidr`], with a range already parsed.
    pub fn allow_range(mut self, range: Cidr) -> Self {
        if !self.ranges.contains(&range) {
            self.ranges.push(range);
        }
        self
    }

    /// Whether loopback is allowed.
    pub fn allows_loopback(&self) -> bool {
        self.loopback
    }

    /// The non-public ranges the operator allowed.
    pub fn allowed_ranges(&self) -> &[Cidr] {
        &self.ranges
    }

    /// Whether a client may connect to `ip`.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let canonical = canonical(ip);
        match classify(canonical) {
            AddrClass::Public => true,
            AddrClass::Loopback => self.loopback,
            AddrClass::Unspecified | AddrClass::Multicast | AddrClass::Broadcast => false,
            _ => self
                .ranges
                .iter()
                .any(|r| r.contains(ip) || r.contains(canonical)),
        }
    }

    /// What the policy allows, for a message.
    fn describe(&self) -> String {
        let mut allowed = vec!["https to public addresses".to_string()];
        if self.loopback {
            allowed.push("loopback addresses (http too)".into());
        }
        if !self.ranges.is_empty() {
            let ranges: Vec<String> = self.ranges.iter().map(Cidr::to_string).collect();
            allowed.push(format!("the private ranges {}", ranges.join(", ")));
        }
        format!("the operator's URL policy allows {}", allowed.join(", "))
    }

    /// The check of a base URL when the client is built: the scheme, a
    /// Cloud host, and a host written as an address. Names are checked when
    /// they are resolved.
    pub(crate) fn check_url(&self, url: &Url, flavor: Flavor) -> Result<(), Refusal> {
        let (ip, name) = match url.host() {
            Some(Host::Ipv4(ip)) => (Some(IpAddr::V4(ip)), None),
            Some(Host::Ipv6(ip)) => (Some(IpAddr::V6(ip)), None),
            Some(Host::Domain(d)) => (None, Some(d.trim_end_matches('.').to_ascii_lowercase())),
            None => return Err(Refusal::new("the Jira base URL has no host".into())),
        };
        let shown = url.host_str().unwrap_or_default();
        let loopback_host = match (ip, &name) {
            (Some(ip), _) => classify(canonical(ip)) == AddrClass::Loopback,
            (None, Some(n)) => is_localhost_name(n),
            (None, None) => false,
        };
        if url.scheme() != "https" && !(self.loopback && loopback_host) {
            return Err(Refusal::new(format!(
                "{} is refused for {shown}: {}",
                url.scheme(),
                self.describe()
            )));
        }
        if flavor == Flavor::Cloud && !(self.loopback && loopback_host) {
            let atlassian = name.as_deref().is_some_and(is_cloud_host);
            if !atlassian {
                return Err(Refusal::new(format!(
                    "{shown} is not a Jira Cloud host: Jira Cloud sites live under atlassian.net or jira.com (or the API gateway {CLOUD_GATEWAY}); for a Jira of your own choose Data Center"
                )));
            }
        }
        if let Some(ip) = ip {
            self.check_ip(&format!("{shown} is"), ip)?;
        }
        Ok(())
    }

    /// The check of an OAuth token endpoint: like a base URL, and on Cloud
    /// Atlassian's authorization server `auth.atlassian.com` too.
    pub(crate) fn check_token_url(&self, url: &Url, flavor: Flavor) -> Result<(), Refusal> {
        let auth_server = url
            .host_str()
            .is_some_and(|h| h.trim_end_matches('.').eq_ignore_ascii_case(CLOUD_AUTH));
        if flavor == Flavor::Cloud && auth_server {
            return self.check_url(url, Flavor::DataCenter);
        }
        self.check_url(url, flavor)
    }

    /// `subject` names the address: `10.0.0.1 is` or
    /// `jira.example resolves to 10.0.0.1,`.
    fn check_ip(&self, subject: &str, ip: IpAddr) -> Result<(), Refusal> {
        if self.allows(ip) {
            return Ok(());
        }
        let what = classify(canonical(ip)).describe();
        let advice = match classify(canonical(ip)) {
            AddrClass::Loopback => "loopback is only for the simulator and tests",
            AddrClass::Unspecified | AddrClass::Multicast | AddrClass::Broadcast => {
                "no Jira can be reached there"
            }
            _ => "if your Jira lives in this range, ask your operator to list it",
        };
        Err(Refusal::new(format!(
            "{subject} {what}: {}; {advice}",
            self.describe()
        )))
    }

    /// The check at connect time: every address `host` resolved to must be
    /// allowed (and a `localhost` name must resolve to loopback only).
    pub(crate) fn check_resolved(&self, host: &str, addrs: &[SocketAddr]) -> Result<(), Refusal> {
        let name = host.trim_end_matches('.').to_ascii_lowercase();
        for addr in addrs {
            let ip = addr.ip();
            if is_localhost_name(&name) && classify(canonical(ip)) != AddrClass::Loopback {
                return Err(Refusal::new(format!(
                    "{host} resolves to {ip}, which is not a loopback address"
                )));
            }
            self.check_ip(&format!("{host} resolves to {ip},"), ip)?;
        }
        Ok(())
    }
}

fn is_localhost_name(name: &str) -> bool {
    name == "localhost" || name.ends_with(".localhost")
}

/// Whether `name` (lower case, no trailing dot) is a Jira Cloud host.
fn is_cloud_host(name: &str) -> bool {
    name == CLOUD_GATEWAY
        || CLOUD_SUFFIXES.iter().any(|suffix| {
            name == *suffix
                || name
                    .strip_suffix(suffix)
                    .is_some_and(|head| head.len() > 1 && head.ends_with('.'))
        })
}

/// A refusal by the policy. Travels through reqwest's error chain when the
/// resolver refuses, and becomes an [`Error`] of kind
/// [`ErrorKind::UrlRefused`].
#[derive(Debug, Clone)]
pub(crate) struct Refusal {
    message: String,
}

impl Refusal {
    fn new(message: String) -> Self {
        Self { message }
    }

    pub(crate) fn into_error(self) -> Error {
        Error::new(ErrorKind::UrlRefused, self.message)
    }

    /// The refusal somewhere in `error`'s source chain.
    pub(crate) fn find<'a>(error: &'a (dyn std::error::Error + 'static)) -> Option<&'a Refusal> {
        let mut next = Some(error);
        while let Some(e) = next {
            if let Some(r) = e.downcast_ref::<Refusal>() {
                return Some(r);
            }
            next = e.source();
        }
        None
    }
}

impl fmt::Display for Refusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Refusal {}

/// reqwest's resolver for a client: resolves with the system resolver
/// (`tokio::net::lookup_host`) and refuses the name when any address is
/// outside the policy, so reqwest connects to none of them.
#[derive(Debug, Clone)]
pub(crate) struct PolicyResolver {
    policy: Arc<UrlPolicy>,
}

impl PolicyResolver {
    pub(crate) fn new(policy: UrlPolicy) -> Self {
        Self {
            policy: Arc::new(policy),
        }
    }
}

impl reqwest::dns::Resolve for PolicyResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = Arc::clone(&self.policy);
        let host = name.as_str().to_string();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            policy.check_resolved(&host, &addrs)?;
            let addrs: reqwest::dns::Addrs = Box::new(addrs.into_iter());
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(addrs)
        })
    }
}

/// An address range, `address/prefix`: `10.0.0.0/8`, `fd00::/8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// The range of `network/prefix`.
    ///
    /// # Errors
    /// [`CidrError`] when the prefix is longer than the address or the
    /// address has bits set past it.
    pub fn new(network: IpAddr, prefix: u8) -> Result<Self, CidrError> {
        let max = max_prefix(network);
        if prefix > max {
            return Err(CidrError::PrefixTooLong { prefix, max });
        }
        let cidr = Self { network, prefix };
        let masked = cidr.masked(network);
        if masked != network {
            return Err(CidrError::HostBitsSet {
                network: Self {
                    network: masked,
                    prefix,
                }
                .to_string(),
            });
        }
        Ok(cidr)
    }

    /// The first address.
    pub fn network(&self) -> IpAddr {
        self.network
    }

    /// The prefix length.
    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` is in the range (an IPv4 address is never in an IPv6
    /// range, nor the reverse).
    pub fn contains(&self, ip: IpAddr) -> bool {
        std::mem::discriminant(&ip) == std::mem::discriminant(&self.network)
            && self.masked(ip) == self.network
    }

    fn masked(&self, ip: IpAddr) -> IpAddr {
        match ip {
            IpAddr::V4(v4) => {
                let mask = u32::MAX
                    .checked_shl(32 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask))
            }
            IpAddr::V6(v6) => {
                let mask = u128::MAX
                    .checked_shl(128 - u32::from(self.prefix))
                    .unwrap_or(0);
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
            }
        }
    }
}

fn max_prefix(ip: IpAddr) -> u8 {
    match ip {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    }
}

impl FromStr for Cidr {
    type Err = CidrError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let text = text.trim();
        let (addr, prefix) = text.split_once('/').ok_or(CidrError::Syntax)?;
        let network: IpAddr = addr.parse().map_err(|_| CidrError::Syntax)?;
        let prefix: u8 = if !prefix.is_empty() && prefix.bytes().all(|b| b.is_ascii_digit()) {
            prefix.parse().map_err(|_| CidrError::PrefixTooLong {
                prefix: u8::MAX,
                max: max_prefix(network),
            })?
        } else {
            return Err(CidrError::Syntax);
        };
        Self::new(network, prefix)
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

/// A range that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CidrError {
    /// Not `address/prefix`.
    #[error("not an address range: write it as address/prefix, e.g. 10.0.0.0/8")]
    Syntax,
    /// The prefix is longer than the address.
    #[error("the prefix /{prefix} is longer than the address (at most /{max})")]
    PrefixTooLong {
        /// The prefix given (255 when it did not fit a byte).
        prefix: u8,
        /// The longest prefix for this address family.
        max: u8,
    },
    /// The address has bits set past the prefix (`10.0.0.1/8`).
    #[error("the address has bits set past the prefix: did you mean {network}?")]
    HostBitsSet {
        /// The range meant, probably.
        network: String,
    },
}

/// What kind of address, for the decision and the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum AddrClass {
    Public,
    Loopback,
    Private,
    LinkLocal,
    Shared,
    UniqueLocal,
    Unspecified,
    Multicast,
    Broadcast,
    Documentation,
    Reserved,
}

impl AddrClass {
    fn describe(self) -> &'static str {
        match self {
            Self::Public => "a public address",
            Self::Loopback => "a loopback address",
            Self::Private => "a private address (RFC 1918)",
            Self::LinkLocal => "a link-local address (cloud metadata lives there)",
            Self::Shared => "a shared carrier-grade NAT address (100.64.0.0/10)",
            Self::UniqueLocal => "a unique-local IPv6 address (fc00::/7)",
            Self::Unspecified => "an unspecified or 'this network' address",
            Self::Multicast => "a multicast address",
            Self::Broadcast => "the broadcast address",
            Self::Documentation => "a documentation address",
            Self::Reserved => "a reserved or special-purpose address",
        }
    }
}

/// The address a connection to `ip` really reaches: the IPv4 address inside
/// an IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`), NAT64
/// (`64:ff9b::a.b.c.d`) or 6to4 (`2002:aabb:ccdd::`) IPv6 address; `ip`
/// itself otherwise.
fn canonical(ip: IpAddr) -> IpAddr {
    let IpAddr::V6(v6) = ip else {
        return ip;
    };
    let bits = u128::from(v6);
    let low32 = Ipv4Addr::from((bits & 0xffff_ffff) as u32);
    if let Some(v4) = v6.to_ipv4_mapped() {
        return IpAddr::V4(v4);
    }
    // IPv4-compatible (deprecated), but not :: and ::1.
    if bits >> 32 == 0 && bits > 1 {
        return IpAddr::V4(low32);
    }
    // NAT64 well-known prefix, 64:ff9b::/96.
    if bits >> 32 == 0x0064_ff9b_0000_0000_0000_0000 {
        return IpAddr::V4(low32);
    }
    // 6to4, 2002::/16: the IPv4 address is bits 16..48.
    if bits >> 112 == 0x2002 {
        return IpAddr::V4(Ipv4Addr::from(((bits >> 80) & 0xffff_ffff) as u32));
    }
    ip
}

fn in4(ip: Ipv4Addr, net: [u8; 4], prefix: u32) -> bool {
    let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
    u32::from(ip) & mask == u32::from(Ipv4Addr::from(net)) & mask
}

fn in6(ip: Ipv6Addr, net: u128, prefix: u32) -> bool {
    let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
    u128::from(ip) & mask == net & mask
}

/// The class of an address already made [`canonical`].
fn classify(ip: IpAddr) -> AddrClass {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => classify_v6(v6),
    }
}

fn classify_v4(ip: Ipv4Addr) -> AddrClass {
    use AddrClass::*;
    let table: &[([u8; 4], u32, AddrClass)] = &[
        ([255, 255, 255, 255], 32, Broadcast),
        ([0, 0, 0, 0], 8, Unspecified),
        ([127, 0, 0, 0], 8, Loopback),
        ([10, 0, 0, 0], 8, Private),
        ([172, 16, 0, 0], 12, Private),
        ([192, 168, 0, 0], 16, Private),
        ([169, 254, 0, 0], 16, LinkLocal),
        ([100, 64, 0, 0], 10, Shared),
        ([192, 0, 2, 0], 24, Documentation),
        ([198, 51, 100, 0], 24, Documentation),
        ([203, 0, 113, 0], 24, Documentation),
        ([192, 0, 0, 0], 24, Reserved),
        ([192, 88, 99, 0], 24, Reserved),
        ([198, 18, 0, 0], 15, Reserved),
        ([224, 0, 0, 0], 4, Multicast),
        ([240, 0, 0, 0], 4, Reserved),
    ];
    table
        .iter()
        .find(|(net, prefix, _)| in4(ip, *net, *prefix))
        .map_or(Public, |(_, _, class)| *class)
}

fn classify_v6(ip: Ipv6Addr) -> AddrClass {
    use AddrClass::*;
    let table: &[(u128, u32, AddrClass)] = &[
        (0, 128, Unspecified),
        (1, 128, Loopback),
        // Any other ::/96 and ::ffff:0:0/96 were made IPv4 by `canonical`;
        // what is left of ::/8 is reserved.
        (0, 8, Reserved),
        (0x0064_ff9b_0001_u128 << 80, 48, Reserved),
        (0x0100_u128 << 112, 64, Reserved),
        (0x2001_0db8_u128 << 96, 32, Documentation),
        (0x3fff_u128 << 112, 20, Documentation),
        (0x2001_u128 << 112, 23, Reserved),
        (0xfc00_u128 << 112, 7, UniqueLocal),
        (0xfe80_u128 << 112, 10, LinkLocal),
        (0xfec0_u128 << 112, 10, Reserved),
        (0xff00_u128 << 112, 8, Multicast),
    ];
    let class = table
        .iter()
        .find(|(net, prefix, _)| in6(ip, *net, *prefix))
        .map(|(_, _, class)| *class);
    match class {
        Some(class) => class,
        // Only 2000::/3 is global unicast today.
        None if in6(ip, 0x2000_u128 << 112, 3) => Public,
        None => Reserved,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn classes() {
        for (addr, class) in [
            ("8.8.8.8", AddrClass::Public),
            ("1.1.1.1", AddrClass::Public),
            ("127.0.0.1", AddrClass::Loopback),
            ("127.255.255.254", AddrClass::Loopback),
            ("10.1.2.3", AddrClass::Private),
            ("172.16.0.1", AddrClass::Private),
            ("172.31.255.255", AddrClass::Private),
            ("172.32.0.1", AddrClass::Public),
            ("192.168.0.1", AddrClass::Private),
            ("169.254.169.254", AddrClass::LinkLocal),
            ("100.64.0.1", AddrClass::Shared),
            ("100.127.255.255", AddrClass::Shared),
            ("100.128.0.1", AddrClass::Public),
            ("0.0.0.0", AddrClass::Unspecified),
            ("0.1.2.3", AddrClass::Unspecified),
            ("224.0.0.1", AddrClass::Multicast),
            ("255.255.255.255", AddrClass::Broadcast),
            ("192.0.2.1", AddrClass::Documentation),
            ("198.51.100.1", AddrClass::Documentation),
            ("203.0.113.1", AddrClass::Documentation),
            ("240.0.0.1", AddrClass::Reserved),
            ("::", AddrClass::Unspecified),
            ("::1", AddrClass::Loopback),
            ("fe80::1", AddrClass::LinkLocal),
            ("febf::1", AddrClass::LinkLocal),
            ("fc00::1", AddrClass::UniqueLocal),
            ("fd12:3456::1", AddrClass::UniqueLocal),
            ("ff02::1", AddrClass::Multicast),
            ("2001:db8::1", AddrClass::Documentation),
            ("2606:4700::1111", AddrClass::Public),
            ("2001:4860:4860::8888", AddrClass::Public),
            ("64:ff9b:1::1", AddrClass::Reserved),
            ("2001::1", AddrClass::Reserved),
            ("4000::1", AddrClass::Reserved),
        ] {
            assert_eq!(classify(canonical(ip(addr))), class, "{addr}");
        }
    }

    #[test]
    fn ipv6_forms_of_ipv4_are_judged_as_ipv4() {
        for (v6, v4) in [
            ("::ffff:127.0.0.1", "127.0.0.1"),
            ("::ffff:10.0.0.1", "10.0.0.1"),
            ("::127.0.0.1", "127.0.0.1"),
            ("::169.254.169.254", "169.254.169.254"),
            ("64:ff9b::10.0.0.1", "10.0.0.1"),
            ("64:ff9b::127.0.0.1", "127.0.0.1"),
            ("64:ff9b::8.8.8.8", "8.8.8.8"),
            ("2002:7f00:1::", "127.0.0.1"),
            ("2002:a9fe:a9fe::1", "169.254.169.254"),
        ] {
            assert_eq!(canonical(ip(v6)), ip(v4), "{v6}");
        }
        let strict = UrlPolicy::default();
        assert!(!strict.allows(ip("::ffff:127.0.0.1")));
        assert!(!strict.allows(ip("64:ff9b::192.168.1.1")));
        assert!(strict.allows(ip("64:ff9b::8.8.8.8")));
        assert!(strict.allows(ip("::ffff:8.8.8.8")));
        // A listed v4 range covers its mapped form too.
        let corp = UrlPolicy::default().allow_cidr("10.0.0.0/8").unwrap();
        assert!(corp.allows(ip("::ffff:10.1.2.3")));
    }

    #[test]
    fn cidrs_parse_strictly() {
        let c: Cidr = "10.0.0.0/8".parse().unwrap();
        assert!(c.contains(ip("10.255.0.1")));
        assert!(!c.contains(ip("11.0.0.1")));
        assert!(!c.contains(ip("::ffff:10.0.0.1")), "families never mix");
        assert_eq!(c.to_string(), "10.0.0.0/8");
        let c: Cidr = " fd00::/8 ".parse().unwrap();
        assert!(c.contains(ip("fd12::1")));
        assert!(!c.contains(ip("fe80::1")));
        let all: Cidr = "0.0.0.0/0".parse().unwrap();
        assert!(all.contains(ip("1.2.3.4")));
        let one: Cidr = "10.1.2.3/32".parse().unwrap();
        assert!(one.contains(ip("10.1.2.3")) && !one.contains(ip("10.1.2.4")));
        assert_eq!("10.0.0.0".parse::<Cidr>(), Err(CidrError::Syntax));
        assert_eq!("10.0.0/8".parse::<Cidr>(), Err(CidrError::Syntax));
        assert_eq!("10.0.0.0/x".parse::<Cidr>(), Err(CidrError::Syntax));
        assert_eq!("10.0.0.0/-1".parse::<Cidr>(), Err(CidrError::Syntax));
        assert_eq!(
            "10.0.0.0/33".parse::<Cidr>(),
            Err(CidrError::PrefixTooLong {
                prefix: 33,
                max: 32
            })
        );
        assert!(matches!(
            "10.0.0.0/999".parse::<Cidr>(),
            Err(CidrError::PrefixTooLong { .. })
        ));
        let e = "10.0.0.1/8".parse::<Cidr>().unwrap_err();
        assert_eq!(
            e,
            CidrError::HostBitsSet {
                network: "10.0.0.0/8".into()
            }
        );
        assert!(e.to_string().contains("10.0.0.0/8"));
        assert!(UrlPolicy::default().allow_cidr("nonsense").is_err());
    }

    #[test]
    fn ranges_never_open_loopback_unspecified_or_multicast() {
        let p = UrlPolicy::default()
            .allow_cidr("0.0.0.0/0")
            .unwrap()
            .allow_cidr("::/0")
            .unwrap();
        assert!(p.allows(ip("10.0.0.1")));
        assert!(p.allows(ip("fd00::1")));
        for refused in [
            "127.0.0.1",
            "::1",
            "0.0.0.0",
            "::",
            "224.0.0.1",
            "255.255.255.255",
        ] {
            assert!(!p.allows(ip(refused)), "{refused}");
        }
        assert!(p.clone().allow_loopback().allows(ip("127.0.0.1")));
    }

    #[test]
    fn urls_at_build_time() {
        let strict = UrlPolicy::default();
        let dc = Flavor::DataCenter;
        let cloud = Flavor::Cloud;
        assert!(
            strict
                .check_url(&url("https://jira.corp.example"), dc)
                .is_ok()
        );
        assert!(strict.check_url(&url("https://8.8.8.8"), dc).is_ok());
        for refused in [
            "http://jira.corp.example",
            "http://127.0.0.1:8080",
            "https://127.0.0.1:8080",
            "http://localhost:8080",
            "https://10.1.2.3",
            "https://[::ffff:127.0.0.1]",
            "https://[fe80::1]",
            "https://0.0.0.0",
            "https://2130706433",
            "https://0x7f.1",
            "https://0177.0.0.1",
        ] {
            let e = strict.check_url(&url(refused), dc).unwrap_err();
            assert!(
                e.to_string().contains("operator's URL policy allows"),
                "{e}"
            );
        }
        for ok in [
            "https://acme.atlassian.net",
            "https://ACME.Atlassian.NET",
            "https://acme.atlassian.net.",
            "https://atlassian.net",
            "https://acme.jira.com",
            "https://api.atlassian.com/ex/jira/1234",
        ] {
            assert!(strict.check_url(&url(ok), cloud).is_ok(), "{ok}");
        }
        for refused in [
            "http://acme.atlassian.net",
            "https://evilatlassian.net",
            "https://acme.atlassian.net.evil.example",
            "https://atlassian.com",
            "https://jira.corp.example",
            "https://104.192.136.1",
            "https://.atlassian.net",
        ] {
            assert!(strict.check_url(&url(refused), cloud).is_err(), "{refused}");
        }
        let lo = UrlPolicy::default().allow_loopback();
        for ok in [
            "http://127.0.0.1:1",
            "http://localhost:1",
            "http://[::1]:1",
            "https://127.0.0.1:1",
        ] {
            assert!(lo.check_url(&url(ok), dc).is_ok(), "{ok}");
            assert!(lo.check_url(&url(ok), cloud).is_ok(), "{ok}");
        }
        // Loopback does not open http elsewhere, nor Cloud to other hosts.
        assert!(lo.check_url(&url("http://jira.corp.example"), dc).is_err());
        assert!(lo.check_url(&url("http://10.0.0.1"), dc).is_err());
        assert!(
            lo.check_url(&url("https://jira.corp.example"), cloud)
                .is_err()
        );
        // A listed range opens https, not http, and not Cloud.
        let corp = UrlPolicy::default().allow_cidr("10.0.0.0/8").unwrap();
        assert!(corp.check_url(&url("https://10.1.2.3"), dc).is_ok());
        assert!(corp.check_url(&url("http://10.1.2.3"), dc).is_err());
        assert!(corp.check_url(&url("https://10.1.2.3"), cloud).is_err());
    }

    #[test]
    fn the_url_crate_normalises_numeric_hosts() {
        for numeric in [
            "http://2130706433/",
            "http://0x7f000001/",
            "http://0177.0.0.1/",
            "http://127.1/",
        ] {
            assert_eq!(url(numeric).host_str(), Some("127.0.0.1"), "{numeric}");
        }
    }

    #[test]
    fn refusal_messages_say_what_and_how_to_fix() {
        let strict = UrlPolicy::default();
        let e = strict
            .check_url(&url("https://10.1.2.3/jira"), Flavor::DataCenter)
            .unwrap_err()
            .to_string();
        assert!(e.contains("10.1.2.3 is a private address"), "{e}");
        assert!(e.contains("ask your operator to list it"), "{e}");
        let corp = UrlPolicy::default()
            .allow_cidr("172.16.0.0/12")
            .unwrap()
            .allow_loopback();
        let e = corp
            .check_resolved("jira.corp.example", &["192.168.1.1:0".parse().unwrap()])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("jira.corp.example resolves to 192.168.1.1"),
            "{e}"
        );
        assert!(e.contains("172.16.0.0/12"), "{e}");
        assert!(e.contains("loopback"), "{e}");
    }

    #[test]
    fn one_inward_address_refuses_the_name() {
        let strict = UrlPolicy::default();
        let public: SocketAddr = "8.8.8.8:0".parse().unwrap();
        let inward: SocketAddr = "[::ffff:169.254.169.254]:0".parse().unwrap();
        assert!(strict.check_resolved("jira.example", &[public]).is_ok());
        assert!(
            strict
                .check_resolved("jira.example", &[public, inward])
                .is_err()
        );
        // localhost must be loopback, even when the policy allows more.
        let lo = UrlPolicy::default().allow_loopback();
        let v4: SocketAddr = "127.0.0.1:0".parse().unwrap();
        assert!(lo.check_resolved("localhost", &[v4]).is_ok());
        assert!(lo.check_resolved("LOCALHOST.", &[v4]).is_ok());
        assert!(lo.check_resolved("localhost", &[v4, public]).is_err());
        assert!(strict.check_resolved("localhost", &[v4]).is_err());
    }

    fn v4_in(net: [u8; 4], prefix: u32) -> impl Strategy<Value = IpAddr> {
        any::<u32>().prop_map(move |host| {
            let mask = u32::MAX.checked_shl(32 - prefix).unwrap_or(0);
            IpAddr::V4(Ipv4Addr::from(
                (u32::from(Ipv4Addr::from(net)) & mask) | (host & !mask),
            ))
        })
    }

    fn v6_in(net: u128, prefix: u32) -> impl Strategy<Value = IpAddr> {
        any::<u128>().prop_map(move |host| {
            let mask = u128::MAX.checked_shl(128 - prefix).unwrap_or(0);
            IpAddr::V6(Ipv6Addr::from((net & mask) | (host & !mask)))
        })
    }

    /// An address in one of the ranges a strict policy must refuse.
    fn inward_v4() -> impl Strategy<Value = IpAddr> {
        prop_oneof![
            v4_in([127, 0, 0, 0], 8),
            v4_in([10, 0, 0, 0], 8),
            v4_in([172, 16, 0, 0], 12),
            v4_in([192, 168, 0, 0], 16),
            v4_in([169, 254, 0, 0], 16),
            v4_in([100, 64, 0, 0], 10),
            v4_in([0, 0, 0, 0], 8),
            v4_in([224, 0, 0, 0], 4),
            v4_in([240, 0, 0, 0], 4),
            v4_in([192, 0, 2, 0], 24),
            v4_in([198, 51, 100, 0], 24),
            v4_in([203, 0, 113, 0], 24),
        ]
    }

    fn v6_forms(v4: IpAddr) -> Vec<IpAddr> {
        let IpAddr::V4(v4) = v4 else {
            return vec![v4];
        };
        let n = u128::from(u32::from(v4));
        vec![
            IpAddr::V4(v4),
            IpAddr::V6(v4.to_ipv6_mapped()),
            IpAddr::V6(Ipv6Addr::from(n)),
            IpAddr::V6(Ipv6Addr::from((0x0064_ff9b_u128 << 96) | n)),
            IpAddr::V6(Ipv6Addr::from((0x2002_u128 << 112) | (n << 80))),
        ]
    }

    proptest! {
        #[test]
        fn no_inward_ipv4_address_in_any_form_is_allowed(addr in inward_v4()) {
            let strict = UrlPolicy::default();
            for form in v6_forms(addr) {
                prop_assert!(!strict.allows(form), "{form} allowed");
                let host = match form {
                    IpAddr::V4(v4) => v4.to_string(),
                    IpAddr::V6(v6) => format!("[{v6}]"),
                };
                let u = url(&format!("https://{host}:8443/"));
                prop_assert!(strict.check_url(&u, Flavor::DataCenter).is_err());
                prop_assert!(strict.check_url(&u, Flavor::Cloud).is_err());
            }
        }

        #[test]
        fn no_inward_ipv6_address_is_allowed(addr in prop_oneof![
            v6_in(1, 128),
            v6_in(0, 128),
            v6_in(0xfc00_u128 << 112, 7),
            v6_in(0xfe80_u128 << 112, 10),
            v6_in(0xff00_u128 << 112, 8),
            v6_in(0x2001_0db8_u128 << 96, 32),
        ]) {
            prop_assert!(!UrlPolicy::default().allows(addr), "{addr} allowed");
        }

        #[test]
        fn loopback_opens_only_loopback(addr in inward_v4()) {
            let lo = UrlPolicy::default().allow_loopback();
            let is_loopback = matches!(addr, IpAddr::V4(v4) if v4.is_loopback());
            prop_assert_eq!(lo.allows(addr), is_loopback);
        }

        #[test]
        fn a_listed_range_opens_exactly_itself(addr in inward_v4(), prefix in 8u8..=32) {
            let IpAddr::V4(v4) = addr else { unreachable!() };
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            let net = IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask));
            let range = Cidr::new(net, prefix).unwrap();
            let p = UrlPolicy::default().allow_range(range);
            let class = classify(addr);
            let openable = !matches!(
                class,
                AddrClass::Loopback | AddrClass::Unspecified | AddrClass::Multicast | AddrClass::Broadcast
            );
            prop_assert_eq!(p.allows(addr), openable);
        }

        #[test]
        fn cidr_parsing_never_panics(text in "\\PC{0,40}") {
            let _ = text.parse::<Cidr>();
        }

        #[test]
        fn cloud_hosts_must_end_at_a_dot(label in "[a-z0-9-]{1,20}") {
            let strict = UrlPolicy::default();
            let glued = url(&format!("https://{label}atlassian.net"));
            let under = url(&format!("https://{label}.atlassian.net"));
            prop_assert!(strict.check_url(&glued, Flavor::Cloud).is_err());
            prop_assert!(strict.check_url(&under, Flavor::Cloud).is_ok());
        }
    }
}
