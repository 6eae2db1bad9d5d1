//! Requests per minute over the last hour, for the status page's chart.
//!
//! Each command keeps a ring of 60 slots; a slot packs the minute it counts
//! (high 32 bits, minutes since the Unix epoch) and the count (low 32 bits)
//! in one atomic, so the request path does one relaxed load and one relaxed
//! add (a compare-exchange once per slot per minute). The current minute is
//! a process-wide atomic that a background tick refreshes, so the request
//! path reads no clock of its own.

use std::sync::atomic::{AtomicU32, AtomicU64, Ordering::Relaxed};
use std::time::{SystemTime, UNIX_EPOCH};

/// How many minutes the ring covers.
pub const SLOTS: usize = 60;

static NOW_MINUTE: AtomicU32 = AtomicU32::new(0);

/// Minutes since the Unix epoch by the wall clock.
pub fn wall_minute() -> u32 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    u32::try_from(secs / 60).unwrap_or(u32::MAX)
}

/// Refreshes the process-wide current minute (called every few seconds).
pub fn tick() {
    NOW_MINUTE.store(wall_minute(), Relaxed);
}

/// The current minute as last refreshed by [`tick`].
pub fn current() -> u32 {
    NOW_MINUTE.load(Relaxed)
}

/// A bounded ring of per-minute counters.
#[derive(Debug)]
pub struct MinuteRing {
    slots: [AtomicU64; SLOTS],
}

impl Default for MinuteRing {
    fn default() -> Self {
        MinuteRing {
            slots: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl MinuteRing {
    /// Counts one event in the current minute.
    #[inline]
    pub fn bump(&self) {
        self.bump_at(current());
    }

    /// Counts one event in `minute`.
    #[inline]
    pub fn bump_at(&self, minute: u32) {
        let slot = &self.slots[minute as usize % SLOTS];
        let v = slot.load(Relaxed);
        if (v >> 32) as u32 == minute {
            slot.fetch_add(1, Relaxed);
            return;
        }
        // First event of a new minute in this slot: restart its count. If
        // another thread restarted it first, add to its count instead.
        let fresh = (u64::from(minute) << 32) | 1;
        if let Err(now) = slot.compare_exchange(v, fresh, Relaxed, Relaxed) {
            if (now >> 32) as u32 == minute {
                slot.fetch_add(1, Relaxed);
            }
        }
    }

    /// The counts of the `SLOTS` minutes ending with `now`, oldest first.
    pub fn last_hour(&self, now: u32) -> [u64; SLOTS] {
        let mut out = [0u64; SLOTS];
        for (i, o) in out.iter_mut().enumerate() {
            let Some(m) = now.checked_sub((SLOTS - 1 - i) as u32) else {
                continue;
            };
            let v = self.slots[m as usize % SLOTS].load(Relaxed);
            if (v >> 32) as u32 == m {
                *o = v & 0xffff_ffff;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_per_minute_and_forgets_after_an_hour() {
        let r = MinuteRing::default();
        r.bump_at(1000);
        r.bump_at(1000);
        r.bump_at(1001);
        let h = r.last_hour(1001);
        assert_eq!(h[SLOTS - 1], 1);
        assert_eq!(h[SLOTS - 2], 2);
        assert_eq!(h.iter().sum::<u64>(), 3);
        // Sixty minutes later the slot of minute 1000 is reused.
        r.bump_at(1060);
        let h = r.last_hour(1060);
        assert_eq!(h[SLOTS - 1], 1);
        assert_eq!(h.iter().sum::<u64>(), 2, "minute 1001 is still in the hour");
        assert_eq!(r.last_hour(1200).iter().sum::<u64>(), 0);
    }
}
