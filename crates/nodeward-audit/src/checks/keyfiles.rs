//! Node key files (KEY-001 … KEY-003): the secrets a node host holds — Cardano
//! KES/VRF keys and operational certificate, a masternode's wallet.dat and
//! masternode.conf, Hornet's identity key, an ILP connector's env files — are
//! owned by the node's account or root and unreadable to others; cold keys
//! never sit on the node; nodeward's own config and state (admin tokens) are
//! private. Where they are looked for is per profile (profile.rs), plus the
//! homes of the node's accounts.

use super::accounts::node::{node_accounts, NodeAccounts};
use super::{Check, Ctx, Outcome};
use crate::facts::keyfiles::{find, Found, Search};
use crate::facts::users::{accounts as read_accounts, Account};
use nodeward_report::Severity;

/// nodeward's own configuration and state directories.
const NODEWARD_DIRS: [&str; 2] = ["/etc/nodeward", "/var/lib/nodeward"];

struct Scope {
    accounts: Vec<Account>,
    node: NodeAccounts,
    dirs: Vec<String>,
}

fn scope(ctx: &Ctx) -> Scope {
    let accounts = read_accounts(ctx.host).map(|(a, _)| a).unwrap_or_default();
    let node = node_accounts(ctx, &accounts);
    let mut dirs: Vec<String> = ctx.profile.key_dirs.iter().map(|d| d.to_string()).collect();
    for n in &node.accounts {
        if let Some(a) = accounts.iter().find(|a| a.name == n.name) {
            let home = a.home.trim_end_matches('/').to_string();
            if !home.is_empty() && home != "/" && !dirs.iter().any(|d| home.starts_with(d.as_str()))
            {
                dirs.push(home);
            }
        }
    }
    Scope {
        accounts,
        node,
        dirs,
    }
}

fn owner(uid: u32, accounts: &[Account]) -> String {
    accounts
        .iter()
        .find(|a| a.uid == uid)
        .map(|a| format!("{} ({uid})", a.name))
        .unwrap_or_else(|| format!("uid {uid}"))
}

fn describe(f: &Found, accounts: &[Account]) -> String {
    format!(
        "{} owner {} mode {:04o}",
        f.path,
        owner(f.meta.uid, accounts),
        f.meta.mode & 0o7777
    )
}

fn looked(s: &Search, dirs: &[String]) -> String {
    let mut w = if s.looked.is_empty() {
        format!("none of {} exists", dirs.join(", "))
    } else {
        format!("looked in {}", s.looked.join(", "))
    };
    if s.truncated {
        w.push_str(" (stopped early: too many files)");
    }
    w
}

/// KEY-001: the node's secret key files are private to the node account or root.
fn private_keys(ctx: &Ctx) -> Outcome {
    let p = ctx.profile;
    if p.key_files.is_empty() {
        return Outcome::skip(format!(
            "profile {} names no node key files (choose --profile cardano, masternode, hornet, iota or ilp)",
            p.name
        ));
    }
    let sc = scope(ctx);
    let search = find(ctx.host, &sc.dirs, &p.key_files);
    if search.found.is_empty() {
        return Outcome::skip(format!(
            "no key files ({}) found: {}",
            p.key_files.join(", "),
            looked(&search, &sc.dirs)
        ));
    }
    let mut allowed: Vec<u32> = vec![0];
    allowed.extend(
        sc.accounts
            .iter()
            .filter(|a| sc.node.contains(&a.name))
            .map(|a| a.uid),
    );
    let mut note = String::new();
    if sc.node.accounts.is_empty() {
        // Without the node's account known, any account that cannot log in may own them.
        allowed.extend(
            sc.accounts
                .iter()
                .filter(|a| a.is_service_account() || !a.has_login_shell())
                .map(|a| a.uid),
        );
        note = format!(
            "; node account unknown ({}), so any service account may own them",
            sc.node.looked
        );
    }
    let mut bad = Vec::new();
    for f in &search.found {
        let mut why = Vec::new();
        if f.meta.mode & 0o066 != 0 {
            why.push("group or others can read or write it");
        }
        if !allowed.contains(&f.meta.uid) {
            why.push("owned by neither the node account nor root");
        }
        if !why.is_empty() {
            bad.push(format!("{}: {}", describe(f, &sc.accounts), why.join(", ")));
        }
    }
    if bad.is_empty() {
        Outcome::pass(format!(
            "{}{note}",
            search
                .found
                .iter()
                .map(|f| describe(f, &sc.accounts))
                .collect::<Vec<_>>()
                .join("; ")
        ))
    } else {
        Outcome::fail(format!("{}{note}", bad.join("; ")))
    }
}

