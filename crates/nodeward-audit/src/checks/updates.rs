//! Update checks (UPD-001 … UPD-004), from the local package state only:
//! dpkg and the apt lists, or the rpm database and the dnf/yum metadata cache.

use super::{Check, Ctx, Outcome};
use crate::facts::keyvalue;
use crate::facts::packages::{Manager, UpgradeState};
use crate::facts::rpm::{self, rpmdb};
use nodeward_report::Severity;

fn list_names(names: &[String], max: usize) -> String {
    let mut s = names
        .iter()
        .take(max)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > max {
        s.push_str(&format!(" and {} more", names.len() - max));
    }
    s
}

fn age_note(state: &UpgradeState) -> String {
    let (what, refresh) = match state.manager {
        Manager::Apt => ("apt lists", "apt-get update"),
        Manager::Dnf => ("dnf metadata", "dnf makecache"),
    };
    match state.lists_age_secs {
        Some(a) if a > 7 * 86400 => {
            format!(" ({what} are {} days old: run `{refresh}`)", a / 86400)
        }
        Some(a) => format!(" ({what} {} h old)", a.max(0) / 3600),
        None => String::new(),
    }
}

/// Why pending upgrades cannot be computed here at all, if so.
fn unsupported(ctx: &Ctx) -> Option<Outcome> {
    if ctx.host.exists("/var/lib/dpkg/status") || rpmdb::present(ctx.host) {
        return None;
    }
    if ctx.host.exists("/usr/bin/dnf") || ctx.host.exists("/usr/bin/yum") {
        return Some(Outcome::skip(
            "dnf/yum installed but no rpm database (/var/lib/rpm/rpmdb.sqlite) found",
        ));
    }
    Some(Outcome::skip(
        "no dpkg database (/var/lib/dpkg/status) and no rpm database: neither an apt- nor an rpm-based system",
    ))
}

fn pending(ctx: &Ctx, security: bool) -> Outcome {
    if let Some(o) = unsupported(ctx) {
        return o;
    }
    let state = match ctx.upgrades() {
        Ok(s) => s,
        Err(e) => return e.clone().into(),
    };
    let names: Vec<String> = state
        .upgrades
        .iter()
        .filter(|u| !security || u.security)
        .map(|u| format!("{} {} -> {}", u.name, u.installed, u.candidate))
        .collect();
    let mut note = age_note(state);
    for n in &state.notes {
        note.push_str(&format!("; {n}"));
    }
    let kind = if security {
        "security upgrades"
    } else {
        "upgrades"
    };
    let source = match state.manager {
        Manager::Apt => format!("{} apt list(s)", state.lists.len()),
        Manager::Dnf => format!(
            "the cached metadata of {} repositor{}",
            state
                .lists
                .iter()
                .filter(|l| l.contains("primary.xml"))
                .count(),
            if state
                .lists
                .iter()
                .filter(|l| l.contains("primary.xml"))
                .count()
                == 1
            {
                "y"
            } else {
                "ies"
            }
        ),
    };
    let fix = match (state.manager, security) {
        (Manager::Apt, _) => None,
        (Manager::Dnf, false) => Some("`dnf upgrade` (read the list first on a node: upgrade the node software deliberately; `dnf check-update` shows it)."),
        (Manager::Dnf, true) => Some("`dnf upgrade --security` now (`dnf updateinfo list --security` shows the advisories), then enable dnf-automatic for security updates."),
    };
    let out = if !names.is_empty() {
        Outcome::fail(format!(
            "{} pending {kind}: {}{note}",
            names.len(),
            list_names(&names, 10)
        ))
    } else if security && !state.security_unknown.is_empty() {
        Outcome::warn(format!(
            "no pending security advisory in {source}, but {} pending update(s) come from repositories without updateinfo, so whether they fix security issues cannot be told: {}{note}",
            state.security_unknown.len(),
            list_names(&state.security_unknown, 10)
        ))
    } else {
        Outcome::pass(format!("no pending {kind} in {source}{note}"))
    };
    match fix {
        Some(f) if out.status != nodeward_report::Status::Pass => out.fix(f),
        _ => out,
    }
}

