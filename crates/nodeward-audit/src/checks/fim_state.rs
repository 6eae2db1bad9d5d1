//! INT-001's view of `nodeward fim`: whether the host has a nodeward baseline,
//! how old it is and whether the last `nodeward fim check` passed and is recent.
//!
//! The baseline is found at `[fim] database` of /etc/nodeward/nodeward.toml
//! (read through the Host, so offline roots work), else at the default path.
//! Ages come from the files' modification times: `fim init`/`update` and
//! `fim check` replace the baseline and `<database>.last-check` atomically, so
//! the mtime is when they were written. (The creation time inside the baseline
//! is covered by the HMAC, whose key the audit does not read, so it would be no
//! more trustworthy; and the audit never reads the whole baseline.)

use super::{Ctx, Outcome};
use crate::facts::nodeward_conf;
use serde::Deserialize;

/// Where `nodeward fim` keeps its baseline unless `[fim] database` says otherwise.
pub const DEFAULT_DATABASE: &str = "/var/lib/nodeward/fim/baseline.nwfim";
/// A baseline older than this (days) is stale: fail.
pub const BASELINE_MAX_AGE_DAYS: i64 = 30;
/// No check for longer than this (days) with the daily timer: warn.
pub const CHECK_MAX_AGE_DAYS: i64 = 2;
/// The smallest sealed baseline: 18-byte header, empty payload, 32-byte HMAC.
const MIN_BASELINE_BYTES: u64 = 18 + 32;
/// The largest `.last-check` read (it is one short JSON object).
const MAX_LAST_CHECK_BYTES: u64 = 4096;

/// `<database>.last-check`, as `nodeward fim check` writes it.
#[derive(Debug, Deserialize)]
struct LastCheck {
    passed: bool,
    changes: u64,
}

/// The baseline path the host's config names, and where that came from.
fn database(ctx: &Ctx) -> (String, Option<String>) {
    match nodeward_conf::read(ctx.host, nodeward_conf::PATH) {
        Ok(Some(conf)) => match conf.fim.and_then(|f| f.database) {
            Some(db) => (db, None),
            None => (DEFAULT_DATABASE.to_string(), None),
        },
        Ok(None) => (DEFAULT_DATABASE.to_string(), None),
        Err(reason) => (
            DEFAULT_DATABASE.to_string(),
            Some(format!(
                "{reason}; looked at the default {DEFAULT_DATABASE}"
            )),
        ),
    }
}

fn days(ctx: &Ctx, mtime: i64) -> i64 {
    (ctx.host.now() - mtime).max(0) / 86400
}

/// The verdict on the nodeward baseline, or `None` when there is none (then
/// INT-001 looks for AIDE's).
pub fn judge(ctx: &Ctx) -> Option<Outcome> {
    let (db, conf_problem) = database(ctx);
    let note = conf_problem
        .map(|p| format!(" (config: {p})"))
        .unwrap_or_default();
    let meta = match ctx.host.metadata(&db) {
        Ok(m) => m,
        Err(e) if e.is_missing() => return None,
        Err(e) => {
            return Some(Outcome::warn(format!(
                "nodeward baseline {db}: {}{note}",
                e.reason
            )))
        }
    };
    if meta.is_dir || meta.size < MIN_BASELINE_BYTES {
        return Some(
            Outcome::fail(format!(
                "{db} is not a nodeward baseline ({}){note}",
                if meta.is_dir {
                    "a directory".to_string()
                } else {
                    format!("{} bytes, shorter than any sealed baseline", meta.size)
                }
            ))
            .fix("Rebuild it: `nodeward fim init --force`, after checking why it was damaged."),
        );
    }
    let age = days(ctx, meta.mtime);
    if age > BASELINE_MAX_AGE_DAYS {
        return Some(
            Outcome::fail(format!(
                "nodeward baseline {db} is {age} days old (> {BASELINE_MAX_AGE_DAYS}){note}"
            ))
            .fix("Review the changes with `nodeward fim check`, then accept them with `nodeward fim update`."),
        );
    }
    let last = format!("{db}.last-check");
    let timer = "Enable the daily check: `systemctl enable --now nodeward-fim-check.timer` (see docs/fim.md).";
    let checked = match ctx.host.metadata(&last) {
        Ok(m) => m,
        Err(e) if e.is_missing() => {
            return Some(
                Outcome::warn(format!(
                    "nodeward baseline {db} is {age} days old, but no `nodeward fim check` has been recorded ({last} is missing){note}"
                ))
                .fix(timer),
            )
        }
        Err(e) => return Some(Outcome::warn(format!("{}{note}", e.reason))),
    };
    let parsed = ctx
        .host
        .read_bytes(&last, MAX_LAST_CHECK_BYTES)
        .map_err(|e| e.reason)
        .and_then(|b| {
            serde_json::from_slice::<LastCheck>(&b)
                .map_err(|e| format!("{last}: not a nodeward check record: {e}"))
        });
    let record = match parsed {
        Ok(r) => r,
        Err(reason) => {
            return Some(
                Outcome::warn(format!(
                    "nodeward baseline {db} is {age} days old; {reason}{note}"
                ))
                .fix("Run `nodeward fim check`: it rewrites the record."),
            )
        }
    };
    let check_age = days(ctx, checked.mtime);
    if !record.passed {
        return Some(
            Outcome::fail(format!(
                "the last `nodeward fim check` ({check_age} days ago) failed: {} changes since the baseline {db}{note}",
                record.changes
            ))
            .fix("Review the changes with `nodeward fim check`; if they are legitimate accept them with `nodeward fim update`, otherwise investigate."),
        );
    }
    if check_age > CHECK_MAX_AGE_DAYS {
        return Some(
            Outcome::warn(format!(
                "nodeward baseline {db} is {age} days old, but the last `nodeward fim check` ran {check_age} days ago (> {CHECK_MAX_AGE_DAYS}){note}"
            ))
            .fix(timer),
        );
    }
    Some(Outcome::pass(format!(
        "nodeward baseline {db} is {age} days old; the last `nodeward fim check` ({check_age} days ago) passed{}{note}",
        if record.changes > 0 {
            format!(" ({} changes below its --fail-on)", record.changes)
        } else {
            String::new()
        }
    )))
}
