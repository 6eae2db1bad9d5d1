//! The gateway's handle on cluster-wide rate limits (`[cluster] redis`):
//! set once at start, read when routes are compiled (start and reloads), so
//! that every rate rule becomes a shared rule. Without Redis it is never set
//! and the rate limiters keep their local-only path.

use nodeward_cluster::limits::{Limits, Rule};
use nodeward_config::Rate;
use std::sync::{Arc, OnceLock};

/// The process's shared-limits engine (one gateway per process).
static ENGINE: OnceLock<Arc<Limits>> = OnceLock::new();

/// Installs the engine; called once at start, before routes are compiled.
pub fn install(engine: Arc<Limits>) {
    let _ = ENGINE.set(engine);
}

/// The engine, when `[cluster] redis` is set.
pub fn engine() -> Option<&'static Arc<Limits>> {
    ENGINE.get()
}

/// The shared rule for `rate` named `name`, when cluster limits are on.
pub fn rule(name: &str, rate: Rate) -> Option<Arc<Rule>> {
    ENGINE.get().map(|e| e.rule(name, rate.count, rate.per))
}
