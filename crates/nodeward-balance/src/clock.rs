//! A pool's clock: nanoseconds since the pool was made, on tokio's clock so
//! that time-dependent logic (backoff, slow start, health thresholds) can
//! be tested with a paused clock, and stored in atomics without locks.

use tokio::time::Instant;

/// Monotonic time since an epoch, as `u64` nanoseconds.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    epoch: Instant,
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

impl Clock {
    /// A clock starting now. Time 0 is reserved for "never", so the clock
    /// reads at least 1.
    pub fn new() -> Clock {
        Clock {
            epoch: Instant::now(),
        }
    }

    /// Nanoseconds since the epoch (at least 1).
    pub fn now(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_nanos())
            .unwrap_or(u64::MAX)
            .max(1)
    }
}

/// Nanoseconds in a duration, saturating.
pub fn nanos(d: std::time::Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}
