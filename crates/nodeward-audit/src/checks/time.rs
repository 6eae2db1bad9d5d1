//! Time checks (TIME-001, TIME-002): the clock is synchronised and an NTP
//! daemon runs (live; offline: is enabled at boot).

use super::{Check, Ctx, Outcome, Service, ServiceState};
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

fn ntp_active(ctx: &Ctx) -> Outcome {
    let mut states = Vec::new();
    for (unit, procs, _) in NTP_DAEMONS {
        states.push(ctx.service_state(&Service {
            unit,
            processes: procs,
            ports: &[],
        }));
    }
    if ctx.host.exists("/etc/openntpd/ntpd.conf") {
        states.push(ctx.service_state(&Service {
            unit: "openntpd.service",
            processes: &["ntpd"],
            ports: &[],
        }));
    }
    judge_ntp(&states)
}

/// TIME-002's verdict over the states of the NTP daemons.
fn judge_ntp(states: &[ServiceState]) -> Outcome {
    let of = |want: fn(&ServiceState) -> bool| {
        let mut v: Vec<&str> = states
            .iter()
            .filter(|s| want(s))
            .filter_map(ServiceState::evidence)
            .collect();
        v.dedup();
        v
    };
    let running = of(|s| matches!(s, ServiceState::Running(_)));
    let stopped = of(|s| matches!(s, ServiceState::EnabledNotRunning(_)));
    let unknown = of(|s| matches!(s, ServiceState::Unknown(_)));
    let offline = of(|s| matches!(s, ServiceState::EnabledOffline(_)));
    if !running.is_empty() {
        let mut ev = running.join("; ");
        if !stopped.is_empty() {
            ev.push_str(&format!(" (also {})", stopped.join("; ")));
        }
        return Outcome::pass(ev);
    }
    if !stopped.is_empty() {
        return Outcome::fail(format!(
            "no NTP daemon runs: {}",
            stopped.join("; ")
        ))
        .fix("Start the time daemon and find out why it is not running: `systemctl start chrony` (or `systemd-timesyncd`), then `systemctl status` and `journalctl -u` the unit; in a container without systemd, start it from the container's init.");
    }
    if !unknown.is_empty() {
        return Outcome::warn(unknown.join("; "));
    }
    if !offline.is_empty() {
        return Outcome::pass(offline.join("; "));
    }
    Outcome::fail("no chrony, ntpd, ntpsec, openntpd or systemd-timesyncd is running or enabled")
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
        title: "An NTP daemon runs (live) or is enabled (offline)",
        remediation: "`apt install chrony` (RHEL: `dnf install chrony`) and `systemctl enable --now chrony` (or `systemctl enable --now systemd-timesyncd`); `enable --now` both starts it and keeps it on at boot.",
        references: &["CIS Debian 12 2.3"],
        run: ntp_active,
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use nodeward_report::Status;

    #[test]
    fn enabled_but_stopped_fails_and_running_passes() {
        let stopped = ServiceState::EnabledNotRunning(
            "systemd-timesyncd.service enabled (/l) but not running".into(),
        );
        let o = judge_ntp(&[ServiceState::Inactive, stopped.clone()]);
        assert_eq!(o.status, Status::Fail);
        assert!(
            o.evidence.contains(
                "no NTP daemon runs: systemd-timesyncd.service enabled (/l) but not running"
            ),
            "{}",
            o.evidence
        );
        let o = judge_ntp(&[
            ServiceState::Running("chronyd running (pid 7)".into()),
            stopped,
        ]);
        assert_eq!(o.status, Status::Pass);
        assert!(
            o.evidence.starts_with("chronyd running (pid 7) (also "),
            "{}",
            o.evidence
        );
    }

    #[test]
    fn offline_enabled_passes_saying_so_and_unknown_warns() {
        let o = judge_ntp(&[ServiceState::EnabledOffline(
            "chrony.service enabled (/l) (offline: cannot tell whether it runs)".into(),
        )]);
        assert_eq!(o.status, Status::Pass);
        assert!(o.evidence.contains("offline: cannot tell whether it runs"));
        let o = judge_ntp(&[ServiceState::Unknown("x".into())]);
        assert_eq!(o.status, Status::Warn);
        assert_eq!(judge_ntp(&[ServiceState::Inactive]).status, Status::Fail);
    }
}
