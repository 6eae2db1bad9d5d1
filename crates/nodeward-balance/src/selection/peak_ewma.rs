//! Peak EWMA by the power of two choices (linkerd, Finagle): each backend's
//! cost is its latency estimate (which jumps up at once on a slow answer and
//! decays slowly) times its requests in flight plus one, per unit of
//! weight; of two random backends, the cheaper one is taken. A backend with
//! no answer yet costs nothing, so it is tried soon.

use super::{two_random, Candidate, Selection};

/// The cheaper of two random backends by latency times load.
#[derive(Debug, Default)]
pub struct PeakEwma;

fn cost(c: &Candidate<'_>) -> f64 {
    c.member.latency_estimate() * (f64::from(c.member.inflight()) + 1.0) / c.weight
}

impl Selection for PeakEwma {
    fn select(&self, candidates: &[Candidate<'_>]) -> usize {
        let (a, b) = two_random(candidates.len());
        if cost(&candidates[b]) < cost(&candidates[a]) {
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
    fn prefers_the_faster_backend() {
        let ms = members(2);
        ms[0].observe_latency(1, 50_000_000);
        ms[1].observe_latency(1, 1_000_000);
        let c = counts(&PeakEwma, &ms, &[1.0, 1.0], 100);
        assert_eq!(c, vec![0, 100]);
        // A slow answer raises the estimate at once; fast ones decay it.
        ms[1].observe_latency(2, 80_000_000);
        assert!(ms[1].latency_estimate() >= 80_000_000.0);
        ms[1].observe_latency(20_000_000_002, 1_000_000);
        assert!(ms[1].latency_estimate() < 20_000_000.0);
    }
}
