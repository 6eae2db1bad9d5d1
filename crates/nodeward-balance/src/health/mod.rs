//! Active health: what a check observed, how one check kind is run, how the
//! pool judges its members against each other, and the rise/fall state each
//! member carries.
//!
//! A check round asks every member at once ([`checker`]); each kind
//! ([`checks`]) turns an answer into an [`Observation`]; [`judge`] compares
//! the observations (chain heads by quorum, pool-wide conditions, the cap on
//! how much of a pool one reason may eject) and gives each member a
//! [`Level`]; [`HealthCell`] applies rise and fall.

pub mod checker;
pub mod checks;
mod config;
pub mod judge;
mod state;

pub use config::{CheckKind, ExecCheck, HealthConfig, HttpCheck, IriCheck, JsonRpcCheck};
pub use state::{Active, CheckReport, HealthCell};

use std::time::Duration;

/// How bad a check result is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    /// All good.
    Pass,
    /// Serving, at reduced weight.
    Warn,
    /// Out of rotation.
    Critical,
}

impl Level {
    /// The level's name.
    pub fn name(self) -> &'static str {
        match self {
            Level::Pass => "pass",
            Level::Warn => "warn",
            Level::Critical => "critical",
        }
    }
}

/// One reason a backend is not (fully) fit, with the value seen and the
/// threshold it crossed: every exclusion says why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exclusion {
    /// Stable code: `unreachable`, `invalid_answer`, `tls`, `lag`,
    /// `ahead_of_pool`, `syncing`, `peers`, `version`, `unrestricted`,
    /// `status`, `body`, `script`.
    pub reason: &'static str,
    /// What was seen.
    pub value: String,
    /// The limit it crossed.
    pub threshold: String,
    /// Critical (out) or only a warning (reduced weight).
    pub level: Level,
}

impl Exclusion {
    /// A critical exclusion.
    pub fn critical(
        reason: &'static str,
        value: impl Into<String>,
        threshold: impl Into<String>,
    ) -> Self {
        Exclusion {
            reason,
            value: value.into(),
            threshold: threshold.into(),
            level: Level::Critical,
        }
    }

    /// A warning.
    pub fn warn(
        reason: &'static str,
        value: impl Into<String>,
        threshold: impl Into<String>,
    ) -> Self {
        Exclusion {
            reason,
            value: value.into(),
            threshold: threshold.into(),
            level: Level::Warn,
        }
    }

    /// Whether the backend cannot serve at all (no judging keeps it in).
    pub fn is_hard(&self) -> bool {
        matches!(self.reason, "unreachable" | "invalid_answer" | "tls")
    }

    /// One line: `lag: 500 (limit 5)`.
    pub fn describe(&self) -> String {
        if self.threshold.is_empty() {
            format!("{}: {}", self.reason, self.value)
        } else {
            format!("{}: {} (limit {})", self.reason, self.value, self.threshold)
        }
    }
}

/// What one check of one backend saw.
#[derive(Debug, Clone, Default)]
pub struct Observation {
    /// The chain head the node reports (JSON-RPC block number, IRI latest milestone).
    pub head: Option<u64>,
    /// How far the node has actually synced (IRI solid milestone; JSON-RPC: the head).
    pub synced: Option<u64>,
    /// The node's newest block with its hash (JSON-RPC nodes that answer
    /// `eth_getBlockByNumber("latest")`), for the pool's chain tracker.
    pub block: Option<nodeward_probe::node::BlockId>,
    /// Problems found by looking at this node alone.
    pub findings: Vec<Exclusion>,
    /// What the check saw, one short line.
    pub output: String,
    /// How long the check took.
    pub elapsed: Duration,
}

impl Observation {
    /// An observation of a node that could not be asked at all.
    pub fn failed(reason: &'static str, output: String, elapsed: Duration) -> Observation {
        Observation {
            findings: vec![Exclusion::critical(reason, crate::shorten(&output), "")],
            output,
            elapsed,
            ..Default::default()
        }
    }

    /// Whether the node answered (even if badly).
    pub fn reached(&self) -> bool {
        !self.findings.iter().any(Exclusion::is_hard)
    }
}
