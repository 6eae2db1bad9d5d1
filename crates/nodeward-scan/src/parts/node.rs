//! The node part: send the sensitive commands of a node API in harmless forms
//! and report which the endpoint answers instead of refusing.

use super::{finding, PartOutcome};
use nodeward_probe::http::{self, Request, Response, Url};
use nodeward_probe::tls::{self, Roots};
use nodeward_report::{Severity, Status};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const AREA: &str = "node";

/// The kind of node API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum NodeKind {
    /// IOTA IRI / Hornet legacy API (`{"command": ...}`).
    Iri,
    /// Ethereum-style JSON-RPC (`{"jsonrpc":"2.0","method":...}`).
    Jsonrpc,
    /// Interledger connector admin API.
    Ilp,
}

/// One probe: a label, the method, the path and body.
struct Probe {
    label: &'static str,
    method: &'static str,
    path: &'static str,
    body: String,
}

fn probes(kind: NodeKind) -> Vec<Probe> {
    let iri = |label, body: &str| Probe {
        label,
        method: "POST",
        path: "",
        body: body.to_string(),
    };
    let rpc = |method: &'static str, params: &str| Probe {
        label: method,
        method: "POST",
        path: "",
        body: format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":{params}}}"#),
    };
    let get = |path: &'static str| Probe {
        label: path,
        method: "GET",
        path,
        body: String::new(),
    };
    match kind {
        NodeKind::Iri => vec![
            iri("addNeighbors", r#"{"command":"addNeighbors","uris":[]}"#),
            iri(
                "removeNeighbors",
                r#"{"command":"removeNeighbors","uris":[]}"#,
            ),
            iri("getNeighbors", r#"{"command":"getNeighbors"}"#),
            iri(
                "attachToTangle",
                r#"{"command":"attachToTangle","trunkTransaction":"","branchTransaction":"","minWeightMagnitude":1,"trytes":[]}"#,
            ),
            iri(
                "interruptAttachingToTangle",
                r#"{"command":"interruptAttachingToTangle"}"#,
            ),
        ],
        NodeKind::Jsonrpc => vec![
            rpc("admin_nodeInfo", "[]"),
            rpc("admin_peers", "[]"),
            rpc("personal_listAccounts", "[]"),
            rpc("personal_listWallets", "[]"),
            rpc("debug_getBadBlocks", "[]"),
            rpc("txpool_status", "[]"),
            rpc("txpool_content", "[]"),
            rpc("miner_hashrate", "[]"),
            rpc("eth_accounts", "[]"),
        ],
        // ilp-connector 23's admin API (src/services/admin-api.ts), GET routes
        // only: none changes anything, and the API has no authentication.
        NodeKind::Ilp => vec![
            get("/accounts"),
            get("/balance"),
            get("/status"),
            get("/routing"),
            get("/stats"),
            get("/rates"),
            get("/alerts"),
            get("/metrics"),
        ],
    }
}

/// How a response reads: `true` when the endpoint refused the command.
fn refused(kind: NodeKind, resp: &Response) -> bool {
    if matches!(resp.status, 401 | 403 | 404 | 405 | 429) || resp.status >= 500 {
        return true;
    }
    let text = resp.text().to_ascii_lowercase();
    let words = [
        "not available on this node",
        "forbidden",
        "not allowed",
        "denied",
        "unauthorized",
        "not supported",
    ];
    if words.iter().any(|w| text.contains(w)) {
        return true;
    }
    match kind {
        NodeKind::Jsonrpc => serde_json::from_slice::<serde_json::Value>(&resp.body)
            .ok()
            .and_then(|v| v.get("result").cloned())
            .is_none(),
        NodeKind::Iri | NodeKind::Ilp => false,
    }
}

/// Probes `url` as a `kind` node.
pub async fn run(kind: NodeKind, url: &Url, roots: &Roots, timeout: Duration) -> PartOutcome {
    let lenient = tls::client_config(roots, false, None).ok().map(Arc::new);
    let limits = http::Limits {
        deadline: timeout,
        max_body_bytes: 64 * 1024,
        ..Default::default()
    };
    let mut exposed = Vec::new();
    let mut refused_list = Vec::new();
    let mut errors = Vec::new();
    for p in probes(kind) {
        let target = if p.path.is_empty() {
            url.clone()
        } else {
            url.join(p.path).unwrap_or_else(|_| url.clone())
        };
        let req = if p.method == "POST" {
            Request::post_json(target, &p.body)
        } else {
            Request::get(target)
        };
        match http::fetch(&req, lenient.clone(), &limits).await {
            Ok(resp) if refused(kind, &resp) => {
                refused_list.push(format!("{} ({})", p.label, resp.status))
            }
            Ok(resp) => exposed.push(format!("{} ({})", p.label, resp.status)),
            Err(e) => errors.push(format!("{}: {e}", p.label)),
        }
    }
    let version_url = url.join("/version").unwrap_or_else(|_| url.clone());
    let version = http::fetch(&Request::get(version_url.clone()), lenient.clone(), &limits).await;
    let status = if !exposed.is_empty() {
        Status::Fail
    } else if refused_list.is_empty() {
        Status::Error
    } else {
        Status::Pass
    };
    let mut findings = vec![finding(
        "NODE-001", AREA, "Sensitive node commands refused", Severity::Critical, status,
        format!("answered: [{}]; refused: [{}]{}", exposed.join(", "), refused_list.join(", "),
            if errors.is_empty() { String::new() } else { format!("; errors: [{}]", errors.join("; ")) }),
        "Put nodeward gateway (or the node's own remote-limit-api) in front of the API to refuse these commands.",
        "https://github.com/nuriel77/iri-playbook",
    )];
    let (vstatus, vevidence, vcode) = match &version {
        Ok(r) if (200..300).contains(&r.status) => (
            Status::Pass,
            format!("{version_url} answered {}", r.status),
            Some(r.status),
        ),
        Ok(r) => (
            Status::Warn,
            format!("{version_url} answered {}", r.status),
            Some(r.status),
        ),
        Err(e) => (Status::Warn, format!("{version_url}: {e}"), None),
    };
    findings.push(finding(
        "NODE-002",
        AREA,
        "/version endpoint reachable",
        Severity::Info,
        vstatus,
        vevidence,
        "Expose /version for monitoring (nodeward check http --url .../version).",
        "",
    ));
    let grade = match status {
        Status::Fail => "F",
        Status::Pass => "A",
        _ => "?",
    };
    PartOutcome {
        findings,
        json: json!({"grade": grade, "kind": format!("{kind:?}").to_lowercase(), "exposed": exposed, "refused": refused_list, "errors": errors, "version_status": vcode}),
    }
}
