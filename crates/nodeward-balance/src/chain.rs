//! The pool's view of its chain's recent blocks (JSON-RPC pools): the hash
//! at each recent height and a count of reorgs seen, so a read cache can key
//! answers for blocks that are not final yet by their hash and drop them
//! when another hash shows up at a height it holds.

use nodeward_probe::node::BlockId;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Mutex;

/// Heights remembered (the newest ones).
const KEEP: usize = 256;

/// Recent block hashes of a pool's chain, fed by the health check rounds.
#[derive(Debug, Default)]
pub struct ChainTracker {
    recent: Mutex<BTreeMap<u64, [u8; 32]>>,
    reorgs: AtomicU64,
}

impl ChainTracker {
    /// Records the pool head's block. A different hash at a height already
    /// known, or a parent hash that is not the one known one height below,
    /// is a reorg: the count goes up and every remembered hash is forgotten
    /// (a reorg may reach below the height where it shows).
    pub fn record(&self, block: BlockId) {
        let mut recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        let clash = |n: u64, h: [u8; 32]| recent.get(&n).is_some_and(|known| *known != h);
        let below = block.number.checked_sub(1);
        if clash(block.number, block.hash) || below.is_some_and(|b| clash(b, block.parent)) {
            self.reorgs.fetch_add(1, Relaxed);
            recent.clear();
        }
        // A head that went back (a chain reset) makes heights above it stale.
        let _ = recent.split_off(&block.number.saturating_add(1));
        recent.insert(block.number, block.hash);
        if let Some(b) = below {
            recent.insert(b, block.parent);
        }
        while recent.len() > KEEP {
            recent.pop_first();
        }
    }

    /// The hash of block `number`, when it is one of the recent heights seen.
    pub fn hash_at(&self, number: u64) -> Option<[u8; 32]> {
        let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        recent.get(&number).copied()
    }

    /// The newest block seen (number and hash).
    pub fn head(&self) -> Option<(u64, [u8; 32])> {
        let recent = self.recent.lock().unwrap_or_else(|p| p.into_inner());
        recent.last_key_value().map(|(n, h)| (*n, *h))
    }

    /// Reorgs seen since start.
    pub fn reorgs(&self) -> u64 {
        self.reorgs.load(Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(number: u64, hash: u8, parent: u8) -> BlockId {
        BlockId {
            number,
            hash: [hash; 32],
            parent: [parent; 32],
        }
    }

    #[test]
    fn a_new_hash_at_a_known_height_is_a_reorg() {
        let t = ChainTracker::default();
        t.record(block(100, 1, 0));
        t.record(block(100, 1, 0));
        assert_eq!(
            (t.reorgs(), t.hash_at(100), t.hash_at(99)),
            (0, Some([1; 32]), Some([0; 32]))
        );
        t.record(block(100, 2, 0));
        assert_eq!(
            (t.reorgs(), t.hash_at(100), t.hash_at(99)),
            (1, Some([2; 32]), Some([0; 32]))
        );
    }

    #[test]
    fn a_parent_that_does_not_match_is_a_reorg() {
        let t = ChainTracker::default();
        t.record(block(100, 1, 0));
        t.record(block(101, 3, 1));
        assert_eq!(t.reorgs(), 0);
        t.record(block(102, 5, 4));
        assert_eq!(t.reorgs(), 1);
        assert_eq!(t.hash_at(100), None);
        assert_eq!(t.head(), Some((102, [5; 32])));
    }

    #[test]
    fn memory_is_bounded_and_a_reset_drops_higher_heights() {
        let t = ChainTracker::default();
        for n in 1..1000u64 {
            let h = (n % 251) as u8;
            let p = ((n - 1) % 251) as u8;
            t.record(block(n, h, p));
        }
        assert_eq!(t.reorgs(), 0);
        assert!(t.recent.lock().unwrap().len() <= KEEP);
        t.record(block(10, 9, 9));
        assert_eq!(t.head().unwrap().0, 10);
    }
}
