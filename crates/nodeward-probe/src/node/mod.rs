//! Node health probes — IRI `getNodeInfo`, the IRI "API is limited" test,
//! JSON-RPC sync state and the Interledger connector's accounts — shared by `nodeward check node` and the gateway's
//! health checks, so both judge a node the same way.
//!
//! Every probe is one or a few bounded HTTP requests (see [`NodeTarget::limits`]);
//! whatever the node answers ends as a value or a [`NodeError`], never a panic.

mod ilp;
mod iri;
mod jsonrpc;
mod version;

#[cfg(test)]
mod test_server;

pub use ilp::{connector_status, ConnectorStatus, IlpAccount, IlpBalance};
pub use iri::{node_info, unrestricted_commands, NodeInfo};
pub use jsonrpc::{block_number, chain_status, head_block, BlockId, ChainStatus, SyncProgress};
pub use version::version_at_least;

use crate::http::{self, Request, Response};
use crate::ProbeError;
use serde_json::Value;
use std::sync::Arc;

/// Why a node probe failed.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// No answer: connect, TLS, timeout or I/O failed (the message names the step).
    #[error(transparent)]
    Unreachable(#[from] ProbeError),
    /// The node answered with a non-2xx status.
    #[error("answered HTTP {0}")]
    Status(u16),
    /// A 2xx answer that is not the JSON the API promises; says what was
    /// missing or invalid and never echoes more than ~100 bytes of the body.
    #[error("invalid answer: {0}")]
    Invalid(String),
}

/// How every [`NodeError::Invalid`] for an answer that is not JSON at all begins.
const NOT_JSON: &str = "invalid JSON: ";

impl NodeError {
    /// True when a 2xx answer was not JSON at all (garbage, or cut at the body
    /// limit), false for JSON that lacks what the API promises and for the
    /// other variants. `check node` reports the first as CRITICAL (the node is
    /// broken) and the second as UNKNOWN (probably not this kind of API).
    pub fn is_not_json(&self) -> bool {
        matches!(self, NodeError::Invalid(m) if m.starts_with(NOT_JSON))
    }
}

/// One endpoint to probe.
#[derive(Debug, Clone)]
pub struct NodeTarget {
    /// The API URL (requests are POSTed to it).
    pub url: http::Url,
    /// TLS config for https URLs (None: system roots, verified).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Deadline and size caps for each request.
    pub limits: http::Limits,
}

/// POSTs `body` (JSON) to the target; any answer, whatever its status.
async fn post(target: &NodeTarget, body: &str) -> Result<Response, NodeError> {
    let req = Request::post_json(target.url.clone(), body);
    Ok(http::fetch(&req, target.tls.clone(), &target.limits).await?)
}

/// POSTs `body` and parses a 2xx answer as JSON.
async fn post_json(target: &NodeTarget, body: &str) -> Result<Value, NodeError> {
    let resp = post(target, body).await?;
    if !(200..300).contains(&resp.status) {
        return Err(NodeError::Status(resp.status));
    }
    parse_json(&resp, target.limits.max_body_bytes)
}

/// The body of a 2xx answer as JSON.
fn parse_json(resp: &Response, limit: usize) -> Result<Value, NodeError> {
    if resp.body_truncated {
        return Err(NodeError::Invalid(format!(
            "{NOT_JSON}the answer is larger than {limit} bytes"
        )));
    }
    serde_json::from_slice(&resp.body).map_err(|e| NodeError::Invalid(format!("{NOT_JSON}{e}")))
}

/// At most about 100 bytes of a string that came from the network, on one
/// line (control characters become spaces), `…` marking a cut.
fn clip(s: &str) -> String {
    const MAX: usize = 100;
    let mut end = s.len().min(MAX);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let mut out: String = s[..end]
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if end < s.len() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_bounds_and_flattens() {
        assert_eq!(clip("1.8.6"), "1.8.6");
        assert_eq!(clip("a\nb\tc"), "a b c");
        let long = "é".repeat(200);
        let c = clip(&long);
        assert!(c.len() <= 100 + '…'.len_utf8(), "{}", c.len());
        assert!(c.ends_with('…'));
    }

    #[test]
    fn not_json_is_told_apart() {
        assert!(NodeError::Invalid(format!("{NOT_JSON}x")).is_not_json());
        assert!(!NodeError::Invalid("getNodeInfo lacks x".into()).is_not_json());
        assert!(!NodeError::Status(500).is_not_json());
    }
}
