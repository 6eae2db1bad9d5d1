//! Integrity and malware tools (INT-001 … INT-003). INT-001 judges a
//! `nodeward fim` baseline when there is one ([`super::fim_state`]), else AIDE's.

use super::{Check, Ctx, Outcome};
use nodeward_report::Severity;

/// A baseline older than this is stale.
const BASELINE_MAX_AGE_DAYS: i64 = 30;
/// Signatures older than this are stale.
const SIGNATURES_MAX_AGE_DAYS: i64 = 7;

fn newest(ctx: &Ctx, paths: &[String]) -> Option<(String, i64)> {
    paths
        .iter()
        .filter_map(|p| {
            ctx.host
                .metadata(p)
                .ok()
                .filter(|m| !m.is_dir)
                .map(|m| (p.clone(), m.mtime))
        })
        .max_by_key(|(_, t)| *t)
}

fn baseline(ctx: &Ctx) -> Outcome {
    if let Some(verdict) = super::fim_state::judge(ctx) {
        return verdict;
    }
    let candidates: Vec<String> = [
        "/var/lib/aide/aide.db",
        "/var/lib/aide/aide.db.gz",
        "/var/lib/aide/aide.db.new",
        "/var/lib/aide/aide.db.new.gz",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    match newest(ctx, &candidates) {
        Some((path, mtime)) => {
            let age = (ctx.host.now() - mtime).max(0) / 86400;
            if age <= BASELINE_MAX_AGE_DAYS {
                Outcome::pass(format!("{path} is {age} days old"))
            } else {
                Outcome::fail(format!("{path} is {age} days old (> {BASELINE_MAX_AGE_DAYS})"))
                    .fix("Review the changes and refresh the baseline: Debian `aide --config /etc/aide/aide.conf --update` (RHEL `aide --update`), then move the aide.db.new it writes over aide.db.")
            }
        }
        None => {
            let aide = !ctx.installed(&["aide"]).is_empty();
            let common = !ctx.installed(&["aide-common"]).is_empty();
            if aide && !common && ctx.host.exists("/var/lib/dpkg/status") {
                Outcome::fail("AIDE installed without aide-common (which brings aideinit and /etc/aide/aide.conf) and no baseline database in /var/lib/aide")
                    .fix("`apt install aide-common && aideinit -y -f`, then keep the daily check aide-common schedules.")
            } else if aide {
                Outcome::fail("AIDE installed but no baseline database in /var/lib/aide")
            } else {
                Outcome::fail(format!("no nodeward baseline ({}) and no AIDE database in /var/lib/aide", super::fim_state::DEFAULT_DATABASE))
                    .fix("`nodeward fim init`, then `systemctl enable --now nodeward-fim-check.timer` (see docs/fim.md); or AIDE: `apt install aide aide-common && aideinit -y -f`.")
            }
        }
    }
}

fn clamav(ctx: &Ctx) -> Outcome {
    let installed = !ctx.installed(&["clamav", "clamav-daemon"]).is_empty()
        || ctx.host.exists("/usr/bin/clamscan");
    if !installed {
        return Outcome::fail("clamav is not installed");
    }
    let sigs: Vec<String> = ctx
        .host
        .list_dir("/var/lib/clamav")
        .unwrap_or_default()
        .into_iter()
        .filter(|n| n.ends_with(".cvd") || n.ends_with(".cld"))
        .map(|n| format!("/var/lib/clamav/{n}"))
        .collect();
    match newest(ctx, &sigs) {
        Some((path, mtime)) => {
            let age = (ctx.host.now() - mtime).max(0) / 86400;
            if age <= SIGNATURES_MAX_AGE_DAYS {
                Outcome::pass(format!(
                    "clamav installed; newest signatures {path} are {age} days old"
                ))
            } else {
                Outcome::fail(format!(
                    "clamav signatures {path} are {age} days old (> {SIGNATURES_MAX_AGE_DAYS})"
                ))
                .fix("`systemctl enable --now clamav-freshclam` (or run `freshclam`).")
            }
        }
        None => Outcome::fail("clamav installed but no signatures in /var/lib/clamav")
            .fix("Run `freshclam` and enable clamav-freshclam."),
    }
}

fn rootkit(ctx: &Ctx) -> Outcome {
    let found: Vec<&str> = [
        "/usr/bin/rkhunter",
        "/usr/sbin/chkrootkit",
        "/usr/bin/chkrootkit",
    ]
    .into_iter()
    .filter(|p| ctx.host.exists(p))
    .collect();
    if found.is_empty() {
        Outcome::fail("neither rkhunter nor chkrootkit is installed")
    } else {
        Outcome::pass(format!("installed: {}", found.join(", ")))
    }
}

/// Integrity checks.
pub const CHECKS: &[Check] = &[
    Check {
        id: "INT-001",
        area: "integrity",
        severity: Severity::Medium,
        title: "A file-integrity baseline (nodeward fim or AIDE) exists, is recent and checked",
        remediation: "`nodeward fim init` and `systemctl enable --now nodeward-fim-check.timer` (daily `nodeward fim check`); or AIDE on Debian/Ubuntu: `apt install aide aide-common && aideinit -y -f` (aideinit and the default /etc/aide/aide.conf come from aide-common; it also schedules the daily check). RHEL: `dnf install aide && aide --init && mv /var/lib/aide/aide.db.new.gz /var/lib/aide/aide.db.gz` and a daily `aide --check`. Refresh the baseline after each reviewed change.",
        references: &["CIS Debian 12 6.1", "aide(1)", "docs/fim.md"],
        run: baseline,
    },
    Check {
        id: "INT-002",
        area: "integrity",
        severity: Severity::Low,
        title: "ClamAV is installed with fresh signatures",
        remediation: "`apt install clamav clamav-freshclam && systemctl enable --now clamav-freshclam`.",
        references: &["clamscan(1)"],
        run: clamav,
    },
    Check {
        id: "INT-003",
        area: "integrity",
        severity: Severity::Info,
        title: "A rootkit scanner (rkhunter or chkrootkit) is installed",
        remediation: "`apt install rkhunter` and schedule `rkhunter --check --sk`.",
        references: &["rkhunter(8)"],
        run: rootkit,
    },
];
