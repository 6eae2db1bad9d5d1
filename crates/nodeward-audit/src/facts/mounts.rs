//! Mounted file systems: `/proc/self/mountinfo` on a live host, `/etc/fstab`
//! (and systemd `.mount` units for /tmp) on an offline tree.

use crate::host::{Fact, Host, Mount};

/// Undoes the octal escapes (`\040` for space) of mountinfo and fstab.
fn unescape(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() {
            if let Some(v) = s
                .get(i + 1..i + 4)
                .and_then(|o| u8::from_str_radix(o, 8).ok())
            {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Parses mountinfo; a later mount on the same target hides an earlier one, so
/// callers should use the last entry per target ([`effective`]).
pub fn parse_mountinfo(text: &str, file: &str) -> Vec<Mount> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let fields: Vec<&str> = line.split(' ').collect();
        let Some(dash) = fields.iter().position(|f| *f == "-") else {
            continue;
        };
        if fields.len() < 6 || fields.len() < dash + 4 {
            continue;
        }
        let mut options: Vec<String> = fields[5].split(',').map(String::from).collect();
        options.extend(fields[dash + 3].split(',').map(String::from));
        out.push(Mount {
            target: unescape(fields[4]),
            fstype: fields[dash + 1].to_string(),
            options,
            source: format!("{file}:{}", i + 1),
        });
    }
    out
}

/// Parses fstab.
pub fn parse_fstab(text: &str, file: &str) -> Vec<Mount> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 3 {
            continue;
        }
        out.push(Mount {
            target: unescape(f[1]),
            fstype: f[2].to_string(),
            options: f
                .get(3)
                .unwrap_or(&"defaults")
                .split(',')
                .map(String::from)
                .collect(),
            source: format!("{file}:{}", i + 1),
        });
    }
    out
}

/// Parses a systemd `.mount` unit's `Where=`, `Type=` and `Options=`.
fn parse_mount_unit(text: &str, file: &str) -> Option<Mount> {
    let mut target = None;
    let mut fstype = String::from("auto");
    let mut options = vec!["defaults".to_string()];
    for line in text.lines() {
        let line = line.trim();
        if let Some(v) = line.strip_prefix("Where=") {
            target = Some(v.trim().to_string());
        } else if let Some(v) = line.strip_prefix("Type=") {
            fstype = v.trim().to_string();
        } else if let Some(v) = line.strip_prefix("Options=") {
            options = v.trim().split(',').map(String::from).collect();
        }
    }
    Some(Mount {
        target: target?,
        fstype,
        options,
        source: file.to_string(),
    })
}

/// What an offline tree would mount: fstab entries, plus a `tmp.mount` unit
/// when it is enabled and fstab does not mention /tmp.
pub fn configured(host: &dyn Host) -> Fact<Vec<Mount>> {
    let mut mounts = match host.read_text("/etc/fstab") {
        Ok(text) => parse_fstab(&text, "/etc/fstab"),
        Err(e) if e.is_missing() => Vec::new(),
        Err(e) => return Err(e),
    };
    if !mounts.iter().any(|m| m.target == "/tmp") {
        let enabled = [
            "/etc/systemd/system/local-fs.target.wants/tmp.mount",
            "/usr/lib/systemd/system/local-fs.target.wants/tmp.mount",
            "/lib/systemd/system/local-fs.target.wants/tmp.mount",
        ]
        .iter()
        .any(|p| host.exists(p));
        let masked = host
            .read_link("/etc/systemd/system/tmp.mount")
            .is_ok_and(|t| t == "/dev/null");
        if enabled && !masked {
            for unit in [
                "/etc/systemd/system/tmp.mount",
                "/usr/lib/systemd/system/tmp.mount",
                "/lib/systemd/system/tmp.mount",
            ] {
                if let Ok(text) = host.read_text(unit) {
                    mounts.extend(parse_mount_unit(&text, unit));
                    break;
                }
            }
        }
    }
    Ok(mounts)
}

/// The mount in effect at `target` (the last one listed).
pub fn effective<'a>(mounts: &'a [Mount], target: &str) -> Option<&'a Mount> {
    mounts.iter().rev().find(|m| m.target == target)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mountinfo_options_and_escapes() {
        let text = "36 35 0:30 / /tmp rw,nosuid,nodev shared:5 - tmpfs tmpfs rw,size=1g\n\
                    37 35 0:31 / /my\\040dir rw - ext4 /dev/sda1 rw\n";
        let m = parse_mountinfo(text, "mi");
        assert_eq!(m[0].target, "/tmp");
        assert!(m[0].options.contains(&"nosuid".to_string()));
        assert!(m[0].options.contains(&"size=1g".to_string()));
        assert_eq!(m[1].target, "/my dir");
        assert_eq!(m[1].source, "mi:2");
    }

    #[test]
    fn fstab_lines() {
        let m = parse_fstab(
            "# x\ntmpfs /tmp tmpfs nosuid,nodev,noexec 0 0\nbad\n",
            "/etc/fstab",
        );
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].source, "/etc/fstab:2");
        assert!(unescape("a\\") == "a\\");
    }
}
