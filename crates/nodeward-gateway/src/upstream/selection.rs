//! Round-robin selection over backends, skipping ejected ones.

use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::time::{Duration, Instant};

/// One backend's selection state.
pub struct BackendState {
    /// Milliseconds since `epoch` until which the backend is skipped (0 = healthy).
    ejected_until_ms: AtomicU64,
}

/// Round-robin over backends with passive ejection.
pub struct RoundRobin {
    next: AtomicUsize,
    states: Vec<BackendState>,
    epoch: Instant,
}

impl RoundRobin {
    /// Selection over `n` backends.
    pub fn new(n: usize) -> Self {
        RoundRobin {
            next: AtomicUsize::new(0),
            states: (0..n)
                .map(|_| BackendState {
                    ejected_until_ms: AtomicU64::new(0),
                })
                .collect(),
            epoch: Instant::now(),
        }
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(u64::MAX)
    }

    /// The next healthy backend, or `None` when every backend is ejected.
    pub fn pick(&self) -> Option<usize> {
        let n = self.states.len();
        let start = self.next.fetch_add(1, Relaxed);
        let now = self.now_ms();
        (0..n)
            .map(|i| (start + i) % n)
            .find(|&i| self.states[i].ejected_until_ms.load(Relaxed) <= now)
    }

    /// Skips backend `i` for `d`.
    pub fn eject(&self, i: usize, d: Duration) {
        let until = self.now_ms() + u64::try_from(d.as_millis()).unwrap_or(u64::MAX / 2);
        self.states[i].ejected_until_ms.store(until, Relaxed);
    }

    /// Whether backend `i` is currently taken out of rotation.
    pub fn is_ejected(&self, i: usize) -> bool {
        self.states[i].ejected_until_ms.load(Relaxed) > self.now_ms()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotates_and_skips_ejected() {
        let rr = RoundRobin::new(3);
        let picks: Vec<_> = (0..3).map(|_| rr.pick().unwrap()).collect();
        assert_eq!(picks, vec![0, 1, 2]);
        rr.eject(1, Duration::from_secs(60));
        assert!((0..6).all(|_| rr.pick() != Some(1)));
        rr.eject(0, Duration::from_secs(60));
        rr.eject(2, Duration::from_secs(60));
        assert_eq!(rr.pick(), None);
    }
}
