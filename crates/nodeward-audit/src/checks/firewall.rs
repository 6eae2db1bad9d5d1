//! Firewall checks (FW-001 … FW-005): an active firewall, default-deny input
//! for IPv4 and IPv6, and listening sockets against the node profile.
//! nodeward's own firewall (table `inet nodeward`) counts only as far as it
//! survives a reboot: a live-only table is a warning.

use super::{Check, Ctx, Outcome};
use crate::facts::keyvalue;
use crate::facts::nftables::{analyse_iptables_save, analyse_nft, InputPolicy};
use crate::facts::nodeward_fw::{self, Persistence, RulesetFile};
use crate::facts::sockets::is_public;
use crate::profile::GATEWAY_PROCESSES;
use nodeward_report::Severity;

/// What the audit found about the host firewall.
#[derive(Debug, Clone, Default)]
struct FirewallState {
    /// Each active firewall with how it was seen.
    active: Vec<String>,
    /// Input policy across the active rule sets.
    policy: InputPolicy,
    /// Reasons something could not be inspected.
    unknown: Vec<String>,
    /// What decided the IPv6 verdict beyond the nft chains (ufw, firewalld, csf).
    v6_notes: Vec<String>,
    /// Why the IPv6 input policy of an active firewall could not be determined.
    v6_unknown: Vec<String>,
    /// nodeward's own firewall, when it is loaded or configured.
    nodeward: Option<NodewardFw>,
}

/// nodeward's own firewall: loaded (live) or persisted, and whether it
/// survives a reboot.
#[derive(Debug, Clone, PartialEq, Eq)]
enum NodewardFw {
    /// Loaded at boot (and, live, loaded now).
    Persisted(String),
    /// Live: table `inet nodeward` is loaded but nothing loads it at boot.
    LiveOnly(String),
    /// Offline: a persisted ruleset or an enabled unit, but not both.
    NotAtBoot(String),
    /// Live: persisted, but table `inet nodeward` is not loaded now.
    NotLoaded(String),
}

/// Judges nodeward's firewall from its persistence and, live, whether the
/// table is loaded now (`None` offline). `None` when nodeward's firewall is
/// neither loaded nor configured.
fn judge_nodeward(p: &Persistence, loaded: Option<bool>) -> Option<NodewardFw> {
    let configured = p.unit.is_some() || p.file != RulesetFile::Missing;
    match (loaded, p.persisted()) {
        (Some(true), Some(how)) => Some(NodewardFw::Persisted(format!(
            "table {} loaded; {how}",
            nodeward_fw::TABLE
        ))),
        (Some(true), None) => Some(NodewardFw::LiveOnly(format!(
            "table {} is loaded but will not survive a reboot: {}",
            nodeward_fw::TABLE,
            p.gap()
        ))),
        (Some(false), Some(how)) => Some(NodewardFw::NotLoaded(format!(
            "{how}, but table {} is not loaded now",
            nodeward_fw::TABLE
        ))),
        (None, Some(how)) => Some(NodewardFw::Persisted(how)),
        (_, None) if configured => Some(NodewardFw::NotAtBoot(format!(
            "nodeward's firewall is not loaded at boot: {}",
            p.gap()
        ))),
        _ => None,
    }
}

/// The fix for a nodeward firewall that does not survive a reboot.
const NODEWARD_PERSIST_FIX: &str = "Run `nodeward firewall confirm` after `nodeward firewall apply` (it writes /etc/nodeward/firewall.nft), then `systemctl enable nodeward-firewall.service` so the ruleset is loaded at boot.";

fn kv(ctx: &Ctx, path: &str) -> Option<Vec<keyvalue::Setting>> {
    ctx.host
        .read_text(path)
        .ok()
        .map(|t| keyvalue::parse(&t, Some('=')))
}

fn value_of(settings: &Option<Vec<keyvalue::Setting>>, key: &str) -> Option<String> {
    settings
        .as_ref()
        .and_then(|s| keyvalue::last(s, key))
        .map(|s| s.value.trim().to_string())
}

fn merge(into: &mut InputPolicy, p: InputPolicy) {
    into.v4_chain |= p.v4_chain;
    into.v6_chain |= p.v6_chain;
    into.v4_deny |= p.v4_deny;
    into.v6_deny |= p.v6_deny;
    into.chains.extend(p.chains);
}

