//! Per-account IP allowlists and trusted-proxy client address resolution
//! (DESIGN.md §4, invariant 3: the allowlist is the first gate of a request).
//!
//! Why: an account can restrict its UI and API to known networks; saving a
//! list that would shut out the admin saving it is refused
//! ([`would_lock_out`]); behind a reverse proxy the client address comes from
//! `X-Forwarded-For`, trusted only when the peer is a configured proxy
//! ([`TrustedProxies::client_ip`]).
//!
//! IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`) are treated as the IPv4
//! address everywhere, so a dual-stack listener cannot be used to slip past an
//! IPv4 entry. What it does not do: DNS names, port filtering, storage,
//! auditing the block (the server does that), or the `Forwarded` (RFC 7239)
//! header.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Which part of the server a request is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Surface {
    Ui,
    Api,
}

impl fmt::Display for Surface {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Surface::Ui => "UI",
            Surface::Api => "API",
        })
    }
}

/// Which surfaces an entry applies to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AppliesTo {
    Ui,
    Api,
    Both,
}

impl AppliesTo {
    pub fn covers(self, surface: Surface) -> bool {
        matches!(
            (self, surface),
            (AppliesTo::Both, _) | (AppliesTo::Ui, Surface::Ui) | (AppliesTo::Api, Surface::Api)
        )
    }
}

/// A malformed address or CIDR; the message names the offending text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AllowlistError {
    #[error(
        "`{0}` is not an IP address or CIDR: write e.g. 203.0.113.7, 203.0.113.0/24 or 2001:db8::/32"
    )]
    BadAddress(String),
    #[error("`{text}` has prefix length {prefix}, but an {family} prefix is at most {max}")]
    BadPrefix {
        text: String,
        prefix: String,
        family: &'static str,
        max: u8,
    },
    #[error("allowlist entry `{entry}`: {source}")]
    Entry {
        entry: String,
        #[source]
        source: Box<AllowlistError>,
    },
    #[error(
        "X-Forwarded-For entry `{0}` from a trusted proxy is not an IP address: fix the proxy's configuration"
    )]
    BadForwardedFor(String),
}

/// Maps `::ffff:a.b.c.d` to `a.b.c.d`; leaves every other address alone.
pub fn normalize(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// An address block: network address (host bits zeroed) and prefix length.
/// A bare address is a /32 or /128.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn network(&self) -> IpAddr {
        self.network
    }

    pub fn prefix(&self) -> u8 {
        self.prefix
    }

    /// Whether `ip` is inside this block (after normalisation).
    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, normalize(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                mask_v4(u32::from(ip), self.prefix) == u32::from(net)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                mask_v6(u128::from(ip), self.prefix) == u128::from(net)
            }
            _ => false,
        }
    }

    fn new(ip: IpAddr, prefix: u8) -> Cidr {
        // A mapped IPv6 block with prefix >= 96 is an IPv4 block.
        let (ip, prefix) = match ip {
            IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
                Some(v4) if prefix >= 96 => (IpAddr::V4(v4), prefix - 96),
                _ => (ip, prefix),
            },
            v4 => (v4, prefix),
        };
        let network = match ip {
            IpAddr::V4(v4) => IpAddr::V4(Ipv4Addr::from(mask_v4(u32::from(v4), prefix))),
            IpAddr::V6(v6) => IpAddr::V6(Ipv6Addr::from(mask_v6(u128::from(v6), prefix))),
        };
        Cidr { network, prefix }
    }
}

fn mask_v4(bits: u32, prefix: u8) -> u32 {
    match u32::MAX.checked_shl(32 - u32::from(prefix.min(32))) {
        Some(mask) => bits & mask,
        None => 0,
    }
}

fn mask_v6(bits: u128, prefix: u8) -> u128 {
    match u128::MAX.checked_shl(128 - u32::from(prefix.min(128))) {
        Some(mask) => bits & mask,
        None => 0,
    }
}

impl FromStr for Cidr {
    type Err = AllowlistError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let trimmed = text.trim();
        let bad = || AllowlistError::BadAddress(text.to_owned());
        let (addr, prefix) = match trimmed.split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (trimmed, None),
        };
        let ip: IpAddr = addr.parse().map_err(|_| bad())?;
        let (family, max) = match ip {
            IpAddr::V4(_) => ("IPv4", 32),
            IpAddr::V6(_) => ("IPv6", 128),
        };
        let prefix = match prefix {
            None => max,
            Some(p) => {
                let bad_prefix = || AllowlistError::BadPrefix {
                    text: text.to_owned(),
                    prefix: p.to_owned(),
                    family,
                    max,
                };
                if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(bad_prefix());
                }
                match p.parse::<u8>() {
                    Ok(n) if n <= max => n,
                    _ => return Err(bad_prefix()),
                }
            }
        };
        Ok(Cidr::new(ip, prefix))
    }
}

