//! Turns a [`Policy`] into the nftables script for the one table `inet nodeward`.
//!
//! The script replaces that table in one transaction (`add table`, `delete table`,
//! then the full definition) and touches no other table. IPv4 and IPv6 share every
//! rule; only source/destination networks are split by family.

use crate::addr::is_everywhere;
use crate::config::Proto;
use crate::policy::{InboundRule, Peers, Policy};
use crate::ports::PortList;
use ipnet::IpNet;
use std::fmt::Write;
use std::net::IpAddr;
use std::time::Duration;

/// The nftables family and name of nodeward's table.
pub const TABLE: &str = "inet nodeward";
/// Set of banned IPv4 sources.
pub const BAN_SET_V4: &str = "ban4";
/// Set of banned IPv6 sources.
pub const BAN_SET_V6: &str = "ban6";

/// An address to put into the ban sets with the time it has left.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BanElement {
    /// The banned source.
    pub addr: IpAddr,
    /// Remaining ban time (at least one second).
    pub remaining: Duration,
}

/// The part of the table the ban engine needs: the two sets and the chain that drops them.
/// Idempotent: running it on a loaded firewall table keeps everything else.
pub fn ban_skeleton() -> String {
    format!(
        "add table {TABLE}\n\
         add set {TABLE} {BAN_SET_V4} {{ type ipv4_addr; flags timeout; }}\n\
         add set {TABLE} {BAN_SET_V6} {{ type ipv6_addr; flags timeout; }}\n\
         add chain {TABLE} ban_input {{ type filter hook input priority -10; policy accept; }}\n\
         flush chain {TABLE} ban_input\n\
         add rule {TABLE} ban_input ip saddr @{BAN_SET_V4} drop\n\
         add rule {TABLE} ban_input ip6 saddr @{BAN_SET_V6} drop\n"
    )
}

/// nft's element syntax for a ban.
pub fn ban_element(b: &BanElement) -> String {
    format!("{} timeout {}s", b.addr, b.remaining.as_secs().max(1))
}

fn set_decl(out: &mut String, name: &str, ty: &str, flags: &str, elems: &[String]) {
    let _ = write!(out, "\tset {name} {{\n\t\ttype {ty}\n\t\tflags {flags}\n");
    if !elems.is_empty() {
        let _ = writeln!(out, "\t\telements = {{ {} }}", elems.join(", "));
    }
    out.push_str("\t}\n");
}

fn split_nets(nets: &[IpNet]) -> (Vec<String>, Vec<String>) {
    let v4 = nets
        .iter()
        .filter(|n| matches!(n, IpNet::V4(_)))
        .map(|n| n.to_string())
        .collect();
    let v6 = nets
        .iter()
        .filter(|n| matches!(n, IpNet::V6(_)))
        .map(|n| n.to_string())
        .collect();
    (v4, v6)
}

fn port_match(proto: Proto, ports: &PortList, dir: &str) -> String {
    let ranges = ports.ranges();
    if ranges.len() == 1 {
        format!("{} {dir} {}", proto.as_str(), ranges[0])
    } else {
        let items: Vec<String> = ranges.iter().map(|r| r.to_string()).collect();
        format!("{} {dir} {{ {} }}", proto.as_str(), items.join(", "))
    }
}

/// Address matches for `peers` in direction `dir` (`saddr`/`daddr`): one entry per
/// family that is allowed (`None` = no address match needed for that family).
fn peer_matches(peers: &Peers, dir: &str) -> Vec<String> {
    match peers {
        Peers::Everywhere => vec![String::new()],
        Peers::Only(nets) => {
            let mut out = Vec::new();
            let v4_all = nets
                .iter()
                .any(|n| matches!(n, IpNet::V4(_)) && is_everywhere(n));
            let v6_all = nets
                .iter()
                .any(|n| matches!(n, IpNet::V6(_)) && is_everywhere(n));
            let (v4, v6) = split_nets(nets);
            if v4_all {
                out.push("meta nfproto ipv4 ".to_string());
            } else if !v4.is_empty() {
                out.push(format!("ip {dir} {{ {} }} ", v4.join(", ")));
            }
            if v6_all {
                out.push("meta nfproto ipv6 ".to_string());
            } else if !v6.is_empty() {
                out.push(format!("ip6 {dir} {{ {} }} ", v6.join(", ")));
            }
            out
        }
    }
}

