//! Weighted: each backend in turn, in proportion to its configured weight.

use super::swrr::Swrr;
use super::{Candidate, Selection};

/// In proportion to weights.
#[derive(Debug, Default)]
pub struct Weighted {
    smooth: Swrr,
}

impl Selection for Weighted {
    fn select(&self, candidates: &[Candidate<'_>]) -> usize {
        self.smooth.pick(candidates)
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::*;
    use super::*;

    #[test]
    fn shares_follow_weights_smoothly() {
        let ms = members(3);
        let c = counts(&Weighted::default(), &ms, &[5.0, 1.0, 1.0], 700);
        assert_eq!(c, vec![500, 100, 100]);
        // Smooth: never more than two picks of the heavy one in a row here.
        let cands: Vec<Candidate<'_>> = ms
            .iter()
            .zip([2.0, 1.0, 1.0])
            .map(|(m, w)| Candidate {
                member: m,
                weight: w,
            })
            .collect();
        let w = Weighted::default();
        let seq: Vec<usize> = (0..8).map(|_| w.select(&cands)).collect();
        assert!(
            seq.windows(3)
                .all(|x| !(x[0] == 0 && x[1] == 0 && x[2] == 0)),
            "{seq:?}"
        );
    }
}
