//! Accounts: /etc/passwd and /etc/group (who exists, with which shell, home
//! and groups). /etc/shadow is parsed in [`super::shadow`].

use crate::host::{Fact, Host};

/// One /etc/passwd entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Account {
    /// Login name.
    pub name: String,
    /// User ID.
    pub uid: u32,
    /// Primary group ID.
    pub gid: u32,
    /// Home directory.
    pub home: String,
    /// Login shell.
    pub shell: String,
    /// 1-based line in /etc/passwd.
    pub line: usize,
}

impl Account {
    /// Whether the shell lets the account log in interactively.
    pub fn has_login_shell(&self) -> bool {
        let s = self.shell.trim();
        !(s.is_empty()
            || s.ends_with("/nologin")
            || s.ends_with("/false")
            || s == "/bin/sync"
            || s == "/sbin/shutdown"
            || s == "/sbin/halt")
    }

    /// A system/service account (UID 1-999, or nobody).
    pub fn is_service_account(&self) -> bool {
        (1..1000).contains(&self.uid) || self.uid == 65534
    }
}

/// A malformed line, kept so checks can report it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadLine {
    /// 1-based line.
    pub line: usize,
    /// What is wrong.
    pub reason: String,
}

/// Parses /etc/passwd.
pub fn parse_passwd(text: &str) -> (Vec<Account>, Vec<BadLine>) {
    let mut accounts = Vec::new();
    let mut bad = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') || line.starts_with('+') {
            continue;
        }
        let f: Vec<&str> = line.split(':').collect();
        if f.len() != 7 {
            bad.push(BadLine {
                line: i + 1,
                reason: format!("{} fields instead of 7", f.len()),
            });
            continue;
        }
        let Ok(uid) = f[2].parse::<u32>() else {
            bad.push(BadLine {
                line: i + 1,
                reason: format!("UID {:?} is not a number", f[2]),
            });
            continue;
        };
        let gid = f[3].parse::<u32>().unwrap_or(u32::MAX);
        accounts.push(Account {
            name: f[0].to_string(),
            uid,
            gid,
            home: f[5].to_string(),
            shell: f[6].to_string(),
            line: i + 1,
        });
    }
    (accounts, bad)
}

/// Reads and parses /etc/passwd.
pub fn accounts(host: &dyn Host) -> Fact<(Vec<Account>, Vec<BadLine>)> {
    Ok(parse_passwd(&host.read_text("/etc/passwd")?))
}

pub use super::shadow::{parse_shadow, ShadowEntry};

/// One /etc/group entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    /// Group name.
    pub name: String,
    /// Group ID.
    pub gid: u32,
    /// Members listed in the fourth field (not those with it as primary group).
    pub members: Vec<String>,
}

/// Parses /etc/group; malformed lines are left out.
pub fn parse_group(text: &str) -> Vec<Group> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#') && !l.starts_with('+'))
        .filter_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() != 4 {
                return None;
            }
            Some(Group {
                name: f[0].to_string(),
                gid: f[2].parse().ok()?,
                members: f[3]
                    .split(',')
                    .map(str::trim)
                    .filter(|m| !m.is_empty())
                    .map(String::from)
                    .collect(),
            })
        })
        .collect()
}

/// The accounts in group `name`: its listed members and the accounts whose
/// primary group it is.
pub fn group_members(name: &str, groups: &[Group], accounts: &[Account]) -> Vec<String> {
    let mut out = Vec::new();
    for g in groups.iter().filter(|g| g.name == name) {
        out.extend(g.members.iter().cloned());
        out.extend(
            accounts
                .iter()
                .filter(|a| a.gid == g.gid)
                .map(|a| a.name.clone()),
        );
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwd_and_shadow() {
        let (a, bad) = parse_passwd(
            "root:x:0:0:root:/root:/bin/bash\nbroken\ndaemon:x:1:1::/:/usr/sbin/nologin\n",
        );
        assert_eq!(a.len(), 2);
        assert_eq!(bad[0].line, 2);
        assert!(a[0].has_login_shell());
        assert!(!a[1].has_login_shell());
        assert!(a[1].is_service_account());
        let s = parse_shadow("root:*:1::::::\nbob::19000:0:99999:7:::\n");
        assert_eq!(s[1].hash, "");
        let g = parse_group("sudo:x:27:admin, bob\nbroken\nops:x:1001:\n");
        assert_eq!(g.len(), 2);
        assert_eq!(g[0].members, vec!["admin", "bob"]);
        let (a, _) = parse_passwd("carol:x:1002:1001::/home/carol:/bin/bash\n");
        assert_eq!(group_members("ops", &g, &a), vec!["carol"]);
    }
}
