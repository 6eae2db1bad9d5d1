//! The checked firewall policy: what the ruleset generator and the SSH guard read.
//!
//! Building a [`Policy`] from the config refuses everything that cannot be a safe
//! firewall: bad CIDRs, overlapping ports between rules, an egress policy that
//! allows nothing, unknown profiles, rates nftables cannot express.

use crate::addr::{any_contains, is_everywhere, parse_net};
use crate::config::{FirewallSection, Proto};
use crate::ports::{PortList, PortRange};
use crate::profiles;
use ipnet::IpNet;
use nodeward_config::{ConfigError, Rate};
use std::net::IpAddr;
use std::path::Path;

/// Where a rule accepts traffic from (or to).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Peers {
    /// Every address, IPv4 and IPv6.
    Everywhere,
    /// Only these networks (each family gets only its own networks).
    Only(Vec<IpNet>),
}

impl Peers {
    /// Whether `addr` is covered.
    pub fn contains(&self, addr: IpAddr) -> bool {
        match self {
            Peers::Everywhere => true,
            Peers::Only(nets) => any_contains(nets, addr),
        }
    }
}

/// One inbound allow rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InboundRule {
    /// Where it came from, for messages (`firewall.allow[2]`, `profile iota`, `ssh_port`).
    pub origin: String,
    /// Protocol.
    pub proto: Proto,
    /// Destination ports.
    pub ports: PortList,
    /// Allowed sources.
    pub from: Peers,
    /// Whether new connections are rate-limited per source.
    pub rate_limited: bool,
}

/// One outbound allow rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboundRule {
    /// Protocol.
    pub proto: Proto,
    /// Destination ports.
    pub ports: PortList,
    /// Allowed destinations.
    pub to: Peers,
}

/// Per-source limit on new connections, in nftables' terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnLimit {
    /// Packets per unit.
    pub count: u32,
    /// `second`, `minute`, `hour` or `day`.
    pub unit: &'static str,
    /// Burst allowed above the rate.
    pub burst: u32,
}

/// A validated firewall policy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    /// The SSH port.
    pub ssh_port: u16,
    /// Inbound allow rules (the SSH rule first).
    pub inbound: Vec<InboundRule>,
    /// Sources with full access.
    pub trusted: Vec<IpNet>,
    /// Outbound filtering: `None` allows all outbound traffic.
    pub egress: Option<Vec<OutboundRule>>,
    /// Per-source new-connection limit for public ports.
    pub conn_limit: Option<ConnLimit>,
}

fn parse_peers(path: &Path, key: &str, list: Option<&[String]>) -> Result<Peers, ConfigError> {
    let Some(list) = list else {
        return Ok(Peers::Everywhere);
    };
    if list.is_empty() {
        return Err(ConfigError::invalid(
            path,
            key,
            "empty list allows nobody; remove the key to allow everywhere",
        ));
    }
    let mut nets = Vec::new();
    for (i, text) in list.iter().enumerate() {
        let net =
            parse_net(text).map_err(|m| ConfigError::invalid(path, format!("{key}[{i}]"), m))?;
        nets.push(net);
    }
    let v4_all = nets
        .iter()
        .any(|n| matches!(n, IpNet::V4(_)) && is_everywhere(n));
    let v6_all = nets
        .iter()
        .any(|n| matches!(n, IpNet::V6(_)) && is_everywhere(n));
    if v4_all && v6_all {
        return Ok(Peers::Everywhere);
    }
    Ok(Peers::Only(nets))
}

fn conn_limit(path: &Path, rate: Rate) -> Result<ConnLimit, ConfigError> {
    let unit = match rate.per.as_secs() {
        1 => "second",
        60 => "minute",
        3600 => "hour",
        86_400 => "day",
        _ => {
            return Err(ConfigError::invalid(
                path,
                "firewall.new_conn_rate",
                format!("nftables limits count per second, minute, hour or day; {rate} is none of these (write e.g. \"30/s\" or \"600/min\")"),
            ))
        }
    };
    Ok(ConnLimit {
        count: rate.count,
        unit,
        burst: rate.count.saturating_mul(2),
    })
}

