//! Brute-force protection (BF-001, BF-002): a ban tool runs (fail2ban,
//! CrowdSec, sshguard, csf/lfd or `nodeward ban` with an sshd source), and
//! every exposed service with a login to guess has a jail.
//!
//! Exposed ports are the public TCP listeners (live) or, offline, the SSH
//! ports, the profile's and `[audit] allowed_ports`, the open
//! `[[firewall.allow]]` rules and the gateway's public `[[listener]]`s. Out of
//! scope, and listed as such: UDP, and the profile's own peering ports (no
//! login to guess; the node handles its peers itself).

use super::firewall::{owners, ssh_ports};
use super::{Check, Ctx, Outcome};
use crate::facts::fail2ban;
use crate::facts::keyvalue;
use crate::facts::nodeward_conf::{self, NodewardConf, SshdSource};
use crate::facts::portset::{self, Services};
use crate::facts::sockets::is_public;
use crate::profile::{Profile, GATEWAY_PROCESSES};
use nodeward_report::Severity;
use std::collections::{BTreeMap, BTreeSet};

/// The unit that runs `nodeward ban watch`.
const BAN_UNIT: &str = "nodeward-ban.service";

/// Ban tools that are active: running (live, when systemd manages the host, an
/// enabled but stopped service does not protect anything) or enabled at boot.
fn tools(ctx: &Ctx) -> Vec<(&'static str, String)> {
    let must_run = must_run(ctx);
    let mut out = Vec::new();
    for (name, unit, procs) in [
        ("fail2ban", "fail2ban.service", &["fail2ban-server"][..]),
        ("crowdsec", "crowdsec.service", &["crowdsec"][..]),
        ("sshguard", "sshguard.service", &["sshguard"][..]),
        ("lfd", "lfd.service", &["lfd"][..]),
    ] {
        if must_run {
            if let Some(p) = ctx.running(procs).first() {
                out.push((name, format!("{} running (pid {})", p.comm, p.pid)));
            }
        } else if let Some(ev) = ctx.service_active(unit, procs) {
            out.push((name, ev));
        }
    }
    out
}

fn must_run(ctx: &Ctx) -> bool {
    ctx.live() && ctx.host.exists("/run/systemd/system")
}

/// `nodeward ban watch` as found on the host.
#[derive(Debug, Clone)]
struct NodewardBan {
    /// How it was seen (running process or enabled unit).
    seen: String,
    /// Its config, as read from the host (`Ok(None)`: no file, defaults).
    conf: Result<Option<NodewardConf>, String>,
    /// The config path read.
    path: String,
}

/// Whether a command line is `nodeward ban watch` (any path to the binary,
/// options anywhere).
fn is_ban_watch(cmdline: &str) -> bool {
    let words: Vec<&str> = cmdline.split_whitespace().collect();
    let is_nodeward = words
        .first()
        .is_some_and(|w| w.rsplit('/').next() == Some("nodeward"));
    is_nodeward && words.windows(2).any(|w| w == ["ban", "watch"])
}

/// The `--config`/`-c` path of a command line, if given.
fn config_arg(cmdline: &str) -> Option<String> {
    let words: Vec<&str> = cmdline.split_whitespace().collect();
    words.iter().enumerate().find_map(|(i, w)| {
        if let Some(v) = w.strip_prefix("--config=") {
            Some(v.to_string())
        } else if *w == "--config" || *w == "-c" {
            words.get(i + 1).map(|v| v.to_string())
        } else {
            None
        }
    })
}

/// The config path a `nodeward ban watch` command line uses, or why it cannot be known.
fn config_path(cmdline: Option<&str>) -> Result<String, String> {
    match cmdline.and_then(config_arg) {
        Some(p) if p.starts_with('/') => Ok(p),
        Some(p) => Err(format!(
            "its config path {p:?} is relative, so the audit cannot tell which file it reads"
        )),
        None => Ok(nodeward_conf::PATH.to_string()),
    }
}

