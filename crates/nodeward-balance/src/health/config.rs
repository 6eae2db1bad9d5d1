//! Health-check settings of a pool, per check kind.

use regex::Regex;
use std::path::PathBuf;
use std::time::Duration;

/// `[upstream.health]`, checked.
#[derive(Debug, Clone)]
pub struct HealthConfig {
    /// What a check asks.
    pub kind: CheckKind,
    /// Time between check rounds.
    pub interval: Duration,
    /// Deadline of one check.
    pub timeout: Duration,
    /// Passes in a row that bring a critical backend back.
    pub rise: u32,
    /// Failures in a row that take a serving backend out.
    pub fall: u32,
    /// New backends serve before their first check passes.
    pub start_healthy: bool,
    /// Weight factor of a backend whose check warns (0-1).
    pub warn_weight: f64,
    /// Largest share of the pool one reason may take out (0-1).
    pub max_ejected_share: f64,
    /// The pool counts as stalled when its head has not moved for this long.
    pub stall_after: Duration,
    /// Nodes that must report a head at least this high for it to count as
    /// the pool's head (default: half of the nodes that answered, rounded up).
    pub quorum: Option<usize>,
}

/// What the check asks, by kind.
#[derive(Debug, Clone)]
pub enum CheckKind {
    /// IRI/Hornet `getNodeInfo`.
    Iri(IriCheck),
    /// Ethereum-style JSON-RPC (`eth_syncing`, `eth_blockNumber`, `net_peerCount`).
    Jsonrpc(JsonRpcCheck),
    /// An HTTP request with an expected status and body.
    Http(HttpCheck),
    /// A TCP connect.
    Tcp,
    /// A program (Consul/Nagios script check: exit 0 pass, 1 warn, other critical).
    Exec(ExecCheck),
}

impl CheckKind {
    /// The kind's name in the config and `/status`.
    pub fn name(&self) -> &'static str {
        match self {
            CheckKind::Iri(_) => "iri",
            CheckKind::Jsonrpc(_) => "jsonrpc",
            CheckKind::Http(_) => "http",
            CheckKind::Tcp => "tcp",
            CheckKind::Exec(_) => "exec",
        }
    }

    /// The lag thresholds (critical, warn) and how far ahead of the pool a
    /// node may claim to be, for the kinds that report a chain head.
    pub fn lag_limits(&self) -> Option<(u64, Option<u64>, u64)> {
        match self {
            CheckKind::Iri(c) => Some((c.max_lag, c.warn_lag, c.max_ahead)),
            CheckKind::Jsonrpc(c) => Some((c.max_lag, c.warn_lag, c.max_ahead)),
            _ => None,
        }
    }
}

/// `kind = "iri"`.
#[derive(Debug, Clone)]
pub struct IriCheck {
    /// Largest lag in milestones (own latest - solid, or pool head - solid).
    pub max_lag: u64,
    /// Lag above which the node only warns.
    pub warn_lag: Option<u64>,
    /// How far above the pool's head a node may claim to be.
    pub max_ahead: u64,
    /// Fewest neighbours.
    pub min_peers: u64,
    /// Oldest `appVersion`.
    pub min_version: Option<String>,
    /// Commands the node itself must refuse when asked directly.
    pub restricted: Vec<String>,
}

/// `kind = "jsonrpc"`.
#[derive(Debug, Clone)]
pub struct JsonRpcCheck {
    /// Largest lag in blocks behind the pool's head.
    pub max_lag: u64,
    /// Lag above which the node only warns.
    pub warn_lag: Option<u64>,
    /// How far above the pool's head a node may claim to be.
    pub max_ahead: u64,
    /// Fewest peers (`net_peerCount`), when the node answers it.
    pub min_peers: u64,
}

/// `kind = "http"`.
#[derive(Debug, Clone)]
pub struct HttpCheck {
    /// Path asked (`/version`).
    pub path: String,
    /// Statuses that pass.
    pub expect_status: Vec<u16>,
    /// A regex the body must match.
    pub body: Option<Regex>,
}

/// `kind = "exec"`.
#[derive(Debug, Clone)]
pub struct ExecCheck {
    /// The program (absolute path).
    pub program: PathBuf,
    /// Its arguments; `{address}`, `{host}`, `{port}` and `{id}` are replaced per backend.
    pub args: Vec<String>,
    /// Most output kept.
    pub max_output: usize,
}
