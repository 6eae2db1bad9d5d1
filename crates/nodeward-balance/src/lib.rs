//! Node pools for nodeward: who the backends are, which one takes the next
//! attempt, whether each is fit to serve, and where they come from.
//!
//! No HTTP types live here: the gateway plugs its own endpoint (a
//! connection pool) into each [`member::Member`]. The shapes follow
//! pingora-load-balancing (backends keyed by a stable id, selection and
//! health checks as small traits with one implementation per kind, health
//! carried across changes of the backend set) and linkerd2-proxy (a
//! consecutive-failures breaker with doubling backoff and a probation
//! request, retry budgets).
//!
//! - [`backend`]: ids, addresses, specs.
//! - [`pool`]: the member set, selection of an attempt, reconciliation.
//! - [`selection`]: round robin, weighted, least in flight, peak EWMA.
//! - [`health`]: check kinds, judging against the pool, rise and fall.
//! - [`chain`]: recent block hashes of a JSON-RPC pool, and reorgs seen.
//! - [`breaker`], [`slow_start`], [`budget`]: passive health, ramp-up, retry and hedge budgets.
//! - [`discovery`]: persisted registrations and a watched file of backends.

pub mod backend;
pub mod breaker;
pub mod budget;
pub mod chain;
pub mod clock;
pub mod discovery;
pub mod health;
pub mod member;
pub mod pool;
mod rng;
pub mod selection;
pub mod slow_start;

pub use backend::{Address, BackendId, BackendSpec, HealthOverrides, Origin, Scheme};
pub use member::{Member, MemberCore};
pub use pool::{Attempt, Failure, Pool, PoolConfig, PoolError, Tried, Unavailable};
pub use selection::Strategy;

/// At most 120 characters of `s` (on a character boundary), for messages
/// that quote what a peer or a file said.
pub fn shorten(s: &str) -> String {
    const MAX: usize = 120;
    if s.len() <= MAX {
        return s.to_string();
    }
    let mut end = MAX;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}
