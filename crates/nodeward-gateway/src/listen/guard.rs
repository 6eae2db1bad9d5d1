//! Connection admission: refuse cleanly (instead of running out of file
//! descriptors) when the gateway or one source holds too many connections.

use crate::addr::source_key;
use crate::refusal::Reason;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

const SHARDS: usize = 16;

/// Counts open connections, in total and per source (IPv6 by /64).
pub struct ConnGuard {
    total: AtomicUsize,
    max_total: AtomicUsize,
    max_per_source: AtomicUsize,
    shards: [Mutex<HashMap<IpAddr, usize>>; SHARDS],
}

/// Held for the life of one admitted connection; releases its counts on drop.
pub struct ConnPermit {
    guard: Arc<ConnGuard>,
    key: Option<IpAddr>,
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

    fn shard(&self, key: &IpAddr) -> &Mutex<HashMap<IpAddr, usize>> {
        let h = match key {
            IpAddr::V4(a) => u32::from(*a) as usize,
            IpAddr::V6(a) => (u128::from(*a) >> 64) as usize,
        };
        &self.shards[h.wrapping_mul(0x9E37_79B9) % SHARDS]
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
                guard: self.clone(),
                key: None,
            });
        }
        let key = source_key(ip);
        let max = self.max_per_source.load(Ordering::Relaxed);
        let mut map = self.shard(&key).lock().unwrap_or_else(|p| p.into_inner());
        let n = map.entry(key).or_insert(0);
        if *n >= max {
            drop(map);
            self.total.fetch_sub(1, Ordering::AcqRel);
            return Err(Reason::TooManyConnections);
        }
        *n += 1;
        Ok(ConnPermit {
            guard: self.clone(),
            key: Some(key),
        })
    }
}

impl Drop for ConnPermit {
    fn drop(&mut self) {
        if let Some(key) = self.key {
            let mut map = self
                .guard
                .shard(&key)
                .lock()
                .unwrap_or_else(|p| p.into_inner());
            if let Some(n) = map.get_mut(&key) {
                *n -= 1;
                if *n == 0 {
                    map.remove(&key);
                }
            }
        }
        self.guard.total.fetch_sub(1, Ordering::AcqRel);
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
}
