//! Connection admission: refuse cleanly (instead of running out of file
//! descriptors) when the gateway or one source holds too many connections.

use crate::addr::compact_key;
use crate::refusal::Reason;
use rustc_hash::FxHashMap as HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const SHARDS: usize = 16;

/// Open connections of one source ([`compact_key`]): 16 bytes a table slot.
type Counts = HashMap<u64, u32>;

/// Counts open connections, in total and per source (IPv6 by /64). A source
/// is tracked only while it has a connection open.
pub struct ConnGuard {
    total: AtomicUsize,
    max_total: AtomicUsize,
    max_per_source: AtomicUsize,
    shards: [Mutex<Counts>; SHARDS],
}

/// Held for the life of one admitted connection; releases its counts on drop.
pub struct ConnPermit {
    /// `None` once handed over with [`ConnPermit::into_key`].
    guard: Option<Arc<ConnGuard>>,
    key: Option<u64>,
}

impl ConnPermit {
    /// Hands the permit's counts over to the caller, who must give them back
    /// with [`ConnGuard::release`] (8 bytes less to hold than the permit).
    pub(crate) fn into_key(mut self) -> Option<u64> {
        self.guard = None;
        self.key
    }
}

impl ConnGuard {
    /// A guard with the given caps.
    pub fn new(max_total: usize, max_per_source: usize) -> Self {
        ConnGuard {
            total: AtomicUsize::new(0),
            max_total: AtomicUsize::new(max_total),
            max_per_source: AtomicUsize::new(max_per_source),
            shards: Default::default(),
        }
    }

    /// Changes the caps (on reload); open connections are not closed.
    pub fn set_limits(&self, max_total: usize, max_per_source: usize) {
        self.max_total.store(max_total, Ordering::Relaxed);
        self.max_per_source.store(max_per_source, Ordering::Relaxed);
    }

    /// Connections open now.
    pub fn open(&self) -> usize {
        self.total.load(Ordering::Relaxed)
    }

    fn shard(&self, key: u64) -> &Mutex<Counts> {
        let h = key ^ (key >> 32);
        &self.shards[(h.wrapping_mul(0x9E37_79B9) >> 8) as usize % SHARDS]
    }

    /// Sources tracked now (those with a connection open).
    pub fn sources(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.lock().unwrap_or_else(|p| p.into_inner()).len())
            .sum()
    }

    /// Admits a connection from `ip`, or says why not. `trusted` sources are
    /// exempt from the per-source cap (not from the total).
    pub fn admit(self: &Arc<Self>, ip: IpAddr, trusted: bool) -> Result<ConnPermit, Reason> {
        let max_total = self.max_total.load(Ordering::Relaxed);
        if self.total.fetch_add(1, Ordering::AcqRel) >= max_total {
            self.total.fetch_sub(1, Ordering::AcqRel);
            return Err(Reason::TooManyConnections);
        }
        if trusted {
            return Ok(ConnPermit {
                guard: Some(self.clone()),
                key: None,
            });
        }
        let key = compact_key(ip);
        let max = self.max_per_source.load(Ordering::Relaxed);
        let mut map = self.shard(key).lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(key).or_insert(0);
        if *n as usize >= max {
            drop(map);
            self.total.fetch_sub(1, Ordering::AcqRel);
            return Err(Reason::TooManyConnections);
        }
        *n += 1;
        Ok(ConnPermit {
            guard: Some(self.clone()),
            key: Some(key),
        })
    }

    /// Gives back the counts of a connection admitted with `key` (what
    /// [`ConnPermit::into_key`] returned).
    pub(crate) fn release(&self, key: Option<u64>) {
        if let Some(key) = key {
            let mut map = self.shard(key).lock().unwrap_or_else(|p| p.into_inner());
            if let Some(n) = map.get_mut(&key) {
                *n -= 1;
                if *n == 0 {
                    map.remove(&key);
                    // Give back what a crowd of sources that has left grew.
                    if map.capacity() > 256 && map.len() * 8 < map.capacity() {
                        let keep = map.len() * 2;
                        map.shrink_to(keep);
                    }
                }
            }
        }
        self.total.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Drop for ConnPermit {
    fn drop(&mut self) {
        if let Some(guard) = self.guard.take() {
            guard.release(self.key);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn caps_total_and_per_source() {
        let g = Arc::new(ConnGuard::new(3, 2));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        let p1 = g.admit(a, false).unwrap();
        let _p2 = g.admit(a, false).unwrap();
        assert!(g.admit(a, false).is_err());
        let _p3 = g.admit(b, false).unwrap();
        assert!(g.admit(b, false).is_err(), "total cap");
        drop(p1);
        assert_eq!(g.open(), 2);
        assert!(g.admit(a, false).is_ok());
    }

    #[test]
    fn a_permit_handed_over_as_a_key_is_released_once() {
        let g = Arc::new(ConnGuard::new(10, 1));
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let key = g.admit(a, false).unwrap().into_key();
        assert_eq!(g.open(), 1, "handing over releases nothing");
        assert!(g.admit(a, false).is_err(), "the per-source count is kept");
        g.release(key);
        assert_eq!((g.open(), g.sources()), (0, 0));
        assert!(g.admit(a, false).is_ok());
    }

    /// A million IPv6 sources from one /48 are at most 65,536 /64s: the
    /// table stays that small, each /64 is held to the cap, and everything
    /// is given back once the connections close.
    #[test]
    fn a_million_ipv6_sources_in_one_48_stay_65536_entries() {
        let g = Arc::new(ConnGuard::new(usize::MAX, 8));
        let mut permits = Vec::new();
        let mut refused = 0usize;
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..1_000_000 {
            // xorshift: a /64 inside 2001:db8:7::/48 and a host inside it
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let subnet = (x >> 48) as u128;
            let host = (x as u128) ^ 0x5bd1_e995;
            let ip = (0x2001_0db8_0007u128 << 80) | (subnet << 64) | host;
            match g.admit(IpAddr::V6(ip.into()), false) {
                Ok(p) => permits.push(p),
                Err(_) => refused += 1,
            }
        }
        let sources = g.sources();
        assert!(sources <= 65_536, "{sources} sources tracked");
        assert!(permits.len() <= sources * 8, "the per-/64 cap held");
        assert_eq!(permits.len() + refused, 1_000_000);
        assert_eq!(std::mem::size_of::<(u64, u32)>(), 16, "one table slot");
        drop(permits);
        assert_eq!(g.sources(), 0);
        assert_eq!(g.open(), 0);
        let capacity: usize = g.shards.iter().map(|s| s.lock().unwrap().capacity()).sum();
        assert!(capacity <= 16 * 256, "{capacity} slots kept after all left");
    }
}
