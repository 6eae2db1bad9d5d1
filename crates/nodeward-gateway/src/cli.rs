//! Command-line arguments and entry points of `nodeward gateway` and `nodeward config check`.

use clap::Args;
use std::path::PathBuf;

/// Arguments of `nodeward gateway`.
#[derive(Debug, Args)]
pub struct GatewayArgs {
    /// Configuration file.
    #[arg(long, short = 'c', default_value = "/etc/nodeward/nodeward.toml")]
    pub config: PathBuf,
    /// Worker threads (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
}

/// Arguments of `nodeward config check`.
#[derive(Debug, Args)]
pub struct ConfigCheckArgs {
    /// Configuration file to validate.
    #[arg(long, short = 'c', default_value = "/etc/nodeward/nodeward.toml")]
    pub config: PathBuf,
}

/// Runs the gateway until SIGTERM/SIGINT; returns the process exit code.
pub fn run_gateway(_args: GatewayArgs) -> Result<u8, String> {
    Err("gateway not built yet".into())
}

/// Validates a configuration file; returns 0 when valid.
pub fn run_config_check(_args: ConfigCheckArgs) -> Result<u8, String> {
    Err("config check not built yet".into())
}
