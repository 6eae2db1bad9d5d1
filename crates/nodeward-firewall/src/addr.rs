//! Source and destination networks as the config writes them (`"203.0.113.7/32"`, `"::/0"`).

use ipnet::IpNet;
use std::net::IpAddr;

/// Parses a CIDR or a bare address (taken as a /32 or /128), refusing networks
/// written with host bits set (`"10.0.0.1/8"`), which are almost always a typo.
pub fn parse_net(text: &str) -> Result<IpNet, String> {
    let t = text.trim();
    if let Ok(addr) = t.parse::<IpAddr>() {
        return Ok(IpNet::from(addr));
    }
    let net: IpNet = t.parse().map_err(|_| {
        format!("{text:?} is not an IP address or CIDR network (expected e.g. \"203.0.113.7/32\" or \"2001:db8::/32\")")
    })?;
    if net.trunc() != net {
        return Err(format!(
            "{text:?} has host bits set; did you mean \"{}\"?",
            net.trunc()
        ));
    }
    Ok(net)
}

/// Whether `net` is "everywhere" for its family (`0.0.0.0/0` or `::/0`).
pub fn is_everywhere(net: &IpNet) -> bool {
    net.prefix_len() == 0
}

/// Whether any of `nets` contains `addr` (IPv4-mapped IPv6 addresses count as IPv4).
pub fn any_contains(nets: &[IpNet], addr: IpAddr) -> bool {
    let addr = canonical(addr);
    nets.iter().any(|n| n.contains(&addr))
}

/// `::ffff:1.2.3.4` becomes `1.2.3.4`; everything else is unchanged.
pub fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => addr,
        },
        v4 => v4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nets() {
        assert_eq!(parse_net("1.2.3.4").unwrap().to_string(), "1.2.3.4/32");
        assert_eq!(
            parse_net("2001:db8::/32").unwrap().to_string(),
            "2001:db8::/32"
        );
        assert!(parse_net("10.0.0.1/8").unwrap_err().contains("10.0.0.0/8"));
        assert!(parse_net("10.0.0.0/33").is_err());
        assert!(parse_net("example.org").is_err());
        assert!(any_contains(
            &[parse_net("10.0.0.0/8").unwrap()],
            "::ffff:10.1.2.3".parse().unwrap()
        ));
    }
}
