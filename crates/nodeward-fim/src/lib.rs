//! `nodeward fim`: a file-integrity baseline of a node server and its verification.
//!
//! A request walks down the modules in this order: [`config`] says which paths
//! matter and which attributes of them ([`rules`] resolves a path to its rule),
//! [`walk`] lists the entries, [`inspect`] reads each one's metadata and
//! [`hash`] its content (on every core, [`scan`]), [`baseline`] stores the result
//! sealed with an HMAC whose key ([`key`]) lives elsewhere, [`diff`] compares two
//! states, [`severity`] says how much each change matters — lowered or raised by
//! [`vouch`] with what the package database ([`packages`]) says — and
//! [`findings`] turns them into the shared report. [`progress`] draws a bar on a
//! terminal.

pub mod baseline;
pub mod cli;
pub mod config;
mod defaults;
pub mod diff;
pub mod entry;
pub mod error;
pub mod findings;
pub mod hash;
pub mod inspect;
pub mod key;
pub mod packages;
mod packages_cli;
pub mod progress;
pub mod rules;
pub mod scan;
pub mod severity;
pub mod vouch;
pub mod walk;

pub use error::FimError;