impl Policy {
    /// Checks the `[firewall]` table of `path` and builds the policy.
    pub fn from_section(path: &Path, s: &FirewallSection) -> Result<Policy, ConfigError> {
        if s.ssh_port == 0 {
            return Err(ConfigError::invalid(
                path,
                "firewall.ssh_port",
                "port 0 is not a usable port",
            ));
        }
        let mut inbound = vec![InboundRule {
            origin: "firewall.ssh_port".into(),
            proto: Proto::Tcp,
            ports: PortList::single(s.ssh_port),
            from: parse_peers(
                path,
                "firewall.ssh_from",
                (!s.ssh_from.is_empty()).then_some(&s.ssh_from[..]),
            )?,
            rate_limited: true,
        }];
        for (i, rule) in s.allow.iter().enumerate() {
            let key = format!("firewall.allow[{i}]");
            let from = parse_peers(path, &format!("{key}.from"), rule.from.as_deref())?;
            let public = from == Peers::Everywhere;
            inbound.push(InboundRule {
                origin: key,
                proto: rule.proto,
                ports: rule.ports.clone(),
                from,
                rate_limited: rule.rate_limit.unwrap_or(public),
            });
        }
        check_overlaps(path, &inbound)?;
        // Profile ports are opened to everyone unless an explicit rule (or ssh_port)
        // already covers the port: the explicit rule, with its sources, wins.
        let explicit = inbound.clone();
        let mut seen: Vec<(Proto, u16)> = Vec::new();
        for (i, name) in s.profiles.iter().enumerate() {
            let profile = profiles::find(name).ok_or_else(|| {
                let known: Vec<_> = profiles::PROFILES.iter().map(|p| p.name).collect();
                ConfigError::invalid(
                    path,
                    format!("firewall.profiles[{i}]"),
                    format!("unknown profile {name:?} (known: {})", known.join(", ")),
                )
            })?;
            for (proto, ports) in profiles::ports(profile) {
                let mut keep = Vec::new();
                for r in ports.ranges() {
                    for port in r.first..=r.last {
                        let covered = explicit
                            .iter()
                            .any(|e| e.proto == proto && e.ports.contains(port));
                        if !covered && !seen.contains(&(proto, port)) {
                            seen.push((proto, port));
                            keep.push(PortRange {
                                first: port,
                                last: port,
                            });
                        }
                    }
                }
                if !keep.is_empty() {
                    inbound.push(InboundRule {
                        origin: format!("profile {name}"),
                        proto,
                        ports: PortList::from_ranges(keep),
                        from: Peers::Everywhere,
                        rate_limited: true,
                    });
                }
            }
        }

        let mut trusted = Vec::new();
        for (i, text) in s.trusted.iter().enumerate() {
            trusted
                .push(parse_net(text).map_err(|m| {
                    ConfigError::invalid(path, format!("firewall.trusted[{i}]"), m)
                })?);
        }
        if let Some(everywhere) = trusted.iter().find(|n| is_everywhere(n)) {
            return Err(ConfigError::invalid(
                path,
                "firewall.trusted",
                format!("{everywhere} trusts the whole Internet, which disables the firewall"),
            ));
        }

        let egress = if s.egress {
            if s.allow_out.is_empty() {
                return Err(ConfigError::invalid(
                    path,
                    "firewall.allow_out",
                    "egress = true with no [[firewall.allow_out]] rule would block all outbound traffic, DNS and updates included",
                ));
            }
            let mut out = Vec::new();
            for (i, rule) in s.allow_out.iter().enumerate() {
                let key = format!("firewall.allow_out[{i}].to");
                out.push(OutboundRule {
                    proto: rule.proto,
                    ports: rule.ports.clone(),
                    to: parse_peers(path, &key, rule.to.as_deref())?,
                });
            }
            Some(out)
        } else {
            if !s.allow_out.is_empty() {
                return Err(ConfigError::invalid(
                    path,
                    "firewall.allow_out",
                    "allow_out rules only take effect with egress = true; set it or remove them",
                ));
            }
            None
        };
        let conn_limit = s.new_conn_rate.map(|r| conn_limit(path, r)).transpose()?;
        Ok(Policy {
            ssh_port: s.ssh_port,
            inbound,
            trusted,
            egress,
            conn_limit,
        })
    }

    /// Whether a new TCP/UDP connection from `source` to local `port` would be accepted.
    pub fn accepts(&self, proto: Proto, source: IpAddr, port: u16) -> bool {
        if any_contains(&self.trusted, source) {
            return true;
        }
        self.inbound
            .iter()
            .any(|r| r.proto == proto && r.ports.contains(port) && r.from.contains(source))
    }
}

