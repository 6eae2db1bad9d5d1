//! The shipped `examples/jsonrpc.toml` in front of a REAL Ethereum node
//! (ganache, installed by `scripts/test.sh`, see `scripts/evm-node.sh`):
//! `txpool_content` and `eth_accounts` (which would list the node's
//! accounts) are refused, alone and inside a batch, while `eth_blockNumber`
//! passes. Fails (never skips) if ganache is not installed.

mod common_evm;
mod common_gateway;
mod common_pool;

use common_evm::EvmNode;
use common_gateway::Gateway;
use common_pool::http;
use serde_json::Value;
use std::thread;
use std::time::{Duration, Instant};

fn example() -> String {
    std::fs::read_to_string(format!(
        "{}/../../examples/jsonrpc.toml",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

fn post(gw: &Gateway, body: &str) -> (u16, Value) {
    let r = http(gw.addr(), "POST", "/", body.as_bytes()).expect("gateway answers");
    (
        r.status,
        serde_json::from_slice(&r.body).unwrap_or(Value::Null),
    )
}

fn call(method: &str) -> String {
    format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":[]}}"#)
}

#[test]
fn the_jsonrpc_example_refuses_txpool_and_accounts_on_ganache() {
    let node = EvmNode::start("example");
    // The example's addresses swapped for the test's; ganache has no peers.
    let template = example()
        .replace("127.0.0.1:8545", "127.0.0.1:{port}")
        .replace("127.0.0.1:9901", "127.0.0.1:{admin}")
        .replace("http://127.0.0.1:18545", "{backend}")
        .replace("/var/lib/nodeward", "{state}")
        .replace("min_peers = 1", "min_peers = 0");
    let gw = Gateway::start(&template, &node.url());
    // Ganache itself answers both (it lists its unlocked accounts).
    assert!(
        node.rpc("eth_accounts", serde_json::json!([]))
            .as_array()
            .is_some_and(|a| !a.is_empty()),
        "ganache lists accounts directly"
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let (s, v) = post(&gw, &call("eth_blockNumber"));
        if s == 200 && v["result"].is_string() {
            break;
        }
        assert!(Instant::now() < deadline, "eth_blockNumber: {s} {v}");
        thread::sleep(Duration::from_millis(200));
    }
    for m in [
        "txpool_content",
        "txpool_status",
        "eth_accounts",
        "personal_listAccounts",
        "admin_peers",
        "debug_traceTransaction",
        "miner_start",
        "eth_sign",
        "eth_signTypedData_v4",
        "eth_sendTransaction",
    ] {
        let (s, v) = post(&gw, &call(m));
        assert_eq!(s, 403, "{m}: {v}");
        assert_eq!(v["error"]["data"]["reason"], "denied_command", "{m}: {v}");
    }
    let (s, v) = post(
        &gw,
        &format!(
            "[{},{},{}]",
            call("eth_blockNumber"),
            call("eth_accounts"),
            call("txpool_content")
        ),
    );
    assert_eq!(s, 200, "{v}");
    assert!(v[0]["result"].is_string(), "{v}");
    assert_eq!(v[1]["error"]["data"]["reason"], "denied_command", "{v}");
    assert_eq!(v[2]["error"]["data"]["reason"], "denied_command", "{v}");
}
