//! The source-IP allowlist: IPv4 and IPv6 networks, Atlassian's published
//! ranges, and the explicit "any source" choice.

use super::GateConfigError;
use ipnet::IpNet;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::net::IpAddr;

/// The networks webhooks may come from.
///
/// An allowlist is never silently empty: it holds at least one network, or
/// it is the explicit [`IpAllowlist::allow_any`] choice. Addresses are
/// compared in canonical form, so an IPv4-mapped IPv6 peer
/// (`::ffff:192.0.2.7`, as a dual-stack socket reports it) matches the IPv4
/// network `192.0.2.0/24`.
///
/// In configuration files it is either a list of CIDRs (a bare address
/// means that single host) or the string `"any"`.
///
/// ```
/// use penaxtra_jira_sync::webhook::IpAllowlist;
///
/// let list = IpAllowlist::from_cidrs(["192.0.2.0/24", "2001:db8::/32"]).unwrap();
/// assert!(list.contains("192.0.2.9".parse().unwrap()));
/// assert!(list.contains("2001:db8::1".parse().unwrap()));
/// assert!(!list.contains("198.51.100.1".parse().unwrap()));
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct IpAllowlist(Inner);

#[derive(Clone, PartialEq, Eq)]
enum Inner {
    Any,
    /// Non-empty, aggregated.
    Networks(Vec<IpNet>),
}

impl IpAllowlist {
    /// The explicit choice to accept webhooks from any address (for a
    /// receiver behind a gateway that filters already, or a local trial).
    pub fn allow_any() -> Self {
        Self(Inner::Any)
    }

    /// An allowlist of the given networks.
    ///
    /// # Errors
    /// [`GateConfigError::EmptyAllowlist`] when `networks` is empty.
    pub fn new(networks: impl IntoIterator<Item = IpNet>) -> Result<Self, GateConfigError> {
        let networks: Vec<IpNet> = networks.into_iter().collect();
        if networks.is_empty() {
            return Err(GateConfigError::EmptyAllowlist);
        }
        Ok(Self(Inner::Networks(IpNet::aggregate(&networks))))
    }

    /// An allowlist parsed from CIDR strings (`192.0.2.0/24`,
    /// `2001:db8::/32`, or a bare address for one host).
    ///
    /// # Errors
    /// [`GateConfigError::InvalidCidr`] naming the first entry that does not
    /// parse; [`GateConfigError::EmptyAllowlist`] when there is none.
    pub fn from_cidrs<S: AsRef<str>>(
        cidrs: impl IntoIterator<Item = S>,
    ) -> Result<Self, GateConfigError> {
        Self::new(parse_networks("allowlist", cidrs)?)
    }

    /// An allowlist from Atlassian's published IP ranges document
    /// (`{"items":[{"cidr":"104.192.136.0/21","direction":["egress",...]},...]}`).
    ///
    /// Webhooks leave Atlassian, so an item whose `direction` list does not
    /// name `egress` is skipped; an item without `direction` is kept. Other
    /// keys are ignored. Atlassian changes its ranges: load the current
    /// document at start-up and [`merge`](Self::merge) it with your own
    /// networks.
    ///
    /// # Errors
    /// [`GateConfigError::AtlassianRangesJson`] when the document is not of
    /// that form, [`GateConfigError::InvalidCidr`] for an item whose `cidr`
    /// does not parse (nothing is loaded then), and
    /// [`GateConfigError::NoAtlassianRanges`] when no egress range remains.
    pub fn from_atlassian_ranges_json(json: &[u8]) -> Result<Self, GateConfigError> {
        #[derive(Deserialize)]
        struct Document {
            items: Vec<Item>,
        }
        #[derive(Deserialize)]
        struct Item {
            cidr: String,
            #[serde(default)]
            direction: Option<Vec<String>>,
        }
        let document: Document =
            serde_json::from_slice(json).map_err(GateConfigError::AtlassianRangesJson)?;
        let mut networks = Vec::with_capacity(document.items.len());
        for (index, item) in document.items.iter().enumerate() {
            let network =
                parse_network(&item.cidr).ok_or_else(|| GateConfigError::InvalidCidr {
                    what: "Atlassian ranges",
                    position: index + 1,
                    value: item.cidr.clone(),
                })?;
            let egress = item
                .direction
                .as_ref()
                .is_none_or(|d| d.iter().any(|d| d.eq_ignore_ascii_case("egress")));
            if egress {
                networks.push(network);
            }
        }
        if networks.is_empty() {
            return Err(GateConfigError::NoAtlassianRanges);
        }
        Self::new(networks)
    }

    /// The union of two allowlists (any source when either allows any).
    #[must_use]
    pub fn merge(self, other: Self) -> Self {
        match (self.0, other.0) {
            (Inner::Networks(mut a), Inner::Networks(b)) => {
                a.extend(b);
                Self(Inner::Networks(IpNet::aggregate(&a)))
            }
            _ => Self::allow_any(),
        }
    }

