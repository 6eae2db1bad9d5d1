//! One instance's lease for one (rule, key): the tokens it took from Redis
//! and may spend without asking, the credit it may run ahead by before
//! Redis has answered, and the local `split` limiter used while Redis is
//! unreachable.

use std::time::{Duration, Instant};

/// A refill to ask Redis for: debt to charge, tokens wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Refill {
    /// Requests admitted on credit, charged to the shared bucket.
    pub debt: u32,
    /// Tokens wanted (one batch).
    pub want: u32,
}

/// The per-key state.
#[derive(Debug)]
pub(crate) struct Lease {
    /// Tokens granted and not spent; below zero, credit in use.
    tokens: i64,
    /// A refill is on its way.
    pending: bool,
    /// Redis said the bucket was short; no credit until it grants in full.
    exhausted: bool,
    /// When a short bucket has a token again.
    retry_at: Instant,
    /// Last request (idle leases are dropped).
    pub last_used: Instant,
    /// The split limiter's theoretical arrival time (GCRA).
    split_tat: Instant,
}

impl Lease {
    /// A fresh lease: no tokens, credit available.
    pub fn new(now: Instant) -> Lease {
        Lease {
            tokens: 0,
            pending: false,
            exhausted: false,
            retry_at: now,
            last_used: now,
            split_tat: now,
        }
    }

    /// Takes `n` requests' worth while Redis is up; returns whether they are
    /// admitted and the refill to start, if one is due. Never waits: with no
    /// tokens left it admits on credit (at most `batch` ahead of Redis) unless
    /// Redis said the bucket is empty.
    pub fn take(&mut self, n: u32, batch: u32, now: Instant) -> (bool, Option<Refill>) {
        self.last_used = now;
        let (n64, b) = (i64::from(n), i64::from(batch));
        let admit = self.tokens >= n64 || (!self.exhausted && self.tokens - n64 >= -b);
        if admit {
            self.tokens -= n64;
        }
        let low = self.tokens <= b / 2;
        let due = !self.exhausted || now >= self.retry_at;
        let refill = (!self.pending && low && due).then(|| {
            self.pending = true;
            Refill {
                debt: u32::try_from((-self.tokens).max(0)).unwrap_or(u32::MAX),
                want: batch.max(n),
            }
        });
        (admit, refill)
    }

    /// Applies Redis's answer to `sent`.
    pub fn granted(&mut self, sent: Refill, granted: u32, wait: Duration, now: Instant) {
        self.pending = false;
        self.tokens += i64::from(sent.debt) + i64::from(granted);
        self.exhausted = granted < sent.want;
        self.retry_at = now + wait;
    }

    /// The refill failed; the debt stays to be charged by the next one.
    pub fn failed(&mut self) {
        self.pending = false;
    }

    /// Whether a refill is on its way (the lease must not be dropped).
    pub fn pending(&self) -> bool {
        self.pending
    }

    /// The `split` fallback: a local GCRA admitting `burst` at once and one
    /// request per `interval` (this instance's share of the limit).
    pub fn split(&mut self, n: u32, interval: Duration, burst: u32, now: Instant) -> bool {
        self.last_used = now;
        let tat = self.split_tat.max(now);
        let next = tat + interval * n;
        if next > now + interval * burst {
            return false;
        }
        self.split_tat = next;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credit_then_tokens_then_refusal() {
        let now = Instant::now();
        let mut l = Lease::new(now);
        // Credit: admitted before Redis answers, one refill started.
        let (ok, r) = l.take(1, 4, now);
        assert!(ok);
        let r = r.unwrap();
        assert_eq!(r, Refill { debt: 1, want: 4 });
        assert!((0..3).all(|_| l.take(1, 4, now).0));
        // Credit used up (4 ahead): refused while the refill is pending.
        assert!(!l.take(1, 4, now).0);
        // Redis charged the debt of 1 and granted 4: 4 - 4 + 1 = 1 left.
        l.granted(r, 4, Duration::ZERO, now);
        assert!(l.take(1, 4, now).0);
        // Redis short: no credit, refused until it grants again.
        let mut l = Lease::new(now);
        let (_, r) = l.take(1, 4, now);
        l.granted(r.unwrap(), 0, Duration::from_secs(60), now);
        let (ok, r) = l.take(1, 4, now);
        assert!(!ok && r.is_none());
    }

    #[test]
    fn split_admits_its_share() {
        let now = Instant::now();
        let mut l = Lease::new(now);
        let i = Duration::from_secs(6);
        assert_eq!((0..20).filter(|_| l.split(1, i, 10, now)).count(), 10);
        assert!(l.split(1, i, 10, now + i));
    }
}
