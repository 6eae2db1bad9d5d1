//! Who can be root and who can log in without a password (ACC-001, ACC-002).

use crate::checks::{Ctx, Outcome};
use crate::facts::users::{accounts as read_accounts, parse_shadow};

pub(super) fn uid0(ctx: &Ctx) -> Outcome {
    let (accounts, bad) = match read_accounts(ctx.host) {
        Ok(a) => a,
        Err(e) => return e.into(),
    };
    if accounts.is_empty() {
        return Outcome::error(format!(
            "/etc/passwd has no valid entries{}",
            bad.first()
                .map(|b| format!(" (line {}: {})", b.line, b.reason))
                .unwrap_or_default()
        ));
    }
    let others: Vec<String> = accounts
        .iter()
        .filter(|a| a.uid == 0 && a.name != "root")
        .map(|a| format!("/etc/passwd:{}: {} has UID 0", a.line, a.name))
        .collect();
    if others.is_empty() {
        Outcome::pass(format!(
            "only root has UID 0 among {} accounts",
            accounts.len()
        ))
    } else {
        Outcome::fail(others.join("; "))
    }
}

pub(super) fn empty_hashes(ctx: &Ctx) -> Outcome {
    let text = match ctx.host.read_text("/etc/shadow") {
        Ok(t) => t,
        Err(e) => return e.into(),
    };
    let entries = parse_shadow(&text);
    let empty: Vec<String> = entries
        .iter()
        .filter(|e| e.hash.is_empty())
        .map(|e| format!("/etc/shadow:{}: {} has an empty password", e.line, e.name))
        .collect();
    if empty.is_empty() {
        Outcome::pass(format!(
            "no empty password field among {} shadow entries",
            entries.len()
        ))
    } else {
        Outcome::fail(empty.join("; "))
    }
}
