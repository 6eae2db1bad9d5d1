//! The errors of `nodeward fim` (all exit 2): each names the file and what was wrong.

use std::path::PathBuf;

/// Why a fim command could not do its work.
#[derive(Debug, thiserror::Error)]
pub enum FimError {
    /// Bad configuration file.
    #[error(transparent)]
    Config(#[from] nodeward_config::ConfigError),
    /// No baseline yet.
    #[error("no baseline at {0}: run `nodeward fim init` first")]
    NoBaseline(PathBuf),
    /// The baseline file is not one nodeward wrote, or is cut short.
    #[error("baseline {path} is damaged: {reason}")]
    Damaged {
        /// Which file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// The baseline's seal does not match: it was changed, or the key is not the one it was sealed with.
    #[error("baseline {path} fails its HMAC check with key {key}: it was modified after it was written, or the key is not the one it was sealed with; do not trust it (re-create it with `nodeward fim init` after checking the host)")]
    Tampered {
        /// Which file.
        path: PathBuf,
        /// Which key file.
        key: PathBuf,
    },
    /// Written by a newer nodeward.
    #[error("baseline {path} has format version {found}; this nodeward reads up to version {supported} (upgrade nodeward)")]
    NewerFormat {
        /// Which file.
        path: PathBuf,
        /// Version in the file.
        found: u32,
        /// Highest version understood.
        supported: u32,
    },
    /// The HMAC key file is missing, unreadable or malformed.
    #[error("HMAC key {path}: {reason}")]
    Key {
        /// Which file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// Which file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The path given to `fim show` is not in the baseline.
    #[error("{0} is not in the baseline")]
    NotInBaseline(String),
    /// Bad command-line input.
    #[error("{0}")]
    Usage(String),
}

impl FimError {
    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        FimError::Io {
            path: path.into(),
            source,
        }
    }
}
