//! `check node`: IRI getNodeInfo (milestone lag, neighbours, version),
//! JSON-RPC (syncing, block lag against a reference node, peers) or an
//! Interledger connector's admin API (accounts connected, balances; see
//! `node_ilp.rs`).

use crate::nagios::{PerfData, PluginOutput, State};
use nodeward_probe::http::{self, Url};
use nodeward_probe::node::{self, NodeError, NodeTarget, SyncProgress};
use nodeward_probe::tls::{self, Roots};
use std::sync::Arc;

/// Node API kind for `check node`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// IOTA IRI getNodeInfo.
    Iri,
    /// Ethereum-style JSON-RPC.
    Jsonrpc,
    /// Interledger connector admin API (GET /accounts and /balance).
    Ilp,
}

/// Arguments of `check node`.
#[derive(Debug, clap::Args)]
pub struct NodeCheck {
    /// API kind.
    #[arg(long, value_enum)]
    pub kind: Kind,
    /// API URL.
    #[arg(long, short = 'u')]
    pub url: String,
    /// WARNING range for the lag (milestones or blocks behind).
    #[arg(
        short = 'w',
        long = "warning",
        allow_hyphen_values = true,
        default_value = "1"
    )]
    pub warning: String,
    /// CRITICAL range for the lag.
    #[arg(
        short = 'c',
        long = "critical",
        allow_hyphen_values = true,
        default_value = "5"
    )]
    pub critical: String,
    /// CRITICAL when fewer neighbours/peers (ILP: connected accounts).
    #[arg(long, default_value_t = 1)]
    pub min_peers: u64,
    /// ILP: WARNING range for each account's balance (e.g. `-500:500`).
    #[arg(long, allow_hyphen_values = true)]
    pub balance_warn: Option<String>,
    /// ILP: CRITICAL range for each account's balance (e.g. `-900:900`).
    #[arg(long, allow_hyphen_values = true)]
    pub balance_crit: Option<String>,
    /// ILP: leave this account out of the connection and balance verdicts (repeatable).
    #[arg(long = "ignore-account")]
    pub ignore_accounts: Vec<String>,
    /// IRI: CRITICAL when appVersion is older (dotted numbers).
    #[arg(long)]
    pub min_version: Option<String>,
    /// JSON-RPC: a reference node whose eth_blockNumber gives the lag.
    #[arg(long)]
    pub reference: Option<String>,
    /// Trust these CA certificates (PEM) for https URLs instead of the system roots.
    #[arg(long)]
    pub ca: Option<std::path::PathBuf>,
    /// Deadline per request.
    #[arg(long, short = 't', default_value = "10s")]
    pub timeout: String,
}

/// The summary for a probe of `url` that failed, and whether the node is to
/// blame (CRITICAL: no answer, an error status, an answer that is not JSON) or
/// the answer just lacks what this check reads (UNKNOWN).
fn failure(url: &Url, e: &NodeError) -> (State, String) {
    match e {
        NodeError::Unreachable(e) => (State::Critical, e.to_string()),
        NodeError::Status(s) => (State::Critical, format!("{url} answered {s}")),
        NodeError::Invalid(m) if e.is_not_json() => (State::Critical, format!("{url}: {m}")),
        NodeError::Invalid(m) => (State::Unknown, m.clone()),
    }
}

