//! The login throttle: each source gets a few wrong tokens per window, then
//! every login attempt from it is refused (without looking at the token)
//! until the window ends. The table is bounded.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Wrong tokens allowed per source and window.
pub const MAX_FAILURES: u32 = 5;
/// The window.
pub const WINDOW: Duration = Duration::from_secs(60);
/// At most this many sources are tracked.
const MAX_SOURCES: usize = 10_000;

/// Failed logins per source.
#[derive(Default)]
pub struct Throttle {
    failures: Mutex<HashMap<IpAddr, (Instant, u32)>>,
}

impl Throttle {
    /// `Err(wait)` when `source` has used up its wrong tokens for now.
    pub fn check(&self, source: IpAddr) -> Result<(), Duration> {
        let map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        match map.get(&source) {
            Some((start, n)) if *n >= MAX_FAILURES && start.elapsed() < WINDOW => {
                Err(WINDOW.saturating_sub(start.elapsed()))
            }
            _ => Ok(()),
        }
    }

    /// Counts a wrong token from `source`.
    pub fn failed(&self, source: IpAddr) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_SOURCES && !map.contains_key(&source) {
            map.retain(|_, (start, _)| start.elapsed() < WINDOW);
            if map.len() >= MAX_SOURCES {
                // Still full of fresh entries: an attack from many sources.
                // Keep the newest and forget the rest.
                map.clear();
            }
        }
        let e = map.entry(source).or_insert((Instant::now(), 0));
        if e.0.elapsed() >= WINDOW {
            *e = (Instant::now(), 0);
        }
        e.1 += 1;
    }

    /// Forgets `source`'s failures (after a correct token).
    pub fn succeeded(&self, source: IpAddr) {
        self.failures
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&source);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_a_source_out_after_the_allowed_failures() {
        let t = Throttle::default();
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..MAX_FAILURES {
            assert!(t.check(a).is_ok());
            t.failed(a);
        }
        assert!(t.check(a).is_err());
        assert!(t.check(b).is_ok(), "other sources are not affected");
    }
}