impl fmt::Display for Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.network, self.prefix)
    }
}

impl Serialize for Cidr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Cidr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// One allowlist entry.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowlistEntry {
    /// The entry's identifier, shown in explanations and `test_ip` results.
    pub name: String,
    pub cidr: Cidr,
    pub applies_to: AppliesTo,
}

impl AllowlistEntry {
    /// Parses `cidr`; the error names the entry and the bad text.
    pub fn parse(
        name: impl Into<String>,
        cidr: &str,
        applies_to: AppliesTo,
    ) -> Result<Self, AllowlistError> {
        let name = name.into();
        match cidr.parse() {
            Ok(cidr) => Ok(AllowlistEntry {
                name,
                cidr,
                applies_to,
            }),
            Err(e) => Err(AllowlistError::Entry {
                entry: name,
                source: Box::new(e),
            }),
        }
    }
}

/// An account's allowlist. Disabled or empty, it allows everything; with
/// entries, an address is allowed on a surface only if an entry covering
/// that surface contains it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Allowlist {
    pub enabled: bool,
    pub entries: Vec<AllowlistEntry>,
}

/// The answer to "test this IP".
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IpTest<'a> {
    pub allowed: bool,
    /// The first entry that matched, if any (`None` with `allowed` means the
    /// list is disabled or empty).
    pub matched: Option<&'a AllowlistEntry>,
}

impl Allowlist {
    pub fn new(entries: Vec<AllowlistEntry>) -> Self {
        Allowlist {
            enabled: true,
            entries,
        }
    }

    fn restricts(&self, surface: Surface) -> bool {
        self.enabled && self.entries.iter().any(|e| e.applies_to.covers(surface))
    }

    /// Whether `ip` may use `surface`.
    pub fn allows(&self, ip: IpAddr, surface: Surface) -> bool {
        self.test_ip(ip, surface).allowed
    }

    /// Whether `ip` may use `surface`, and which entry let it in.
    pub fn test_ip(&self, ip: IpAddr, surface: Surface) -> IpTest<'_> {
        if !self.restricts(surface) {
            return IpTest {
                allowed: true,
                matched: None,
            };
        }
        let matched = self
            .entries
            .iter()
            .find(|e| e.applies_to.covers(surface) && e.cidr.contains(ip));
        IpTest {
            allowed: matched.is_some(),
            matched,
        }
    }
}

/// Explains why saving `new_list` would block the caller, or `None` if it
/// would not.
pub fn would_lock_out(new_list: &Allowlist, caller_ip: IpAddr, surface: Surface) -> Option<String> {
    if new_list.allows(caller_ip, surface) {
        return None;
    }
    let ip = normalize(caller_ip);
    let host = match ip {
        IpAddr::V4(_) => 32,
        IpAddr::V6(_) => 128,
    };
    Some(format!(
        "saving this allowlist would block your own address {ip} from the {surface}: no enabled \
         entry for the {surface} contains it; add an entry such as {ip}/{host} or disable the list"
    ))
}

/// The reverse proxies whose `X-Forwarded-For` entries are believed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrustedProxies {
    pub cidrs: Vec<Cidr>,
}

impl TrustedProxies {
    pub fn new(cidrs: Vec<Cidr>) -> Self {
        TrustedProxies { cidrs }
    }

    pub fn is_trusted(&self, ip: IpAddr) -> bool {
        self.cidrs.iter().any(|c| c.contains(ip))
    }

    /// The client's address, given the TCP peer and the request's
    /// `X-Forwarded-For` header values in order.
    ///
    /// An untrusted peer's header is ignored entirely (it could say
    /// anything). From a trusted peer the entries are walked from the right,
    /// skipping trusted proxies; the first untrusted one is the client. If
    /// every hop is trusted, the leftmost is. A malformed entry reached on
    /// the walk is an error: it came from a trusted proxy, so the
    /// configuration is broken and guessing could open the allowlist.
    pub fn client_ip(
        &self,
        peer: IpAddr,
        forwarded_for: &[&str],
    ) -> Result<IpAddr, AllowlistError> {
        let mut current = normalize(peer);
        if !self.is_trusted(current) {
            return Ok(current);
        }
        let hops = forwarded_for
            .iter()
            .rev()
            .flat_map(|value| value.rsplit(','))
            .map(str::trim)
            .filter(|h| !h.is_empty());
        for hop in hops {
            current = normalize(parse_hop(hop)?);
            if !self.is_trusted(current) {
                return Ok(current);
            }
        }
        Ok(current)
    }
}

