//! Slow start: a backend that just entered service (registered, readmitted
//! after an ejection, back from critical) gets a share of requests that
//! grows linearly over a window, so a cold node is not flooded at once.

use crate::clock::nanos;
use std::time::Duration;

/// Smallest share a ramping backend gets (so it is tried at all).
const FLOOR: f64 = 0.1;

/// The weight factor (0.1-1.0) of a backend that entered service at clock
/// time `since` (0 = not ramping), at `now`, for a ramp of `window`.
pub fn factor(since: u64, now: u64, window: Duration) -> f64 {
    if since == 0 || window.is_zero() {
        return 1.0;
    }
    let elapsed = now.saturating_sub(since) as f64;
    let total = nanos(window) as f64;
    if elapsed >= total {
        1.0
    } else {
        (elapsed / total).max(FLOOR)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ramps_linearly_from_the_floor() {
        let w = Duration::from_secs(10);
        let s = 1_000;
        assert_eq!(factor(0, 5, w), 1.0);
        assert_eq!(factor(s, s, w), FLOOR);
        assert!((factor(s, s + 5_000_000_000, w) - 0.5).abs() < 1e-9);
        assert_eq!(factor(s, s + 10_000_000_000, w), 1.0);
        assert_eq!(factor(s, s + 1, Duration::ZERO), 1.0);
    }
}
