//! IP allow/deny lists (CIDR, IPv4 and IPv6) and the per-source key used by limits.

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use std::net::{IpAddr, Ipv6Addr};

/// A set of CIDR networks, IPv4 and IPv6, merged into the fewest prefixes.
#[derive(Debug, Clone, Default)]
pub struct IpSet {
    v4: Vec<Ipv4Net>,
    v6: Vec<Ipv6Net>,
}

impl IpSet {
    /// Parses CIDRs (`10.0.0.0/8`, `2001:db8::/32`) or single addresses.
    pub fn parse(list: &[String]) -> Result<IpSet, String> {
        let mut v4 = Vec::new();
        let mut v6 = Vec::new();
        for s in list {
            let s = s.trim();
            let net: IpNet = match s.parse::<IpNet>() {
                Ok(n) => n,
                Err(_) => match s.parse::<IpAddr>() {
                    Ok(a) => IpNet::from(a),
                    Err(_) => {
                        return Err(format!(
                            "{s:?} is not an IP address or CIDR (e.g. \"203.0.113.7\", \"10.0.0.0/8\", \"2001:db8::/32\")"
                        ))
                    }
                },
            };
            if net.trunc() != net {
                return Err(format!(
                    "{s:?} has host bits set; did you mean {}?",
                    net.trunc()
                ));
            }
            match net {
                IpNet::V4(n) => v4.push(n),
                IpNet::V6(n) => v6.push(n),
            }
        }
        Ok(IpSet {
            v4: Ipv4Net::aggregate(&v4),
            v6: Ipv6Net::aggregate(&v6),
        })
    }

    /// Whether the set holds no network.
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    /// Whether `ip` is inside one of the networks. IPv4-mapped IPv6
    /// addresses (`::ffff:a.b.c.d`) are matched as IPv4.
    pub fn contains(&self, ip: IpAddr) -> bool {
        match canonical(ip) {
            IpAddr::V4(a) => self.v4.iter().any(|n| n.contains(&a)),
            IpAddr::V6(a) => self.v6.iter().any(|n| n.contains(&a)),
        }
    }
}

/// Maps IPv4-mapped IPv6 addresses to IPv4, leaving others as they are.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// The key per-source limits count under: the IPv4 address, or the IPv6 /64
/// (one host usually owns a whole /64, so counting single IPv6 addresses would
/// let it rotate through 2^64 identities).
pub fn source_key(ip: IpAddr) -> IpAddr {
    match canonical(ip) {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

/// Marks an IPv4 source in a [`compact_key`]: such keys look like the
/// IPv6 prefixes `0:ffff::/32`, inside `::/8`, which no client connects from.
const V4_TAG: u64 = 0x0000_ffff_0000_0000;

/// [`source_key`] as one machine word, for the tables that track every
/// client (connection counts, rate-limiter state): the IPv4 address, tagged,
/// or the IPv6 /64 prefix. Half the size of an `IpAddr` and cheaper to hash.
pub fn compact_key(ip: IpAddr) -> u64 {
    match canonical(ip) {
        IpAddr::V4(a) => V4_TAG | u64::from(u32::from(a)),
        IpAddr::V6(a) => (u128::from(a) >> 64) as u64,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(list: &[&str]) -> IpSet {
        IpSet::parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn matches_v4_v6_and_mapped() {
        let s = set(&["10.0.0.0/8", "2001:db8::/32", "192.0.2.1"]);
        assert!(s.contains("10.1.2.3".parse().unwrap()));
        assert!(s.contains("::ffff:10.1.2.3".parse().unwrap()));
        assert!(s.contains("192.0.2.1".parse().unwrap()));
        assert!(!s.contains("192.0.2.2".parse().unwrap()));
        assert!(s.contains("2001:db8:1::1".parse().unwrap()));
        assert!(!s.contains("2001:db9::1".parse().unwrap()));
    }

    #[test]
    fn rejects_bad_entries() {
        for bad in ["10.0.0.0/33", "banana", "10.0.0.1/8", "::1/129"] {
            assert!(IpSet::parse(&[bad.to_string()]).is_err(), "{bad}");
        }
    }

    #[test]
    fn compact_keys_group_like_source_keys() {
        let k = |s: &str| compact_key(s.parse().unwrap());
        assert_eq!(k("2001:db8:1:2:aaaa::1"), k("2001:db8:1:2:bbbb::9"));
        assert_ne!(k("2001:db8:1:2::1"), k("2001:db8:1:3::1"));
        assert_eq!(k("::ffff:1.2.3.4"), k("1.2.3.4"));
        assert_ne!(k("1.2.3.4"), k("1.2.3.5"));
        assert_ne!(k("0.0.0.0"), k("::1"));
    }

    #[test]
    fn v6_sources_group_by_64() {
        let a = source_key("2001:db8:1:2:aaaa::1".parse().unwrap());
        let b = source_key("2001:db8:1:2:bbbb::9".parse().unwrap());
        assert_eq!(a, b);
        assert_eq!(
            source_key("::ffff:1.2.3.4".parse().unwrap()),
            "1.2.3.4".parse::<IpAddr>().unwrap()
        );
    }
}