/// Runs the check.
pub async fn run(c: NodeCheck) -> PluginOutput {
    const S: &str = "NODE";
    let (w, cr) = match super::ranges(Some(&c.warning), Some(&c.critical)) {
        Ok(r) => r,
        Err(e) => return PluginOutput::unknown(S, e),
    };
    let (bw, bc) = match super::ranges(c.balance_warn.as_deref(), c.balance_crit.as_deref()) {
        Ok(r) => r,
        Err(e) => return PluginOutput::unknown(S, format!("balance range: {e}")),
    };
    let timeout = match super::timeout(&c.timeout) {
        Ok(t) => t,
        Err(e) => return PluginOutput::unknown(S, e),
    };
    let url = match Url::parse(&c.url) {
        Ok(u) => u,
        Err(e) => return PluginOutput::unknown(S, e.to_string()),
    };
    let failed = |url: &Url, e: &NodeError| {
        let (state, summary) = failure(url, e);
        PluginOutput {
            service: S,
            state,
            summary,
            perf: vec![],
        }
    };
    // Without --ca the probes verify against the system roots themselves.
    let tls = match &c.ca {
        None => None,
        Some(ca) => match tls::client_config(&Roots::File(ca.clone()), true, None) {
            Ok(cfg) => Some(Arc::new(cfg)),
            Err(e) => {
                return PluginOutput {
                    service: S,
                    state: State::Critical,
                    summary: e.to_string(),
                    perf: vec![],
                }
            }
        },
    };
    let limits = http::Limits {
        deadline: timeout,
        max_body_bytes: 256 * 1024,
        ..Default::default()
    };
    let target = NodeTarget {
        url: url.clone(),
        tls,
        limits,
    };
    match c.kind {
        Kind::Ilp => {
            let o = super::node_ilp::IlpOptions {
                min_connected: c.min_peers,
                balance_warn: bw.as_ref(),
                balance_crit: bc.as_ref(),
                ignore: &c.ignore_accounts,
            };
            match super::node_ilp::run(&target, &o).await {
                Ok(out) => out,
                Err(e) => failed(&url, &e),
            }
        }
        Kind::Iri => {
            let info = match node::node_info(&target).await {
                Ok(i) => i,
                Err(e) => return failed(&url, &e),
            };
            let neighbors = info.neighbors.unwrap_or(0);
            let version = info.app_version.as_deref().unwrap_or("?");
            let (lag, solid, latest) = (info.lag(), info.solid_milestone, info.latest_milestone);
            let mut state = State::from_thresholds(lag as f64, w.as_ref(), cr.as_ref());
            let mut notes = vec![format!(
                "milestone lag {lag} ({solid}/{latest}), {neighbors} neighbours, version {version}"
            )];
            if neighbors < c.min_peers {
                state = State::Critical;
                notes.push(format!("fewer than {} neighbours", c.min_peers));
            }
            if let Some(min) = &c.min_version {
                if !node::version_at_least(version, min) {
                    state = State::Critical;
                    notes.push(format!("version {version} older than {min}"));
                }
            }
            PluginOutput {
                service: S,
                state,
                summary: notes.join("; "),
                perf: vec![
                    PerfData::new("milestone_lag", lag as f64, "")
                        .thresholds(w.as_ref(), cr.as_ref())
                        .bounds(Some(0.0), None),
                    PerfData::new("neighbors", neighbors as f64, "").bounds(Some(0.0), None),
                ],
            }
        }
        Kind::Jsonrpc => {
            let status = match node::chain_status(&target).await {
                Ok(s) => s,
                Err(e) => return failed(&url, &e),
            };
            let block = status.head;
            let mut lag = match status.syncing {
                Some(SyncProgress {
                    current: Some(cur),
                    highest: Some(high),
                }) => high.saturating_sub(cur),
                _ => 0,
            };
            if let Some(r) = &c.reference {
                let Ok(ru) = Url::parse(r) else {
                    return PluginOutput::unknown(S, format!("invalid --reference {r:?}"));
                };
                let reference = NodeTarget {
                    url: ru.clone(),
                    ..target.clone()
                };
                match node::block_number(&reference).await {
                    Ok(rb) => lag = lag.max(rb.saturating_sub(block)),
                    Err(e) => {
                        let (_, why) = failure(&ru, &e);
                        return PluginOutput::unknown(S, format!("reference: {why}"));
                    }
                }
            }
            let mut state = State::from_thresholds(lag as f64, w.as_ref(), cr.as_ref());
            let mut notes = vec![format!(
                "block {block}, lag {lag}, syncing {}",
                status.syncing.is_some()
            )];
            if let Some(p) = status.peers {
                notes.push(format!("{p} peers"));
                if p < c.min_peers {
                    state = State::Critical;
                    notes.push(format!("fewer than {} peers", c.min_peers));
                }
            }
            let mut perf = vec![PerfData::new("block_lag", lag as f64, "")
                .thresholds(w.as_ref(), cr.as_ref())
                .bounds(Some(0.0), None)];
            if let Some(p) = status.peers {
                perf.push(PerfData::new("peers", p as f64, "").bounds(Some(0.0), None));
            }
            PluginOutput {
                service: S,
                state,
                summary: notes.join(", "),
                perf,
            }
        }
    }
}
