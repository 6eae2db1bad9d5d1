//! File system checks: /tmp, /var/tmp and /dev/shm with nodev, nosuid and
//! noexec (FS-001 … FS-003); /var or the node's database on its own file
//! system, so a full chain disk cannot stop logging and updates (FS-004).

use super::{nodedirs, Check, Ctx, Outcome};
use crate::facts::mounts::effective;
use crate::host::Mount;
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

/// The mount holding `path`: the one with the longest target that is `path`
/// or a parent of it (the last listed among equals).
fn holding<'a>(mounts: &'a [Mount], path: &str) -> Option<&'a Mount> {
    let mut best: Option<&Mount> = None;
    for m in mounts {
        let t = m.target.trim_end_matches('/');
        let inside = t.is_empty() || path == t || path.starts_with(&format!("{t}/"));
        let longer = match best {
            Some(b) => t.len() >= b.target.trim_end_matches('/').len(),
            None => true,
        };
        if inside && longer {
            best = Some(m);
        }
    }
    best
}

/// File systems that hold no data across a reboot or are not storage at all.
const NOT_STORAGE: [&str; 8] = [
    "tmpfs", "ramfs", "devtmpfs", "proc", "sysfs", "devpts", "cgroup2", "cgroup",
];

fn separate_var(ctx: &Ctx) -> Outcome {
    let mounts = match ctx.host.mounts() {
        Ok(m) => m,
        Err(e) => return e.into(),
    };
    let describe = |m: &Mount| format!("{}: {} {}", m.source, m.target, m.fstype);
    let mounts: Vec<Mount> = mounts
        .into_iter()
        .filter(|m| !NOT_STORAGE.contains(&m.fstype.as_str()))
        .collect();
    for target in ["/var", "/var/log"] {
        if let Some(m) = effective(&mounts, target) {
            return Outcome::pass(format!("{target} is its own file system ({})", describe(m)));
        }
    }
    let dirs = nodedirs::expanded(ctx);
    // Only a directory that is there (or is itself a mount point) is the node's.
    for d in dirs
        .iter()
        .filter(|d| ctx.host.exists(d) || effective(&mounts, d).is_some())
    {
        if let Some(m) = holding(&mounts, d) {
            if !m.target.trim_end_matches('/').is_empty() {
                return Outcome::pass(format!(
                    "the node database {d} is on its own file system ({})",
                    describe(m)
                ));
            }
        }
    }
    let where_ = if ctx.live() {
        "mounted"
    } else {
        "in /etc/fstab"
    };
    Outcome::fail(format!(
        "neither /var, /var/log nor a node data directory ({}) is a separate file system ({where_}): a full disk stops logging, updates and the node together",
        dirs.join(", ")
    ))
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
    Check {
        id: "FS-004",
        area: "filesystems",
        severity: Severity::Medium,
        title: "/var (or the node database) is on its own file system",
        remediation: "Put the node's database on its own volume (e.g. `UUID=<uuid> /var/lib/hornet ext4 defaults,nodev,nosuid 0 2` in /etc/fstab), or give /var its own partition or LVM volume, so a growing chain cannot fill the disk that holds /var/log and /var/lib/dpkg.",
        references: &["CIS Debian 12 1.1.3", "Lynis FILE-6310"],
        run: separate_var,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(target: &str) -> Mount {
        Mount {
            target: target.into(),
            fstype: "ext4".into(),
            options: vec![],
            source: format!("fstab:{target}"),
        }
    }

    #[test]
    fn holding_mount_is_the_longest_whole_component_prefix() {
        let m = [mount("/"), mount("/var/lib/hornet-old"), mount("/var/lib")];
        assert_eq!(holding(&m, "/var/lib/hornet").unwrap().target, "/var/lib");
        assert_eq!(
            holding(&m, "/var/lib/hornet-old/db").unwrap().target,
            "/var/lib/hornet-old"
        );
        assert_eq!(holding(&m, "/opt/x").unwrap().target, "/");
        assert!(holding(&[mount("/srv")], "/opt").is_none());
    }
}
