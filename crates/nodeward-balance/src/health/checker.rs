//! The check loop of one pool: every `interval` (and at once when a backend
//! joins), every member is checked concurrently, each check bounded by the
//! timeout; the round is judged against the pool and each member's state
//! updated. Checks run in their own task: a hanging or slow check never
//! delays a client request.

use super::checks::{self, Target};
use super::judge::{self, Input, LagLimits};
use super::state::{CheckReport, Transition};
use super::{Exclusion, HealthConfig, Observation};
use crate::pool::Pool;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::sync::watch;

/// The reason of an exclusion taken from the cluster's majority verdict,
/// not from this instance's own check.
pub const CLUSTER_MAJORITY: &str = "cluster_majority";

/// Extra time a check gets beyond its own deadline before it is abandoned.
const GRACE: Duration = Duration::from_millis(250);

/// Runs the pool's checks until `stop` flips. Settings are re-read every
/// round, so a reload takes effect at the next one.
pub async fn run<E: Send + Sync + 'static>(pool: Arc<Pool<E>>, mut stop: watch::Receiver<bool>) {
    loop {
        let interval = match pool.config().health.clone() {
            Some(h) => {
                round(&pool).await;
                h.interval
            }
            None => Duration::from_secs(3600),
        };
        tokio::select! {
            _ = tokio::time::sleep(interval) => {}
            _ = pool.joined.notified() => {}
            r = stop.changed() => if r.is_err() || *stop.borrow() { return },
        }
    }
}

/// Checks every member once and applies the judged results.
pub async fn round<E: Send + Sync + 'static>(pool: &Pool<E>) {
    let cfg = pool.config();
    let Some(h) = cfg.health.as_ref() else {
        return;
    };
    let check = checks::build(&h.kind);
    let members = pool.members();
    let mut set = tokio::task::JoinSet::new();
    for (i, m) in members.iter().enumerate() {
        let target = Target {
            spec: m.core.spec.clone(),
            tls: cfg.check_tls.clone(),
            timeout: h.timeout,
        };
        let check = check.clone();
        set.spawn(async move {
            let start = tokio::time::Instant::now();
            let obs = match tokio::time::timeout(target.timeout + GRACE, check.check(&target)).await
            {
                Ok(o) => o,
                Err(_) => Observation::failed(
                    "unreachable",
                    format!("no answer within {} ms", target.timeout.as_millis()),
                    start.elapsed(),
                ),
            };
            (i, obs)
        });
    }
    let mut observations: Vec<Option<Observation>> = vec![None; members.len()];
    while let Some(joined) = set.join_next().await {
        if let Ok((i, obs)) = joined {
            observations[i] = Some(obs);
        }
    }
    let mut inputs = Vec::with_capacity(members.len());
    let cluster = pool.cluster_critical();
    for (i, m) in members.iter().enumerate() {
        let mut observation = observations[i].take().unwrap_or_else(|| {
            Observation::failed(
                "unreachable",
                "the check task ended early".into(),
                Duration::ZERO,
            )
        });
        if let Some(why) = cluster.get(&m.core.spec.id) {
            observation.findings.push(Exclusion::critical(
                CLUSTER_MAJORITY,
                why.clone(),
                "a strict majority of live instances",
            ));
        }
        inputs.push(Input {
            lag: LagLimits::for_backend(&h.kind, &m.core.spec),
            observation,
        });
    }
    let (verdicts, view) = judge::judge(&inputs, h.max_ejected_share, h.quorum);
    // The pool head's hash, from a member that reported that very block.
    let head_block = view.head.and_then(|head| {
        inputs
            .iter()
            .filter_map(|i| i.observation.block)
            .find(|b| b.number == head)
    });
    if let Some(b) = head_block {
        pool.health.chain.record(b);
    }
    apply(pool, h, &members, inputs, verdicts);
    pool.health.record(view.head, view.pool_wide, pool.clock());
}

fn apply<E>(
    pool: &Pool<E>,
    h: &HealthConfig,
    members: &[crate::member::Member<E>],
    inputs: Vec<Input>,
    verdicts: Vec<judge::Verdict>,
) {
    let slow_start = !pool.config().slow_start.is_zero();
    for ((m, input), verdict) in members.iter().zip(inputs).zip(verdicts) {
        let core = &m.core;
        let obs = input.observation;
        if obs.reached() {
            core.set_head(obs.head);
        }
        let why: Vec<String> = verdict.exclusions.iter().map(|e| e.describe()).collect();
        let level = verdict.level;
        let report = CheckReport {
            at: SystemTime::now(),
            level,
            output: obs.output,
            exclusions: verdict.exclusions,
            notes: verdict.notes,
            elapsed: obs.elapsed,
        };
        match core.health.apply(report, h.rise, h.fall) {
            Transition::Entered => {
                tracing::info!(pool = pool.name(), backend = %core.spec.id, "backend passes its health check: in service");
                if slow_start {
                    core.start_ramp(pool.clock().now());
                }
            }
            Transition::Left => {
                tracing::warn!(pool = pool.name(), backend = %core.spec.id, reasons = %why.join("; "), "backend fails its health check: out of service");
            }
            Transition::None => {}
        }
    }
}

/// Waits until the pool's check task has finished its first round (at
/// start-up, before clients are accepted), at most one check deadline and
/// a second. Returns at once for a pool without checks.
pub async fn first_round<E>(pool: &Pool<E>) {
    let Some(h) = pool.config().health.clone() else {
        return;
    };
    let give_up = tokio::time::Instant::now() + h.timeout + GRACE + Duration::from_secs(1);
    while pool.health.rounds() == 0 && tokio::time::Instant::now() < give_up {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
