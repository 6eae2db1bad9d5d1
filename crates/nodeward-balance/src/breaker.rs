//! Passive health: a backend that fails several requests in a row is
//! ejected for a while, the time doubling with each ejection; when the time
//! is up, exactly one probation request is let through, and its outcome
//! readmits the backend or ejects it again for longer.
//!
//! The shape is linkerd2-proxy's consecutive-failures breaker. Failures are
//! what the caller says they are (connect errors, 5xx, timeouts); a refusal
//! to eject (the pool's cap on ejected backends) is the caller's decision too.

use crate::clock::nanos;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, Ordering::Relaxed};
use std::time::Duration;

/// How the breaker behaves.
#[derive(Debug, Clone, PartialEq)]
pub struct BreakerConfig {
    /// Failures in a row that eject a backend.
    pub consecutive_failures: u32,
    /// First ejection length.
    pub base: Duration,
    /// Longest ejection; also how long a backend must stay healthy before
    /// its next ejection starts again from `base`.
    pub max: Duration,
}

impl Default for BreakerConfig {
    fn default() -> Self {
        BreakerConfig {
            consecutive_failures: 5,
            base: Duration::from_secs(5),
            max: Duration::from_secs(300),
        }
    }
}

/// What the breaker allows now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerState {
    /// Serving normally.
    Closed,
    /// Ejected for this many more nanoseconds.
    Ejected(u64),
    /// The ejection is over: one probation request may go through.
    Probation,
}

/// One backend's breaker.
#[derive(Debug, Default)]
pub struct Breaker {
    consecutive: AtomicU32,
    /// Clock time the ejection ends; 0 when closed.
    until: AtomicU64,
    /// Ejections since the backend was last healthy for `max`.
    level: AtomicU32,
    /// When the last ejection ended (clock time), for resetting `level`.
    last_end: AtomicU64,
    /// A probation request is in flight.
    probing: AtomicBool,
    /// Ejections so far (for metrics).
    ejections: AtomicU64,
}

impl Breaker {
    /// The state at clock time `now`.
    pub fn state(&self, now: u64) -> BreakerState {
        match self.until.load(Relaxed) {
            0 => BreakerState::Closed,
            until if now < until => BreakerState::Ejected(until - now),
            _ => BreakerState::Probation,
        }
    }

    /// Whether the backend may be offered to selection at `now` (closed, or
    /// in probation with the probe slot free).
    pub fn admits(&self, now: u64) -> bool {
        match self.state(now) {
            BreakerState::Closed => true,
            BreakerState::Ejected(_) => false,
            BreakerState::Probation => !self.probing.load(Relaxed),
        }
    }

    /// Takes the probation slot; `false` when another request has it.
    pub fn try_begin_probe(&self) -> bool {
        self.probing
            .compare_exchange(false, true, Relaxed, Relaxed)
            .is_ok()
    }

    /// Gives the probation slot back without an outcome (the request was
    /// cancelled before the backend answered).
    pub fn release_probe(&self) {
        self.probing.store(false, Relaxed);
    }

    /// A request succeeded. Returns `true` when this readmitted the backend
    /// from probation.
    pub fn on_success(&self, now: u64) -> bool {
        self.consecutive.store(0, Relaxed);
        if self.until.load(Relaxed) != 0 && self.probing.swap(false, Relaxed) {
            self.until.store(0, Relaxed);
            self.last_end.store(now, Relaxed);
            return true;
        }
        false
    }

    /// A request failed. When this makes `consecutive_failures` in a row, or
    /// it was the probation request, and `may_eject` allows it, the backend is
    /// ejected; the ejection's length is returned.
    pub fn on_failure(&self, cfg: &BreakerConfig, now: u64, may_eject: bool) -> Option<Duration> {
        let n = self.consecutive.fetch_add(1, Relaxed).saturating_add(1);
        let probe_failed = self.until.load(Relaxed) != 0 && self.probing.swap(false, Relaxed);
        if !(probe_failed
            || (n >= cfg.consecutive_failures.max(1) && self.until.load(Relaxed) == 0))
        {
            return None;
        }
        if !may_eject && !probe_failed {
            return None;
        }
        Some(self.eject(cfg, now))
    }

    /// Ejects the backend now (a connection refused needs no second try).
    pub fn eject(&self, cfg: &BreakerConfig, now: u64) -> Duration {
        // A backend healthy for `max` since its last ejection starts over.
        let last_end = self.last_end.load(Relaxed);
        if last_end != 0 && now.saturating_sub(last_end) > nanos(cfg.max) {
            self.level.store(0, Relaxed);
        }
        let level = self.level.fetch_add(1, Relaxed).min(30);
        let length = cfg
            .base
            .saturating_mul(1u32 << level)
            .min(cfg.max)
            .max(Duration::from_millis(1));
        self.until
            .store(now.saturating_add(nanos(length)).max(1), Relaxed);
        self.consecutive.store(0, Relaxed);
        self.ejections.fetch_add(1, Relaxed);
        length
    }

