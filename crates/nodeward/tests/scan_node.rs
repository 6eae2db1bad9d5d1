//! `nodeward scan --only node`: sensitive node API commands against small
//! test servers that either answer them (exposed) or refuse them.

mod common_scan;

use common_scan::*;
use std::time::Duration;

fn scan_node(kind: &str, port: u16, path: &str) -> (i32, serde_json::Value) {
    let url = format!("http://127.0.0.1:{port}{path}");
    run_json(
        &[
            "scan",
            &url,
            "--only",
            "node",
            "--node",
            kind,
            "--format",
            "json",
            "--timeout",
            "2s",
        ],
        Duration::from_secs(30),
    )
}

#[test]
fn iri_that_answers_add_neighbors_is_exposed() {
    let ok = http_response(
        "200 OK",
        &[("Content-Type", "application/json")],
        r#"{"addedNeighbors":0,"duration":1}"#,
    );
    let server = RawServer::start(Behaviour::Respond(ok));
    let (code, r) = scan_node("iri", server.port, "/");
    let f = finding(&r, "NODE-001");
    assert_eq!(f["status"], "fail", "{r:#}");
    let exposed: Vec<&str> = r["parts"]["node"]["exposed"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    for cmd in [
        "addNeighbors",
        "removeNeighbors",
        "getNeighbors",
        "attachToTangle",
    ] {
        assert!(
            exposed.iter().any(|e| e.starts_with(cmd)),
            "{cmd} not in {exposed:?}"
        );
    }
    assert_eq!(code, 1);
}

#[test]
fn iri_behind_remote_limit_api_refuses_and_version_is_reachable() {
    let refused = http_response(
        "401 Unauthorized",
        &[],
        r#"{"error":"COMMAND addNeighbors is not available on this node","duration":0}"#,
    );
    let version = http_response("200 OK", &[], "1.8.6");
    let server = RawServer::start(Behaviour::Route(
        vec![("GET /version ".into(), version)],
        refused,
    ));
    let (code, r) = scan_node("iri", server.port, "/");
    assert_eq!(finding(&r, "NODE-001")["status"], "pass", "{r:#}");
    assert_eq!(finding(&r, "NODE-002")["status"], "pass");
    assert_eq!(r["parts"]["node"]["refused"].as_array().unwrap().len(), 5);
    assert_eq!(code, 0);
}

#[test]
fn jsonrpc_admin_methods_exposed_or_refused() {
    let exposed = http_response("200 OK", &[], r#"{"jsonrpc":"2.0","id":1,"result":[]}"#);
    let server = RawServer::start(Behaviour::Respond(exposed));
    let (_, r) = scan_node("jsonrpc", server.port, "/");
    assert_eq!(finding(&r, "NODE-001")["status"], "fail");
    assert!(r["parts"]["node"]["exposed"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e.as_str().unwrap().starts_with("admin_peers")));

    let refused = http_response(
        "200 OK",
        &[],
        r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32601,"message":"the method admin_peers does not exist/is not available"}}"#,
    );
    let server = RawServer::start(Behaviour::Respond(refused));
    let (_, r) = scan_node("jsonrpc", server.port, "/");
    assert_eq!(finding(&r, "NODE-001")["status"], "pass", "{r:#}");
}

#[test]
fn ilp_admin_endpoints() {
    let open = http_response("200 OK", &[], "[]");
    let server = RawServer::start(Behaviour::Respond(open));
    let (_, r) = scan_node("ilp", server.port, "/");
    assert_eq!(finding(&r, "NODE-001")["status"], "fail");
    let closed = http_response("401 Unauthorized", &[], "");
    let server = RawServer::start(Behaviour::Respond(closed));
    let (_, r) = scan_node("ilp", server.port, "/");
    assert_eq!(finding(&r, "NODE-001")["status"], "pass");
}

#[test]
fn unreachable_node_is_an_error_not_a_pass() {
    let (code, r) = scan_node("iri", free_port(), "/");
    assert_eq!(finding(&r, "NODE-001")["status"], "error", "{r:#}");
    assert_eq!(code, 0);
}