fn nodeward_ban(ctx: &Ctx) -> Option<NodewardBan> {
    let process = if ctx.live() {
        ctx.processes()
            .as_ref()
            .ok()
            .and_then(|ps| ps.iter().find(|p| is_ban_watch(&p.cmdline)))
    } else {
        None
    };
    let (seen, cmdline) = if let Some(p) = process {
        (
            format!("`nodeward ban watch` running (pid {})", p.pid),
            Some(p.cmdline.clone()),
        )
    } else if must_run(ctx) {
        return None;
    } else if let Some(link) = ctx.units().enabled(BAN_UNIT) {
        // The unit's ExecStart may name another config.
        let exec = ctx.host.read_text(link).ok().and_then(|t| {
            t.lines()
                .find_map(|l| l.trim().strip_prefix("ExecStart=").map(String::from))
        });
        (format!("{BAN_UNIT} enabled ({link})"), exec)
    } else {
        return None;
    };
    let (path, conf) = match config_path(cmdline.as_deref()) {
        Ok(path) => {
            let conf = nodeward_conf::read(ctx.host, &path);
            (path, conf)
        }
        Err(why) => (String::new(), Err(why)),
    };
    Some(NodewardBan { seen, conf, path })
}

/// Whether the host has a systemd journal `journald = "auto"` would follow.
fn journal_available(ctx: &Ctx) -> bool {
    if ctx.live() {
        ctx.host.exists("/run/systemd/journal")
    } else {
        ctx.first_existing(&[
            "/usr/lib/systemd/systemd-journald",
            "/lib/systemd/systemd-journald",
        ])
        .is_some()
    }
}

impl NodewardBan {
    /// `Ok(evidence)` when it follows sshd failures, else `Err(why not)`.
    fn sshd(&self, journal: bool) -> Result<String, String> {
        let conf = match &self.conf {
            Ok(c) => c.clone().unwrap_or_default(),
            Err(e) => return Err(format!("nodeward ban: {}, but {e}", self.seen)),
        };
        match conf.sshd_source(journal) {
            SshdSource::Files(f) => Ok(format!(
                "nodeward ban: {}, sshd source {} ({})",
                self.seen,
                f.join(", "),
                self.path
            )),
            SshdSource::Journal(why) => Ok(format!(
                "nodeward ban: {}, sshd source {why} ({})",
                self.seen, self.path
            )),
            SshdSource::None(why) => Err(format!(
                "nodeward ban: {}, but it follows no sshd log: {why} ({})",
                self.seen, self.path
            )),
        }
    }
}

fn active(ctx: &Ctx) -> Outcome {
    let mut ok: Vec<String> = tools(ctx).into_iter().map(|(_, e)| e).collect();
    let mut problems = Vec::new();
    if let Some(nb) = nodeward_ban(ctx) {
        match nb.sshd(journal_available(ctx)) {
            Ok(ev) => ok.push(ev),
            Err(why) => problems.push(why),
        }
    }
    if !ok.is_empty() {
        let mut ev = ok.join("; ");
        if !problems.is_empty() {
            ev.push_str(&format!("; note: {}", problems.join("; ")));
        }
        return Outcome::pass(ev);
    }
    if !problems.is_empty() {
        return Outcome::fail(problems.join("; ")).fix(
            "Give `nodeward ban` an sshd source: `[ban] logs = [\"/var/log/auth.log\"]` (or `journald = \"on\"`) in /etc/nodeward/nodeward.toml; check it with `nodeward config check`, then `systemctl restart nodeward-ban`.",
        );
    }
    let installed = ctx.installed(&["fail2ban", "crowdsec", "sshguard"]);
    if installed.is_empty() {
        Outcome::fail(
            "none of fail2ban, CrowdSec, sshguard, csf/lfd or nodeward ban is installed and active",
        )
    } else {
        Outcome::fail(format!(
            "installed but not running or enabled: {}",
            installed.join(", ")
        ))
    }
}

/// The ports a host exposes, with what exposes each, and what is out of scope.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Exposure {
    /// TCP port → why it is exposed.
    ports: BTreeMap<u16, String>,
    /// The SSH ports among them.
    ssh: BTreeSet<u16>,
    /// Public sockets or ports deliberately not asked to have a jail, described.
    out_of_scope: Vec<String>,
    /// What could not be read (the exposure may be incomplete).
    unknown: Vec<String>,
}

