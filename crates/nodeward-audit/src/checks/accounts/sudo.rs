//! ACC-008: sudo follows the node guides' split. Service accounts (the node's
//! accounts and other accounts without a login shell or with UID 1-999) get
//! no sudo, or only named commands; access accounts (people who log in)
//! escalate with their password: no `NOPASSWD` (nor `Defaults !authenticate`)
//! on `ALL` or on commands that amount to a shell.

use super::node::node_accounts;
use crate::checks::{Ctx, Outcome};
use crate::facts::sudoers::{self, Sudoers};
use crate::facts::users::{accounts as read_accounts, group_members, parse_group, Account, Group};

/// Programs that give a shell or run anything: as good as `ALL`.
const BROAD: [&str; 22] = [
    "sh",
    "bash",
    "dash",
    "zsh",
    "ksh",
    "csh",
    "tcsh",
    "fish",
    "su",
    "sudo",
    "sudoedit",
    "env",
    "python",
    "python3",
    "perl",
    "ruby",
    "vi",
    "vim",
    "nano",
    "less",
    "find",
    "systemd-run",
];

/// Whether a sudoers command grants (about) everything.
fn is_broad(command: &str) -> bool {
    let c = command.trim();
    if c.starts_with('!') {
        return false;
    }
    if c == "ALL" {
        return true;
    }
    let program = c.split_whitespace().next().unwrap_or("");
    let base = program.rsplit('/').next().unwrap_or(program);
    program.contains('*') || BROAD.contains(&base)
}

/// The accounts a user list names, with how (`via %sudo`), minus `!name`s.
fn expand_users(
    list: &[String],
    s: &Sudoers,
    groups: &[Group],
    accounts: &[Account],
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut minus: Vec<String> = Vec::new();
    let mut todo: Vec<(String, String, usize)> =
        list.iter().map(|u| (u.clone(), String::new(), 0)).collect();
    while let Some((item, via, depth)) = todo.pop() {
        if out.len() > 10_000 {
            break;
        }
        let (neg, item) = match item.strip_prefix('!') {
            Some(rest) => (true, rest.trim().to_string()),
            None => (false, item),
        };
        let mut names: Vec<(String, String)> = Vec::new();
        if item == "ALL" {
            names.extend(
                accounts
                    .iter()
                    .map(|a| (a.name.clone(), " (via ALL)".to_string())),
            );
        } else if let Some(g) = item.strip_prefix('%') {
            let g = g.trim_start_matches(':');
            names.extend(
                group_members(g, groups, accounts)
                    .into_iter()
                    .map(|m| (m, format!(" (via %{g})"))),
            );
        } else if let Some(members) = s.user_aliases.get(&item) {
            if depth < 8 {
                for m in members {
                    let m = if neg { format!("!{m}") } else { m.clone() };
                    todo.push((m, format!(" (via {item})"), depth + 1));
                }
            }
            continue;
        } else if let Some(uid) = item.strip_prefix('#').and_then(|u| u.parse::<u32>().ok()) {
            names.extend(
                accounts
                    .iter()
                    .filter(|a| a.uid == uid)
                    .map(|a| (a.name.clone(), format!(" (#{uid})"))),
            );
        } else {
            names.push((item.clone(), String::new()));
        }
        for (n, how) in names {
            if neg {
                minus.push(n);
            } else {
                let how = if via.is_empty() { how } else { via.clone() };
                out.push((n, how));
            }
        }
    }
    out.retain(|(n, _)| !minus.contains(n));
    out.sort();
    out.dedup_by(|a, b| a.0 == b.0);
    out
}

