//! One backend of a pool as the balancer sees it: its spec, what it is
//! doing now (requests in flight, latency), its active health, its breaker,
//! whether it is draining or ramping up, and the chain head it last reported.
//!
//! [`Member`] pairs that state with the caller's endpoint (`E`: for the
//! gateway, the backend's connection pool); the state can be carried over to
//! a new endpoint when only connection settings change.

use crate::backend::BackendSpec;
use crate::breaker::{Breaker, BreakerState};
use crate::health::HealthCell;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

/// Decay time of the peak-EWMA latency estimate.
const EWMA_DECAY_NS: f64 = 10e9;

/// The balancer's state for one backend.
#[derive(Debug)]
pub struct MemberCore {
    /// What the backend is.
    pub spec: BackendSpec,
    /// Active health (checks).
    pub health: HealthCell,
    /// Passive health (request outcomes).
    pub breaker: Breaker,
    inflight: AtomicU32,
    ewma_bits: AtomicU64,
    ewma_stamp: AtomicU64,
    draining: AtomicBool,
    /// Clock time it (re-)entered service, for slow start; 0 = not ramping.
    ramp_since: AtomicU64,
    /// Last chain head it reported, plus one (0 = unknown).
    head: AtomicU64,
    /// Smooth weighted round-robin's running weight (under the selection's lock).
    pub(crate) swrr_current: std::sync::atomic::AtomicI64,
    requests: AtomicU64,
    failures: AtomicU64,
}

impl MemberCore {
    /// New state for `spec`, ramping up from clock time `ramp_since` (0 = at full weight).
    pub fn new(spec: BackendSpec, health: HealthCell, ramp_since: u64) -> MemberCore {
        MemberCore {
            spec,
            health,
            breaker: Breaker::default(),
            inflight: AtomicU32::new(0),
            ewma_bits: AtomicU64::new(0f64.to_bits()),
            ewma_stamp: AtomicU64::new(0),
            draining: AtomicBool::new(false),
            ramp_since: AtomicU64::new(ramp_since),
            head: AtomicU64::new(0),
            swrr_current: std::sync::atomic::AtomicI64::new(0),
            requests: AtomicU64::new(0),
            failures: AtomicU64::new(0),
        }
    }

    /// New state for a changed spec of the same backend (weight, tags,
    /// thresholds): health, breaker, latency estimate, ramp and head carry over.
    pub fn carried(spec: BackendSpec, old: &MemberCore) -> MemberCore {
        let health = HealthCell::unchecked();
        health.carry_from(&old.health);
        let core = MemberCore::new(spec, health, old.ramp_since());
        core.breaker.carry_from(&old.breaker);
        core.ewma_bits.store(old.ewma_bits.load(Relaxed), Relaxed);
        core.ewma_stamp.store(old.ewma_stamp.load(Relaxed), Relaxed);
        core.head.store(old.head.load(Relaxed), Relaxed);
        core.draining.store(old.is_draining(), Relaxed);
        core
    }

    /// Requests sent to it and not yet answered.
    pub fn inflight(&self) -> u32 {
        self.inflight.load(Relaxed)
    }

    pub(crate) fn begin(&self) {
        self.inflight.fetch_add(1, Relaxed);
        self.requests.fetch_add(1, Relaxed);
    }

    pub(crate) fn end(&self) {
        self.inflight.fetch_sub(1, Relaxed);
    }

    pub(crate) fn count_failure(&self) {
        self.failures.fetch_add(1, Relaxed);
    }

    /// Requests sent to it since it joined.
    pub fn requests(&self) -> u64 {
        self.requests.load(Relaxed)
    }

    /// Requests that failed (connect errors, 5xx, timeouts, invalid answers).
    pub fn failures(&self) -> u64 {
        self.failures.load(Relaxed)
    }

    /// Records a response time for peak-EWMA: a slower answer raises the
    /// estimate at once, faster ones lower it gradually.
    pub fn observe_latency(&self, now: u64, latency_ns: u64) {
        let rtt = latency_ns as f64;
        let stamp = self.ewma_stamp.swap(now, Relaxed);
        let cost = f64::from_bits(self.ewma_bits.load(Relaxed));
        let next = if rtt > cost || stamp == 0 {
            rtt
        } else {
            let elapsed = now.saturating_sub(stamp) as f64;
            let w = (-elapsed / EWMA_DECAY_NS).exp();
            cost * w + rtt * (1.0 - w)
        };
        self.ewma_bits.store(next.to_bits(), Relaxed);
    }

    /// The peak-EWMA latency estimate in nanoseconds (0 before any answer).
    pub fn latency_estimate(&self) -> f64 {
        f64::from_bits(self.ewma_bits.load(Relaxed))
    }

    /// Whether it takes no new requests (drained or deregistered).
    pub fn is_draining(&self) -> bool {
        self.draining.load(Relaxed)
    }

    /// Stops (or resumes) new requests to it; requests in flight finish.
    pub fn set_draining(&self, on: bool) {
        self.draining.store(on, Relaxed);
    }

    /// Starts a slow-start ramp at clock time `now`.
    pub fn start_ramp(&self, now: u64) {
        self.ramp_since.store(now, Relaxed);
    }

    /// When its current ramp started (0 = none).
    pub fn ramp_since(&self) -> u64 {
        self.ramp_since.load(Relaxed)
    }

    /// Records the chain head it reported.
    pub fn set_head(&self, head: Option<u64>) {
        self.head
            .store(head.map_or(0, |h| h.saturating_add(1)), Relaxed);
    }

    /// The chain head it last reported.
    pub fn head(&self) -> Option<u64> {
        match self.head.load(Relaxed) {
            0 => None,
            h => Some(h - 1),
        }
    }

    /// Whether it is out of rotation for now (ejected, critical, pending or draining).
    pub fn is_out(&self, now: u64) -> bool {
        self.is_draining()
            || !self.health.serving()
            || matches!(self.breaker.state(now), BreakerState::Ejected(_))
    }

    /// What `/status` shows for it.
    pub fn state_name(&self, now: u64) -> &'static str {
        if self.is_draining() {
            "draining"
        } else if matches!(self.breaker.state(now), BreakerState::Ejected(_)) {
            "ejected"
        } else {
            self.health.active().name()
        }
    }
}

/// A member of a pool: the balancer's state and the caller's endpoint.
#[derive(Debug)]
pub struct Member<E> {
    /// The balancer's state.
    pub core: Arc<MemberCore>,
    /// The caller's handle for sending requests (connections, TLS settings).
    pub endpoint: Arc<E>,
}

impl<E> Clone for Member<E> {
    fn clone(&self) -> Self {
        Member {
            core: self.core.clone(),
            endpoint: self.endpoint.clone(),
        }
    }
}
