//! nodeward's secure reverse proxy for node APIs.
//!
//! A request walks down the modules in this order and back:
//! `listen` (accept, connection guard, TLS) -> `request` (hygiene, body,
//! command extraction, policy) -> `upstream` (pool, selection, timeouts),
//! with `admin` (metrics, status, reload) beside it and `config` feeding all.

pub mod cli;
