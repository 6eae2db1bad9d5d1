//! Mandatory access control (MAC-001): SELinux enforcing or AppArmor with profiles.

use super::{Check, Ctx, Outcome};
use crate::facts::keyvalue;
use nodeward_report::Severity;

fn count_apparmor_profiles(ctx: &Ctx) -> Option<usize> {
    let names = ctx.host.list_dir("/etc/apparmor.d").ok()?;
    let mut n = 0;
    for name in names {
        let path = format!("/etc/apparmor.d/{name}");
        if ctx.host.metadata(&path).is_ok_and(|m| !m.is_dir) {
            n += 1;
        }
    }
    Some(n)
}

fn mac(ctx: &Ctx) -> Outcome {
    if ctx.live() {
        if let Ok(v) = ctx.host.read_text("/sys/fs/selinux/enforce") {
            return if v.trim() == "1" {
                Outcome::pass("SELinux enforcing (/sys/fs/selinux/enforce = 1)")
            } else {
                Outcome::fail("SELinux permissive (/sys/fs/selinux/enforce = 0)")
            };
        }
        let enabled = ctx
            .host
            .read_text("/sys/module/apparmor/parameters/enabled")
            .map(|v| v.trim() == "Y")
            .unwrap_or(false);
        if !enabled {
            return Outcome::fail("neither SELinux nor AppArmor is enabled in the running kernel");
        }
        match ctx.host.read_text("/sys/kernel/security/apparmor/profiles") {
            Ok(text) => {
                let total = text.lines().filter(|l| !l.trim().is_empty()).count();
                let enforce = text.lines().filter(|l| l.trim_end().ends_with("(enforce)")).count();
                if enforce > 0 {
                    Outcome::pass(format!("AppArmor enabled; {total} profiles loaded, {enforce} enforcing"))
                } else {
                    Outcome::fail(format!("AppArmor enabled but {total} profiles loaded and none enforcing"))
                }
            }
            Err(e) if e.is_missing() => Outcome::skip(
                "AppArmor enabled but /sys/kernel/security is not mounted here, so loaded profiles cannot be counted",
            ),
            Err(e) => e.into(),
        }
    } else {
        if let Ok(text) = ctx.host.read_text("/etc/selinux/config") {
            let s = keyvalue::parse(&text, Some('='));
            if let Some(mode) = keyvalue::last(&s, "SELINUX") {
                let ev = format!("/etc/selinux/config:{}: SELINUX={}", mode.line, mode.value);
                return if mode.value == "enforcing" {
                    Outcome::pass(ev)
                } else {
                    Outcome::fail(ev)
                };
            }
        }
        let installed = !ctx.installed(&["apparmor"]).is_empty();
        let profiles = count_apparmor_profiles(ctx).unwrap_or(0);
        let unit = ctx.units().enabled("apparmor.service");
        if installed && profiles > 0 && unit.is_some() {
            Outcome::pass(format!(
                "apparmor installed, apparmor.service enabled, {profiles} profiles in /etc/apparmor.d (load state unknown offline)"
            ))
        } else {
            Outcome::fail(format!(
                "no SELinux config; AppArmor: package {}, service {}, {profiles} profiles",
                if installed {
                    "installed"
                } else {
                    "not installed"
                },
                if unit.is_some() {
                    "enabled"
                } else {
                    "not enabled"
                }
            ))
        }
    }
}

/// MAC checks.
pub const CHECKS: &[Check] = &[Check {
    id: "MAC-001",
    area: "mac",
    severity: Severity::Medium,
    title: "SELinux is enforcing or AppArmor is enabled with profiles loaded",
    remediation: "Debian/Ubuntu: `apt install apparmor apparmor-profiles apparmor-utils`, keep `apparmor=1 security=apparmor` on the kernel command line, `systemctl enable --now apparmor`, and `aa-enforce` the profiles you need. RHEL: set SELINUX=enforcing in /etc/selinux/config and reboot.",
    references: &["CIS Debian 12 1.3"],
    run: mac,
}];
