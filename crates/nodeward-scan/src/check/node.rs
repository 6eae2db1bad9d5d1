//! `check node`: IRI getNodeInfo (milestone lag, neighbours, version) or
//! JSON-RPC (syncing, block lag against a reference node, peers).

use crate::nagios::{PerfData, PluginOutput, State};
use nodeward_probe::http::{self, Request, Url};
use nodeward_probe::tls::{self, Roots};
use serde_json::Value;
use std::sync::Arc;

/// Node API kind for `check node`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    /// IOTA IRI getNodeInfo.
    Iri,
    /// Ethereum-style JSON-RPC.
    Jsonrpc,
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
    /// CRITICAL when fewer neighbours/peers.
    #[arg(long, default_value_t = 1)]
    pub min_peers: u64,
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

async fn call(
    url: &Url,
    body: &str,
    roots: &Roots,
    limits: &http::Limits,
) -> Result<Value, String> {
    let cfg = tls::client_config(roots, true, None).map_err(|e| e.to_string())?;
    let resp = http::fetch(
        &Request::post_json(url.clone(), body),
        Some(Arc::new(cfg)),
        limits,
    )
    .await
    .map_err(|e| e.to_string())?;
    if !(200..300).contains(&resp.status) {
        return Err(format!("{url} answered {}", resp.status));
    }
    serde_json::from_slice(&resp.body).map_err(|e| format!("{url}: invalid JSON: {e}"))
}

fn hex_or_num(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => u64::from_str_radix(s.trim_start_matches("0x"), 16).ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

/// Compares dotted versions numerically (`1.8.6` < `1.10.0`).
pub(crate) fn version_at_least(have: &str, min: &str) -> bool {
    let parse =
        |s: &str| -> Vec<u64> { s.split(['.', '-']).map_while(|p| p.parse().ok()).collect() };
    parse(have) >= parse(min)
}

/// Runs the check.
pub async fn run(c: NodeCheck) -> PluginOutput {
    const S: &str = "NODE";
    let (w, cr) = match super::ranges(Some(&c.warning), Some(&c.critical)) {
        Ok(r) => r,
        Err(e) => return PluginOutput::unknown(S, e),
    };
    let timeout = match super::timeout(&c.timeout) {
        Ok(t) => t,
        Err(e) => return PluginOutput::unknown(S, e),
    };
    let url = match Url::parse(&c.url) {
        Ok(u) => u,
        Err(e) => return PluginOutput::unknown(S, e.to_string()),
    };
    let roots = c.ca.clone().map(Roots::File).unwrap_or(Roots::System);
    let limits = http::Limits {
        deadline: timeout,
        max_body_bytes: 256 * 1024,
        ..Default::default()
    };
    let critical = |summary: String| PluginOutput {
        service: S,
        state: State::Critical,
        summary,
        perf: vec![],
    };
    match c.kind {
        Kind::Iri => {
            let info = match call(&url, r#"{"command":"getNodeInfo"}"#, &roots, &limits).await {
                Ok(v) => v,
                Err(e) => return critical(e),
            };
            let latest = info.get("latestMilestoneIndex").and_then(Value::as_u64);
            let solid = info
                .get("latestSolidSubtangleMilestoneIndex")
                .and_then(Value::as_u64);
            let (Some(latest), Some(solid)) = (latest, solid) else {
                return PluginOutput::unknown(
                    S,
                    "getNodeInfo lacks latestMilestoneIndex/latestSolidSubtangleMilestoneIndex",
                );
            };
            let neighbors = info.get("neighbors").and_then(Value::as_u64).unwrap_or(0);
            let version = info
                .get("appVersion")
                .and_then(Value::as_str)
                .unwrap_or("?")
                .to_string();
            let lag = latest.saturating_sub(solid);
            let mut state = State::from_thresholds(lag as f64, w.as_ref(), cr.as_ref());
            let mut notes = vec![format!(
                "milestone lag {lag} ({solid}/{latest}), {neighbors} neighbours, version {version}"
            )];
            if neighbors < c.min_peers {
                state = State::Critical;
                notes.push(format!("fewer than {} neighbours", c.min_peers));
            }
            if let Some(min) = &c.min_version {
                if !version_at_least(&version, min) {
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
            let rpc = |m: &str| format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{m}","params":[]}}"#);
            let syncing = match call(&url, &rpc("eth_syncing"), &roots, &limits).await {
                Ok(v) => v.get("result").cloned().unwrap_or(Value::Null),
                Err(e) => return critical(e),
            };
            let block = match call(&url, &rpc("eth_blockNumber"), &roots, &limits).await {
                Ok(v) => v.get("result").and_then(hex_or_num),
                Err(e) => return critical(e),
            };
            let Some(block) = block else {
                return PluginOutput::unknown(S, "eth_blockNumber gave no number");
            };
            let peers = call(&url, &rpc("net_peerCount"), &roots, &limits)
                .await
                .ok()
                .and_then(|v| v.get("result").and_then(hex_or_num));
            let mut lag = 0u64;
            if let Value::Object(o) = &syncing {
                if let (Some(cur), Some(high)) = (
                    o.get("currentBlock").and_then(hex_or_num),
                    o.get("highestBlock").and_then(hex_or_num),
                ) {
                    lag = high.saturating_sub(cur);
                }
            }
            if let Some(r) = &c.reference {
                let Ok(ru) = Url::parse(r) else {
                    return PluginOutput::unknown(S, format!("invalid --reference {r:?}"));
                };
                match call(&ru, &rpc("eth_blockNumber"), &roots, &limits)
                    .await
                    .map(|v| v.get("result").and_then(hex_or_num))
                {
                    Ok(Some(rb)) => lag = lag.max(rb.saturating_sub(block)),
                    Ok(None) => return PluginOutput::unknown(S, "reference gave no block number"),
                    Err(e) => return PluginOutput::unknown(S, format!("reference: {e}")),
                }
            }
            let mut state = State::from_thresholds(lag as f64, w.as_ref(), cr.as_ref());
            let mut notes = vec![format!(
                "block {block}, lag {lag}, syncing {}",
                syncing != Value::Bool(false)
            )];
            if let Some(p) = peers {
                notes.push(format!("{p} peers"));
                if p < c.min_peers {
                    state = State::Critical;
                    notes.push(format!("fewer than {} peers", c.min_peers));
                }
            }
            let mut perf = vec![PerfData::new("block_lag", lag as f64, "")
                .thresholds(w.as_ref(), cr.as_ref())
                .bounds(Some(0.0), None)];
            if let Some(p) = peers {
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

#[cfg(test)]
mod tests {
    #[test]
    fn versions() {
        assert!(super::version_at_least("1.10.0", "1.8.6"));
        assert!(!super::version_at_least("1.8.5", "1.8.6"));
        assert!(super::version_at_least("1.8.6-RELEASE", "1.8.6"));
    }
}