fn inbound_rules(out: &mut String, policy: &Policy, rule: &InboundRule) {
    let _ = writeln!(
        out,
        "\t\t# {}: {} {}",
        rule.origin,
        rule.proto.as_str(),
        rule.ports
    );
    let ports = port_match(rule.proto, &rule.ports, "dport");
    if let (true, Some(limit)) = (rule.rate_limited, policy.conn_limit) {
        for (family, set, addr) in [
            ("ipv4", "rate4", "ip saddr"),
            ("ipv6", "rate6", "ip6 saddr"),
        ] {
            let _ = writeln!(
                out,
                "\t\tmeta nfproto {family} {ports} ct state new update @{set} {{ {addr} limit rate over {}/{} burst {} packets }} drop",
                limit.count, limit.unit, limit.burst
            );
        }
    }
    for m in peer_matches(&rule.from, "saddr") {
        let _ = writeln!(out, "\t\t{m}{ports} accept");
    }
}

/// The full script that replaces table `inet nodeward` with `policy`, with `bans`
/// preloaded into the ban sets.
pub fn render(policy: &Policy, bans: &[BanElement]) -> String {
    let mut out = String::new();
    out.push_str("# nodeward firewall: replaces table inet nodeward in one transaction; other tables are untouched.\n");
    let _ = writeln!(
        out,
        "add table {TABLE}\ndelete table {TABLE}\ntable {TABLE} {{"
    );

    let (t4, t6) = split_nets(&policy.trusted);
    set_decl(&mut out, "trusted4", "ipv4_addr", "interval", &t4);
    set_decl(&mut out, "trusted6", "ipv6_addr", "interval", &t6);
    let ban4: Vec<String> = bans
        .iter()
        .filter(|b| b.addr.is_ipv4())
        .map(ban_element)
        .collect();
    let ban6: Vec<String> = bans
        .iter()
        .filter(|b| b.addr.is_ipv6())
        .map(ban_element)
        .collect();
    set_decl(&mut out, BAN_SET_V4, "ipv4_addr", "timeout", &ban4);
    set_decl(&mut out, BAN_SET_V6, "ipv6_addr", "timeout", &ban6);
    if policy.conn_limit.is_some() {
        for (name, ty) in [("rate4", "ipv4_addr"), ("rate6", "ipv6_addr")] {
            let _ = writeln!(
                out,
                "\tset {name} {{\n\t\ttype {ty}\n\t\tsize 65535\n\t\tflags dynamic,timeout\n\t\ttimeout 1m\n\t}}"
            );
        }
    }

    out.push_str(
        "\tchain ban_input {\n\t\ttype filter hook input priority -10; policy accept;\n\
         \t\tip saddr @ban4 drop\n\t\tip6 saddr @ban6 drop\n\t}\n",
    );

    out.push_str("\tchain input {\n\t\ttype filter hook input priority 0; policy drop;\n");
    out.push_str("\t\tiif \"lo\" accept\n");
    out.push_str("\t\tct state invalid drop\n");
    out.push_str("\t\tct state established,related accept\n");
    out.push_str("\t\tip saddr @trusted4 accept\n\t\tip6 saddr @trusted6 accept\n");
    out.push_str(ICMP_IN);
    for rule in &policy.inbound {
        inbound_rules(&mut out, policy, rule);
    }
    out.push_str("\t}\n");

    if let Some(egress) = &policy.egress {
        out.push_str("\tchain output {\n\t\ttype filter hook output priority 0; policy drop;\n");
        out.push_str("\t\toif \"lo\" accept\n");
        out.push_str("\t\tct state established,related accept\n");
        out.push_str("\t\tip daddr @trusted4 accept\n\t\tip6 daddr @trusted6 accept\n");
        out.push_str(ICMP_OUT);
        for rule in egress {
            let ports = port_match(rule.proto, &rule.ports, "dport");
            for m in peer_matches(&rule.to, "daddr") {
                let _ = writeln!(out, "\t\t{m}{ports} accept");
            }
        }
        out.push_str("\t}\n");
    }
    out.push_str("}\n");
    out
}