fn inspect(ctx: &Ctx) -> FirewallState {
    let mut st = FirewallState::default();
    // nftables (also shows iptables-nft, ufw and firewalld rules on modern systems).
    if ctx.live() {
        match ctx.host.run("/usr/sbin/nft", &["list", "ruleset"]) {
            Ok(out) if out.code == Some(0) => {
                let p = analyse_nft(&out.stdout);
                let loaded = nodeward_fw::has_firewall(&p);
                st.nodeward =
                    judge_nodeward(&Persistence::read(ctx.host, ctx.units()), Some(loaded));
                if p.v4_chain || p.v6_chain {
                    st.active
                        .push(format!("nft list ruleset: {}", p.chains.join("; ")));
                }
                merge(&mut st.policy, p);
            }
            Ok(out) => st.unknown.push(format!(
                "nft list ruleset failed: {}",
                out.stderr.lines().next().unwrap_or("").trim()
            )),
            Err(e) => st.unknown.push(e.reason),
        }
        // Legacy iptables tables are invisible to nft.
        let legacy = ctx
            .host
            .read_text("/proc/net/ip_tables_names")
            .is_ok_and(|t| t.lines().any(|l| l.trim() == "filter"));
        if legacy {
            if let Ok(out) = ctx.host.run("/usr/sbin/iptables-legacy-save", &[]) {
                let (chain, deny, desc) = analyse_iptables_save(&out.stdout);
                if chain {
                    st.active.push(format!("iptables-legacy-save: {desc}"));
                    st.policy.v4_chain = true;
                    st.policy.v4_deny |= deny;
                }
            }
        }
    } else {
        let persistence = Persistence::read(ctx.host, ctx.units());
        st.nodeward = judge_nodeward(&persistence, None);
        if let (Some(NodewardFw::Persisted(how)), RulesetFile::Table(p)) =
            (&st.nodeward, &persistence.file)
        {
            if persistence.unit.is_some() && (p.v4_chain || p.v6_chain) {
                st.active.push(format!("{how}: {}", p.chains.join("; ")));
                merge(&mut st.policy, p.clone());
            }
        }
        if let Some(link) = ctx.units().enabled("nftables.service") {
            match ctx.host.read_text("/etc/nftables.conf") {
                Ok(text) => {
                    let p = analyse_nft(&text);
                    if p.v4_chain || p.v6_chain {
                        st.active.push(format!(
                            "nftables.service enabled ({link}); /etc/nftables.conf: {}",
                            p.chains.join("; ")
                        ));
                    }
                    merge(&mut st.policy, p);
                }
                Err(e) => st.unknown.push(e.reason),
            }
        }
        if let Some(link) = ctx.units().enabled("netfilter-persistent.service") {
            for (file, v6) in [
                ("/etc/iptables/rules.v4", false),
                ("/etc/iptables/rules.v6", true),
            ] {
                if let Ok(text) = ctx.host.read_text(file) {
                    let (chain, deny, desc) = analyse_iptables_save(&text);
                    if chain {
                        st.active.push(format!(
                            "netfilter-persistent enabled ({link}); {file}: {desc}"
                        ));
                        if v6 {
                            st.policy.v6_chain = true;
                            st.policy.v6_deny |= deny;
                        } else {
                            st.policy.v4_chain = true;
                            st.policy.v4_deny |= deny;
                        }
                    }
                }
            }
        }
    }
    // ufw.
    let ufw = kv(ctx, "/etc/ufw/ufw.conf");
    if value_of(&ufw, "ENABLED").is_some_and(|v| v.eq_ignore_ascii_case("yes")) {
        let defaults = kv(ctx, "/etc/default/ufw");
        let input_set = value_of(&defaults, "DEFAULT_INPUT_POLICY");
        let input = input_set.clone().unwrap_or_else(|| "DROP".into());
        let ipv6_set = value_of(&defaults, "IPV6");
        let ipv6 = ipv6_set
            .as_deref()
            .is_none_or(|v| v.eq_ignore_ascii_case("yes"));
        let deny = input.eq_ignore_ascii_case("DROP") || input.eq_ignore_ascii_case("REJECT");
        st.active.push(format!(
            "ufw enabled (/etc/ufw/ufw.conf ENABLED=yes; DEFAULT_INPUT_POLICY={}, IPV6={})",
            input_set.as_deref().unwrap_or("unset"),
            ipv6_set.as_deref().unwrap_or("unset")
        ));
        st.policy.v4_chain = true;
        st.policy.v4_deny |= deny;
        match (&ipv6_set, &input_set, defaults.is_some()) {
            (_, _, false) => st.v6_unknown.push(
                "ufw is enabled but /etc/default/ufw cannot be read, so its IPv6 setting and input policy are unknown".into(),
            ),
            (None, _, true) => st.v6_unknown.push(
                "ufw is enabled but /etc/default/ufw does not set IPV6".into(),
            ),
            (Some(_), None, true) if ipv6 => st.v6_unknown.push(
                "ufw has IPV6=yes but /etc/default/ufw does not set DEFAULT_INPUT_POLICY".into(),
            ),
            (Some(_), _, true) if !ipv6 => st.v6_notes.push(
                "ufw: IPV6=no in /etc/default/ufw, so ufw filters IPv4 only".into(),
            ),
            _ => {
                st.policy.v6_chain = true;
                st.policy.v6_deny |= deny;
                st.v6_notes.push(format!(
                    "ufw: IPV6=yes, DEFAULT_INPUT_POLICY={input} in /etc/default/ufw"
                ));
            }
        }
    }
    // firewalld: every zone but "trusted" rejects what it does not allow.
    if let Some(ev) = ctx.service_active("firewalld.service", &["firewalld"]) {
        let conf = kv(ctx, "/etc/firewalld/firewalld.conf");
        let zone = value_of(&conf, "DefaultZone").unwrap_or_else(|| "public".into());
        st.active
            .push(format!("firewalld: {ev}, default zone {zone}"));
        st.policy.v4_chain = true;
        st.policy.v6_chain = true;
        if zone != "trusted" {
            st.policy.v4_deny = true;
            st.policy.v6_deny = true;
            st.v6_notes.push(format!(
                "firewalld: default zone {zone} rejects IPv4 and IPv6 input it does not allow"
            ));
        } else {
            st.v6_notes
                .push("firewalld: default zone trusted accepts all IPv4 and IPv6 input".into());
        }
    }
    // csf.
    let csf = kv(ctx, "/etc/csf/csf.conf");
    if value_of(&csf, "TESTING").is_some_and(|v| v == "0") {
        if let Some(ev) = ctx
            .service_active("csf.service", &["csf"])
            .or_else(|| ctx.service_active("lfd.service", &["lfd"]))
        {
            let ipv6_set = value_of(&csf, "IPV6");
            let ipv6 = ipv6_set.as_deref() == Some("1");
            st.active.push(format!("csf: TESTING = \"0\", {ev}"));
            st.policy.v4_chain = true;
            st.policy.v4_deny = true;
            if ipv6 {
                st.policy.v6_chain = true;
                st.policy.v6_deny = true;
                st.v6_notes.push(
                    "csf: IPV6 = \"1\" in /etc/csf/csf.conf (csf drops unlisted IPv6 input)".into(),
                );
            } else {
                st.v6_notes.push(format!(
                    "csf: IPV6 = {} in /etc/csf/csf.conf, so csf filters IPv4 only",
                    ipv6_set
                        .map(|v| format!("{v:?}"))
                        .unwrap_or_else(|| "unset".into())
                ));
            }
        }
    }
    st
}

