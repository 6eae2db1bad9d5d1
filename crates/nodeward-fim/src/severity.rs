//! How much a change matters: a new setuid bit or capability, a changed binary
//! in a system path, changed SSH keys or node key files are high; a changed
//! config is medium; times alone are low.

use crate::diff::Change;
use crate::entry::{display_path, Attr, Entry, Kind};
use nodeward_report::Severity;

/// Directories whose files run as programs or are loaded into them.
const SYSTEM_CODE: &[&str] = &[
    "/bin/",
    "/sbin/",
    "/lib/",
    "/lib64/",
    "/usr/bin/",
    "/usr/sbin/",
    "/usr/lib/",
    "/usr/lib64/",
    "/usr/libexec/",
    "/usr/local/bin/",
    "/usr/local/sbin/",
    "/usr/local/lib/",
    "/boot/",
];

/// Files that decide who may log in or escalate.
const ACCESS_FILES: &[&str] = &[
    "/etc/passwd",
    "/etc/shadow",
    "/etc/group",
    "/etc/gshadow",
    "/etc/sudoers",
    "/etc/sudoers.d/",
    "/etc/pam.d/",
    "/etc/ssh/sshd_config",
    "/etc/ssh/sshd_config.d/",
    "/etc/security/",
    "/etc/ld.so.preload",
    "/etc/crontab",
    "/etc/cron.",
    "/var/spool/cron/",
    "/etc/systemd/system/",
];

/// Names of node secrets (Cardano keys, wallets, node identities).
fn is_node_key(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or("");
    name.ends_with(".skey")
        || name.ends_with(".vkey")
        || name == "node.cert"
        || name == "node.counter"
        || name == "wallet.dat"
        || name == "identity.key"
        || name == "masternode.conf"
        || name.ends_with(".pem") && !path.starts_with("/etc/ssl/") && !path.starts_with("/usr/")
}

/// Why a path is sensitive, if it is.
fn sensitivity(path: &str) -> Option<&'static str> {
    if path.ends_with("/authorized_keys")
        || path.ends_with("/authorized_keys2")
        || path.contains("/.ssh/")
    {
        return Some("SSH access");
    }
    if is_node_key(path) {
        return Some("node key file");
    }
    if ACCESS_FILES.iter().any(|p| path.starts_with(p)) {
        return Some("login or privilege configuration");
    }
    if SYSTEM_CODE.iter().any(|p| path.starts_with(p)) {
        return Some("system binary or library");
    }
    None
}

fn special_bits(e: &Entry) -> u32 {
    if e.kind == Kind::File {
        e.mode & 0o6000
    } else {
        0
    }
}

/// The severity of `change` and a short reason.
pub fn classify(change: &Change) -> (Severity, String) {
    let path = display_path(change.path());
    let sensitive = sensitivity(&path);
    match change {
        Change::Added(e) => {
            if special_bits(e) != 0 {
                (Severity::High, "new setuid/setgid file".into())
            } else if e.capabilities.is_some() {
                (Severity::High, "new file with capabilities".into())
            } else if let Some(why) = sensitive {
                let sev = if why == "system binary or library" {
                    Severity::Medium
                } else {
                    Severity::High
                };
                (sev, format!("added {why}"))
            } else if path.starts_with("/etc/") {
                (Severity::Medium, "added configuration".into())
            } else {
                (Severity::Low, "added".into())
            }
        }
        Change::Removed(_) => match sensitive {
            Some(why) => (Severity::Medium, format!("removed {why}")),
            None => (Severity::Low, "removed".into()),
        },
        Change::Unverified { .. } => (Severity::Medium, "content could not be verified".into()),
        Change::Changed { old, new, attrs } => {
            let has = |a: Attr| attrs.iter().any(|c| c.attr == a);
            if special_bits(new) & !special_bits(old) != 0 {
                return (Severity::High, "gained a setuid/setgid bit".into());
            }
            if has(Attr::Caps) && new.capabilities.is_some() {
                return (Severity::High, "file capabilities added or changed".into());
            }
            let content_like = has(Attr::Content) || has(Attr::Type) || has(Attr::Target);
            let access_like = has(Attr::Mode) || has(Attr::Owner);
            if let Some(why) = sensitive {
                if content_like || access_like {
                    return (Severity::High, format!("{why} changed"));
                }
            }
            if content_like && path.starts_with("/etc/") {
                return (Severity::Medium, "configuration changed".into());
            }
            if content_like || access_like || has(Attr::Xattrs) {
                return (Severity::Medium, "changed".into());
            }
            (
                Severity::Low,
                "metadata changed (times, size or inode only)".into(),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::AttrChange;
    use crate::entry::Content;

    fn e(path: &str, mode: u32) -> Entry {
        Entry {
            path: path.as_bytes().to_vec(),
            kind: Kind::File,
            mode,
            uid: 0,
            gid: 0,
            size: 1,
            mtime_ns: 0,
            ctime_ns: 0,
            inode: 1,
            device: 1,
            link_target: None,
            xattrs: vec![],
            capabilities: None,
            content: Content::NotHashed,
        }
    }

    fn changed(path: &str, old: u32, new: u32, attr: Attr) -> Change {
        Change::Changed {
            old: Box::new(e(path, old)),
            new: Box::new(e(path, new)),
            attrs: vec![AttrChange {
                attr,
                old: String::new(),
                new: String::new(),
            }],
        }
    }

    #[test]
    fn severities_follow_what_the_change_enables() {
        assert_eq!(
            classify(&changed("/opt/x", 0o755, 0o4755, Attr::Mode)).0,
            Severity::High
        );
        assert_eq!(
            classify(&changed("/usr/bin/ls", 0o755, 0o755, Attr::Content)).0,
            Severity::High
        );
        assert_eq!(
            classify(&changed(
                "/home/a/.ssh/authorized_keys",
                0o600,
                0o600,
                Attr::Content
            ))
            .0,
            Severity::High
        );
        assert_eq!(
            classify(&changed(
                "/home/c/cnode/priv/kes.skey",
                0o400,
                0o400,
                Attr::Content
            ))
            .0,
            Severity::High
        );
        assert_eq!(
            classify(&changed("/etc/hostname", 0o644, 0o644, Attr::Content)).0,
            Severity::Medium
        );
        assert_eq!(
            classify(&changed("/etc/hostname", 0o644, 0o644, Attr::Mtime)).0,
            Severity::Low
        );
        assert_eq!(
            classify(&Change::Added(e("/tmp/x/y", 0o2755))).0,
            Severity::High
        );
        assert_eq!(
            classify(&Change::Added(e("/srv/y", 0o644))).0,
            Severity::Low
        );
    }
}
