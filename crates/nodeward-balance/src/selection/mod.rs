//! Choosing a backend for one attempt among those that may serve it.
//!
//! The pool filters its members first (health, breaker, draining, what
//! this request already tried, what the caller accepts) and hands the
//! survivors to a [`Selection`], each with its effective weight (its
//! configured weight for `weighted`, reduced while it warns or ramps up).
//! One strategy per file, as in pingora-load-balancing.

mod least_inflight;
mod peak_ewma;
mod round_robin;
mod swrr;
mod weighted;

use crate::member::MemberCore;
use serde::Deserialize;

pub use least_inflight::LeastInflight;
pub use peak_ewma::PeakEwma;
pub use round_robin::RoundRobin;
pub use weighted::Weighted;

/// A backend that may take this attempt.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// Its state.
    pub member: &'a MemberCore,
    /// Its effective weight (> 0).
    pub weight: f64,
}

/// A way to choose among candidates.
pub trait Selection: Send + Sync + std::fmt::Debug {
    /// The index of the chosen candidate (`candidates` is never empty).
    fn select(&self, candidates: &[Candidate<'_>]) -> usize;
}

/// The strategies a pool can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// In turn (each backend weighs the same, less while warning or ramping up).
    #[default]
    RoundRobin,
    /// In turn, in proportion to each backend's `weight`.
    Weighted,
    /// The less busy of two random backends (power of two choices).
    LeastInflight,
    /// The lower of two random backends' latency estimate times their load
    /// (as linkerd and Finagle).
    PeakEwma,
}

impl Strategy {
    /// A selection for this strategy.
    pub fn build(self) -> Box<dyn Selection> {
        match self {
            Strategy::RoundRobin => Box::new(RoundRobin::default()),
            Strategy::Weighted => Box::new(Weighted::default()),
            Strategy::LeastInflight => Box::new(LeastInflight),
            Strategy::PeakEwma => Box::new(PeakEwma),
        }
    }

    /// Whether backends' configured weights count.
    pub fn uses_weights(self) -> bool {
        !matches!(self, Strategy::RoundRobin)
    }

    /// The strategy's name in the config and `/status`.
    pub fn name(self) -> &'static str {
        match self {
            Strategy::RoundRobin => "round_robin",
            Strategy::Weighted => "weighted",
            Strategy::LeastInflight => "least_inflight",
            Strategy::PeakEwma => "peak_ewma",
        }
    }
}

/// Two distinct random candidates (the same one twice when there is one).
fn two_random(n: usize) -> (usize, usize) {
    if n < 2 {
        return (0, 0);
    }
    let a = crate::rng::below(n);
    let b = (a + 1 + crate::rng::below(n - 1)) % n;
    (a, b)
}

#[cfg(test)]
pub(crate) mod testing {
    use super::*;
    use crate::backend::{Address, BackendSpec, Origin};
    use crate::health::HealthCell;

    pub fn members(n: usize) -> Vec<MemberCore> {
        (0..n)
            .map(|i| {
                let a = Address::parse(&format!("http://127.0.0.1:{}", 1000 + i)).unwrap();
                MemberCore::new(
                    BackendSpec::new(a, Origin::Config),
                    HealthCell::unchecked(),
                    0,
                )
            })
            .collect()
    }

    pub fn counts(
        sel: &dyn Selection,
        ms: &[MemberCore],
        weights: &[f64],
        rounds: usize,
    ) -> Vec<usize> {
        let cands: Vec<Candidate<'_>> = ms
            .iter()
            .zip(weights)
            .map(|(m, &w)| Candidate {
                member: m,
                weight: w,
            })
            .collect();
        let mut c = vec![0; ms.len()];
        for _ in 0..rounds {
            c[sel.select(&cands)] += 1;
        }
        c
    }
}