const FIREWALL_FIX: &str = "Enable a firewall that drops unsolicited input and is loaded at boot: e.g. `nodeward firewall apply`, then `nodeward firewall confirm` (persists /etc/nodeward/firewall.nft) and `systemctl enable nodeward-firewall.service`; or `apt install nftables`, write /etc/nftables.conf with `table inet filter { chain input { type filter hook input priority 0; policy drop; ct state established,related accept; iif lo accept; tcp dport <ssh-port> accept; } }`, then `systemctl enable --now nftables`.";

/// FW-001 from the inspected state: nodeward's own firewall decides first when
/// it does not survive a reboot (warn), or is persisted (pass).
fn judge_active(st: &FirewallState, live: bool) -> Outcome {
    let others = || {
        if st.active.is_empty() {
            String::new()
        } else {
            format!("; also active: {}", st.active.join("; "))
        }
    };
    match &st.nodeward {
        Some(NodewardFw::LiveOnly(why) | NodewardFw::NotAtBoot(why)) => {
            return Outcome::warn(format!("{why}{}", others())).fix(NODEWARD_PERSIST_FIX)
        }
        Some(NodewardFw::Persisted(how)) if live => {
            return Outcome::pass(format!("{how}; {}", st.active.join("; ")))
        }
        Some(NodewardFw::NotLoaded(why)) if st.active.is_empty() => {
            return Outcome::fail(format!(
                "no firewall is loaded: {why} (run `systemctl start nodeward-firewall.service`)"
            ))
        }
        Some(NodewardFw::NotLoaded(why)) => {
            return Outcome::pass(format!("{}; note: {why}", st.active.join("; ")))
        }
        _ => {}
    }
    if !st.active.is_empty() {
        Outcome::pass(st.active.join("; "))
    } else if !st.unknown.is_empty() && live {
        Outcome::skip(format!(
            "cannot inspect the firewall: {}",
            st.unknown.join("; ")
        ))
    } else {
        Outcome::fail(if live {
            "no nftables/iptables input chain, ufw, firewalld or csf is active".to_string()
        } else {
            "no enabled nftables, netfilter-persistent, ufw, firewalld, csf or nodeward firewall configuration"
                .to_string()
        })
    }
}