    /// Whether `addr` is allowed.
    pub fn contains(&self, addr: IpAddr) -> bool {
        match &self.0 {
            Inner::Any => true,
            Inner::Networks(networks) => contains_any(networks, addr),
        }
    }

    /// Whether this is the explicit "any source" choice.
    pub fn allows_any(&self) -> bool {
        matches!(self.0, Inner::Any)
    }

    /// The networks, aggregated; empty for "any source".
    pub fn networks(&self) -> &[IpNet] {
        match &self.0 {
            Inner::Any => &[],
            Inner::Networks(networks) => networks,
        }
    }
}

impl fmt::Debug for IpAllowlist {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.0 {
            Inner::Any => f.write_str("IpAllowlist(any)"),
            Inner::Networks(n) => f.debug_tuple("IpAllowlist").field(n).finish(),
        }
    }
}

impl Serialize for IpAllowlist {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Inner::Any => s.serialize_str("any"),
            Inner::Networks(n) => n.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for IpAllowlist {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Form {
            Word(String),
            List(Vec<String>),
        }
        match Form::deserialize(d)? {
            Form::Word(w) if w == "any" => Ok(Self::allow_any()),
            Form::Word(w) => Self::from_cidrs([w]).map_err(serde::de::Error::custom),
            Form::List(l) => Self::from_cidrs(l).map_err(serde::de::Error::custom),
        }
    }
}

/// Whether `addr`, in canonical form, is in one of `networks`.
pub(super) fn contains_any(networks: &[IpNet], addr: IpAddr) -> bool {
    let addr = addr.to_canonical();
    networks.iter().any(|n| n.contains(&addr))
}

/// Parses a CIDR, or a bare address as a single-host network. The host bits
/// of a CIDR are cleared.
pub(super) fn parse_network(s: &str) -> Option<IpNet> {
    let s = s.trim();
    if let Ok(net) = s.parse::<IpNet>() {
        return Some(net.trunc());
    }
    s.parse::<IpAddr>().ok().map(IpNet::from)
}

/// Parses every entry of a list, failing on the first bad one.
pub(super) fn parse_networks<S: AsRef<str>>(
    what: &'static str,
    cidrs: impl IntoIterator<Item = S>,
) -> Result<Vec<IpNet>, GateConfigError> {
    cidrs
        .into_iter()
        .enumerate()
        .map(|(index, s)| {
            parse_network(s.as_ref()).ok_or_else(|| GateConfigError::InvalidCidr {
                what,
                position: index + 1,
                value: s.as_ref().to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn parses_cidrs_and_bare_addresses() {
        assert_eq!(
            parse_network("10.1.2.3/8").unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            parse_network(" 192.0.2.7 ").unwrap().to_string(),
            "192.0.2.7/32"
        );
        assert_eq!(
            parse_network("2001:db8::1").unwrap().to_string(),
            "2001:db8::1/128"
        );
        for bad in [
            "",
            "10.0.0.0/33",
            "example.com",
            "10.0.0",
            "::/129",
            "1.2.3.4/",
        ] {
            assert!(parse_network(bad).is_none(), "{bad:?} parsed");
        }
    }

    #[test]
    fn mapped_ipv6_peer_matches_ipv4_network() {
        let list = IpAllowlist::from_cidrs(["192.0.2.0/24"]).unwrap();
        assert!(list.contains(ip("::ffff:192.0.2.7")));
        assert!(!list.contains(ip("::ffff:198.51.100.7")));
    }

    #[test]
    fn empty_is_an_error_and_any_is_explicit() {
        assert!(matches!(
            IpAllowlist::from_cidrs(Vec::<String>::new()),
            Err(GateConfigError::EmptyAllowlist)
        ));
        let any = IpAllowlist::allow_any();
        assert!(any.allows_any() && any.contains(ip("203.0.113.1")));
        assert!(any.networks().is_empty());
    }

    #[test]
    fn merge_aggregates_and_any_absorbs() {
        let a = IpAllowlist::from_cidrs(["10.0.0.0/25"]).unwrap();
        let b = IpAllowlist::from_cidrs(["10.0.0.128/25", "2001:db8::/32"]).unwrap();
        let merged = a.clone().merge(b);
        assert_eq!(
            merged
                .networks()
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>(),
            ["10.0.0.0/24", "2001:db8::/32"]
        );
        assert!(a.merge(IpAllowlist::allow_any()).allows_any());
    }

    #[test]
    fn serde_forms() {
        let l: IpAllowlist = serde_json::from_str(r#"["192.0.2.0/24","::1"]"#).unwrap();
        assert_eq!(l.networks().len(), 2);
        assert!(
            serde_json::from_str::<IpAllowlist>(r#""any""#)
                .unwrap()
                .allows_any()
        );
        assert!(serde_json::from_str::<IpAllowlist>("[]").is_err());
        assert!(serde_json::from_str::<IpAllowlist>(r#"["nope"]"#).is_err());
        assert_eq!(
            serde_json::to_string(&l).unwrap(),
            r#"["192.0.2.0/24","::1/128"]"#
        );
    }
}
