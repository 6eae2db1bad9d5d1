//! The node's own accounts, whatever their UID: owners of running node
//! processes (live) and the `User=` of the node's systemd units (both modes).
//! ACC-009 checks the node does not run as root, ACC-010 that the accounts
//! running it cannot be logged in to.

use crate::checks::{Ctx, Outcome};
use crate::facts::nodeunits::{node_units, UNIT_DIRS};
use crate::facts::shadow::parse_shadow;
use crate::facts::users::{accounts as read_accounts, Account};

/// An account that runs the node, and why it counts as one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NodeAccount {
    /// Login name.
    pub name: String,
    /// Why (`runs hornet (pid 812)`, `User= at /lib/systemd/system/hornet.service:3`).
    pub why: String,
}

/// The node's accounts and a sentence saying where they were looked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct NodeAccounts {
    /// The accounts (root left out: ACC-009's business).
    pub accounts: Vec<NodeAccount>,
    /// Where they were looked for.
    pub looked: String,
}

impl NodeAccounts {
    /// Whether `name` is one of them.
    pub fn contains(&self, name: &str) -> bool {
        self.accounts.iter().any(|a| a.name == name)
    }
}

/// Identifies the node's accounts on the audited host.
pub(crate) fn node_accounts(ctx: &Ctx, accounts: &[Account]) -> NodeAccounts {
    let names = &ctx.profile.node_processes;
    let mut out = NodeAccounts::default();
    if names.is_empty() {
        out.looked = format!(
            "profile {} names no node process (choose --profile or set [audit] node_processes)",
            ctx.profile.name
        );
        return out;
    }
    let mut add = |name: String, why: String| {
        if name == "root" {
            return;
        }
        match out.accounts.iter_mut().find(|a| a.name == name) {
            Some(a) => {
                a.why.push_str("; ");
                a.why.push_str(&why);
            }
            None => out.accounts.push(NodeAccount { name, why }),
        }
    };
    if ctx.live() {
        if let Ok(procs) = ctx.processes() {
            for p in procs.iter().filter(|p| names.contains(&p.comm)) {
                let name = accounts
                    .iter()
                    .find(|a| a.uid == p.uid)
                    .map(|a| a.name.clone())
                    .unwrap_or_else(|| format!("uid {}", p.uid));
                add(name, format!("runs {} (pid {})", p.comm, p.pid));
            }
        }
    }
    for unit in node_units(ctx.host, names) {
        if let Some((user, at)) = unit.user {
            add(user, format!("User= at {at}, {}", unit.why));
        }
    }
    out.looked = format!(
        "{}units named like or running {} in {}",
        if ctx.live() {
            "running processes and "
        } else {
            ""
        },
        names.join(", "),
        UNIT_DIRS.join(", ")
    );
    out
}

/// The non-comment lines of `~name/.ssh/authorized_keys{,2}`, with the file.
fn authorized_keys(ctx: &Ctx, home: &str) -> Vec<(String, usize)> {
    let mut out = Vec::new();
    for f in ["authorized_keys", "authorized_keys2"] {
        let path = format!("{}/.ssh/{f}", home.trim_end_matches('/'));
        if let Ok(t) = ctx.host.read_text(&path) {
            let n = t
                .lines()
                .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
                .count();
            if n > 0 {
                out.push((path, n));
            }
        }
    }
    out
}

/// ACC-009: node processes do not run as root (live).
pub(super) fn node_as_root(ctx: &Ctx) -> Outcome {
    let procs = match ctx.processes() {
        Ok(p) => p,
        Err(e) => return e.clone().into(),
    };
    let names: Vec<&str> = ctx
        .profile
        .node_processes
        .iter()
        .map(String::as_str)
        .collect();
    if names.is_empty() {
        return Outcome::skip(format!(
            "profile {} names no node process (choose --profile or set [audit] node_processes)",
            ctx.profile.name
        ));
    }
    let nodes: Vec<_> = procs
        .iter()
        .filter(|p| names.contains(&p.comm.as_str()))
        .collect();
    if nodes.is_empty() {
        return Outcome::skip(format!("no node process ({}) is running", names.join(", ")));
    }
    let root: Vec<String> = nodes
        .iter()
        .filter(|p| p.uid == 0)
        .map(|p| format!("{} pid {} runs as root", p.comm, p.pid))
        .collect();
    if root.is_empty() {
        Outcome::pass(
            nodes
                .iter()
                .map(|p| format!("{} pid {} uid {}", p.comm, p.pid, p.uid))
                .collect::<Vec<_>>()
                .join("; "),
        )
    } else {
        Outcome::fail(root.join("; "))
    }
}

