//! Logging (LOG-001): a system logger runs, or journald keeps its journal on
//! disk. Without logs, brute-force banning sees nothing and an incident
//! leaves no trace after a reboot.

use super::{Check, Ctx, Outcome};
use crate::facts::unitconf;
use nodeward_report::Severity;

const SYSLOG_UNITS: [&str; 2] = ["rsyslog.service", "syslog-ng.service"];
const SYSLOG_PROCS: [&str; 3] = ["rsyslogd", "syslog-ng", "syslogd"];
const JOURNAL_DIR: &str = "/var/log/journal";
/// `/proc/PID/comm` of systemd-journald (truncated to 15 bytes).
const JOURNALD_COMM: &str = "systemd-journal";

/// What journald's configuration says about persistence.
fn journal(ctx: &Ctx) -> Result<(bool, String), Outcome> {
    let settings = unitconf::read(ctx.host, "journald.conf", "Journal").map_err(Outcome::from)?;
    let (value, source) = match settings.get("Storage") {
        Some(v) => (
            v.value.to_ascii_lowercase(),
            format!("{}: Storage={}", v.source, v.value),
        ),
        None => (
            "auto".to_string(),
            "Storage not set in journald.conf or its drop-ins (default auto)".to_string(),
        ),
    };
    let dir = ctx.host.metadata(JOURNAL_DIR).is_ok_and(|m| m.is_dir);
    Ok(match value.as_str() {
        "persistent" => (true, source),
        "auto" if dir => (true, format!("{source}, and {JOURNAL_DIR} exists")),
        "auto" => (
            false,
            format!("{source}, but {JOURNAL_DIR} does not exist: the journal lives in /run and is lost at reboot"),
        ),
        "volatile" => (
            false,
            format!("{source}: the journal lives in /run and is lost at reboot"),
        ),
        "none" => (false, format!("{source}: journald drops every message")),
        other => (
            false,
            format!("{source}: {other:?} is not a Storage value (journald ignores it)"),
        ),
    })
}

fn logger(ctx: &Ctx) -> Outcome {
    let mut seen = Vec::new();
    if ctx.live() {
        if let Err(e) = ctx.processes() {
            return e.clone().into();
        }
        if let Some(p) = ctx.running(&SYSLOG_PROCS).first() {
            return Outcome::pass(format!("{} running (pid {})", p.comm, p.pid));
        }
        seen.push("no syslog daemon running (rsyslogd, syslog-ng)".to_string());
    } else {
        for unit in SYSLOG_UNITS {
            if let Some(link) = ctx.units().enabled(unit) {
                return Outcome::pass(format!("{unit} enabled ({link})"));
            }
        }
        seen.push(format!(
            "no syslog daemon enabled ({})",
            SYSLOG_UNITS.join(", ")
        ));
    }
    let (persistent, ev) = match journal(ctx) {
        Ok(j) => j,
        Err(o) => return o,
    };
    seen.push(ev);
    if persistent && ctx.live() && ctx.running(&[JOURNALD_COMM]).is_empty() {
        seen.push("but systemd-journald is not running".into());
        return Outcome::fail(seen.join("; "));
    }
    if persistent {
        Outcome::pass(seen.join("; "))
    } else {
        Outcome::fail(seen.join("; "))
    }
}

/// Logging checks.
pub const CHECKS: &[Check] = &[Check {
    id: "LOG-001",
    area: "logging",
    severity: Severity::Medium,
    title: "A system logger runs or the journal is persistent",
    remediation: "Keep logs across reboots: `mkdir -p /var/log/journal` and set `Storage=persistent` in /etc/systemd/journald.conf.d/60-nodeward.conf under `[Journal]`, then `systemctl restart systemd-journald`; or `apt install rsyslog && systemctl enable --now rsyslog`.",
    references: &["journald.conf(5)", "Lynis LOGG-2130", "CIS Debian 12 6.2.x"],
    run: logger,
}];