fn pending_all(ctx: &Ctx) -> Outcome {
    pending(ctx, false)
}

fn pending_security(ctx: &Ctx) -> Outcome {
    pending(ctx, true)
}

fn auto_updates(ctx: &Ctx) -> Outcome {
    if ctx.host.exists("/var/lib/dpkg/status") {
        if ctx.installed(&["unattended-upgrades"]).is_empty() {
            return Outcome::fail("unattended-upgrades is not installed");
        }
        let mut enabled = None;
        if let Ok(names) = ctx.host.list_dir("/etc/apt/apt.conf.d") {
            for n in names {
                let path = format!("/etc/apt/apt.conf.d/{n}");
                if let Ok(text) = ctx.host.read_text(&path) {
                    for (i, line) in text.lines().enumerate() {
                        let l = line.trim();
                        if l.starts_with("APT::Periodic::Unattended-Upgrade") {
                            let on = l.contains("\"1\"")
                                || l.contains("\"true\"")
                                || l.contains("\"yes\"");
                            enabled = Some((on, format!("{path}:{}: {l}", i + 1)));
                        }
                    }
                }
            }
        }
        return match enabled {
            Some((true, ev)) => Outcome::pass(format!("unattended-upgrades installed; {ev}")),
            Some((false, ev)) => Outcome::fail(ev),
            None => Outcome::fail(
                "unattended-upgrades installed but APT::Periodic::Unattended-Upgrade is not set",
            ),
        };
    }
    if ctx.host.exists("/etc/dnf/automatic.conf") {
        let cfg = ctx
            .host
            .read_text("/etc/dnf/automatic.conf")
            .unwrap_or_default();
        let s = keyvalue::parse(&cfg, Some('='));
        let apply = keyvalue::last(&s, "apply_updates").is_some_and(|v| v.value == "yes");
        let timer = ctx
            .units()
            .enabled("dnf-automatic.timer")
            .or(ctx.units().enabled("dnf-automatic-install.timer"));
        return if apply && timer.is_some() {
            Outcome::pass("dnf-automatic timer enabled with apply_updates = yes")
        } else {
            Outcome::fail("dnf-automatic installed but not enabled with apply_updates = yes")
        };
    }
    Outcome::skip("neither apt nor dnf-automatic found")
}

fn reboot_required(ctx: &Ctx) -> Outcome {
    if let Some(path) = ctx.first_existing(&["/var/run/reboot-required", "/run/reboot-required"]) {
        let pkgs = ctx
            .host
            .read_text(&format!("{path}.pkgs"))
            .map(|t| t.split_whitespace().collect::<Vec<_>>().join(", "))
            .unwrap_or_default();
        return Outcome::fail(if pkgs.is_empty() {
            format!("{path} exists")
        } else {
            format!("{path} exists (for {pkgs})")
        });
    }
    if ctx.host.exists("/var/lib/dpkg/status") {
        return Outcome::pass("no /run/reboot-required marker");
    }
    if rpmdb::present(ctx.host) {
        if !ctx.live() {
            return Outcome::skip(
                "rpm-based system: a reboot is needed when a newer kernel is installed than the one running, and offline the running kernel is unknown (on the host: `dnf needs-restarting -r`)",
            );
        }
        let running = match ctx.host.read_text("/proc/sys/kernel/osrelease") {
            Ok(r) => r.trim().to_string(),
            Err(e) => return e.into(),
        };
        return match rpmdb::read(ctx.host) {
            Ok(db) => kernel_reboot(&running, &db),
            Err(e) => e.into(),
        };
    }
    if ctx.live() {
        Outcome::pass("no /run/reboot-required marker")
    } else {
        Outcome::skip("no reboot-required marker convention on this system")
    }
}

