//! Brute-force protection (BF-001, BF-002): a ban tool runs, with an SSH jail.

use super::{Check, Ctx, Outcome};
use crate::facts::keyvalue;
use nodeward_report::Severity;

/// Ban tools that are active: running (live, when systemd manages the host, an
/// enabled but stopped service does not protect anything) or enabled at boot.
fn tools(ctx: &Ctx) -> Vec<(&'static str, String)> {
    let must_run = ctx.live() && ctx.host.exists("/run/systemd/system");
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

fn active(ctx: &Ctx) -> Outcome {
    let t = tools(ctx);
    if t.is_empty() {
        let installed = ctx.installed(&["fail2ban", "crowdsec", "sshguard"]);
        if installed.is_empty() {
            Outcome::fail("none of fail2ban, CrowdSec, sshguard or csf/lfd is installed and active")
        } else {
            Outcome::fail(format!(
                "installed but not running or enabled: {}",
                installed.join(", ")
            ))
        }
    } else {
        Outcome::pass(t.into_iter().map(|(_, e)| e).collect::<Vec<_>>().join("; "))
    }
}

/// Whether fail2ban has an enabled sshd jail: (enabled, evidence).
fn fail2ban_sshd_jail(ctx: &Ctx) -> Option<(bool, String)> {
    let mut files = vec!["/etc/fail2ban/jail.conf".to_string()];
    if let Ok(names) = ctx.host.list_dir("/etc/fail2ban/jail.d") {
        files.extend(
            names
                .into_iter()
                .filter(|n| n.ends_with(".conf") || n.ends_with(".local"))
                .map(|n| format!("/etc/fail2ban/jail.d/{n}")),
        );
    }
    files.push("/etc/fail2ban/jail.local".into());
    let mut state: Option<(bool, String)> = None;
    for file in files {
        let Ok(text) = ctx.host.read_text(&file) else {
            continue;
        };
        let mut section = String::new();
        for (i, line) in text.lines().enumerate() {
            let l = line.trim();
            if l.starts_with('[') && l.ends_with(']') {
                section = l[1..l.len() - 1].trim().to_string();
            } else if section == "sshd" || section == "ssh" {
                let s = keyvalue::parse(l, Some('='));
                if let Some(e) = s.iter().find(|s| s.key == "enabled") {
                    let on = matches!(e.value.to_ascii_lowercase().as_str(), "true" | "yes" | "1");
                    state = Some((
                        on,
                        format!("{file}:{}: [{section}] enabled = {}", i + 1, e.value),
                    ));
                }
            }
        }
    }
    state
}

fn ssh_jail(ctx: &Ctx) -> Outcome {
    let t = tools(ctx);
    if t.is_empty() {
        return Outcome::fail("no brute-force protection runs, so SSH has no jail");
    }
    let mut ok = Vec::new();
    let mut notes = Vec::new();
    for (name, _) in &t {
        match *name {
            "fail2ban" => match fail2ban_sshd_jail(ctx) {
                Some((true, ev)) => ok.push(ev),
                Some((false, ev)) => notes.push(ev),
                None => notes.push("fail2ban has no [sshd] jail".into()),
            },
            "crowdsec" => {
                match ctx.first_existing(&[
                    "/etc/crowdsec/collections/sshd.yaml",
                    "/etc/crowdsec/parsers/s01-parse/sshd-logs.yaml",
                ]) {
                    Some(p) => ok.push(format!("CrowdSec sshd collection installed ({p})")),
                    None => notes.push("CrowdSec has no sshd collection".into()),
                }
            }
            "sshguard" => ok.push("sshguard protects SSH by design".into()),
            "lfd" => {
                let conf = ctx.host.read_text("/etc/csf/csf.conf").unwrap_or_default();
                let s = keyvalue::parse(&conf, Some('='));
                match keyvalue::last(&s, "LF_SSHD") {
                    Some(v) if v.value.trim() != "0" => ok.push(format!(
                        "/etc/csf/csf.conf:{}: LF_SSHD = {}",
                        v.line, v.value
                    )),
                    _ => notes.push("csf LF_SSHD is 0 or unset".into()),
                }
            }
            _ => {}
        }
    }
    if ok.is_empty() {
        Outcome::fail(notes.join("; "))
    } else {
        Outcome::pass(ok.join("; "))
    }
}

/// Brute-force protection checks.
pub const CHECKS: &[Check] = &[
    Check {
        id: "BF-001",
        area: "bruteforce",
        severity: Severity::Medium,
        title: "A brute-force protection tool is installed and active",
        remediation: "`apt install fail2ban && systemctl enable --now fail2ban` (or `nodeward ban`, CrowdSec, sshguard).",
        references: &["iri-playbook: fail2ban"],
        run: active,
    },
    Check {
        id: "BF-002",
        area: "bruteforce",
        severity: Severity::Medium,
        title: "Brute-force protection has an SSH jail",
        remediation: "Enable the sshd jail: create /etc/fail2ban/jail.d/sshd.local with `[sshd]` / `enabled = true` / `port = <ssh port>`, then `systemctl reload fail2ban`.",
        references: &["jail.conf(5)"],
        run: ssh_jail,
    },
];
