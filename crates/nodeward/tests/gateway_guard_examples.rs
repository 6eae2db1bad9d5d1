//! The shipped examples: each passes `nodeward config check`, and run against
//! a real node (ports and state directory swapped for the test's; a fake
//! node that answers the examples' health checks) each refuses what it
//! promises to refuse, and nothing it refuses reaches the node.

mod common_gateway;
mod common_pool;

use common_gateway::*;
use common_pool::TestNode;
use std::process::Command;

fn example(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../../examples/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

#[test]
fn every_shipped_example_passes_config_check() {
    for name in ["iri.toml", "jsonrpc.toml", "ilp.toml"] {
        let path = format!("{}/../../examples/{name}", env!("CARGO_MANIFEST_DIR"));
        let out = Command::new(bin())
            .args(["config", "check", "--config", &path])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// The example with its addresses replaced by the test's placeholders.
fn as_template(text: &str, listen: &str, backend: &str) -> String {
    text.replace(listen, "127.0.0.1:{port}")
        .replace("127.0.0.1:9901", "127.0.0.1:{admin}")
        .replace(backend, "{backend}")
        .replace("/var/lib/nodeward", "{state}")
}

/// The commands a node was asked, with how often.
fn asked(node: &TestNode) -> serde_json::Map<String, serde_json::Value> {
    node.stats()["by_command"]
        .as_object()
        .cloned()
        .unwrap_or_default()
}

#[test]
fn the_jsonrpc_example_keeps_node_control_private() {
    let node = TestNode::start("geth");
    let gw = Gateway::start(
        &as_template(
            &example("jsonrpc.toml"),
            "127.0.0.1:8545",
            "http://127.0.0.1:18545",
        ),
        &node.url(),
    );
    let rpc = |body: &str| {
        curl(&[
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            body,
            &gw.url(),
        ])
    };
    let call = |m: &str| format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{m}","params":[]}}"#);
    let (status, body) = rpc(&call("eth_chainId"));
    assert_eq!(status, 200, "{body}");
    for m in [
        "admin_peers",
        "ADMIN_addPeer",
        "personal_unlockAccount",
        "debug_traceTransaction",
        "miner_start",
        "eth_sendTransaction",
        "eth_sign",
    ] {
        let (status, body) = rpc(&call(m));
        assert_eq!(status, 403, "{m}: {body}");
    }
    let escaped = r#"{"jsonrpc":"2.0","id":1,"method":"\u0061dmin_peers","params":[]}"#;
    assert_eq!(rpc(escaped).0, 403);
    // A batch is answered per call: the denied one gets its own error.
    let batch = format!("[{},{}]", call("eth_chainId"), call("admin_nodeInfo"));
    let (status, body) = rpc(&batch);
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert!(v[0].get("result").is_some(), "{body}");
    assert_eq!(v[1]["error"]["data"]["reason"], "denied_command", "{body}");
    // The node saw the allowed calls and its health checks, nothing denied.
    let seen = asked(&node);
    assert_eq!(
        seen.get("eth_chainId"),
        Some(&serde_json::json!(1)),
        "{seen:?}"
    );
    for m in seen.keys() {
        assert!(
            [
                "eth_chainId",
                "eth_syncing",
                "eth_blockNumber",
                "net_peerCount",
                // The health check's head block (hash and parent, for the
                // pool's chain tracker).
                "eth_getBlockByNumber"
            ]
            .contains(&m.as_str()),
            "{m} reached the node: {seen:?}"
        );
    }
}

#[test]
fn the_iri_example_keeps_neighbours_and_pow_private() {
    let node = TestNode::start("iri");
    let gw = Gateway::start(
        &as_template(
            &example("iri.toml"),
            "127.0.0.1:14265",
            "http://127.0.0.1:14266",
        ),
        &node.url(),
    );
    assert_eq!(post(&gw.url(), r#"{"command":"getBalances"}"#).0, 200);
    for c in [
        "addNeighbors",
        "removeNeighbors",
        "getNeighbors",
        "attachToTangle",
        "interruptAttachingToTangle",
    ] {
        assert_eq!(
            post(&gw.url(), &format!(r#"{{"command":"{c}"}}"#)).0,
            403,
            "{c}"
        );
    }
    // The node saw the one allowed call and its health checks, nothing denied.
    let seen = asked(&node);
    assert_eq!(
        seen.get("getBalances"),
        Some(&serde_json::json!(1)),
        "{seen:?}"
    );
    for c in seen.keys() {
        assert!(
            ["getBalances", "getNodeInfo"].contains(&c.as_str()),
            "{c} reached the node: {seen:?}"
        );
    }
}
