//! Command-line arguments and entry points of `nodeward gateway` and of the
//! gateway's part of `nodeward config check`.

pub use crate::admin::client::{BackendsOp, BansOp};
pub use crate::run::LogFormat;
use crate::run::{GatewayError, Options};
use clap::Args;
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
    /// Instead of serving, act on the running gateway.
    #[command(subcommand)]
    pub action: Option<GatewayAction>,
}

impl GatewayArgs {
    /// What the gateway process itself needs from the command line.
    pub fn options(&self) -> Options {
        Options {
            config: self.config.clone(),
            threads: self.threads,
            state_dir: self.state_dir.clone(),
            log_format: self.log_format,
        }
    }
}

/// What `nodeward gateway <action>` does to a running gateway.
#[derive(Debug, clap::Subcommand)]
pub enum GatewayAction {
    /// List (default), add or lift bans through the running gateway's admin API.
    Bans {
        /// The operation.
        #[command(subcommand)]
        op: Option<BansOp>,
    },
    /// List (default), register, deregister or drain the backends of the running gateway's pools.
    Backends {
        /// The operation.
        #[command(subcommand)]
        op: Option<BackendsOp>,
    },
    /// Show the running gateway's pools, backends and health as tables.
    Status {
        /// Print the /status document as JSON instead.
        #[arg(long)]
        json: bool,
    },
}

/// Runs the gateway until SIGTERM/SIGINT; returns the process exit code.
pub fn run_gateway(args: GatewayArgs) -> Result<u8, GatewayError> {
    match &args.action {
        None => crate::run::run(args.options()),
        Some(GatewayAction::Bans { op }) => {
            let config = crate::run::load_config(&args.options())?;
            crate::admin::client::bans(&config, op.as_ref().unwrap_or(&BansOp::List))
                .map_err(|e| GatewayError::Admin(e.to_string()))
        }
        Some(GatewayAction::Backends { op }) => {
            let config = crate::run::load_config(&args.options())?;
            crate::admin::client::backends(
                &config,
                op.as_ref().unwrap_or(&BackendsOp::List { pool: None }),
            )
            .map_err(|e| GatewayError::Admin(e.to_string()))
        }
        Some(GatewayAction::Status { json }) => {
            let config = crate::run::load_config(&args.options())?;
            crate::admin::client::status(&config, *json)
                .map_err(|e| GatewayError::Admin(e.to_string()))
        }
    }
}

/// Arguments of `nodeward keys`.
#[derive(Debug, Args)]
#[command(
    long_about = "Create API keys for the gateway's [[route.key]] tables.\n\n\
The config stores only a salted SHA-256 hash of each key. `nodeward keys generate` prints a \
new random key; `nodeward keys hash` reads a key from standard input (never from the command \
line, where other users could read it in the process list) and prints the line to paste:\n\n\
  nodeward keys generate | tee wallet.key | nodeward keys hash"
)]
pub struct KeysArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: KeysCommand,
}

/// `nodeward keys` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum KeysCommand {
    /// Read one API key from standard input and print `hash = "sha256:..."` for a [[route.key]] table.
    Hash,
    /// Print a new random API key (64 hex characters).
    Generate,
}

/// Errors of `nodeward keys`.
#[derive(Debug, thiserror::Error)]
pub enum KeysError {
    /// Reading standard input failed.
    #[error("reading the key from standard input: {0}")]
    Io(#[from] std::io::Error),
    /// The key is not usable.
    #[error("the key read from standard input is refused: {0}")]
    Key(#[from] crate::request::auth::KeyError),
    /// No randomness available.
    #[error("the system random generator failed: {0}")]
    Random(String),
}

/// Runs `nodeward keys`; returns the exit code.
pub fn run_keys(args: KeysArgs) -> Result<u8, KeysError> {
    use crate::request::auth::{KeyError, KeyHash, MAX_KEY_LEN};
    use std::io::Read;
    match args.command {
        KeysCommand::Generate => {
            let mut bytes = [0u8; 32];
            getrandom::fill(&mut bytes).map_err(|e| KeysError::Random(e.to_string()))?;
            let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
            println!("{hex}");
            Ok(0)
        }
        KeysCommand::Hash => {
            // Read at most a little more than the longest key: an absurd
            // input is refused without being held in memory.
            let mut buf = Vec::new();
            std::io::stdin()
                .lock()
                .take(MAX_KEY_LEN as u64 + 3)
                .read_to_end(&mut buf)?;
            if buf.ends_with(b"\n") {
                buf.pop();
                if buf.ends_with(b"\r") {
                    buf.pop();
                }
            }
            if buf.len() > MAX_KEY_LEN {
                return Err(KeyError::Length.into());
            }
            let hash = KeyHash::new(&buf)?;
            println!("hash = \"{hash}\"");
            Ok(0)
        }
    }
}