/// ACC-008.
pub(super) fn sudo(ctx: &Ctx) -> Outcome {
    let s = match sudoers::load(ctx.host) {
        Ok(s) => s,
        Err(e) => return e.into(),
    };
    let (accounts, _) = match read_accounts(ctx.host) {
        Ok(a) => a,
        Err(e) => return Outcome::error(format!("cannot tell service from access accounts: {e}")),
    };
    let groups = ctx
        .host
        .read_text("/etc/group")
        .map(|t| parse_group(&t))
        .unwrap_or_default();
    let node = node_accounts(ctx, &accounts);
    let mut bad = Vec::new();
    let mut named = Vec::new();
    let mut with_password = Vec::new();
    for rule in &s.rules {
        let users = expand_users(&rule.users, &s, &groups, &accounts);
        for cmd in &rule.commands {
            let broad = s.expand_command(&cmd.command).iter().any(|c| is_broad(c));
            for (user, how) in &users {
                if user == "root" {
                    continue;
                }
                let account = accounts.iter().find(|a| &a.name == user);
                let service = node.contains(user)
                    || account.is_some_and(|a| a.is_service_account() || !a.has_login_shell());
                let no_auth = s.no_authenticate(|list| {
                    expand_users(list, &s, &groups, &accounts)
                        .iter()
                        .any(|(n, _)| n == user)
                });
                let nopasswd = cmd.nopasswd || no_auth.is_some();
                let how_nopasswd = match (cmd.nopasswd, no_auth) {
                    (true, _) => "NOPASSWD".to_string(),
                    (false, Some(at)) => format!("Defaults !authenticate at {at}"),
                    _ => String::new(),
                };
                let kind = if node.contains(user) {
                    "node account"
                } else if service {
                    "service account"
                } else {
                    "access account"
                };
                let shown = format!(
                    "{}: {kind} {user}{how} may run {}{}",
                    rule.at,
                    cmd.runas
                        .as_deref()
                        .map(|r| format!("{r} "))
                        .unwrap_or_default(),
                    cmd.command
                );
                if service && broad {
                    bad.push(format!(
                        "{shown}{}: a service account gets no sudo or only named commands",
                        if nopasswd {
                            format!(" ({how_nopasswd})")
                        } else {
                            String::new()
                        }
                    ));
                } else if broad && nopasswd {
                    bad.push(format!("{shown} without a password ({how_nopasswd})"));
                } else if broad {
                    with_password.push(format!("{user}{how}"));
                } else {
                    named.push(format!("{user}: {}", cmd.command));
                }
            }
        }
    }
    with_password.sort();
    with_password.dedup();
    let problems = if s.problems.is_empty() {
        String::new()
    } else {
        format!("; not read: {}", s.problems.join("; "))
    };
    if !bad.is_empty() {
        return Outcome::fail(format!("{}{problems}", bad.join("; ")));
    }
    let summary = format!(
        "{} sudo rules in {}: access accounts with a password: {}; named commands: {}",
        s.rules.len(),
        s.files.join(", "),
        if with_password.is_empty() {
            "none".into()
        } else {
            with_password.join(", ")
        },
        if named.is_empty() {
            "none".into()
        } else {
            named.join(", ")
        }
    );
    if !s.problems.is_empty() {
        // Rules in what could not be read may grant anything.
        return Outcome::warn(format!("{summary}{problems}"));
    }
    Outcome::pass(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::users::parse_passwd;

    #[test]
    fn broad_commands_and_user_expansion() {
        assert!(is_broad("ALL"));
        assert!(is_broad("/bin/bash"));
        assert!(is_broad("/usr/bin/* "));
        assert!(!is_broad("/usr/bin/systemctl restart hornet"));
        assert!(!is_broad("!/bin/sh"));
        let (accounts, _) = parse_passwd(
            "admin:x:1000:1000::/home/admin:/bin/bash\nbob:x:1001:27::/home/bob:/bin/bash\ncarl:x:1002:1002::/home/carl:/bin/bash\n",
        );
        let groups = parse_group("sudo:x:27:admin\n");
        let s = sudoers::parse_text("/etc/sudoers", "User_Alias OPS = %sudo, carl, !admin\n");
        let got = expand_users(&["OPS".to_string()], &s, &groups, &accounts);
        let names: Vec<&str> = got.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["bob", "carl"]);
        assert!(got[0].1.contains("OPS"));
        let got = expand_users(&["#1002".to_string()], &s, &groups, &accounts);
        assert_eq!(got[0].0, "carl");
    }
}