fn check_overlaps(path: &Path, rules: &[InboundRule]) -> Result<(), ConfigError> {
    for (i, a) in rules.iter().enumerate() {
        for b in &rules[i + 1..] {
            if a.proto != b.proto {
                continue;
            }
            for ra in a.ports.ranges() {
                if let Some(rb) = b.ports.ranges().iter().find(|rb| ra.overlaps(**rb)) {
                    let shared = PortRange {
                        first: ra.first.max(rb.first),
                        last: ra.last.min(rb.last),
                    };
                    return Err(ConfigError::invalid(
                        path,
                        b.origin.clone(),
                        format!(
                            "{} port {shared} is already allowed by {}; each port may appear in one rule only (merge the sources into one rule)",
                            b.proto.as_str(),
                            a.origin
                        ),
                    ));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Sections;
    use nodeward_config::load_sections;

    fn policy(text: &str) -> Result<Policy, String> {
        let p = Path::new("n.toml");
        let s: Sections = load_sections(p, text).map_err(|e| e.to_string())?;
        Policy::from_section(p, &s.firewall).map_err(|e| e.to_string())
    }

    #[test]
    fn default_policy_opens_only_ssh() {
        let p = policy("").unwrap();
        assert!(p.accepts(Proto::Tcp, "198.51.100.1".parse().unwrap(), 22));
        assert!(!p.accepts(Proto::Tcp, "198.51.100.1".parse().unwrap(), 80));
        assert!(!p.accepts(Proto::Udp, "198.51.100.1".parse().unwrap(), 22));
    }

    #[test]
    fn overlapping_rules_are_refused() {
        let err = policy(
            "[[firewall.allow]]\nproto=\"tcp\"\nports=\"3000-3999\"\n[[firewall.allow]]\nproto=\"tcp\"\nports=\"3500\"\nfrom=[\"10.0.0.0/8\"]\n",
        )
        .unwrap_err();
        assert!(
            err.contains("firewall.allow[1]") && err.contains("3500"),
            "{err}"
        );
        let err = policy("[[firewall.allow]]\nproto=\"tcp\"\nports=\"22\"\n").unwrap_err();
        assert!(err.contains("firewall.ssh_port"), "{err}");
        // Same port on another protocol is fine.
        policy("[[firewall.allow]]\nproto=\"udp\"\nports=\"22\"\n").unwrap();
    }

    #[test]
    fn bad_cidrs_are_refused() {
        let err = policy("[firewall]\ntrusted=[\"10.0.0.1/8\"]\n").unwrap_err();
        assert!(
            err.contains("firewall.trusted[0]") && err.contains("host bits"),
            "{err}"
        );
        let err = policy("[[firewall.allow]]\nproto=\"tcp\"\nports=\"80\"\nfrom=[\"nope\"]\n")
            .unwrap_err();
        assert!(err.contains("firewall.allow[0].from[0]"), "{err}");
        let err = policy("[firewall]\ntrusted=[\"::/0\"]\n").unwrap_err();
        assert!(err.contains("whole Internet"), "{err}");
    }

    #[test]
    fn egress_needs_rules() {
        let err = policy("[firewall]\negress=true\n").unwrap_err();
        assert!(err.contains("allow_out"), "{err}");
    }

    #[test]
    fn sources_are_checked() {
        let p =
            policy("[firewall]\nssh_from=[\"10.0.0.0/8\",\"fd00::/8\"]\ntrusted=[\"192.0.2.7\"]\n")
                .unwrap();
        assert!(p.accepts(Proto::Tcp, "10.1.1.1".parse().unwrap(), 22));
        assert!(p.accepts(Proto::Tcp, "fd00::1".parse().unwrap(), 22));
        assert!(!p.accepts(Proto::Tcp, "198.51.100.1".parse().unwrap(), 22));
        assert!(p.accepts(Proto::Udp, "192.0.2.7".parse().unwrap(), 9));
    }

    #[test]
    fn profiles_add_ports() {
        let p = policy("[firewall]\nprofiles=[\"iota\", \"hornet\"]\n").unwrap();
        let anyone = "198.51.100.1".parse().unwrap();
        assert!(p.accepts(Proto::Tcp, anyone, 15600));
        assert!(p.accepts(Proto::Udp, anyone, 14626));
        assert!(
            !p.accepts(Proto::Tcp, anyone, 14265),
            "the node API stays private"
        );
        // An explicit rule for a profile port wins (here: only from 10.0.0.0/8).
        let p = policy("[firewall]\nprofiles=[\"iota\"]\n[[firewall.allow]]\nproto=\"tcp\"\nports=\"15600\"\nfrom=[\"10.0.0.0/8\"]\n").unwrap();
        assert!(!p.accepts(Proto::Tcp, anyone, 15600));
        assert!(p.accepts(Proto::Tcp, "10.1.1.1".parse().unwrap(), 15600));
        assert!(p.accepts(Proto::Tcp, anyone, 443));
        assert!(policy("[firewall]\nprofiles=[\"nope\"]\n")
            .unwrap_err()
            .contains("unknown profile"));
    }
}