/// Parses `1.2.3.4`, `1.2.3.4:567`, `2001:db8::1` or `[2001:db8::1]:567`.
fn parse_hop(hop: &str) -> Result<IpAddr, AllowlistError> {
    let bad = || AllowlistError::BadForwardedFor(hop.to_owned());
    if let Ok(ip) = hop.parse::<IpAddr>() {
        return Ok(ip);
    }
    if let Some(rest) = hop.strip_prefix('[') {
        let (addr, _) = rest.split_once(']').ok_or_else(bad)?;
        return addr.parse::<Ipv6Addr>().map(IpAddr::V6).map_err(|_| bad());
    }
    match hop.rsplit_once(':') {
        Some((addr, port)) if port.bytes().all(|b| b.is_ascii_digit()) => {
            addr.parse::<Ipv4Addr>().map(IpAddr::V4).map_err(|_| bad())
        }
        _ => Err(bad()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn list(entries: &[(&str, &str, AppliesTo)]) -> Allowlist {
        Allowlist::new(
            entries
                .iter()
                .map(|(n, c, a)| AllowlistEntry::parse(*n, c, *a).unwrap())
                .collect(),
        )
    }

    #[test]
    fn cidr_parsing_normalises_and_rejects() {
        assert_eq!(
            "10.1.2.3/8".parse::<Cidr>().unwrap().to_string(),
            "10.0.0.0/8"
        );
        assert_eq!(
            "10.1.2.3".parse::<Cidr>().unwrap().to_string(),
            "10.1.2.3/32"
        );
        assert_eq!("::1".parse::<Cidr>().unwrap().to_string(), "::1/128");
        assert_eq!(
            "::ffff:192.0.2.0/120".parse::<Cidr>().unwrap().to_string(),
            "192.0.2.0/24"
        );
        for bad in [
            "",
            "10.0.0.0/",
            "10.0.0.0/33",
            "::/129",
            "10.0.0/8",
            "10.0.0.0/+8",
            "x",
            "10.0.0.0/8/8",
            "1.2.3.4/-1",
        ] {
            assert!(bad.parse::<Cidr>().is_err(), "{bad:?} should be rejected");
        }
        let err = AllowlistEntry::parse("office", "10.0.0.0/40", AppliesTo::Both).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("office") && msg.contains("10.0.0.0/40"),
            "{msg}"
        );
    }

    #[test]
    fn prefix_edges() {
        let all4 = "0.0.0.0/0".parse::<Cidr>().unwrap();
        assert!(all4.contains(ip("255.255.255.255")) && all4.contains(ip("0.0.0.0")));
        assert!(!all4.contains(ip("::1")), "an IPv4 block never holds IPv6");
        let all6 = "::/0".parse::<Cidr>().unwrap();
        assert!(all6.contains(ip("2001:db8::1")));
        assert!(
            !all6.contains(ip("10.0.0.1")),
            "mapped/IPv4 is not in ::/0 after normalisation"
        );
        let host = "192.0.2.7/32".parse::<Cidr>().unwrap();
        assert!(host.contains(ip("192.0.2.7")) && !host.contains(ip("192.0.2.8")));
        let host6 = "2001:db8::7/128".parse::<Cidr>().unwrap();
        assert!(host6.contains(ip("2001:db8::7")) && !host6.contains(ip("2001:db8::8")));
        let net = "2001:db8::/32".parse::<Cidr>().unwrap();
        assert!(net.contains(ip("2001:db8:ffff::1")) && !net.contains(ip("2001:db9::1")));
    }

    #[test]
    fn mapped_addresses_match_ipv4_entries() {
        let l = list(&[("v4", "192.0.2.0/24", AppliesTo::Both)]);
        assert!(l.allows(ip("::ffff:192.0.2.9"), Surface::Api));
        assert!(!l.allows(ip("::ffff:198.51.100.1"), Surface::Api));
        let mapped = list(&[("m", "::ffff:192.0.2.9", AppliesTo::Both)]);
        assert!(mapped.allows(ip("192.0.2.9"), Surface::Ui));
    }

    #[test]
    fn empty_or_disabled_allows_all_and_surfaces_are_separate() {
        assert!(Allowlist::default().allows(ip("203.0.113.1"), Surface::Api));
        let mut l = list(&[("office", "10.0.0.0/8", AppliesTo::Ui)]);
        assert!(l.allows(ip("10.2.3.4"), Surface::Ui));
        assert!(!l.allows(ip("11.0.0.1"), Surface::Ui));
        assert!(
            l.allows(ip("11.0.0.1"), Surface::Api),
            "no entry restricts the API, so it stays open"
        );
        l.enabled = false;
        assert!(l.allows(ip("11.0.0.1"), Surface::Ui));
        let both = list(&[
            ("a", "10.0.0.0/8", AppliesTo::Api),
            ("b", "11.0.0.0/8", AppliesTo::Both),
        ]);
        assert!(!both.allows(ip("10.0.0.1"), Surface::Ui));
        assert!(both.allows(ip("10.0.0.1"), Surface::Api));
        assert!(both.allows(ip("11.0.0.1"), Surface::Ui));
    }

    #[test]
    fn test_ip_names_the_matching_entry() {
        let l = list(&[
            ("vpn", "10.8.0.0/16", AppliesTo::Both),
            ("office", "10.0.0.0/8", AppliesTo::Both),
        ]);
        let t = l.test_ip(ip("10.8.1.1"), Surface::Api);
        assert!(t.allowed);
        assert_eq!(t.matched.map(|e| e.name.as_str()), Some("vpn"));
        let t = l.test_ip(ip("10.9.1.1"), Surface::Api);
        assert_eq!(t.matched.map(|e| e.name.as_str()), Some("office"));
        let t = l.test_ip(ip("172.16.0.1"), Surface::Api);
        assert!(!t.allowed && t.matched.is_none());
    }

    #[test]
    fn saving_a_list_that_blocks_the_caller_is_explained() {
        let l = list(&[("office", "10.0.0.0/8", AppliesTo::Both)]);
        assert_eq!(would_lock_out(&l, ip("10.1.1.1"), Surface::Ui), None);
        let why = would_lock_out(&l, ip("::ffff:172.16.0.5"), Surface::Ui).unwrap();
        assert!(why.contains("172.16.0.5") && why.contains("UI"), "{why}");
        assert_eq!(
            would_lock_out(&Allowlist::default(), ip("1.1.1.1"), Surface::Api),
            None
        );
    }

    #[test]
    fn forwarded_for_walks_from_the_right_past_trusted_hops() {
        let proxies =
            TrustedProxies::new(vec!["10.0.0.0/8".parse().unwrap(), "::1".parse().unwrap()]);
        // client, then two trusted proxies appended their view
        let got = proxies
            .client_ip(ip("10.0.0.1"), &["198.51.100.9, 10.0.0.7", "10.0.0.8"])
            .unwrap();
        assert_eq!(got, ip("198.51.100.9"));
        // a spoofed leftmost entry is not reached: the rightmost untrusted hop wins
        let got = proxies
            .client_ip(ip("10.0.0.1"), &["1.2.3.4, 203.0.113.5"])
            .unwrap();
        assert_eq!(got, ip("203.0.113.5"));
        // ports and brackets are accepted; mapped peers count as IPv4
        let got = proxies
            .client_ip(ip("::ffff:10.0.0.1"), &["[2001:db8::5]:443"])
            .unwrap();
        assert_eq!(got, ip("2001:db8::5"));
        assert_eq!(
            proxies.client_ip(ip("::1"), &["192.0.2.1:8080"]).unwrap(),
            ip("192.0.2.1")
        );
        // all hops trusted: the leftmost
        assert_eq!(
            proxies
                .client_ip(ip("10.0.0.1"), &["10.1.1.1,10.2.2.2"])
                .unwrap(),
            ip("10.1.1.1")
        );
        // no header: the peer
        assert_eq!(
            proxies.client_ip(ip("10.0.0.1"), &[]).unwrap(),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn forwarded_for_from_untrusted_peer_is_ignored() {
        let proxies = TrustedProxies::new(vec!["10.0.0.0/8".parse().unwrap()]);
        let got = proxies
            .client_ip(ip("203.0.113.66"), &["10.0.0.5", "garbage"])
            .unwrap();
        assert_eq!(got, ip("203.0.113.66"));
        assert_eq!(
            TrustedProxies::default()
                .client_ip(ip("10.0.0.1"), &["1.1.1.1"])
                .unwrap(),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn malformed_forwarded_for_from_trusted_proxy_is_an_error() {
        let proxies = TrustedProxies::new(vec!["10.0.0.0/8".parse().unwrap()]);
        let err = proxies
            .client_ip(ip("10.0.0.1"), &["not-an-ip"])
            .unwrap_err();
        assert!(err.to_string().contains("not-an-ip"));
        // garbage left of the client is never reached
        assert_eq!(
            proxies
                .client_ip(ip("10.0.0.1"), &["junk, 192.0.2.1"])
                .unwrap(),
            ip("192.0.2.1")
        );
    }
}
