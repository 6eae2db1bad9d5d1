//! The one error type of every probe.

use std::time::Duration;

/// Why a probe could not produce a result.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The host name did not resolve.
    #[error("cannot resolve {host}: {reason}")]
    Resolve {
        /// The name that was looked up.
        host: String,
        /// What the resolver said.
        reason: String,
    },
    /// A step did not finish within its deadline.
    #[error("{what} timed out after {}", fmt_duration(*.after))]
    Timeout {
        /// The step that timed out (`connect to 127.0.0.1:443`, `TLS handshake`).
        what: String,
        /// The deadline that passed.
        after: Duration,
    },
    /// The TCP connection failed.
    #[error("connect to {addr}: {source}")]
    Connect {
        /// The address dialled.
        addr: String,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// Reading or writing an established connection failed.
    #[error("{what}: {source}")]
    Io {
        /// The step that failed.
        what: String,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// The peer sent something that is not the protocol it should speak.
    #[error("{0}")]
    Protocol(String),
    /// The TLS library refused the handshake.
    #[error("TLS: {0}")]
    Tls(String),
    /// The probe was given an argument it cannot use.
    #[error("{0}")]
    Invalid(String),
}

impl ProbeError {
    /// Shorthand for a [`ProbeError::Timeout`].
    pub fn timeout(what: impl Into<String>, after: Duration) -> Self {
        ProbeError::Timeout {
            what: what.into(),
            after,
        }
    }

    /// Shorthand for a [`ProbeError::Io`].
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Self {
        ProbeError::Io {
            what: what.into(),
            source,
        }
    }
}

fn fmt_duration(d: Duration) -> String {
    if d.subsec_millis() == 0 {
        format!("{}s", d.as_secs())
    } else {
        format!("{}ms", d.as_millis())
    }
}