fn active(ctx: &Ctx) -> Outcome {
    judge_active(&inspect(ctx), ctx.live())
}

fn default_deny(ctx: &Ctx) -> Outcome {
    let st = inspect(ctx);
    if st.active.is_empty() {
        if !st.unknown.is_empty() && ctx.live() {
            return Outcome::skip(format!(
                "cannot inspect the firewall: {}",
                st.unknown.join("; ")
            ));
        }
        return Outcome::fail("no active firewall, so all input is accepted");
    }
    if st.policy.v4_deny {
        Outcome::pass(st.active.join("; "))
    } else {
        Outcome::fail(format!(
            "IPv4 input is accepted by default: {}",
            st.active.join("; ")
        ))
    }
}

fn ipv6_up(ctx: &Ctx) -> (bool, String) {
    if ctx.live() {
        match ctx.host.read_text("/proc/net/if_inet6") {
            Ok(text) => {
                // Fields: address, ifindex, prefix len, scope, flags, name.
                let global: Vec<String> = text
                    .lines()
                    .filter_map(|l| {
                        let f: Vec<&str> = l.split_whitespace().collect();
                        (f.len() >= 6 && f[5] != "lo" && f[3] == "00").then(|| f[5].to_string())
                    })
                    .collect();
                if global.is_empty() {
                    (
                        false,
                        "no global IPv6 address on any interface (/proc/net/if_inet6)".into(),
                    )
                } else {
                    (
                        true,
                        format!("global IPv6 addresses on {}", global.join(", ")),
                    )
                }
            }
            Err(_) => (false, "IPv6 is not enabled in this kernel".into()),
        }
    } else {
        match ctx.host.sysctl("net.ipv6.conf.all.disable_ipv6") {
            Ok((v, src)) if v.trim() == "1" => (false, format!("IPv6 disabled ({src})")),
            Ok((_, src)) => (true, format!("IPv6 not disabled ({src})")),
            Err(_) => (true, "IPv6 assumed enabled".into()),
        }
    }
}

/// FW-003 from the inspected state once IPv6 is known to be up (`why`).
fn judge_ipv6(st: &FirewallState, why: &str) -> Outcome {
    // What was found for IPv6: inet/ip6 input chains and the other firewalls' settings.
    let mut found: Vec<String> = st
        .policy
        .chains
        .iter()
        .filter(|c| c.starts_with("table inet ") || c.starts_with("table ip6 "))
        .cloned()
        .collect();
    found.extend(st.v6_notes.iter().cloned());
    let found = if found.is_empty() {
        "no inet or ip6 input chain".to_string()
    } else {
        found.join("; ")
    };
    if st.policy.v6_deny {
        Outcome::pass(format!("{why}; IPv6 input denied by default: {found}"))
    } else if !st.v6_unknown.is_empty() {
        Outcome::warn(format!(
            "{why}; the IPv6 input policy could not be determined: {}; also found: {found}",
            st.v6_unknown.join("; ")
        ))
    } else if st.policy.v6_chain {
        Outcome::fail(format!("{why}; IPv6 input is accepted by default: {found}"))
    } else {
        Outcome::fail(format!("{why}; no IPv6 input rules: {found}"))
    }
}

