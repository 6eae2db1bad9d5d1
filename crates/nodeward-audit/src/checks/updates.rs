//! Update checks (UPD-001 … UPD-004), from the local package state only.

use super::{Check, Ctx, Outcome};
use crate::facts::keyvalue;
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

fn age_note(age: Option<i64>) -> String {
    match age {
        Some(a) if a > 7 * 86400 => format!(
            " (apt lists are {} days old: run `apt-get update`)",
            a / 86400
        ),
        Some(a) => format!(" (apt lists {} h old)", a / 3600),
        None => String::new(),
    }
}

fn not_apt(ctx: &Ctx) -> Option<Outcome> {
    if ctx.host.exists("/var/lib/dpkg/status") {
        return None;
    }
    if ctx.host.exists("/usr/bin/dnf") || ctx.host.exists("/usr/bin/yum") {
        return Some(Outcome::skip(
            "dnf/yum system: pending upgrades need repository metadata nodeward does not read (run `dnf check-update`)",
        ));
    }
    Some(Outcome::skip(
        "no dpkg database (/var/lib/dpkg/status): not an apt-based system",
    ))
}

fn pending(ctx: &Ctx, security: bool) -> Outcome {
    if let Some(o) = not_apt(ctx) {
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
    let note = age_note(state.lists_age_secs);
    let kind = if security {
        "security upgrades"
    } else {
        "upgrades"
    };
    if names.is_empty() {
        Outcome::pass(format!(
            "no pending {kind} in {} apt list(s){note}",
            state.lists.len()
        ))
    } else {
        Outcome::fail(format!(
            "{} pending {kind}: {}{note}",
            names.len(),
            list_names(&names, 10)
        ))
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
    match ctx.first_existing(&["/var/run/reboot-required", "/run/reboot-required"]) {
        Some(path) => {
            let pkgs = ctx
                .host
                .read_text(&format!("{path}.pkgs"))
                .map(|t| t.split_whitespace().collect::<Vec<_>>().join(", "))
                .unwrap_or_default();
            Outcome::fail(if pkgs.is_empty() {
                format!("{path} exists")
            } else {
                format!("{path} exists (for {pkgs})")
            })
        }
        None if !ctx.live() && !ctx.host.exists("/var/lib/dpkg/status") => {
            Outcome::skip("no reboot-required marker convention on this system")
        }
        None => Outcome::pass("no /run/reboot-required marker"),
    }
}

/// Update checks.
pub const CHECKS: &[Check] = &[
    Check {
        id: "UPD-001",
        area: "updates",
        severity: Severity::Low,
        title: "No package upgrades are pending",
        remediation: "`apt-get update && apt-get upgrade` (read the list first on a node: upgrade the node software deliberately).",
        references: &["Debian Security FAQ"],
        run: pending_all,
    },
    Check {
        id: "UPD-002",
        area: "updates",
        severity: Severity::High,
        title: "No security upgrades are pending",
        remediation: "`apt-get update && apt-get upgrade` now, then enable unattended-upgrades for the security archive.",
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
