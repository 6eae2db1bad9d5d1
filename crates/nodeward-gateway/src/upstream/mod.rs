//! Upstream pools: the live registry of pools (reconciled on reload), each
//! backend's connections (plain or TLS), forwarding with retries, hedging
//! and deadlines, and the typed errors the request side turns into answers.
//! Which backend takes an attempt, and whether it is fit, is decided by
//! `nodeward-balance`.

mod body;
pub mod classify;
pub mod endpoint;
pub mod error;
mod forward;
mod h1;
pub mod pool;
pub mod registry;
mod stream;

pub use error::UpstreamError;
pub use forward::{forward, Failure, ForwardError, Forwarded, Outbound};
pub use pool::UpstreamPool;
pub use registry::Registry;