impl Exposure {
    fn add(&mut self, port: u16, why: impl Into<String>) {
        self.ports.entry(port).or_insert_with(|| why.into());
    }
}

/// Web ports a profile lists for a gateway or reverse proxy: they have logins
/// (API keys, auth) and need a jail, unlike the profile's peering ports.
const WEB_PORTS: [u16; 2] = [80, 443];

/// The profile's built-in TCP peering ports (not SSH, not web).
fn peering_ports(profile_name: &str) -> BTreeSet<u16> {
    profile_name
        .parse::<Profile>()
        .map(|p| {
            p.allowed_ports
                .iter()
                .filter(|a| a.proto == "tcp" && a.port != 22 && !WEB_PORTS.contains(&a.port))
                .map(|a| a.port)
                .collect()
        })
        .unwrap_or_default()
}

/// The config, with a read or parse problem turned into a note.
fn read_conf(ctx: &Ctx, unknown: &mut Vec<String>) -> NodewardConf {
    match nodeward_conf::read(ctx.host, nodeward_conf::PATH) {
        Ok(c) => c.unwrap_or_default(),
        Err(e) => {
            unknown.push(e);
            NodewardConf::default()
        }
    }
}

fn exposure_live(ctx: &Ctx) -> Result<Exposure, Outcome> {
    let sockets = ctx
        .sockets()
        .as_ref()
        .map_err(|e| Outcome::from(e.clone()))?;
    let ssh_cfg = ssh_ports(ctx);
    let peering = peering_ports(&ctx.profile.name);
    let mut ex = Exposure::default();
    let mut udp = BTreeSet::new();
    for s in sockets.iter().filter(|s| is_public(&s.addr)) {
        if s.proto != "tcp" {
            udp.insert(s.port);
            continue;
        }
        let by = owners(s);
        let by_sshd = s.owners.iter().any(|(n, _)| n == "sshd");
        let by_gateway = s
            .owners
            .iter()
            .any(|(n, _)| GATEWAY_PROCESSES.contains(&n.as_str()));
        if by_sshd || ssh_cfg.contains(&s.port) {
            ex.ssh.insert(s.port);
            ex.add(s.port, format!("SSH, {by}"));
        } else if peering.contains(&s.port) && !by_gateway {
            ex.out_of_scope.push(format!(
                "{}/tcp ({by}): peering port of profile {}",
                s.port, ctx.profile.name
            ));
        } else {
            ex.add(s.port, by);
        }
    }
    if !udp.is_empty() {
        ex.out_of_scope.push(format!(
            "UDP {} (no login to guess)",
            portset::display(&udp)
        ));
    }
    ex.out_of_scope.dedup();
    Ok(ex)
}

