//! The bounded store behind a route's cache (quick_cache, S3-FIFO) and its
//! counters: entries and bytes capped, expired entries never returned.

use quick_cache::sync::Cache;
use quick_cache::{DefaultHashBuilder, Lifecycle, Weighter};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Instant;

/// What identifies one cached answer: the command and the canonical call
/// (with the headers that change the answer).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key(Arc<KeyInner>);

#[derive(Debug, PartialEq, Eq, Hash)]
struct KeyInner {
    command: String,
    text: Vec<u8>,
}

impl Key {
    /// A key for `command` (lowercase) and its canonical call text.
    pub fn new(command: &str, text: Vec<u8>) -> Key {
        Key(Arc::new(KeyInner {
            command: command.to_string(),
            text,
        }))
    }

    /// The command this key belongs to.
    pub fn command(&self) -> &str {
        &self.0.command
    }

    fn len(&self) -> usize {
        self.0.command.len() + self.0.text.len()
    }
}

/// One stored answer. JSON-RPC answers are held without their `id`.
#[derive(Debug, Clone)]
pub struct Entry {
    /// The answer (JSON-RPC: the answer object minus `id`; IRI: the body).
    pub body: bytes::Bytes,
    /// When it stops being served (None: immutable).
    pub expires: Option<Instant>,
    /// The height of the not-yet-final block it is pinned to (dropped on a
    /// reorg); None for final blocks and calls naming none.
    pub height: Option<u64>,
}

/// Counters shown in /metrics and /status.
#[derive(Debug, Default)]
pub struct CacheStats {
    /// Requests (or batch elements) answered from the cache.
    pub hits: AtomicU64,
    /// Lookups that found nothing usable.
    pub misses: AtomicU64,
    /// Requests answered by another request's node call.
    pub coalesced: AtomicU64,
    /// Entries pushed out by the bounds, expired, reorged or purged.
    pub evictions: AtomicU64,
    /// Answers written to the cache.
    pub stores: AtomicU64,
    /// Answers too large to store.
    pub too_large: AtomicU64,
    /// Node error objects stored by a negative cache.
    pub negative: AtomicU64,
    /// Answers not stored because the node was behind the pool head or
    /// answered about another block than the one the call was pinned to.
    pub not_current: AtomicU64,
}

#[derive(Clone)]
struct Weigh {
    /// Each entry weighs at least this much, so `max_bytes / floor` also caps
    /// the number of entries.
    floor: u64,
}

impl Weighter<Key, Entry> for Weigh {
    fn weight(&self, key: &Key, val: &Entry) -> u64 {
        // Key and answer bytes plus bookkeeping.
        ((key.len() + val.body.len() + 96) as u64).max(self.floor)
    }
}

#[derive(Clone)]
struct Evictions(Arc<CacheStats>);

impl Lifecycle<Key, Entry> for Evictions {
    type RequestState = ();
    fn on_evict(&self, _state: &mut (), _key: Key, _val: Entry) {
        self.0.evictions.fetch_add(1, Relaxed);
    }
}

/// The bounded map from keys to answers.
pub struct Store {
    cache: Cache<Key, Entry, Weigh, DefaultHashBuilder, Evictions>,
    /// The counters.
    pub stats: Arc<CacheStats>,
}

impl Store {
    /// A store holding at most `max_entries` entries and `max_bytes` bytes.
    pub fn new(max_entries: usize, max_bytes: u64) -> Store {
        let stats = Arc::new(CacheStats::default());
        let floor = (max_bytes / max_entries as u64).max(1);
        Store {
            cache: Cache::with(
                max_entries.min(1 << 20),
                max_bytes,
                Weigh { floor },
                DefaultHashBuilder::default(),
                Evictions(stats.clone()),
            ),
            stats,
        }
    }

    /// The live entry for `key`, if any (an expired one is removed).
    pub fn get(&self, key: &Key, now: Instant) -> Option<Entry> {
        let entry = self.cache.get(key)?;
        if entry.expires.is_some_and(|t| t <= now) {
            if self
                .cache
                .remove_if(key, |e| e.expires.is_some_and(|t| t <= now))
                .is_some()
            {
                self.stats.evictions.fetch_add(1, Relaxed);
            }
            return None;
        }
        Some(entry)
    }

    /// Stores an answer.
    pub fn insert(&self, key: Key, entry: Entry) {
        self.stats.stores.fetch_add(1, Relaxed);
        self.cache.insert(key, entry);
    }

    /// Drops every entry (of `command`, when given); returns how many.
    pub fn purge(&self, command: Option<&str>) -> usize {
        let before = self.cache.len();
        match command {
            None => self.cache.clear(),
            Some(c) => self.cache.retain(|k, _| k.command() != c),
        }
        let n = before.saturating_sub(self.cache.len());
        self.stats.evictions.fetch_add(n as u64, Relaxed);
        n
    }

    /// Drops every entry pinned to a not-yet-final block (after a reorg);
    /// returns how many.
    pub fn drop_pinned(&self) -> usize {
        let before = self.cache.len();
        self.cache.retain(|_, e| e.height.is_none());
        let n = before.saturating_sub(self.cache.len());
        self.stats.evictions.fetch_add(n as u64, Relaxed);
        n
    }

    /// Entries held.
    pub fn len(&self) -> usize {
        self.cache.len()
    }

    /// Whether nothing is held.
    pub fn is_empty(&self) -> bool {
        self.cache.is_empty()
    }

    /// Bytes held (as weighed).
    pub fn bytes(&self) -> u64 {
        self.cache.weight()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn entry(n: usize, expires: Option<Instant>) -> Entry {
        Entry {
            body: bytes::Bytes::from(vec![b'x'; n]),
            expires,
            height: None,
        }
    }

    #[test]
    fn bounds_hold_under_a_key_flood() {
        let s = Store::new(100, 64 * 1024);
        for i in 0..10_000 {
            s.insert(Key::new("c", format!("{i}").into_bytes()), entry(10, None));
        }
        assert!(s.len() <= 110, "{} entries", s.len());
        assert!(s.bytes() <= 64 * 1024);
        assert!(s.stats.evictions.load(Relaxed) > 9000);
    }

    #[test]
    fn expired_entries_are_not_returned() {
        let s = Store::new(100, 64 * 1024);
        let now = Instant::now();
        let k = Key::new("c", b"1".to_vec());
        s.insert(k.clone(), entry(1, Some(now + Duration::from_millis(5))));
        assert!(s.get(&k, now).is_some());
        assert!(s.get(&k, now + Duration::from_millis(6)).is_none());
        assert!(s.is_empty());
    }

    #[test]
    fn purge_by_command() {
        let s = Store::new(100, 64 * 1024);
        s.insert(Key::new("a", b"1".to_vec()), entry(1, None));
        s.insert(Key::new("b", b"1".to_vec()), entry(1, None));
        assert_eq!(s.purge(Some("a")), 1);
        assert_eq!(s.len(), 1);
        assert_eq!(s.purge(None), 1);
        let mut pinned = entry(1, None);
        pinned.height = Some(7);
        s.insert(Key::new("a", b"p".to_vec()), pinned);
        s.insert(Key::new("a", b"f".to_vec()), entry(1, None));
        assert_eq!(s.drop_pinned(), 1);
        assert_eq!(s.len(), 1);
    }
}
