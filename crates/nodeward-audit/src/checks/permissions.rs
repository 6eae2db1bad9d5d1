//! Permissions of the places a node's secrets live (PERM-001 … PERM-003):
//! login homes, `.ssh` directories with authorized_keys and private keys, and
//! the node's data directories must not be writable by group or others, or
//! anyone on the host can plant a key or replace the node's database.

use super::{nodedirs, Check, Ctx, Outcome};
use crate::facts::users::{self, Account};
use crate::host::FileMeta;
use nodeward_report::Severity;

/// The most entries of one data directory looked at.
const MAX_ENTRIES: usize = 256;

fn group_world_writable(m: &FileMeta) -> bool {
    m.mode & 0o022 != 0
}

fn describe(path: &str, m: &FileMeta) -> String {
    format!("{path} {:04o}", m.mode & 0o7777)
}

fn accounts(ctx: &Ctx) -> Result<Vec<Account>, Outcome> {
    match users::accounts(ctx.host) {
        Ok((a, _)) if a.is_empty() => Err(Outcome::error("/etc/passwd has no valid entries")),
        Ok((a, _)) => Ok(a),
        Err(e) => Err(e.into()),
    }
}

/// Unique, real homes of `accounts`.
fn homes(accounts: &[Account]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for a in accounts {
        let h = a.home.trim_end_matches('/');
        if h.is_empty() || !a.home.starts_with('/') || h.starts_with("/nonexistent") {
            continue;
        }
        if !out.iter().any(|x| x == h) {
            out.push(h.to_string());
        }
    }
    out
}

/// The verdict for a list of good and bad paths.
fn verdict(good: Vec<String>, bad: Vec<String>, none: String) -> Outcome {
    if !bad.is_empty() {
        let mut ev = bad.join("; ");
        if !good.is_empty() {
            ev.push_str(&format!(" (fine: {})", good.join(", ")));
        }
        Outcome::fail(ev)
    } else if good.is_empty() {
        Outcome::skip(none)
    } else {
        Outcome::pass(good.join(", "))
    }
}

fn home_dirs(ctx: &Ctx) -> Outcome {
    let accounts = match accounts(ctx) {
        Ok(a) => a,
        Err(o) => return o,
    };
    let login: Vec<Account> = accounts
        .into_iter()
        .filter(|a| a.uid == 0 || a.has_login_shell())
        .collect();
    let (mut good, mut bad) = (Vec::new(), Vec::new());
    for h in homes(&login) {
        match ctx.host.metadata(&h) {
            Ok(m) if group_world_writable(&m) => bad.push(format!(
                "{} is writable by group or others",
                describe(&h, &m)
            )),
            Ok(m) => good.push(describe(&h, &m)),
            Err(e) if e.is_missing() => {}
            Err(e) => bad.push(e.reason),
        }
    }
    verdict(good, bad, "no login account's home directory exists".into())
}

fn ssh_dirs(ctx: &Ctx) -> Outcome {
    let accounts = match accounts(ctx) {
        Ok(a) => a,
        Err(o) => return o,
    };
    let (mut good, mut bad) = (Vec::new(), Vec::new());
    for h in homes(&accounts) {
        let dir = format!("{h}/.ssh");
        let m = match ctx.host.metadata(&dir) {
            Ok(m) => m,
            Err(e) if e.is_missing() => continue,
            Err(e) => {
                bad.push(e.reason);
                continue;
            }
        };
        if group_world_writable(&m) {
            bad.push(format!(
                "{} is writable by group or others",
                describe(&dir, &m)
            ));
        } else {
            good.push(describe(&dir, &m));
        }
        let names = ctx.host.list_dir(&dir).unwrap_or_default();
        for name in names.iter().take(MAX_ENTRIES) {
            let path = format!("{dir}/{name}");
            let Ok(fm) = ctx.host.metadata(&path) else {
                continue;
            };
            if name.starts_with("authorized_keys") {
                if group_world_writable(&fm) {
                    bad.push(format!(
                        "{} is writable by group or others",
                        describe(&path, &fm)
                    ));
                } else {
                    good.push(describe(&path, &fm));
                }
            } else if name.starts_with("id_") && !name.ends_with(".pub") && !fm.is_dir {
                if fm.mode & 0o077 != 0 {
                    bad.push(format!(
                        "{} (a private key) is readable or writable by group or others",
                        describe(&path, &fm)
                    ));
                } else {
                    good.push(describe(&path, &fm));
                }
            }
        }
    }
    verdict(good, bad, "no account has a ~/.ssh directory".into())
}

fn data_dirs(ctx: &Ctx) -> Outcome {
    let dirs = nodedirs::expanded(ctx);
    let (mut good, mut bad) = (Vec::new(), Vec::new());
    for d in &dirs {
        let m = match ctx.host.metadata(d) {
            Ok(m) => m,
            Err(e) if e.is_missing() => continue,
            Err(e) => {
                bad.push(e.reason);
                continue;
            }
        };
        if group_world_writable(&m) {
            bad.push(format!(
                "{} is writable by group or others",
                describe(d, &m)
            ));
            continue;
        }
        let mut loose = Vec::new();
        if m.is_dir {
            let names = ctx.host.list_dir(d).unwrap_or_default();
            for name in names.iter().take(MAX_ENTRIES) {
                let p = format!("{d}/{name}");
                if let Ok(em) = ctx.host.metadata(&p) {
                    if group_world_writable(&em) {
                        loose.push(describe(&p, &em));
                    }
                }
            }
        }
        if loose.is_empty() {
            good.push(describe(d, &m));
        } else {
            bad.push(format!(
                "{} holds entries writable by group or others: {}",
                describe(d, &m),
                loose.join(", ")
            ));
        }
    }
    verdict(
        good,
        bad,
        format!(
            "no data directory of the {} profile exists (looked for {})",
            ctx.profile.name,
            dirs.join(", ")
        ),
    )
}

/// Permission checks.
pub const CHECKS: &[Check] = &[
    Check {
        id: "PERM-001",
        area: "permissions",
        severity: Severity::Medium,
        title: "Login accounts' home directories are not writable by group or others",
        remediation: "`chmod go-w <home>` (0750 or 0700) for each listed home; set `HOME_MODE 0750` in /etc/login.defs for new accounts.",
        references: &["Lynis HOME-9304", "CIS Debian 12 7.2.x"],
        run: home_dirs,
    },
    Check {
        id: "PERM-002",
        area: "permissions",
        severity: Severity::High,
        title: "~/.ssh and authorized_keys are not writable by group or others, private keys are private",
        remediation: "`chmod 700 ~/.ssh && chmod 600 ~/.ssh/authorized_keys ~/.ssh/id_*` (keep `.pub` files 644) for each listed account, and check the keys in authorized_keys are yours.",
        references: &["sshd(8) StrictModes", "ssh(1) FILES"],
        run: ssh_dirs,
    },
    Check {
        id: "PERM-003",
        area: "permissions",
        severity: Severity::High,
        title: "The node's data directory is not writable by group or others",
        remediation: "`chmod -R go-w <dir>` and `chown -R <node-user>: <dir>` for the listed directory; keep key files 0600.",
        references: &["iri-playbook: file permissions", "Hornet docs: security"],
        run: data_dirs,
    },
];
