//! `nodeward scan` (outside-in grading of a node's TLS, HTTP headers, open
//! ports and exposed node commands) and `nodeward check` (monitoring plugins
//! with Nagios exit codes and perfdata), both on top of `nodeward-probe`.

pub mod check;
pub mod cli;
pub mod grade;
pub mod nagios;
pub mod parts;
pub mod portspec;
pub mod profile;
pub mod target;
mod top_ports;

pub use cli::{run_check, run_scan, CheckArgs, ScanArgs};

/// Errors that stop a scan before it can report (bad arguments, no runtime).
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// An argument could not be used.
    #[error("{0}")]
    Usage(String),
    /// The async runtime could not start.
    #[error("cannot start the runtime: {0}")]
    Runtime(std::io::Error),
}
