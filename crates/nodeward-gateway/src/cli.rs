//! Command-line arguments and entry points of `nodeward gateway` and of the
//! gateway's part of `nodeward config check`.

use crate::run::GatewayError;
use clap::{Args, ValueEnum};
use std::path::PathBuf;

/// Arguments of `nodeward gateway`.
#[derive(Debug, Args)]
#[command(long_about = "Run the secure reverse proxy in front of node APIs.\n\n\
It reads the [gateway], [[listener]], [admin], [[upstream]] and [[route]] tables of the \
config file (see docs/configuration.md and examples/iri.toml). SIGHUP or POST /reload on \
the admin listener reloads the config and certificates atomically (a bad config is \
refused and the running one kept); SIGTERM or SIGINT stops accepting, lets requests in \
flight finish (up to drain_timeout) and exits.")]
pub struct GatewayArgs {
    /// Configuration file.
    #[arg(long, short = 'c', default_value = "/etc/nodeward/nodeward.toml")]
    pub config: PathBuf,
    /// Worker threads (default: one per core).
    #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: Option<u16>,
    /// Where the admin token and other state live (overrides [gateway] state_dir).
    #[arg(long)]
    pub state_dir: Option<PathBuf>,
    /// Format of nodeward's own diagnostic log on stderr (the access log is separate).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

/// Diagnostic log formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// JSON lines.
    Json,
}

/// Runs the gateway until SIGTERM/SIGINT; returns the process exit code.
pub fn run_gateway(args: GatewayArgs) -> Result<u8, GatewayError> {
    crate::run::run(args)
}