/// ACC-010: the node's accounts (any UID) have no login shell, a locked
/// password and no SSH keys; other service accounts (UID 1-999) have no login
/// shell with SSH keys.
pub(super) fn service_logins(ctx: &Ctx) -> Outcome {
    let (accounts, _) = match read_accounts(ctx.host) {
        Ok(a) => a,
        Err(e) => return e.into(),
    };
    let node = node_accounts(ctx, &accounts);
    let shadow = ctx.host.read_text("/etc/shadow").map(|t| parse_shadow(&t));
    let mut fails = Vec::new();
    let mut warns = Vec::new();
    let mut fine = Vec::new();
    for n in &node.accounts {
        let Some(a) = accounts.iter().find(|a| a.name == n.name) else {
            warns.push(format!("{} ({}) is not in /etc/passwd", n.name, n.why));
            continue;
        };
        let mut issues = Vec::new();
        if a.has_login_shell() {
            issues.push(format!("login shell {}", a.shell));
        }
        match &shadow {
            Ok(entries) => match entries.iter().find(|e| e.name == a.name) {
                Some(e) if !e.is_locked() => issues.push(format!(
                    "password not locked (/etc/shadow:{}{})",
                    e.line,
                    if e.hash.is_empty() { ", empty" } else { "" }
                )),
                Some(_) => {}
                None => warns.push(format!("{} has no /etc/shadow entry", a.name)),
            },
            Err(e) => warns.push(format!(
                "cannot tell whether {}'s password is locked: {e}",
                a.name
            )),
        }
        for (path, count) in authorized_keys(ctx, &a.home) {
            issues.push(format!("{path} has {count} key(s)"));
        }
        let who = format!(
            "/etc/passwd:{}: node account {} (uid {}; {})",
            a.line, a.name, a.uid, n.why
        );
        if issues.is_empty() {
            fine.push(format!(
                "node account {} (uid {}; {}): shell {}, password locked, no SSH keys",
                a.name, a.uid, n.why, a.shell
            ));
        } else {
            fails.push(format!("{who}: {}", issues.join(", ")));
        }
    }
    for a in accounts
        .iter()
        .filter(|a| a.is_service_account() && a.has_login_shell() && !node.contains(&a.name))
    {
        let line = format!(
            "/etc/passwd:{}: {} (uid {}) shell {}",
            a.line, a.name, a.uid, a.shell
        );
        match authorized_keys(ctx, &a.home).first() {
            Some((path, _)) => fails.push(format!("{line} and {path}")),
            None => warns.push(format!("login shell but no authorized_keys: {line}")),
        }
    }
    let context = if node.accounts.is_empty() {
        format!("no node account found ({})", node.looked)
    } else {
        format!("node accounts from {}", node.looked)
    };
    let ok = if fine.is_empty() {
        String::new()
    } else {
        format!("; fine: {}", fine.join("; "))
    };
    if !fails.is_empty() {
        let mut ev = fails.join("; ");
        if !warns.is_empty() {
            ev.push_str(&format!("; also: {}", warns.join("; ")));
        }
        Outcome::fail(format!("{ev}{ok}"))
    } else if !warns.is_empty() {
        Outcome::warn(format!("{}; {context}{ok}", warns.join("; "))).fix(
            "Give service accounts /usr/sbin/nologin: `usermod -s /usr/sbin/nologin <account>`.",
        )
    } else if fine.is_empty() {
        Outcome::pass(format!(
            "no service account (UID 1-999) has a login shell; {context}"
        ))
    } else {
        Outcome::pass(format!(
            "{}; no other service account (UID 1-999) has a login shell; {context}",
            fine.join("; ")
        ))
    }
}
