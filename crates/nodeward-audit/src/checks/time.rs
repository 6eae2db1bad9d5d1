//! Time checks (TIME-001, TIME-002): the clock is synchronised and an NTP
//! daemon is enabled.

use super::{Check, Ctx, Outcome};
use nodeward_report::Severity;

/// NTP implementations: (unit, process names, package).
const NTP_DAEMONS: [(&str, &[&str], &str); 5] = [
    ("chrony.service", &["chronyd"], "chrony"),
    ("chronyd.service", &["chronyd"], "chrony"),
    ("ntpsec.service", &["ntpd"], "ntpsec"),
    ("ntp.service", &["ntpd"], "ntp"),
    (
        "systemd-timesyncd.service",
        &["systemd-timesyn"],
        "systemd-timesyncd",
    ),
];

fn synchronised(ctx: &Ctx) -> Outcome {
    match ctx.host.clock_synchronised() {
        Ok((true, ev)) => Outcome::pass(ev),
        Ok((false, ev)) => Outcome::fail(ev),
        Err(e) => e.into(),
    }
}

fn ntp_enabled(ctx: &Ctx) -> Outcome {
    let mut seen = Vec::new();
    for (unit, procs, _) in NTP_DAEMONS {
        if let Some(ev) = ctx.service_active(unit, procs) {
            seen.push(ev);
        }
    }
    if ctx.host.exists("/etc/openntpd/ntpd.conf") {
        if let Some(ev) = ctx.service_active("openntpd.service", &["ntpd"]) {
            seen.push(ev);
        }
    }
    seen.dedup();
    if seen.is_empty() {
        Outcome::fail(
            "no chrony, ntpd, ntpsec, openntpd or systemd-timesyncd is running or enabled",
        )
    } else {
        Outcome::pass(seen.join("; "))
    }
}

/// Time checks.
pub const CHECKS: &[Check] = &[
    Check {
        id: "TIME-001",
        area: "time",
        severity: Severity::Medium,
        title: "The system clock is synchronised",
        remediation: "Start an NTP client (`systemctl enable --now chrony` or `systemd-timesyncd`) and check `chronyc tracking` / `timedatectl timesync-status`; allow outbound UDP 123.",
        references: &["adjtimex(2)", "CIS Debian 12 2.3"],
        run: synchronised,
    },
    Check {
        id: "TIME-002",
        area: "time",
        severity: Severity::Medium,
        title: "An NTP daemon is enabled",
        remediation: "`apt install chrony` (or enable systemd-timesyncd: `systemctl enable --now systemd-timesyncd`).",
        references: &["CIS Debian 12 2.3"],
        run: ntp_enabled,
    },
];
