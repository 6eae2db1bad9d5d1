//! Upstream pools: backends of one node API, selection among them, passive
//! health (a backend that refuses connections is skipped for a while) and
//! forwarding a request with a deadline.

mod body;
mod forward;
mod h1;
mod pool;
mod selection;

pub use forward::{forward, Forwarded};
pub use pool::UpstreamPool;
