//! Password ageing (ACC-005, ACC-006): the policy /etc/login.defs gives new
//! accounts, and what every existing account that can log in with a password
//! has in /etc/shadow (login.defs never changes existing accounts, so a host
//! whose policy is right can still have passwords that never expire).

use crate::checks::{Ctx, Outcome};
use crate::facts::keyvalue;
use crate::facts::shadow::{parse_shadow, ShadowEntry};
use crate::host::UnavailableKind;

/// One ageing rule: the login.defs key, the /etc/shadow field and the limit.
struct Rule {
    key: &'static str,
    default: i64,
    ok: fn(i64) -> bool,
    want: &'static str,
    field: fn(&ShadowEntry) -> Option<i64>,
    field_name: &'static str,
}

/// The policy for new accounts: `Ok((good, evidence))`, or the outcome when
/// /etc/login.defs cannot be read.
fn login_defs(ctx: &Ctx, rule: &Rule) -> Result<(bool, String), Outcome> {
    let text = ctx
        .host
        .read_text("/etc/login.defs")
        .map_err(Outcome::from)?;
    let s = keyvalue::parse(&text, None);
    let key = rule.key;
    let (value, ev) = match keyvalue::last(&s, key) {
        Some(v) => match v.value.trim().parse::<i64>() {
            Ok(n) => (
                n,
                format!("/etc/login.defs:{}: {key} {}", v.line, v.value.trim()),
            ),
            Err(_) => {
                return Err(Outcome::error(format!(
                    "/etc/login.defs:{}: {key} {:?} is not a number",
                    v.line, v.value
                )))
            }
        },
        None => (
            rule.default,
            format!(
                "{key} not set in /etc/login.defs (shadow default {})",
                rule.default
            ),
        ),
    };
    if (rule.ok)(value) {
        Ok((true, ev))
    } else {
        Ok((false, format!("{ev} (want {})", rule.want)))
    }
}

fn check(ctx: &Ctx, rule: &Rule) -> Outcome {
    let (policy_ok, policy) = match login_defs(ctx, rule) {
        Ok(p) => p,
        Err(o) => return o,
    };
    let text = match ctx.host.read_text("/etc/shadow") {
        Ok(t) => t,
        Err(e) => {
            let why = format!("existing accounts not checked: {e}");
            return if !policy_ok {
                Outcome::fail(format!("{policy}; {why}"))
            } else if e.kind == UnavailableKind::Error {
                Outcome::error(format!("{policy}; {why}"))
            } else {
                Outcome::skip(format!("{policy}; {why}"))
            };
        }
    };
    let entries = parse_shadow(&text);
    let with_password: Vec<&ShadowEntry> =
        entries.iter().filter(|e| e.has_usable_password()).collect();
    let mut bad = Vec::new();
    let mut good = Vec::new();
    for e in &with_password {
        match (rule.field)(e) {
            Some(v) if v >= 0 && (rule.ok)(v) => good.push(format!("{} {v}", e.name)),
            Some(v) => bad.push(format!(
                "/etc/shadow:{}: {} has {} {v}",
                e.line, e.name, rule.field_name
            )),
            None => bad.push(format!(
                "/etc/shadow:{}: {} has no {}{}",
                e.line,
                e.name,
                rule.field_name,
                e.bad_field
                    .as_ref()
                    .map(|b| format!(" ({b})"))
                    .unwrap_or_default()
            )),
        }
    }
    let fix = format!(
        "chage --{} {} <user> for: {}",
        if rule.key == "PASS_MAX_DAYS" {
            "maxdays"
        } else {
            "warndays"
        },
        if rule.key == "PASS_MAX_DAYS" { 180 } else { 21 },
        with_password
            .iter()
            .map(|e| e.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    if !policy_ok || !bad.is_empty() {
        let mut parts = Vec::new();
        if !policy_ok {
            parts.push(policy.clone());
        }
        if !bad.is_empty() {
            parts.push(format!(
                "accounts with a password: {} (want {})",
                bad.join("; "),
                rule.want
            ));
        }
        let o = Outcome::fail(parts.join("; "));
        return if bad.is_empty() { o } else { o.fix(fix) };
    }
    if with_password.is_empty() {
        return Outcome::pass(format!(
            "{policy}; no account in /etc/shadow can log in with a password"
        ));
    }
    Outcome::pass(format!(
        "{policy}; every account with a password in /etc/shadow: {}",
        good.join(", ")
    ))
}

/// ACC-005: passwords expire after at most 180 days.
pub(super) fn max_days(ctx: &Ctx) -> Outcome {
    check(
        ctx,
        &Rule {
            key: "PASS_MAX_DAYS",
            default: 99999,
            ok: |v| (0..=180).contains(&v),
            want: "<= 180",
            field: |e| e.max_days,
            field_name: "maximum age",
        },
    )
}

/// ACC-006: expiry is warned about at least 21 days ahead.
pub(super) fn warn_age(ctx: &Ctx) -> Outcome {
    check(
        ctx,
        &Rule {
            key: "PASS_WARN_AGE",
            default: 7,
            ok: |v| v >= 21,
            want: ">= 21",
            field: |e| e.warn_days,
            field_name: "warning days",
        },
    )
}
