//! `nodeward check node` against fake IRI and JSON-RPC nodes on 127.0.0.1.

mod common_scan;

use common_scan::*;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(20);

fn iri(latest: u64, solid: u64, neighbors: u64, version: &str) -> RawServer {
    let body = format!(
        r#"{{"appName":"IRI","appVersion":"{version}","latestMilestoneIndex":{latest},"latestSolidSubtangleMilestoneIndex":{solid},"neighbors":{neighbors}}}"#
    );
    RawServer::start(Behaviour::Respond(http_response(
        "200 OK",
        &[("Content-Type", "application/json")],
        &body,
    )))
}

#[test]
fn iri_lag_neighbours_and_version() {
    let s = iri(1000, 1000, 4, "1.8.6");
    let url = format!("http://127.0.0.1:{}/", s.port);
    let (code, line) = check(
        &[
            "node",
            "--kind",
            "iri",
            "--url",
            &url,
            "-w",
            "1",
            "-c",
            "5",
            "--min-peers",
            "2",
            "--min-version",
            "1.8.0",
        ],
        LIMIT,
    );
    assert_eq!(code, 0, "{line}");
    assert!(
        line.contains("| milestone_lag=0;1;5;0 neighbors=4;;;0"),
        "{line}"
    );
    let s = iri(1010, 1007, 4, "1.8.6");
    let url = format!("http://127.0.0.1:{}/", s.port);
    let (code, line) = check(
        &["node", "--kind", "iri", "--url", &url, "-w", "1", "-c", "5"],
        LIMIT,
    );
    assert_eq!(code, 1, "{line}");
    let s = iri(1000, 1000, 0, "1.5.0");
    let url = format!("http://127.0.0.1:{}/", s.port);
    let (code, line) = check(
        &[
            "node",
            "--kind",
            "iri",
            "--url",
            &url,
            "--min-peers",
            "1",
            "--min-version",
            "1.8.0",
        ],
        LIMIT,
    );
    assert_eq!(code, 2, "{line}");
    assert!(
        line.contains("fewer than 1 neighbours") && line.contains("older than 1.8.0"),
        "{line}"
    );
}

fn rpc_server(block: &str, syncing: &str, peers: &str) -> RawServer {
    let r = |v: &str| {
        http_response(
            "200 OK",
            &[],
            &format!(r#"{{"jsonrpc":"2.0","id":1,"result":{v}}}"#),
        )
    };
    RawServer::start(Behaviour::Route(
        vec![
            ("eth_syncing".into(), r(syncing)),
            ("eth_blockNumber".into(), r(block)),
            ("net_peerCount".into(), r(peers)),
        ],
        http_response("400 Bad Request", &[], ""),
    ))
}

#[test]
fn jsonrpc_lag_against_a_reference() {
    let node = rpc_server("\"0x64\"", "false", "\"0x5\"");
    let reference = rpc_server("\"0x6e\"", "false", "\"0x9\"");
    let url = format!("http://127.0.0.1:{}/", node.port);
    let refu = format!("http://127.0.0.1:{}/", reference.port);
    // 110 - 100 = 10 blocks behind.
    let (code, line) = check(
        &[
            "node",
            "--kind",
            "jsonrpc",
            "--url",
            &url,
            "--reference",
            &refu,
            "-w",
            "5",
            "-c",
            "20",
        ],
        LIMIT,
    );
    assert_eq!(code, 1, "{line}");
    assert!(line.contains("block_lag=10;5;20;0 peers=5;;;0"), "{line}");
    let (code, line) = check(
        &[
            "node",
            "--kind",
            "jsonrpc",
            "--url",
            &url,
            "--min-peers",
            "8",
        ],
        LIMIT,
    );
    assert_eq!(code, 2, "{line}");
}

#[test]
fn jsonrpc_syncing_object_gives_the_lag() {
    let node = rpc_server(
        "\"0x10\"",
        r#"{"currentBlock":"0x10","highestBlock":"0x20"}"#,
        "\"0x3\"",
    );
    let url = format!("http://127.0.0.1:{}/", node.port);
    let (code, line) = check(
        &[
            "node", "--kind", "jsonrpc", "--url", &url, "-w", "5", "-c", "10",
        ],
        LIMIT,
    );
    assert_eq!(code, 2, "{line}");
    assert!(line.contains("lag 16"), "{line}");
}

#[test]
fn broken_node_answers() {
    let s = RawServer::start(Behaviour::Respond(http_response("200 OK", &[], "not json")));
    let url = format!("http://127.0.0.1:{}/", s.port);
    let (code, line) = check(&["node", "--kind", "iri", "--url", &url], LIMIT);
    assert_eq!(code, 2, "{line}");
    assert!(line.contains("invalid JSON"), "{line}");
    let s = RawServer::start(Behaviour::Respond(http_response("200 OK", &[], "{}")));
    let url = format!("http://127.0.0.1:{}/", s.port);
    let (code, line) = check(&["node", "--kind", "iri", "--url", &url], LIMIT);
    assert_eq!(code, 3, "{line}");
}

#[test]
fn iri_over_https_with_a_private_ca() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = write(dir.path(), "ca.pem", &ca.pem());
    let body = r#"{"appName":"IRI","appVersion":"1.8.6","latestMilestoneIndex":50,"latestSolidSubtangleMilestoneIndex":49,"neighbors":3}"#;
    let server = TlsServer::start_with(
        &ca.leaf(&["localhost"], -1, 100),
        &[("Content-Type", "application/json")],
        body,
        Vec::new(),
        Vec::new(),
    );
    let url = format!("https://localhost:{}/", server.port);
    let ca_arg = ca_file.to_str().unwrap();
    let (code, line) = check(
        &[
            "node", "--kind", "iri", "--url", &url, "--ca", ca_arg, "-w", "2", "-c", "5",
        ],
        LIMIT,
    );
    assert_eq!(code, 0, "{line}");
    assert!(line.contains("milestone lag 1"), "{line}");
    // Without the CA the chain is not trusted: CRITICAL with the reason.
    let (code, line) = check(&["node", "--kind", "iri", "--url", &url], LIMIT);
    assert_eq!(code, 2, "{line}");
    assert!(line.contains("TLS"), "{line}");
}
