//! Retry and hedge budgets: extra attempts may be at most a share of first
//! attempts (plus a small floor per second), so a failing pool cannot turn
//! every client request into several backend requests (a retry storm).
//!
//! A token bucket: each first attempt deposits `ratio` tokens, the floor
//! refills `min_per_second` tokens a second, and each extra attempt takes one.
//! Deposits (one per request, on the request path) are only counted, with
//! one atomic add; the rare withdrawal folds them in under the lock.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// How much a budget allows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BudgetConfig {
    /// Extra attempts per first attempt (0.2 = 20 %).
    pub ratio: f64,
    /// Extra attempts allowed per second whatever the traffic.
    pub min_per_second: u32,
}

impl Default for BudgetConfig {
    fn default() -> Self {
        BudgetConfig {
            ratio: 0.2,
            min_per_second: 10,
        }
    }
}

/// A budget of extra attempts.
#[derive(Debug)]
pub struct Budget {
    state: Mutex<State>,
    /// First attempts not yet folded into `tokens`.
    pending: AtomicU64,
}

#[derive(Debug)]
struct State {
    config: BudgetConfig,
    tokens: f64,
    refilled: Instant,
}

impl Budget {
    /// A full budget.
    pub fn new(config: BudgetConfig) -> Budget {
        Budget {
            state: Mutex::new(State {
                tokens: cap(&config),
                config,
                refilled: Instant::now(),
            }),
            pending: AtomicU64::new(0),
        }
    }

    /// Changes the settings (a reload), keeping the tokens.
    pub fn set_config(&self, config: BudgetConfig) {
        let mut s = self.lock();
        self.fold(&mut s);
        s.config = config;
        s.tokens = s.tokens.min(cap(&config));
    }

    /// Counts a first attempt.
    pub fn deposit(&self) {
        self.pending.fetch_add(1, Relaxed);
    }

    /// Adds the pending deposits (capping once is the same as capping each).
    fn fold(&self, s: &mut State) {
        let n = self.pending.swap(0, Relaxed);
        if n > 0 {
            s.tokens = (s.tokens + n as f64 * s.config.ratio).min(cap(&s.config));
        }
    }

    /// Takes one token for an extra attempt; `false` when the budget is spent.
    pub fn withdraw(&self) -> bool {
        let mut s = self.lock();
        self.fold(&mut s);
        let now = Instant::now();
        let elapsed = now.duration_since(s.refilled);
        if elapsed >= Duration::from_millis(10) {
            let c = cap(&s.config);
            s.tokens =
                (s.tokens + elapsed.as_secs_f64() * f64::from(s.config.min_per_second)).min(c);
            s.refilled = now;
        }
        // A little slack: 0.2 deposited five times is 0.999... in floating point.
        if s.tokens >= 1.0 - 1e-9 {
            s.tokens = (s.tokens - 1.0).max(0.0);
            true
        } else {
            false
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Tokens a budget can hold: ten seconds of the floor, plus what 100 first
/// attempts deposit, so a quiet pool still absorbs a short burst.
fn cap(c: &BudgetConfig) -> f64 {
    (f64::from(c.min_per_second) * 10.0 + c.ratio * 100.0).max(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn extra_attempts_are_a_share_of_first_attempts_plus_a_floor() {
        let b = Budget::new(BudgetConfig {
            ratio: 0.2,
            min_per_second: 1,
        });
        // The initial burst: 10 s of floor + 20 from the deposit allowance.
        let mut n = 0;
        while b.withdraw() {
            n += 1;
        }
        assert_eq!(n, 30);
        // 100 first attempts allow 20 retries.
        for _ in 0..100 {
            b.deposit();
        }
        let mut n = 0;
        while b.withdraw() {
            n += 1;
        }
        assert_eq!(n, 20);
        // The floor refills one a second.
        tokio::time::advance(Duration::from_secs(3)).await;
        let mut n = 0;
        while b.withdraw() {
            n += 1;
        }
        assert_eq!(n, 3);
    }
}
