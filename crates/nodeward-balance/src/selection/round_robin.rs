//! Round-robin: each backend in turn. While a backend warns or ramps up its
//! share is reduced, through the same smooth weighted turn as `weighted`.

use super::swrr::Swrr;
use super::{Candidate, Selection};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

/// In turn.
#[derive(Debug, Default)]
pub struct RoundRobin {
    next: AtomicUsize,
    smooth: Swrr,
}

impl Selection for RoundRobin {
    fn select(&self, candidates: &[Candidate<'_>]) -> usize {
        let first = candidates[0].weight;
        if candidates.iter().all(|c| c.weight == first) {
            self.next.fetch_add(1, Relaxed) % candidates.len()
        } else {
            self.smooth.pick(candidates)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn spreads_evenly_and_honours_reduced_shares() {
        let ms = members(3);
        let c = counts(&RoundRobin::default(), &ms, &[1.0, 1.0, 1.0], 300);
        assert_eq!(c, vec![100, 100, 100]);
        let c = counts(&RoundRobin::default(), &ms, &[1.0, 1.0, 0.5], 500);
        assert_eq!(c, vec![200, 200, 100]);
    }
}