/// UPD-004 on rpm systems: the running kernel against the newest installed.
fn kernel_reboot(running: &str, db: &rpmdb::RpmDb) -> Outcome {
    let Some((_, newest)) = rpm::newest_kernel(db) else {
        return Outcome::skip(format!(
            "no kernel-core or kernel package in {}: cannot compare with the running kernel {running}",
            db.path
        ));
    };
    if newest == running {
        return Outcome::pass(format!(
            "running kernel {running} is the newest installed (libraries updated under running services are not checked: `dnf needs-restarting -s`)"
        ));
    }
    let known = db.packages.iter().any(|p| {
        p.name.starts_with("kernel")
            && format!("{}-{}.{}", p.evr.version, p.evr.release, p.arch) == running
    });
    if known {
        Outcome::fail(format!(
            "kernel {newest} is installed but {running} is running"
        ))
        .fix("Reboot in a maintenance window into the newest kernel (`dnf needs-restarting -r` confirms).")
    } else {
        Outcome::warn(format!(
            "running kernel {running} is not an installed kernel package (newest installed: {newest}): cannot tell whether a reboot is due"
        ))
    }
}

/// Update checks.
pub const CHECKS: &[Check] = &[
    Check {
        id: "UPD-001",
        area: "updates",
        severity: Severity::Low,
        title: "No package upgrades are pending",
        remediation: "`apt-get update && apt-get upgrade` (RHEL: `dnf upgrade`); read the list first on a node: upgrade the node software deliberately.",
        references: &["Debian Security FAQ"],
        run: pending_all,
    },
    Check {
        id: "UPD-002",
        area: "updates",
        severity: Severity::High,
        title: "No security upgrades are pending",
        remediation: "`apt-get update && apt-get upgrade` now, then enable unattended-upgrades for the security archive (RHEL: `dnf upgrade --security` and dnf-automatic).",
        references: &["Debian Security FAQ", "CIS Debian 12 1.9"],
        run: pending_security,
    },
    Check {
        id: "UPD-003",
        area: "updates",
        severity: Severity::Info,
        title: "Automatic security updates are configured",
        remediation: "`apt install unattended-upgrades && dpkg-reconfigure -plow unattended-upgrades` (writes APT::Periodic::Unattended-Upgrade \"1\" to /etc/apt/apt.conf.d/20auto-upgrades).",
        references: &["Debian wiki: UnattendedUpgrades"],
        run: auto_updates,
    },
    Check {
        id: "UPD-004",
        area: "updates",
        severity: Severity::Medium,
        title: "No reboot is required to finish updates",
        remediation: "Reboot in a maintenance window so the updated kernel and libraries are in use.",
        references: &["Debian: /run/reboot-required"],
        run: reboot_required,
    },
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::rpm::header::PackageId;
    use crate::facts::rpm::vercmp::Evr;
    use nodeward_report::Status;

    fn db(kernels: &[(&str, &str)]) -> rpmdb::RpmDb {
        rpmdb::RpmDb {
            path: "/var/lib/rpm/rpmdb.sqlite".into(),
            packages: kernels
                .iter()
                .map(|(v, r)| PackageId {
                    name: "kernel-core".into(),
                    evr: Evr::new(None, v, r),
                    arch: "x86_64".into(),
                })
                .collect(),
            unreadable: None,
        }
    }

    #[test]
    fn rpm_reboot_is_due_when_a_newer_kernel_is_installed_than_running() {
        let d = db(&[("5.14.0", "362.8.1.el9_3"), ("5.14.0", "427.13.1.el9_4")]);
        let o = kernel_reboot("5.14.0-362.8.1.el9_3.x86_64", &d);
        assert_eq!(o.status, Status::Fail, "{}", o.evidence);
        assert!(o
            .evidence
            .contains("5.14.0-427.13.1.el9_4.x86_64 is installed"));
        let o = kernel_reboot("5.14.0-427.13.1.el9_4.x86_64", &d);
        assert_eq!(o.status, Status::Pass, "{}", o.evidence);
        let o = kernel_reboot("6.1.0-custom", &d);
        assert_eq!(o.status, Status::Warn, "{}", o.evidence);
        assert_eq!(kernel_reboot("x", &db(&[])).status, Status::Skip);
    }
}