/// KEY-002: no cold keys (offline-only) on the node.
fn cold_keys(ctx: &Ctx) -> Outcome {
    let p = ctx.profile;
    if p.cold_keys.is_empty() {
        return Outcome::skip(format!(
            "profile {} has no keys that belong offline (the cardano profile does)",
            p.name
        ));
    }
    let sc = scope(ctx);
    let cold = find(ctx.host, &sc.dirs, &p.cold_keys);
    if !cold.found.is_empty() {
        return Outcome::fail(format!(
            "cold keys on a node that is online: {}",
            cold.found
                .iter()
                .map(|f| describe(f, &sc.accounts))
                .collect::<Vec<_>>()
                .join("; ")
        ));
    }
    let hot = find(ctx.host, &sc.dirs, &p.key_files);
    if hot.found.is_empty() {
        // Not finding the node's keys at all means not knowing where they are.
        return Outcome::skip(format!(
            "no node key files found, so no key directory to judge: {}",
            looked(&hot, &sc.dirs)
        ));
    }
    Outcome::pass(format!(
        "no {} next to the node's keys ({}); {}",
        p.cold_keys.join(", "),
        hot.found
            .iter()
            .map(|f| f.path.as_str())
            .collect::<Vec<_>>()
            .join(", "),
        looked(&hot, &sc.dirs)
    ))
}

/// KEY-003: nodeward's own configuration and state are private.
fn nodeward_state(ctx: &Ctx) -> Outcome {
    let dirs: Vec<String> = NODEWARD_DIRS.iter().map(|d| d.to_string()).collect();
    let s = find(ctx.host, &dirs, &["*"]);
    if s.looked.is_empty() {
        return Outcome::skip(format!("none of {} exists", NODEWARD_DIRS.join(", ")));
    }
    let accounts = read_accounts(ctx.host).map(|(a, _)| a).unwrap_or_default();
    let nodeward_uid = accounts
        .iter()
        .find(|a| a.name == "nodeward")
        .map(|a| a.uid);
    let mut bad = Vec::new();
    for d in &s.looked {
        if let Ok(m) = ctx.host.metadata(d) {
            if m.mode & 0o002 != 0 {
                bad.push(format!(
                    "{d} mode {:04o}: anyone can write in it",
                    m.mode & 0o7777
                ));
            }
        }
    }
    for f in &s.found {
        let mut why = Vec::new();
        if f.meta.mode & 0o006 != 0 {
            why.push("others can read or write it");
        }
        if f.meta.mode & 0o020 != 0 {
            why.push("its group can write it");
        }
        if f.meta.uid != 0 && Some(f.meta.uid) != nodeward_uid {
            why.push("owned by neither root nor nodeward");
        }
        if !why.is_empty() {
            bad.push(format!("{}: {}", describe(f, &accounts), why.join(", ")));
        }
    }
    if !bad.is_empty() {
        return Outcome::fail(bad.join("; "));
    }
    if s.found.is_empty() {
        return Outcome::pass(format!("{}: no files", s.looked.join(", ")));
    }
    Outcome::pass(
        s.found
            .iter()
            .map(|f| describe(f, &accounts))
            .collect::<Vec<_>>()
            .join("; "),
    )
}

/// Key file checks.
pub const CHECKS: &[Check] = &[
    Check {
        id: "KEY-001",
        area: "keys",
        severity: Severity::High,
        title: "The node's secret key files are owned by its account or root and private",
        remediation: "`chown <node-account>: <file>` (or root) and `chmod 600 <file>` for every key file listed; keep key directories at 0700.",
        references: &["CoinCashew Cardano guide: securing keys", "Dash masternode guide"],
        run: private_keys,
    },
    Check {
        id: "KEY-002",
        area: "keys",
        severity: Severity::Critical,
        title: "No cold keys on the node (they belong offline)",
        remediation: "Move cold.skey/node.skey, node.counter and payment/stake signing keys to the offline (air-gapped) machine and delete them here with `shred -u`; the node needs only kes.skey, vrf.skey and node.cert.",
        references: &["Cardano docs: stake pool key management"],
        run: cold_keys,
    },
    Check {
        id: "KEY-003",
        area: "keys",
        severity: Severity::Medium,
        title: "nodeward's configuration and state (admin tokens) are private",
        remediation: "`chown -R root:root /etc/nodeward /var/lib/nodeward` and `chmod -R go-w,o-r /etc/nodeward /var/lib/nodeward`.",
        references: &["docs/configuration.md"],
        run: nodeward_state,
    },
];