/// Inbound ICMP that keeps IPv4 and IPv6 working: errors (path MTU discovery),
/// neighbour discovery (link-local only, hop limit 255), rate-limited echo.
const ICMP_IN: &str = "\t\t# ICMP and ICMPv6 essentials
\t\ticmp type { destination-unreachable, time-exceeded, parameter-problem } accept
\t\ticmp type echo-request limit rate 20/second burst 50 packets accept
\t\ticmpv6 type { destination-unreachable, packet-too-big, time-exceeded, parameter-problem } accept
\t\ticmpv6 type { nd-neighbor-solicit, nd-neighbor-advert, nd-router-advert, nd-redirect } ip6 hoplimit 255 accept
\t\ticmpv6 type { mld-listener-query, mld-listener-report, mld2-listener-report } ip6 saddr fe80::/10 accept
\t\ticmpv6 type echo-request limit rate 20/second burst 50 packets accept
\t\t# DHCPv6 replies come from link-local servers and are not tracked as replies
\t\tip6 saddr fe80::/10 udp sport 547 udp dport 546 accept
";

/// Outbound ICMP kept when egress filtering is on.
const ICMP_OUT: &str = "\t\tmeta l4proto { icmp, ipv6-icmp } accept\n";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Sections;
    use nodeward_config::load_sections;
    use std::path::Path;

    fn policy(text: &str) -> Policy {
        let p = Path::new("n.toml");
        let s: Sections = load_sections(p, text).unwrap();
        Policy::from_section(p, &s.firewall).unwrap()
    }

    #[test]
    fn touches_only_the_nodeward_table() {
        let script = render(&policy(""), &[]);
        for line in script.lines() {
            let l = line.trim_start();
            if l.starts_with("table ")
                || l.starts_with("add table")
                || l.starts_with("delete table")
            {
                assert!(l.contains("inet nodeward"), "{l}");
            }
        }
        assert!(script.contains("tcp dport 22 accept"), "{script}");
        assert!(script.contains("policy drop"));
        assert!(script.contains("nd-neighbor-solicit"));
    }

    #[test]
    fn sources_split_by_family() {
        let script = render(
            &policy("[[firewall.allow]]\nproto=\"tcp\"\nports=\"8080,9000-9100\"\nfrom=[\"10.0.0.0/8\",\"fd00::/8\"]\n"),
            &[],
        );
        assert!(
            script.contains("ip saddr { 10.0.0.0/8 } tcp dport { 8080, 9000-9100 } accept"),
            "{script}"
        );
        assert!(
            script.contains("ip6 saddr { fd00::/8 } tcp dport { 8080, 9000-9100 } accept"),
            "{script}"
        );
        // Not public: no rate limit on that rule.
        assert!(
            !script.contains("tcp dport { 8080, 9000-9100 } ct state new"),
            "{script}"
        );
    }

    #[test]
    fn bans_are_preloaded_with_timeouts() {
        let bans = [
            BanElement {
                addr: "192.0.2.9".parse().unwrap(),
                remaining: Duration::from_secs(90),
            },
            BanElement {
                addr: "2001:db8::9".parse().unwrap(),
                remaining: Duration::from_millis(10),
            },
        ];
        let script = render(&policy(""), &bans);
        assert!(
            script.contains("elements = { 192.0.2.9 timeout 90s }"),
            "{script}"
        );
        assert!(
            script.contains("elements = { 2001:db8::9 timeout 1s }"),
            "{script}"
        );
    }

    #[test]
    fn egress_chain_only_when_asked() {
        assert!(!render(&policy(""), &[]).contains("hook output"));
        let script = render(
            &policy(
                "[firewall]\negress=true\n[[firewall.allow_out]]\nproto=\"udp\"\nports=\"53\"\n",
            ),
            &[],
        );
        assert!(
            script.contains("hook output") && script.contains("udp dport 53 accept"),
            "{script}"
        );
    }
}