fn exposure_offline(ctx: &Ctx, conf: &NodewardConf) -> Exposure {
    let mut ex = Exposure::default();
    let mut ssh = ssh_ports(ctx);
    let ssh_from = if ssh.is_empty() {
        ssh.push(22);
        "SSH (OpenSSH default port)"
    } else {
        "SSH (sshd_config Port)"
    };
    for p in ssh {
        ex.ssh.insert(p);
        ex.add(p, ssh_from);
    }
    if let Some(p) = conf.firewall.as_ref().and_then(|f| f.ssh_port) {
        ex.ssh.insert(p);
        ex.add(p, "SSH (firewall.ssh_port)");
    }
    let mut peering = BTreeSet::new();
    let builtin: Profile = ctx
        .profile
        .name
        .parse()
        .unwrap_or_else(|_| ctx.profile.clone());
    for a in ctx
        .profile
        .allowed_ports
        .iter()
        .filter(|a| a.proto == "tcp")
    {
        if a.port == 22 {
            continue; // the SSH placeholder: the real SSH ports are above
        }
        if !builtin.allowed_ports.contains(a) {
            ex.add(a.port, "[audit] allowed_ports");
        } else if WEB_PORTS.contains(&a.port) {
            ex.add(a.port, format!("profile {}", ctx.profile.name));
        } else {
            peering.insert(a.port);
        }
    }
    if let Some(fw) = &conf.firewall {
        for name in &fw.profiles {
            for port in peering_ports(name) {
                peering.insert(port);
            }
            if name.parse::<Profile>().is_ok_and(|p| p.allows("tcp", 80)) {
                for port in WEB_PORTS {
                    ex.add(port, format!("firewall.profiles {name}"));
                }
            }
        }
        let none = Services::default();
        for rule in fw
            .allow
            .iter()
            .filter(|r| r.proto == "tcp" && r.open_to_all())
        {
            let (ports, bad) = portset::parse_list(&rule.ports.text(), &none);
            for p in ports {
                ex.add(p, "[[firewall.allow]]");
            }
            if !bad.is_empty() {
                ex.unknown.push(format!(
                    "[[firewall.allow]] ports {:?} cannot be read",
                    rule.ports.text()
                ));
            }
        }
    }
    let (listeners, bad) = conf.public_listener_ports();
    for p in listeners {
        // A gateway listener has logins even on a peering port number.
        ex.ports.insert(p, "gateway [[listener]]".into());
        peering.remove(&p);
    }
    for b in bad {
        ex.unknown
            .push(format!("[[listener]] bind {b:?} is not IP:port"));
    }
    peering.retain(|p| !ex.ports.contains_key(p));
    if !peering.is_empty() {
        ex.out_of_scope.push(format!(
            "TCP {}: peering ports (no login to guess)",
            portset::display(&peering)
        ));
    }
    ex.out_of_scope
        .push("UDP ports of the profile (no login to guess)".into());
    ex
}

/// Which exposed ports have a jail: port → jails; plus notes on jails that
/// could not be read.
fn jails(
    ctx: &Ctx,
    ex: &Exposure,
    conf: &NodewardConf,
    tool_names: &[&str],
    nb: Option<&NodewardBan>,
) -> (BTreeMap<u16, Vec<String>>, Vec<String>) {
    let mut cover: BTreeMap<u16, Vec<String>> = BTreeMap::new();
    let mut notes = Vec::new();
    let mut add = |ports: &mut dyn Iterator<Item = u16>, what: &str| {
        for p in ports {
            cover.entry(p).or_default().push(what.to_string());
        }
    };
    for name in tool_names {
        match *name {
            "fail2ban" => {
                let services = ctx
                    .host
                    .read_text("/etc/services")
                    .map(|t| Services::parse(&t))
                    .unwrap_or_default();
                for j in fail2ban::jails(ctx.host).iter().filter(|j| j.is_enabled()) {
                    let Some(port) = &j.port else {
                        notes.push(format!("fail2ban [{}] sets no port", j.name));
                        continue;
                    };
                    let (ports, bad) = portset::parse_list(&port.value, &services);
                    if !bad.is_empty() {
                        notes.push(format!(
                            "fail2ban [{}] port {} ({}): cannot resolve {}{}",
                            j.name,
                            port.value,
                            port.at,
                            bad.join(", "),
                            if services == Services::default() {
                                " (/etc/services unreadable)"
                            } else {
                                ""
                            }
                        ));
                    }
                    let what = format!("fail2ban [{}] ({})", j.name, port.at);
                    add(&mut ports.into_iter(), &what);
                }
            }
            "crowdsec" => match ctx.first_existing(&[
                "/etc/crowdsec/collections/sshd.yaml",
                "/etc/crowdsec/parsers/s01-parse/sshd-logs.yaml",
            ]) {
                Some(p) => add(
                    &mut ex.ssh.iter().copied(),
                    &format!("CrowdSec sshd collection ({p})"),
                ),
                None => notes.push("CrowdSec has no sshd collection".into()),
            },
            "sshguard" => add(&mut ex.ssh.iter().copied(), "sshguard (SSH by design)"),
            "lfd" => {
                let text = ctx.host.read_text("/etc/csf/csf.conf").unwrap_or_default();
                let s = keyvalue::parse(&text, Some('='));
                match keyvalue::last(&s, "LF_SSHD") {
                    Some(v) if v.value.trim() != "0" => add(
                        &mut ex.ssh.iter().copied(),
                        &format!(
                            "csf/lfd LF_SSHD = {} (/etc/csf/csf.conf:{})",
                            v.value, v.line
                        ),
                    ),
                    _ => notes.push("csf LF_SSHD is 0 or unset".into()),
                }
            }
            _ => {}
        }
    }
    let (listeners, _) = conf.public_listener_ports();
    if let Some(nb) = nb {
        match nb.sshd(journal_available(ctx)) {
            Ok(_) => add(&mut ex.ssh.iter().copied(), "nodeward ban (sshd)"),
            Err(why) => notes.push(why),
        }
        if let Ok(Some(c)) = &nb.conf {
            match c.gateway_feeds_ban() {
                Ok(ev) => add(
                    &mut listeners.iter().copied(),
                    &format!("nodeward ban (gateway: {ev})"),
                ),
                Err(why) if !listeners.is_empty() => {
                    notes.push(format!("nodeward ban has no gateway source: {why}"))
                }
                Err(_) => {}
            }
        }
    }
    if conf.gateway.autoban.is_some() {
        add(
            &mut listeners.iter().copied(),
            "gateway [gateway.autoban] (bans at the listener)",
        );
    }
    (cover, notes)
}

