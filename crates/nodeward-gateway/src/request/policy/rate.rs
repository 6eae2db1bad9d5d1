//! Rate limits on governor's GCRA: per source (keyed, IPv6 by /64) and global.
//!
//! A `count/period` rate allows a burst of `count` and refills one request
//! every `period / count`, like HAProxy's `http_req_rate` over the period.
//! With `[cluster] redis` a limiter built with a rule name defers to the
//! shared rule instead (see `cluster_rate`); without it, nothing changes.

use super::cluster_rate;
use arc_swap::ArcSwap;
use governor::clock::DefaultClock;
use governor::state::keyed::DefaultKeyedStateStore;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use nodeward_config::Rate;
use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::Arc;

type Shared = Option<Arc<nodeward_cluster::limits::Rule>>;

/// Most sources a keyed limiter tracks before it is cleared (bounded memory).
pub const MAX_TRACKED_SOURCES: usize = 200_000;

fn quota(rate: Rate) -> Quota {
    let count = NonZeroU32::new(rate.count).unwrap_or(NonZeroU32::MIN);
    let interval = (rate.per / count.get()).max(std::time::Duration::from_nanos(1));
    Quota::with_period(interval)
        .unwrap_or_else(|| Quota::per_second(count))
        .allow_burst(count)
}

/// A limit per source key.
pub struct PerSource {
    quota: Quota,
    limiter: ArcSwap<Keyed>,
    shared: Shared,
}

/// Keyed by [`crate::addr::compact_key`]: a slot is the 8-byte key and
/// the 8-byte GCRA state.
type Keyed = RateLimiter<u64, DefaultKeyedStateStore<u64>, DefaultClock>;

impl PerSource {
    /// A per-source limiter for `rate`.
    pub fn new(rate: Rate) -> Self {
        let quota = quota(rate);
        PerSource {
            quota,
            limiter: ArcSwap::from_pointee(RateLimiter::keyed(quota)),
            shared: None,
        }
    }

    /// A per-source limiter for `rate`, cluster-wide as rule `name` when
    /// `[cluster] redis` is set.
    pub fn named(rate: Rate, name: &str) -> Self {
        PerSource {
            shared: cluster_rate::rule(name, rate),
            ..PerSource::new(rate)
        }
    }

    /// Takes `n` requests' worth for `key`; false when over the limit.
    pub fn allow(&self, key: IpAddr, n: u32) -> bool {
        if let Some(rule) = &self.shared {
            return rule.allow(key, n);
        }
        let Some(n) = NonZeroU32::new(n) else {
            return true;
        };
        let key = crate::addr::compact_key(key);
        matches!(self.limiter.load().check_key_n(&key, n), Ok(Ok(())))
    }

    /// Sources tracked now.
    pub fn tracked(&self) -> usize {
        self.limiter.load().len()
    }

    /// Forgets sources whose limit has fully refilled; clears everything if
    /// more than [`MAX_TRACKED_SOURCES`] remain. Called periodically.
    pub fn sweep(&self) {
        if let Some(rule) = &self.shared {
            rule.sweep();
        }
        let limiter = self.limiter.load();
        limiter.retain_recent();
        if limiter.len() > MAX_TRACKED_SOURCES {
            tracing::warn!(
                tracked = limiter.len(),
                "rate limiter tracked too many sources; cleared"
            );
            self.limiter
                .store(std::sync::Arc::new(RateLimiter::keyed(self.quota)));
        } else {
            limiter.shrink_to_fit();
        }
    }
}

/// A limit shared by every source.
pub struct Global {
    limiter: RateLimiter<NotKeyed, InMemoryState, DefaultClock>,
    shared: Shared,
}

impl Global {
    /// A global limiter for `rate`.
    pub fn new(rate: Rate) -> Self {
        Global {
            limiter: RateLimiter::direct(quota(rate)),
            shared: None,
        }
    }

    /// A global limiter for `rate`, cluster-wide as rule `name` when
    /// `[cluster] redis` is set.
    pub fn named(rate: Rate, name: &str) -> Self {
        Global {
            shared: cluster_rate::rule(name, rate),
            ..Global::new(rate)
        }
    }

    /// Takes `n` requests' worth; false when over the limit.
    pub fn allow(&self, n: u32) -> bool {
        if let Some(rule) = &self.shared {
            return rule.allow(IpAddr::from([0u8; 4]), n);
        }
        let Some(n) = NonZeroU32::new(n) else {
            return true;
        };
        matches!(self.limiter.check_n(n), Ok(Ok(())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refuse() {
        let r = PerSource::new("5/10s".parse().unwrap());
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        assert!((0..5).all(|_| r.allow(a, 1)));
        assert!(!r.allow(a, 1));
        assert!(r.allow(b, 5));
        assert!(!r.allow(b, 1));
        let g = Global::new("3/min".parse().unwrap());
        assert!(g.allow(3));
        assert!(!g.allow(1));
        assert!(!Global::new("3/min".parse().unwrap()).allow(4));
    }

    /// Per-/64 keys hold a million IPv6 sources from one /48 to at most
    /// 65,536 entries, and a sweep forgets the ones that have refilled.
    #[test]
    fn ipv6_sources_of_one_48_share_per_64_state() {
        let r = PerSource::new("1000/1ms".parse().unwrap());
        for i in 0..1_000_000u128 {
            let ip = (0x2001_0db8_0007u128 << 80) | ((i % 65_536) << 64) | (i * 7919);
            r.allow(IpAddr::V6(ip.into()), 1);
        }
        assert!(r.tracked() <= 65_536, "{} tracked", r.tracked());
        std::thread::sleep(std::time::Duration::from_millis(20));
        r.sweep();
        assert_eq!(r.tracked(), 0, "refilled sources are forgotten");
    }
}
