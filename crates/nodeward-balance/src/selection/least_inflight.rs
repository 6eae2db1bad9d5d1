//! Least in flight by the power of two choices: take two backends at
//! random and send to the one with fewer requests in flight per unit of
//! weight. Nearly as good as scanning all, without herding onto one.

use super::{two_random, Candidate, Selection};

/// The less busy of two random backends.
#[derive(Debug, Default)]
pub struct LeastInflight;

fn load(c: &Candidate<'_>) -> f64 {
    (f64::from(c.member.inflight()) + 1.0) / c.weight
}

impl Selection for LeastInflight {
    fn select(&self, candidates: &[Candidate<'_>]) -> usize {
        let (a, b) = two_random(candidates.len());
        if load(&candidates[b]) < load(&candidates[a]) {
            b
        } else {
            a
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn prefers_the_idle_backend() {
        let ms = members(2);
        for _ in 0..10 {
            ms[0].begin();
        }
        let c = counts(&LeastInflight, &ms, &[1.0, 1.0], 100);
        assert_eq!(c, vec![0, 100]);
    }
}
