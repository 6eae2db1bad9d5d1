//! Smooth weighted round-robin (nginx's): each pick adds every candidate's
//! weight to its running total, takes the largest, and subtracts the sum
//! from the winner, which spreads a 5:1:1 split as a,a,b,a,c,a,a rather
//! than in bursts. Weights may change between picks (warn, slow start).

use super::Candidate;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Mutex;

/// Scale from f64 weights to the integer running totals.
const SCALE: f64 = 1000.0;

/// The running totals' lock (the totals live in each member).
#[derive(Debug, Default)]
pub struct Swrr {
    lock: Mutex<()>,
}

impl Swrr {
    /// Picks one candidate.
    pub fn pick(&self, candidates: &[Candidate<'_>]) -> usize {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut total: i64 = 0;
        let mut best = 0;
        let mut best_value = i64::MIN;
        for (i, c) in candidates.iter().enumerate() {
            let w = (c.weight * SCALE).round().max(1.0) as i64;
            total += w;
            let v = c.member.swrr_current.fetch_add(w, Relaxed) + w;
            if v > best_value {
                best_value = v;
                best = i;
            }
        }
        candidates[best]
            .member
            .swrr_current
            .fetch_sub(total, Relaxed);
        best
    }
}
