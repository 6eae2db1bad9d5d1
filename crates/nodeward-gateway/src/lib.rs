//! nodeward's secure reverse proxy for node APIs.
//!
//! A request walks down the modules in this order and back:
//! [`listen`] (accept, connection guard, TLS, nodeward's own HTTP/1.1 server,
//! hyper for HTTP/2) ->
//! [`request`] (hygiene, body, command extraction, policy) ->
//! [`upstream`] (pool, selection, forwarding with deadlines), with
//! [`admin`] (metrics, status, reload) beside it, [`config`] feeding all, and
//! [`http1`] holding the HTTP/1.1 body framing both sides share.

pub mod admin;
pub mod ban;
pub mod cli;
pub mod config;
pub mod http1;
pub mod listen;
pub mod log;
pub mod request;
mod run;
pub mod state;
pub mod upstream;

pub use run::GatewayError;