    /// Failures in a row so far.
    pub fn consecutive_failures(&self) -> u32 {
        self.consecutive.load(Relaxed)
    }

    /// Ejections since start.
    pub fn ejections(&self) -> u64 {
        self.ejections.load(Relaxed)
    }

    /// Copies another breaker's state (a backend whose spec changed).
    pub fn carry_from(&self, other: &Breaker) {
        self.consecutive
            .store(other.consecutive.load(Relaxed), Relaxed);
        self.until.store(other.until.load(Relaxed), Relaxed);
        self.level.store(other.level.load(Relaxed), Relaxed);
        self.last_end.store(other.last_end.load(Relaxed), Relaxed);
        self.ejections.store(other.ejections.load(Relaxed), Relaxed);
    }

    /// Readmits the backend at once (an operator's or a reload's decision).
    pub fn reset(&self) {
        self.until.store(0, Relaxed);
        self.consecutive.store(0, Relaxed);
        self.probing.store(false, Relaxed);
        self.level.store(0, Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::Clock;

    fn cfg() -> BreakerConfig {
        BreakerConfig {
            consecutive_failures: 3,
            base: Duration::from_secs(1),
            max: Duration::from_secs(8),
        }
    }

    #[tokio::test(start_paused = true)]
    async fn ejects_after_consecutive_failures_with_doubling_backoff_and_probation() {
        let clock = Clock::new();
        let b = Breaker::default();
        let c = cfg();
        assert_eq!(b.on_failure(&c, clock.now(), true), None);
        assert!(!b.on_success(clock.now()));
        assert_eq!(b.on_failure(&c, clock.now(), true), None);
        assert_eq!(b.on_failure(&c, clock.now(), true), None);
        assert_eq!(
            b.on_failure(&c, clock.now(), true),
            Some(Duration::from_secs(1))
        );
        assert!(!b.admits(clock.now()));
        tokio::time::advance(Duration::from_millis(999)).await;
        assert!(!b.admits(clock.now()));
        tokio::time::advance(Duration::from_millis(2)).await;
        assert_eq!(b.state(clock.now()), BreakerState::Probation);
        assert!(b.admits(clock.now()));
        // One probe at a time.
        assert!(b.try_begin_probe());
        assert!(!b.try_begin_probe());
        assert!(!b.admits(clock.now()));
        // The probe fails: ejected again, twice as long.
        assert_eq!(
            b.on_failure(&c, clock.now(), true),
            Some(Duration::from_secs(2))
        );
        tokio::time::advance(Duration::from_secs(2)).await;
        assert!(b.try_begin_probe());
        assert_eq!(
            b.on_failure(&c, clock.now(), true),
            Some(Duration::from_secs(4))
        );
        tokio::time::advance(Duration::from_secs(4)).await;
        assert!(b.try_begin_probe());
        assert_eq!(
            b.on_failure(&c, clock.now(), true),
            Some(Duration::from_secs(8))
        );
        tokio::time::advance(Duration::from_secs(8)).await;
        assert!(b.try_begin_probe());
        // Capped at max.
        assert_eq!(
            b.on_failure(&c, clock.now(), true),
            Some(Duration::from_secs(8))
        );
        tokio::time::advance(Duration::from_secs(8)).await;
        assert!(b.try_begin_probe());
        assert!(b.on_success(clock.now()));
        assert_eq!(b.state(clock.now()), BreakerState::Closed);
        assert_eq!(b.ejections(), 5);
        // Healthy for longer than max: the next ejection starts at base again.
        tokio::time::advance(Duration::from_secs(9)).await;
        for _ in 0..2 {
            assert_eq!(b.on_failure(&c, clock.now(), true), None);
        }
        assert_eq!(
            b.on_failure(&c, clock.now(), true),
            Some(Duration::from_secs(1))
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_cancelled_probe_frees_the_slot_and_the_cap_holds_ejection_back() {
        let clock = Clock::new();
        let b = Breaker::default();
        let c = cfg();
        for _ in 0..5 {
            assert_eq!(b.on_failure(&c, clock.now(), false), None);
        }
        assert_eq!(b.state(clock.now()), BreakerState::Closed);
        b.eject(&c, clock.now());
        tokio::time::advance(Duration::from_millis(1001)).await;
        assert!(b.try_begin_probe());
        b.release_probe();
        assert!(b.admits(clock.now()));
        // A failed probe re-ejects even when the cap would hold a fresh ejection back.
        assert!(b.try_begin_probe());
        assert!(b.on_failure(&c, clock.now(), false).is_some());
    }
}