fn jail_fix(missing: &str) -> String {
    format!(
        "Add a jail for {missing}: for fail2ban a /etc/fail2ban/jail.d/NAME.local with `[NAME]`, `enabled = true`, `port = PORT` and the service's filter and logpath (then `systemctl reload fail2ban`); for nodeward, `[ban] logs` (or journald) covers SSH, and `[gateway.autoban]` with `violations_log` followed by `[ban] gateway_logs` covers the gateway's listeners."
    )
}

fn per_port_jails(ctx: &Ctx) -> Outcome {
    let tool_list = tools(ctx);
    let nb = nodeward_ban(ctx);
    if tool_list.is_empty() && nb.is_none() {
        return Outcome::fail("no brute-force protection runs, so no exposed port has a jail");
    }
    let mut unknown = Vec::new();
    let conf = read_conf(ctx, &mut unknown);
    let mut ex = if ctx.live() {
        match exposure_live(ctx) {
            Ok(ex) => ex,
            Err(o) => return o,
        }
    } else {
        exposure_offline(ctx, &conf)
    };
    let names: Vec<&str> = tool_list.iter().map(|(n, _)| *n).collect();
    let (cover, mut notes) = jails(ctx, &ex, &conf, &names, nb.as_ref());
    if ctx.live() {
        // Live, the sockets are the exposure; the config only names jails.
        notes.extend(unknown);
    } else {
        ex.unknown.extend(unknown);
    }
    judge_jails(&ex, &cover, &notes)
}

/// BF-002 from the exposure and the jails found.
fn judge_jails(ex: &Exposure, cover: &BTreeMap<u16, Vec<String>>, notes: &[String]) -> Outcome {
    let mut missing = Vec::new();
    let mut jailed = Vec::new();
    for (port, why) in &ex.ports {
        match cover.get(port) {
            Some(j) => jailed.push(format!("{port}/tcp ({why}): {}", j.join(", "))),
            None => missing.push(format!("{port}/tcp ({why})")),
        }
    }
    let mut tail = String::new();
    if !ex.out_of_scope.is_empty() {
        tail.push_str(&format!("; out of scope: {}", ex.out_of_scope.join("; ")));
    }
    if !notes.is_empty() {
        tail.push_str(&format!("; notes: {}", notes.join("; ")));
    }
    if !missing.is_empty() {
        let list = missing.join(", ");
        return Outcome::fail(format!(
            "no jail for {list}{}{tail}",
            if jailed.is_empty() {
                String::new()
            } else {
                format!("; jailed: {}", jailed.join("; "))
            }
        ))
        .fix(jail_fix(&list));
    }
    let body = if jailed.is_empty() {
        "no public TCP port is exposed".to_string()
    } else {
        format!("every exposed port has a jail: {}", jailed.join("; "))
    };
    if !ex.unknown.is_empty() {
        return Outcome::warn(format!(
            "{body}, but the exposed ports may be incomplete: {}{tail}",
            ex.unknown.join("; ")
        ));
    }
    Outcome::pass(format!("{body}{tail}"))
}

