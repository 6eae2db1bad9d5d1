//! Counting failures per source: `maxretry` within `findtime` bans for `bantime`,
//! growing by `bantime_factor` for each further ban of the same source.

use ipnet::IpNet;
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

/// Thresholds of the tracker.
#[derive(Debug, Clone)]
pub struct Thresholds {
    /// Failures that trigger a ban.
    pub maxretry: u32,
    /// Window in seconds.
    pub findtime: u64,
    /// First ban in seconds.
    pub bantime: u64,
    /// Growth per repeat ban.
    pub factor: u32,
    /// Upper bound in seconds.
    pub max_bantime: u64,
    /// Never banned.
    pub ignore: Vec<IpNet>,
}

/// What recording a failure led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// The source is trusted (or loopback): never counted.
    Ignored,
    /// The source is banned already.
    AlreadyBanned,
    /// Counted; this many failures are inside the window now.
    Counted(u32),
    /// Ban the source for `seconds` (its `offence`-th ban).
    Ban {
        /// Ban length.
        seconds: u64,
        /// How many times this source has been banned, this one included.
        offence: u32,
    },
}

/// The most sources tracked at once (bounded memory under a flood of addresses).
pub const MAX_TRACKED: usize = 200_000;

/// Failure counts per source.
#[derive(Debug)]
pub struct Tracker {
    t: Thresholds,
    failures: HashMap<IpAddr, VecDeque<i64>>,
    offences: HashMap<IpAddr, u32>,
    banned_until: HashMap<IpAddr, i64>,
}

impl Tracker {
    /// A tracker with no history.
    pub fn new(t: Thresholds) -> Self {
        Tracker {
            t,
            failures: HashMap::new(),
            offences: HashMap::new(),
            banned_until: HashMap::new(),
        }
    }

    /// Whether `addr` is never banned.
    pub fn is_ignored(&self, addr: IpAddr) -> bool {
        addr.is_loopback()
            || addr.is_unspecified()
            || crate::addr::any_contains(&self.t.ignore, addr)
    }

    /// Remembers earlier offences and active bans (from the ban store).
    pub fn restore(&mut self, addr: IpAddr, offences: u32, banned_until: Option<i64>) {
        self.offences.insert(addr, offences);
        match banned_until {
            Some(u) => {
                self.banned_until.insert(addr, u);
            }
            None => {
                self.banned_until.remove(&addr);
            }
        }
    }

    /// Forgets that `addr` is banned (it was unbanned by hand).
    pub fn unban(&mut self, addr: IpAddr) {
        self.banned_until.remove(&addr);
        self.failures.remove(&addr);
    }

    /// The ban length of the `offence`-th ban.
    pub fn ban_seconds(&self, offence: u32) -> u64 {
        let mut secs = self.t.bantime;
        for _ in 1..offence {
            secs = secs.saturating_mul(self.t.factor.max(1) as u64);
            if secs >= self.t.max_bantime {
                break;
            }
        }
        secs.min(self.t.max_bantime.max(self.t.bantime))
    }

    fn make_room(&mut self, now: i64) {
        let horizon = now - self.t.findtime as i64;
        self.failures
            .retain(|_, q| q.back().is_some_and(|&t| t > horizon));
        if self.failures.len() >= MAX_TRACKED {
            // Still full of live sources: drop those with a single failure.
            self.failures.retain(|_, q| q.len() > 1);
        }
        self.banned_until.retain(|_, &mut u| u > now);
    }

    /// Records one failure of `addr` at `now` (seconds).
    pub fn record(&mut self, addr: IpAddr, now: i64) -> Outcome {
        if self.is_ignored(addr) {
            return Outcome::Ignored;
        }
        if self.banned_until.get(&addr).is_some_and(|&u| u > now) {
            return Outcome::AlreadyBanned;
        }
        if !self.failures.contains_key(&addr) && self.failures.len() >= MAX_TRACKED {
            self.make_room(now);
        }
        let horizon = now - self.t.findtime as i64;
        let q = self.failures.entry(addr).or_default();
        while q.front().is_some_and(|&t| t <= horizon) {
            q.pop_front();
        }
        q.push_back(now);
        if (q.len() as u32) < self.t.maxretry.max(1) {
            // Keep at most maxretry entries per source.
            return Outcome::Counted(q.len() as u32);
        }
        self.failures.remove(&addr);
        let offence = self
            .offences
            .get(&addr)
            .copied()
            .unwrap_or(0)
            .saturating_add(1);
        self.offences.insert(addr, offence);
        let seconds = self.ban_seconds(offence);
        self.banned_until.insert(addr, now + seconds as i64);
        Outcome::Ban { seconds, offence }
    }

    /// Sources currently tracked (for tests and status).
    pub fn tracked(&self) -> usize {
        self.failures.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tracker() -> Tracker {
        Tracker::new(Thresholds {
            maxretry: 3,
            findtime: 60,
            bantime: 100,
            factor: 2,
            max_bantime: 350,
            ignore: vec!["10.0.0.0/8".parse().unwrap()],
        })
    }

    #[test]
    fn bans_after_maxretry_within_findtime() {
        let mut t = tracker();
        let a: IpAddr = "198.51.100.1".parse().unwrap();
        assert_eq!(t.record(a, 0), Outcome::Counted(1));
        assert_eq!(t.record(a, 61), Outcome::Counted(1)); // the first fell out of the window
        assert_eq!(t.record(a, 70), Outcome::Counted(2));
        assert_eq!(
            t.record(a, 80),
            Outcome::Ban {
                seconds: 100,
                offence: 1
            }
        );
        assert_eq!(t.record(a, 90), Outcome::AlreadyBanned);
    }

    #[test]
    fn repeat_offenders_get_longer_bans_up_to_the_cap() {
        let mut t = tracker();
        let a: IpAddr = "2001:db8::1".parse().unwrap();
        let mut now = 0;
        let mut lengths = Vec::new();
        for _ in 0..4 {
            for _ in 0..3 {
                if let Outcome::Ban { seconds, .. } = t.record(a, now) {
                    lengths.push(seconds);
                    now += seconds as i64;
                }
            }
        }
        assert_eq!(lengths, vec![100, 200, 350, 350]);
    }

    #[test]
    fn trusted_and_loopback_are_never_banned() {
        let mut t = tracker();
        for a in ["10.1.2.3", "127.0.0.1", "::1", "::ffff:10.9.9.9"] {
            let a: IpAddr = a.parse().unwrap();
            for i in 0..10 {
                assert_eq!(t.record(a, i), Outcome::Ignored);
            }
        }
    }

    #[test]
    fn memory_stays_bounded() {
        let mut t = tracker();
        for i in 0..(MAX_TRACKED as u32 + 1000) {
            let a = IpAddr::V4(std::net::Ipv4Addr::from(0x0b00_0000 + i));
            t.record(a, 0);
        }
        assert!(t.tracked() <= MAX_TRACKED);
    }
}