fn ipv6_rules(ctx: &Ctx) -> Outcome {
    let (up, why) = ipv6_up(ctx);
    if !up {
        return Outcome::pass(why);
    }
    let st = inspect(ctx);
    if st.active.is_empty() && !st.unknown.is_empty() && ctx.live() {
        return Outcome::skip(format!(
            "cannot inspect the firewall: {}",
            st.unknown.join("; ")
        ));
    }
    judge_ipv6(&st, &why)
}

/// The owners of a socket, for evidence.
pub(super) fn owners(s: &crate::host::Socket) -> String {
    if s.owners.is_empty() {
        "owner unknown".into()
    } else {
        s.owners
            .iter()
            .map(|(n, p)| format!("{n} pid {p}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// The SSH ports sshd is configured for (`sshd -T` live, sshd_config offline);
/// empty when unknown.
pub(super) fn ssh_ports(ctx: &Ctx) -> Vec<u16> {
    let mut ports = Vec::new();
    if let Ok(view) = ctx.sshd() {
        if let Some(d) = &view.dumped {
            ports.extend(
                d.get("port")
                    .into_iter()
                    .flatten()
                    .filter_map(|p| p.parse::<u16>().ok()),
            );
        } else if let Some(cfg) = &view.config {
            ports.extend(
                cfg.all_global("port")
                    .iter()
                    .flat_map(|s| s.args.iter())
                    .filter_map(|p| p.parse::<u16>().ok()),
            );
        }
    }
    ports
}

fn listening(ctx: &Ctx) -> Outcome {
    let sockets = match ctx.sockets() {
        Ok(s) => s,
        Err(e) => return e.clone().into(),
    };
    let ssh = ssh_ports(ctx);
    let mut unexpected = Vec::new();
    let mut allowed = Vec::new();
    for s in sockets.iter().filter(|s| is_public(&s.addr)) {
        let by_sshd = s.owners.iter().any(|(n, _)| n == "sshd") && s.proto == "tcp";
        let ok = ctx.profile.allows(s.proto, s.port)
            || (s.proto == "tcp" && ssh.contains(&s.port))
            || by_sshd;
        let line = format!("{}/{} on {} ({})", s.port, s.proto, s.addr, owners(s));
        if ok {
            allowed.push(line);
        } else {
            unexpected.push(line);
        }
    }
    unexpected.sort();
    unexpected.dedup();
    allowed.sort();
    allowed.dedup();
    let allowed_list: Vec<String> = ctx
        .profile
        .allowed_ports
        .iter()
        .map(|p| p.to_string())
        .collect();
    if unexpected.is_empty() {
        Outcome::pass(format!(
            "public sockets all allowed by profile {}: {}",
            ctx.profile.name,
            if allowed.is_empty() {
                "none".to_string()
            } else {
                allowed.join("; ")
            }
        ))
    } else {
        Outcome::fail(format!(
            "not allowed by profile {} ({}): {}",
            ctx.profile.name,
            allowed_list.join(", "),
            unexpected.join("; ")
        ))
        .fix(format!(
            "Stop the service or bind it to 127.0.0.1, or if it must be public add it to `[audit] allowed_ports` in the config and open it in the firewall: {}",
            unexpected.join("; ")
        ))
    }
}

fn api_not_public(ctx: &Ctx) -> Outcome {
    if ctx.profile.api_ports.is_empty() {
        return Outcome::skip(format!(
            "profile {} names no node API port (choose --profile or set [audit] api_ports)",
            ctx.profile.name
        ));
    }
    let sockets = match ctx.sockets() {
        Ok(s) => s,
        Err(e) => return e.clone().into(),
    };
    let mut exposed = Vec::new();
    let mut fine = Vec::new();
    for s in sockets
        .iter()
        .filter(|s| s.proto == "tcp" && ctx.profile.api_ports.contains(&s.port))
    {
        let gateway = s
            .owners
            .iter()
            .any(|(n, _)| GATEWAY_PROCESSES.contains(&n.as_str()));
        let line = format!("{}/tcp on {} ({})", s.port, s.addr, owners(s));
        if is_public(&s.addr) && !gateway {
            exposed.push(line);
        } else {
            fine.push(line);
        }
    }
    let commands = if ctx.profile.restricted_commands.is_empty() {
        String::new()
    } else {
        format!(
            " and restricts {}",
            ctx.profile.restricted_commands.join(", ")
        )
    };
    if exposed.is_empty() {
        Outcome::pass(if fine.is_empty() {
            format!("nothing listens on API port(s) {:?}", ctx.profile.api_ports)
        } else {
            format!(
                "API port(s) loopback-only or behind a gateway: {}",
                fine.join("; ")
            )
        })
    } else {
        Outcome::fail(format!("node API reachable without a gateway: {}", exposed.join("; "))).fix(format!(
            "Bind the node API to 127.0.0.1 and put `nodeward gateway` (or HAProxy/nginx) in front of it on 443, with a policy that rate-limits{commands}."
        ))
    }
}

/// Firewall checks.
pub const CHECKS: &[Check] = &[
    Check {
        id: "FW-001",
        area: "firewall",
        severity: Severity::High,
        title: "A host firewall is active",
        remediation: FIREWALL_FIX,
        references: &["CIS Debian 12 4.x", "iri-playbook: firewall"],
        run: active,
    },
    Check {
        id: "FW-002",
        area: "firewall",
        severity: Severity::High,
        title: "Incoming IPv4 traffic is denied by default",
        remediation: "Make the input chain's policy drop (`policy drop;` in nftables, `ufw default deny incoming`, `iptables -P INPUT DROP`) after allowing established traffic, loopback and your SSH port.",
        references: &["CIS Debian 12 4.x"],
        run: default_deny,
    },
    Check {
        id: "FW-003",
        area: "firewall",
        severity: Severity::Medium,
        title: "IPv6 has default-deny input rules when IPv6 is up",
        remediation: "Use an `inet` table in nftables (covers IPv4 and IPv6), set `IPV6=yes` in /etc/default/ufw, or add ip6tables rules with `-P INPUT DROP`; or disable IPv6 with `net.ipv6.conf.all.disable_ipv6 = 1`.",
        references: &["CIS Debian 12 4.x"],
        run: ipv6_rules,
    },
    Check {
        id: "FW-004",
        area: "firewall",
        severity: Severity::Medium,
        title: "Only the profile's ports listen on public addresses",
        remediation: "Stop unneeded services or bind them to 127.0.0.1; add ports that must be public to `[audit] allowed_ports`.",
        references: &["nodeward profiles (docs/checks.md)"],
        run: listening,
    },
    Check {
        id: "FW-005",
        area: "firewall",
        severity: Severity::High,
        title: "The node API is not public unless a gateway is in front",
        remediation: "Bind the node API to 127.0.0.1 and expose it only through `nodeward gateway` (or HAProxy/nginx with the iri-playbook policy).",
        references: &["iri-playbook: HAProxy security policy"],
        run: api_not_public,
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::nodeward_fw::RulesetFile;
    use nodeward_report::Status;

    fn persistence(file: bool, unit: bool) -> Persistence {
        Persistence {
            file: if file {
                RulesetFile::Table(analyse_nft(
                    "table inet nodeward {\n chain input {\n  type filter hook input priority 0; policy drop;\n }\n}\n",
                ))
            } else {
                RulesetFile::Missing
            },
            unit: unit.then(|| {
                "/etc/systemd/system/sysinit.target.wants/nodeward-firewall.service".to_string()
            }),
            other_loader: None,
        }
    }

    fn state(nodeward: Option<NodewardFw>, active: &[&str]) -> FirewallState {
        FirewallState {
            active: active.iter().map(|s| s.to_string()).collect(),
            nodeward,
            ..Default::default()
        }
    }

    #[test]
    fn live_only_nodeward_table_warns_and_names_confirm() {
        let nw = judge_nodeward(&persistence(false, false), Some(true));
        let o = judge_active(
            &state(nw, &["nft list ruleset: table inet nodeward chain input"]),
            true,
        );
        assert_eq!(o.status, Status::Warn, "{o:?}");
        assert!(o.evidence.contains("will not survive a reboot"), "{o:?}");
        assert!(
            o.evidence
                .contains("/etc/nodeward/firewall.nft does not exist"),
            "{o:?}"
        );
        let fix = o.remediation.unwrap();
        assert!(
            fix.contains("nodeward firewall confirm") && fix.contains("nodeward-firewall.service")
        );
        // The file alone is not enough live either: the unit must load it.
        let nw = judge_nodeward(&persistence(true, false), Some(true));
        let o = judge_active(&state(nw, &["x"]), true);
        assert_eq!(o.status, Status::Warn, "{o:?}");
        assert!(
            o.evidence
                .contains("nodeward-firewall.service is not enabled"),
            "{o:?}"
        );
    }

    #[test]
    fn persisted_nodeward_table_passes_live_and_offline() {
        let nw = judge_nodeward(&persistence(true, true), Some(true));
        let o = judge_active(&state(nw, &["nft list ruleset: ..."]), true);
        assert_eq!(o.status, Status::Pass, "{o:?}");
        assert!(
            o.evidence
                .contains("loaded at boot by nodeward-firewall.service"),
            "{o:?}"
        );
        let nw = judge_nodeward(&persistence(true, true), None);
        assert!(matches!(nw, Some(NodewardFw::Persisted(_))));
    }

    #[test]
    fn offline_file_or_unit_alone_warns() {
        for (file, unit, needle) in [
            (true, false, "nodeward-firewall.service is not enabled"),
            (false, true, "/etc/nodeward/firewall.nft does not exist"),
        ] {
            let nw = judge_nodeward(&persistence(file, unit), None);
            let o = judge_active(&state(nw, &[]), false);
            assert_eq!(o.status, Status::Warn, "{o:?}");
            assert!(o.evidence.contains(needle), "{o:?}");
        }
        // Nothing of nodeward's: other firewalls decide as before.
        assert_eq!(judge_nodeward(&persistence(false, false), None), None);
        assert_eq!(
            judge_nodeward(&persistence(false, false), Some(false)),
            None
        );
        let o = judge_active(&state(None, &["ufw enabled"]), false);
        assert_eq!(o.status, Status::Pass);
    }

    #[test]
    fn persisted_but_unloaded_live_is_not_a_pass_alone() {
        let nw = judge_nodeward(&persistence(true, true), Some(false));
        let o = judge_active(&state(nw.clone(), &[]), true);
        assert_eq!(o.status, Status::Fail, "{o:?}");
        assert!(o.evidence.contains("not loaded now"), "{o:?}");
        let o = judge_active(&state(nw, &["ufw enabled"]), true);
        assert_eq!(o.status, Status::Pass, "{o:?}");
    }

    #[test]
    fn ipv6_evidence_says_what_was_found() {
        let mut st = state(None, &["ufw enabled"]);
        st.policy.v6_deny = true;
        st.v6_notes
            .push("ufw: IPV6=yes, DEFAULT_INPUT_POLICY=DROP in /etc/default/ufw".into());
        let o = judge_ipv6(&st, "IPv6 up");
        assert_eq!(o.status, Status::Pass);
        assert!(o.evidence.ends_with("IPv6 input denied by default: ufw: IPV6=yes, DEFAULT_INPUT_POLICY=DROP in /etc/default/ufw"), "{o:?}");
        let mut st = state(None, &["ufw enabled"]);
        st.v6_unknown
            .push("ufw is enabled but /etc/default/ufw does not set IPV6".into());
        let o = judge_ipv6(&st, "IPv6 up");
        assert_eq!(o.status, Status::Warn, "{o:?}");
        assert!(o.evidence.contains("could not be determined"), "{o:?}");
        let st = state(None, &["csf"]);
        let o = judge_ipv6(&st, "IPv6 up");
        assert_eq!(o.status, Status::Fail);
        assert!(!o.evidence.ends_with(": "), "{o:?}");
    }
}