/// Brute-force protection checks.
pub const CHECKS: &[Check] = &[
    Check {
        id: "BF-001",
        area: "bruteforce",
        severity: Severity::Medium,
        title: "A brute-force protection tool is installed and active",
        remediation: "`apt install fail2ban && systemctl enable --now fail2ban`, or `nodeward ban` (`systemctl enable --now nodeward-ban` with an sshd source in `[ban]`), CrowdSec, sshguard.",
        references: &["iri-playbook: fail2ban"],
        run: active,
    },
    Check {
        id: "BF-002",
        area: "bruteforce",
        severity: Severity::Medium,
        title: "Every exposed service with a login has a brute-force jail",
        remediation: "Give each exposed port a jail: fail2ban `[NAME]` / `enabled = true` / `port = PORT` in /etc/fail2ban/jail.d/NAME.local (an sshd jail for the SSH port), or nodeward ban sources (`[ban] logs` for SSH, `gateway_logs` for the gateway's listeners).",
        references: &["jail.conf(5)", "iri-playbook: fail2ban"],
        run: per_port_jails,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ban_watch_command_lines() {
        assert!(is_ban_watch("/usr/bin/nodeward ban watch"));
        assert!(is_ban_watch("nodeward ban watch --config /etc/nw.toml"));
        assert!(!is_ban_watch("nodeward ban list"));
        assert!(!is_ban_watch("vim nodeward ban watch"));
        assert_eq!(
            config_path(Some("nodeward ban watch -c /etc/x.toml")),
            Ok("/etc/x.toml".to_string())
        );
        assert_eq!(
            config_path(Some("nodeward ban watch --config=/etc/y.toml")),
            Ok("/etc/y.toml".to_string())
        );
        assert_eq!(config_path(None), Ok(nodeward_conf::PATH.to_string()));
        assert!(config_path(Some("nodeward ban watch -c rel.toml")).is_err());
    }

    fn exposure(ports: &[(u16, &str)], ssh: &[u16]) -> Exposure {
        Exposure {
            ports: ports.iter().map(|(p, w)| (*p, w.to_string())).collect(),
            ssh: ssh.iter().copied().collect(),
            out_of_scope: vec!["TCP 15600: peering ports (no login to guess)".into()],
            unknown: vec![],
        }
    }

    #[test]
    fn a_port_without_a_jail_fails_and_is_named() {
        let ex = exposure(&[(2222, "SSH"), (443, "gateway [[listener]]")], &[2222]);
        let cover = BTreeMap::from([(2222, vec!["fail2ban [sshd]".to_string()])]);
        let o = judge_jails(&ex, &cover, &[]);
        assert_eq!(o.status, nodeward_report::Status::Fail, "{o:?}");
        assert!(
            o.evidence
                .starts_with("no jail for 443/tcp (gateway [[listener]])"),
            "{o:?}"
        );
        assert!(o.evidence.contains("15600"), "{o:?}");
        assert!(o.remediation.unwrap().contains("443/tcp"));
    }

    #[test]
    fn every_port_jailed_passes_unless_the_exposure_is_incomplete() {
        let mut ex = exposure(&[(2222, "SSH")], &[2222]);
        let cover = BTreeMap::from([(2222, vec!["nodeward ban (sshd)".to_string()])]);
        let o = judge_jails(&ex, &cover, &[]);
        assert_eq!(o.status, nodeward_report::Status::Pass, "{o:?}");
        assert!(
            o.evidence.contains("2222/tcp (SSH): nodeward ban (sshd)"),
            "{o:?}"
        );
        ex.unknown.push("/etc/nodeward/nodeward.toml: bad".into());
        let o = judge_jails(&ex, &cover, &[]);
        assert_eq!(o.status, nodeward_report::Status::Warn, "{o:?}");
    }
}
