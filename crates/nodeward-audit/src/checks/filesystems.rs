//! Mount option checks (FS-001 … FS-003): /tmp, /var/tmp and /dev/shm with
//! nodev, nosuid and noexec.

use super::{Check, Ctx, Outcome};
use crate::facts::mounts::effective;
use nodeward_report::Severity;

const WANTED: [&str; 3] = ["nodev", "nosuid", "noexec"];

fn mount_options(ctx: &Ctx, target: &str) -> Outcome {
    let mounts = match ctx.host.mounts() {
        Ok(m) => m,
        Err(e) => return e.into(),
    };
    let Some(m) = effective(&mounts, target) else {
        let where_ = if ctx.live() {
            "mounted"
        } else {
            "configured in /etc/fstab"
        };
        if target == "/dev/shm" && !ctx.live() {
            return Outcome::fail("/dev/shm not in /etc/fstab: systemd mounts it with nosuid,nodev but without noexec")
                .fix("Add `tmpfs /dev/shm tmpfs defaults,nodev,nosuid,noexec 0 0` to /etc/fstab, then `mount -o remount /dev/shm`.");
        }
        return Outcome::fail(format!("{target} is not a separate file system ({where_}), so its options cannot be restricted"));
    };
    let missing: Vec<&str> = WANTED
        .iter()
        .copied()
        .filter(|o| !m.options.iter().any(|have| have == o))
        .collect();
    let ev = format!(
        "{}: {} {} {}",
        m.source,
        m.target,
        m.fstype,
        m.options.join(",")
    );
    if missing.is_empty() {
        Outcome::pass(ev)
    } else {
        Outcome::fail(format!("{ev} (missing {})", missing.join(",")))
    }
}

fn tmp(ctx: &Ctx) -> Outcome {
    mount_options(ctx, "/tmp")
}
fn var_tmp(ctx: &Ctx) -> Outcome {
    mount_options(ctx, "/var/tmp")
}
fn dev_shm(ctx: &Ctx) -> Outcome {
    mount_options(ctx, "/dev/shm")
}

/// File system checks.
pub const CHECKS: &[Check] = &[
    Check {
        id: "FS-001",
        area: "filesystems",
        severity: Severity::Medium,
        title: "/tmp is mounted nodev,nosuid,noexec",
        remediation: "Add `tmpfs /tmp tmpfs defaults,rw,nodev,nosuid,noexec,size=2G 0 0` to /etc/fstab (or a tmp.mount override with Options=), then `mount -o remount /tmp`.",
        references: &["CIS Debian 12 1.1.2"],
        run: tmp,
    },
    Check {
        id: "FS-002",
        area: "filesystems",
        severity: Severity::Medium,
        title: "/var/tmp is mounted nodev,nosuid,noexec",
        remediation: "Give /var/tmp its own file system or bind mount: `/var/tmp /var/tmp none bind,nodev,nosuid,noexec 0 0` in /etc/fstab, then `mount -o remount /var/tmp`.",
        references: &["CIS Debian 12 1.1.5"],
        run: var_tmp,
    },
    Check {
        id: "FS-003",
        area: "filesystems",
        severity: Severity::Medium,
        title: "/dev/shm is mounted nodev,nosuid,noexec",
        remediation: "Add `tmpfs /dev/shm tmpfs defaults,nodev,nosuid,noexec 0 0` to /etc/fstab, then `mount -o remount /dev/shm`.",
        references: &["CIS Debian 12 1.1.8"],
        run: dev_shm,
    },
];
