//! sshd_config with OpenSSH's own semantics: the first value of a keyword wins,
//! `Include` expands globs (relative to /etc/ssh, sorted, bounded depth, loops
//! reported), `Match` blocks apply only to connections they match and an
//! included file cannot change its includer's Match state. Checked against
//! `sshd -T` in the end-to-end tests.

pub mod algorithms;
mod evaluate;
mod glob;
mod load;
mod tokenize;

pub use evaluate::{Connection, Setting};
pub use load::{Entry, LoadProblem, SshdConfig, MAX_INCLUDE_DEPTH};
pub use tokenize::{split_line, TokenizeError};

/// Where Debian and most distributions keep the server configuration.
pub const SSHD_CONFIG: &str = "/etc/ssh/sshd_config";
