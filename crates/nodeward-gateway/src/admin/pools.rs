//! The node pools as `/status` shows them, and the gateway's readiness:
//! every pool has a backend that can serve, and no pool's chain is stalled.

use crate::timefmt::rfc3339_millis;
use crate::upstream::UpstreamPool;
use nodeward_balance::health::Level;
use serde_json::{json, Value};
use std::sync::atomic::Ordering::Relaxed;
use std::time::Duration;

/// Why a pool is not ready, if it is not.
pub fn not_ready(pool: &UpstreamPool) -> Option<String> {
    if !pool.balance.any_serving() {
        return Some("no healthy backend".into());
    }
    stalled(pool)
}

/// Why a pool counts as stalled: a condition every node shares, or a head
/// that has not moved for `stall_after`.
pub fn stalled(pool: &UpstreamPool) -> Option<String> {
    let cfg = pool.balance.config();
    let h = cfg.health.as_ref()?;
    let round = pool.balance.health.last_round();
    if !round.pool_wide.is_empty() {
        return Some(format!("pool stalled: {}", round.pool_wide.join("; ")));
    }
    let age = pool.balance.health.head_age(pool.balance.clock())?;
    (age > h.stall_after).then(|| {
        format!(
            "pool stalled: the pool's head {} has not moved for {} s",
            pool.balance.health.head().unwrap_or(0),
            age.as_secs()
        )
    })
}

/// One pool's `/status` entry.
pub fn pool_status(pool: &UpstreamPool) -> Value {
    let cfg = pool.balance.config();
    let settings = pool.settings();
    let now = pool.balance.clock().now();
    let backends: Vec<Value> = pool
        .balance
        .members()
        .iter()
        .map(|m| {
            let c = &m.core;
            let e = &m.endpoint;
            let by_class = |i: usize| e.stats.by_class[i].load(Relaxed);
            let check = c.health.report().map(|r| {
                json!({
                    "at": rfc3339_millis(r.at),
                    "level": r.level.name(),
                    "output": r.output,
                    "elapsed_ms": r.elapsed.as_millis() as u64,
                    "exclusions": r.exclusions.iter().map(|x| json!({
                        "reason": x.reason,
                        "value": x.value,
                        "threshold": x.threshold,
                        "level": x.level.name(),
                    })).collect::<Vec<_>>(),
                    "notes": r.notes,
                })
            });
            let [pass, warn, critical] = c.health.counts();
            json!({
                "id": c.spec.id.as_str(),
                "address": c.spec.address.to_string(),
                "origin": c.spec.origin.name(),
                "weight": c.spec.weight,
                "tags": c.spec.tags,
                "state": c.state_name(now),
                "serving": !c.is_out(now),
                "inflight": c.inflight(),
                "requests": c.requests(),
                "failures": c.failures(),
                "ejections": c.breaker.ejections(),
                "consecutive_failures": c.breaker.consecutive_failures(),
                "latency_ewma_ms": c.latency_estimate() / 1e6,
                "head": c.head(),
                "answers": {"1xx": by_class(0), "2xx": by_class(1), "3xx": by_class(2), "4xx": by_class(3), "5xx": by_class(4)},
                "errors": e.stats.errors.load(Relaxed),
                "idle_connections": e.idle_count(),
                "busy_connections": e.busy_count(),
                "checks": {"pass": pass, "warn": warn, "critical": critical},
                "last_check": check,
            })
        })
        .collect();
    let round = pool.balance.health.last_round();
    json!({
        "name": pool.name(),
        "strategy": cfg.strategy.name(),
        "max_connections_per_backend": settings.max_connections_per_backend,
        "health": cfg.health.as_ref().map(|h| json!({
            "kind": h.kind.name(),
            "interval_ms": h.interval.as_millis() as u64,
            "timeout_ms": h.timeout.as_millis() as u64,
            "rise": h.rise,
            "fall": h.fall,
            "rounds": pool.balance.health.rounds(),
            "last_round": round.at.map(rfc3339_millis),
        })),
        "head": pool.balance.health.head(),
        "head_age_seconds": pool.balance.health.head_age(pool.balance.clock()).map(|d: Duration| d.as_secs()),
        "pool_wide": round.pool_wide,
        "stalled": stalled(pool),
        "ready": not_ready(pool).is_none(),
        "backends_file": settings.backends_file.as_ref().map(|p| p.display().to_string()),
        "backends_file_error": pool.file_error.lock().unwrap_or_else(|p| p.into_inner()).clone(),
        "retries": pool.stats.retries.load(Relaxed),
        "retries_refused_by_budget": pool.stats.retries_refused.load(Relaxed),
        "hedges": pool.stats.hedges.load(Relaxed),
        "hedge_wins": pool.stats.hedge_wins.load(Relaxed),
        "no_backend": pool.stats.no_backend.load(Relaxed),
        "backends": backends,
    })
}

/// Whether a check level counts as up for metrics.
pub fn level_value(level: Level) -> u8 {
    match level {
        Level::Pass => 2,
        Level::Warn => 1,
        Level::Critical => 0,
    }
}

/// The gateway's readiness: `Err` lists each pool that cannot serve, and why.
pub fn readiness(shared: &crate::state::Shared) -> Result<(), Vec<(String, String)>> {
    let problems: Vec<(String, String)> = shared
        .registry
        .pools()
        .iter()
        .filter_map(|p| not_ready(p).map(|why| (p.name().to_string(), why)))
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(problems)
    }
}
