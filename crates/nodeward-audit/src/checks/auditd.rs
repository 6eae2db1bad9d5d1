//! The Linux audit daemon (AUD-001, AUD-002): it runs and has rules, so
//! logins, privilege use and changes to key files leave a record.

use super::{Check, Ctx, Outcome};
use crate::facts::auditrules;
use nodeward_report::Severity;

const RULES_D: &str = "/etc/audit/rules.d";
const AUDIT_RULES: &str = "/etc/audit/audit.rules";
const AUDITCTL: [&str; 2] = ["/usr/sbin/auditctl", "/sbin/auditctl"];

fn running(ctx: &Ctx) -> Outcome {
    if ctx.live() {
        if let Err(e) = ctx.processes() {
            return e.clone().into();
        }
        if let Some(p) = ctx.running(&["auditd"]).first() {
            return Outcome::pass(format!("auditd running (pid {})", p.pid));
        }
        let installed = if ctx.installed(&["auditd"]).is_empty() {
            "the auditd package is not installed"
        } else {
            "the auditd package is installed but the daemon is not running"
        };
        return Outcome::fail(format!("no auditd process: {installed}"));
    }
    // None: no dpkg database to ask (another package manager).
    let pkg = match ctx.packages() {
        Ok(_) => Some(!ctx.installed(&["auditd"]).is_empty()),
        Err(e) if e.kind == crate::host::UnavailableKind::Skip => None,
        Err(e) => return e.clone().into(),
    };
    let unit = ctx.units().enabled("auditd.service");
    match (pkg, unit) {
        (Some(true), Some(link)) => Outcome::pass(format!("auditd installed and enabled ({link})")),
        (None, Some(link)) => Outcome::pass(format!(
            "auditd.service enabled ({link}); no dpkg database to confirm the package"
        )),
        (Some(true), None) => Outcome::fail("auditd installed but auditd.service is not enabled"),
        (Some(false), Some(link)) => Outcome::fail(format!(
            "auditd.service enabled ({link}) but the auditd package is not installed"
        )),
        (_, None) => {
            Outcome::fail("auditd is not installed or not enabled (no auditd.service link)")
        }
    }
}

fn rules(ctx: &Ctx) -> Outcome {
    let mut files = Vec::new();
    match ctx.host.list_dir(RULES_D) {
        Ok(names) => files.extend(
            names
                .into_iter()
                .filter(|n| n.ends_with(".rules"))
                .map(|n| format!("{RULES_D}/{n}")),
        ),
        Err(e) if e.is_missing() => {}
        Err(e) => return e.into(),
    }
    files.push(AUDIT_RULES.to_string());
    let mut counted = Vec::new();
    let mut total = 0;
    for f in &files {
        match ctx.host.read_text(f) {
            Ok(text) => {
                let n = auditrules::count_rules(&text);
                total += n;
                counted.push(format!("{f}: {n} rule(s)"));
            }
            Err(e) if e.is_missing() => {}
            Err(e) => return e.into(),
        }
    }
    if counted.is_empty() {
        return Outcome::fail(format!(
            "no audit rules: neither {RULES_D}/*.rules nor {AUDIT_RULES} exists"
        ));
    }
    let ev = counted.join("; ");
    if total == 0 {
        return Outcome::fail(format!(
            "{ev}: only control lines (-D, -b, -f, -e), no -w/-a rules"
        ));
    }
    if ctx.live() {
        // The kernel's own list, when auditctl may ask for it (root).
        if let Some(bin) = AUDITCTL.iter().find(|b| ctx.host.exists(b)) {
            if let Ok(out) = ctx.host.run(bin, &["-l"]) {
                if out.code == Some(0) && out.stdout.trim() == "No rules" {
                    return Outcome::fail(format!(
                        "{ev}, but `auditctl -l` shows no rules loaded in the kernel"
                    ))
                    .fix("Load the rules: `augenrules --load` (or restart auditd), and check `auditctl -l`.");
                }
            }
        }
    }
    Outcome::pass(ev)
}

/// Audit daemon checks.
pub const CHECKS: &[Check] = &[
    Check {
        id: "AUD-001",
        area: "auditd",
        severity: Severity::Medium,
        title: "The audit daemon (auditd) is installed and running",
        remediation: "`apt install auditd audispd-plugins && systemctl enable --now auditd`.",
        references: &["auditd(8)", "Lynis ACCT-9628", "CIS Debian 12 6.3.1.x"],
        run: running,
    },
    Check {
        id: "AUD-002",
        area: "auditd",
        severity: Severity::Medium,
        title: "Audit rules are configured",
        remediation: "Write watch and syscall rules to /etc/audit/rules.d/60-nodeward.rules (e.g. `-w /etc/passwd -p wa -k identity`, `-w /etc/ssh/sshd_config -p wa -k sshd`, `-w /var/log/sudo.log -p wa -k actions`, `-a always,exit -F arch=b64 -S execve -F euid=0 -k root-cmd`), then `augenrules --load`.",
        references: &["audit.rules(7)", "Lynis ACCT-9630", "CIS Debian 12 6.3.3.x"],
        run: rules,
    },
];
