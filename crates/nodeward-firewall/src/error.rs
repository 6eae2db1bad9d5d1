//! The one error type of the firewall and ban commands.

use nodeward_config::ConfigError;
use std::path::PathBuf;

/// Everything that can stop a firewall or ban command.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The config file could not be read or has a bad value (names file:line or key).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The policy is valid TOML but not a safe firewall (names the key).
    #[error("{0}")]
    Policy(String),
    /// The action was refused to protect the operator (e.g. it would cut the SSH session).
    #[error("refused: {0}")]
    Refused(String),
    /// The `nft` tool is missing or failed.
    #[error("nft {args}: {message}")]
    Nft {
        /// The arguments given to nft.
        args: String,
        /// What nft said (or why it could not run).
        message: String,
    },
    /// A file or directory could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A state file exists but is not what nodeward wrote.
    #[error("{path}: corrupt state file: {message}")]
    State {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The confirmed ruleset could not be saved for boot (what is loaded stays loaded).
    #[error("{0}")]
    Persist(String),
    /// A command-line argument is not acceptable.
    #[error("{0}")]
    Usage(String),
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Result with [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
