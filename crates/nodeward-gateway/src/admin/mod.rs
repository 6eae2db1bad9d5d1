//! The admin listener: Prometheus `/metrics`, JSON `/status` and `POST /reload`,
//! on loopback by default and protected by a bearer token.

pub mod client;
mod server;
mod status;
pub mod token;

pub use server::serve_admin;
