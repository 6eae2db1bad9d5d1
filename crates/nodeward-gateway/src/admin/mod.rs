//! The admin listener: Prometheus `/metrics`, JSON `/status` and `POST /reload`,
//! on loopback by default and protected by a bearer token, and the status
//! page (`/ui`, a login form and a session cookie).

pub mod client;
pub mod pool_metrics;
pub mod pools;
mod reply;
mod server;
mod status;
pub mod token;
pub mod ui;
mod upstreams;

pub use server::serve_admin;
