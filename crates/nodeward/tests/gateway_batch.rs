//! End-to-end: JSON-RPC batches answered per call in front of the real test
//! node (`nodeward-testnode`, counting the calls that reach it): a denied or
//! rate-limited call gets its own error object in its place, the rest reach
//! the node as one smaller batch, answers come back in the caller's order;
//! identical calls in concurrent batches share one node call; unnamed
//! methods are counted by namespace; refused lines carry the bytes read.

mod common_gateway;
mod common_pool;

use common_gateway::{curl, Gateway};
use common_pool::{http, TestNode};
use serde_json::{json, Value};

fn config(extra: &str) -> String {
    format!(
        r#"
[gateway]
state_dir = "{{state}}"
access_log = "stdout"

[[listener]]
bind = "127.0.0.1:{{port}}"

[admin]
bind = "127.0.0.1:{{admin}}"

[[upstream]]
name = "node"
timeout = "5s"
backends = ["{{backend}}"]

[[route]]
protocol = "jsonrpc"
upstream = "node"
deny = ["admin_*", "txpool_*", "eth_accounts"]
max_batch = 20

[[route.command]]
name = "net_peerCount"
rate = "1/min"
{extra}
"#
    )
}

fn post(gw: &Gateway, body: &str) -> (u16, Value) {
    let r = http(gw.addr(), "POST", "/", body.as_bytes()).expect("gateway answers");
    let v = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
    (r.status, v)
}

fn calls(node: &TestNode, method: &str) -> u64 {
    node.stats()["by_command"][method].as_u64().unwrap_or(0)
}

fn requests(node: &TestNode) -> u64 {
    node.stats()["total"].as_u64().unwrap_or(0)
}

/// Checks one answer element: its id and whether it is a result or the
/// gateway's refusal with `reason`.
fn check(el: &Value, id: Value, reason: Option<&str>) {
    assert_eq!(el["id"], id, "{el}");
    match reason {
        None => assert!(el.get("result").is_some(), "expected a result: {el}"),
        Some(r) => assert_eq!(el["error"]["data"]["reason"], r, "{el}"),
    }
}

#[test]
fn batches_are_answered_per_call_in_the_callers_order() {
    let node = TestNode::start("batch");
    let gw = Gateway::start(&config(""), &node.url());
    // A single denied call is still refused whole, with its id.
    let (s, v) = post(
        &gw,
        r#"{"jsonrpc":"2.0","id":"q","method":"txpool_content"}"#,
    );
    assert_eq!(s, 403);
    assert_eq!(v["id"], "q");
    let denied_single = v["error"].clone();
    assert_eq!(denied_single["code"], -32601);
    // Denied, allowed, a notification, rate-limited (second net_peerCount),
    // duplicate ids, string/number/null ids.
    let before = requests(&node);
    let batch = r#"[
        {"jsonrpc":"2.0","id":1,"method":"eth_chainId"},
        {"jsonrpc":"2.0","id":"x","method":"txpool_content","params":[]},
        {"jsonrpc":"2.0","method":"eth_blockNumber"},
        {"jsonrpc":"2.0","id":1,"method":"net_peerCount"},
        {"jsonrpc":"2.0","id":null,"method":"net_version"},
        {"jsonrpc":"2.0","id":[1],"method":"admin_peers"},
        {"jsonrpc":"2.0","id":7,"method":"net_peerCount"},
        {"jsonrpc":"2.0","id":8,"method":"eth_accounts"}
    ]"#;
    let (s, v) = post(&gw, batch);
    assert_eq!(s, 200, "{v}");
    let arr = v.as_array().expect("a batch answer");
    assert_eq!(arr.len(), 7, "the notification gets no element: {v}");
    check(&arr[0], json!(1), None);
    check(&arr[1], json!("x"), Some("denied_command"));
    // The same code and message a single refused call gets.
    assert_eq!(arr[1]["error"]["code"], -32601);
    assert_eq!(
        arr[1]["error"]["message"],
        "command txpool_content is not allowed"
    );
    check(&arr[2], json!(1), None);
    check(&arr[3], Value::Null, None);
    check(&arr[4], json!([1]), Some("denied_command"));
    check(&arr[5], json!(7), Some("rate_limited"));
    assert_eq!(arr[5]["error"]["code"], -32005);
    check(&arr[6], json!(8), Some("denied_command"));
    // One smaller batch reached the node, without the refused calls.
    assert_eq!(requests(&node), before + 1);
    assert_eq!(calls(&node, "txpool_content"), 0);
    assert_eq!(calls(&node, "admin_peers"), 0);
    assert_eq!(calls(&node, "eth_accounts"), 0);
    assert_eq!(calls(&node, "net_peerCount"), 1);
    assert_eq!(
        calls(&node, "eth_blockNumber"),
        1,
        "the notification is sent"
    );
    // All refused: no trip to the node.
    let before = requests(&node);
    let (s, v) = post(
        &gw,
        r#"[{"id":1,"method":"admin_nodeInfo"},{"id":2,"method":"net_peerCount"}]"#,
    );
    assert_eq!(s, 200);
    check(&v[0], json!(1), Some("denied_command"));
    check(&v[1], json!(2), Some("rate_limited"));
    assert_eq!(requests(&node), before);
    // Whole-batch caps stay whole: too many elements.
    let big: Vec<String> = (0..21)
        .map(|i| format!(r#"{{"id":{i},"method":"eth_chainId"}}"#))
        .collect();
    let (s, v) = post(&gw, &format!("[{}]", big.join(",")));
    assert_eq!(s, 413);
    assert_eq!(v["error"]["data"]["reason"], "batch_too_large");
    // Metrics count each call under its own command and outcome.
    let m = gw.metrics();
    let has = |line: &str| assert!(m.contains(line), "missing {line} in\n{m}");
    has("nodeward_command_rejections_total{command=\"txpool_*\",reason=\"denied_command\"} 2");
    has("nodeward_command_rejections_total{command=\"net_peercount\",reason=\"rate_limited\"} 2");
    has("nodeward_requests_total{command=\"net_*\",class=\"2xx\"} 1");
    // The access log lists each call with its own outcome.
    let lines = gw.wait_log_lines(4);
    let line = lines
        .iter()
        .find(|l| l["calls"] == 8)
        .expect("the mixed batch's line");
    let elements = line["elements"].as_array().expect("elements");
    assert_eq!(elements.len(), 8);
    assert_eq!(elements[0]["command"], "eth_chainid");
    assert!(elements[0]["reason"].is_null());
    assert_eq!(elements[1]["command"], "txpool_content");
    assert_eq!(elements[1]["reason"], "denied_command");
    assert_eq!(elements[6]["reason"], "rate_limited");
}

#[test]
fn refused_calls_in_a_batch_work_with_the_cache() {
    let node = TestNode::start("batch-cache");
    let extra = r#"
[[route.command]]
name = "eth_chainId"
cache = "immutable"
"#;
    let gw = Gateway::start(&config(extra), &node.url());
    assert_eq!(post(&gw, r#"{"id":1,"method":"eth_chainId"}"#).0, 200);
    let before = requests(&node);
    let (s, v) = post(
        &gw,
        r#"[{"id":"a","method":"eth_chainId"},{"id":"b","method":"admin_peers"},{"id":"c","method":"net_version"}]"#,
    );
    assert_eq!(s, 200, "{v}");
    check(&v[0], json!("a"), None);
    check(&v[1], json!("b"), Some("denied_command"));
    check(&v[2], json!("c"), None);
    assert_eq!(requests(&node), before + 1);
    assert_eq!(calls(&node, "eth_chainId"), 1, "served from the cache");
    // Cached and refused only: the node is not asked.
    let (s, v) = post(
        &gw,
        r#"[{"id":1,"method":"eth_chainId"},{"id":2,"method":"admin_peers"}]"#,
    );
    assert_eq!(s, 200);
    check(&v[0], json!(1), None);
    check(&v[1], json!(2), Some("denied_command"));
    assert_eq!(requests(&node), before + 1);
    // curl reads the same answer.
    let (code, body) = curl(&[
        "-s",
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        r#"[{"id":1,"method":"admin_peers"},{"id":2,"method":"eth_chainId"}]"#,
        &gw.url(),
    ]);
    assert_eq!(code, 200);
    let v: Value = serde_json::from_str(&body).unwrap();
    check(&v[0], json!(1), Some("denied_command"));
    check(&v[1], json!(2), None);
}

#[test]
fn unnamed_methods_count_by_namespace_and_refusals_log_bytes() {
    let node = TestNode::start("namespaces");
    let gw = Gateway::start(&config(""), &node.url());
    for (body, code) in [
        (r#"{"id":1,"method":"personal_listAccounts"}"#, 200),
        (r#"{"id":1,"method":"debug_traceTransaction"}"#, 200),
        (r#"{"id":1,"method":"debug_getRawBlock"}"#, 200),
        (r#"{"id":1,"method":"admin_peers"}"#, 403),
        (r#"{"id":1,"method":"eth_blockNumber"}"#, 200),
        (r#"{"id":1,"method":"zzz_probe"}"#, 200),
        (r#"{"id":1,"method":"nounderscore"}"#, 200),
    ] {
        assert_eq!(post(&gw, body).0, code, "{body}");
    }
    let m = gw.metrics();
    for line in [
        "nodeward_requests_total{command=\"personal_*\",class=\"2xx\"} 1",
        "nodeward_requests_total{command=\"debug_*\",class=\"2xx\"} 2",
        "nodeward_command_rejections_total{command=\"admin_*\",reason=\"denied_command\"} 1",
        "nodeward_requests_total{command=\"eth_*\",class=\"2xx\"} 1",
        "nodeward_requests_total{command=\"other\",class=\"2xx\"} 2",
    ] {
        assert!(m.contains(line), "missing {line} in\n{m}");
    }
    // Unused namespaces do not clutter the output.
    assert!(!m.contains("command=\"clique_*\""), "{m}");
    // A refused line carries the bytes that were read.
    let lines = gw.wait_log_lines(7);
    let refused = lines
        .iter()
        .find(|l| l["reason"] == "denied_command")
        .expect("the refused line");
    assert_eq!(
        refused["bytes_in"],
        r#"{"id":1,"method":"admin_peers"}"#.len()
    );
}

/// A test node whose `eth_getBalance` takes `delay_ms`, behind a gateway
/// that caches that call (so identical calls in flight share one).
fn slow_cached_balance(name: &str, delay_ms: u64) -> (TestNode, Gateway) {
    let node = TestNode::start(name);
    let extra = r#"
[[route.command]]
name = "eth_getBalance"
cache = "immutable"
"#;
    let gw = Gateway::start(&config(extra), &node.url());
    node.control(json!({"delay_ms": {"eth_getBalance": delay_ms}}));
    (node, gw)
}

#[test]
fn identical_calls_in_concurrent_batches_share_one_node_call() {
    let (node, gw) = slow_cached_balance("coalesce", 700);
    let balance = r#"{"jsonrpc":"2.0","id":ID,"method":"eth_getBalance","params":["0x00000000000000000000000000000000000000aa","0x5"]}"#;
    let addr = gw.addr();
    let threads: Vec<_> = (0..25)
        .map(|k| {
            let call = balance.replace("ID", &k.to_string());
            std::thread::spawn(move || {
                // 20 batches (the slow call among others), 5 single calls.
                let body = if k < 20 {
                    format!(r#"[{{"id":"v","method":"net_version"}},{call}]"#)
                } else {
                    call
                };
                let r = http(addr, "POST", "/", body.as_bytes()).expect("gateway answers");
                (
                    k,
                    r.status,
                    serde_json::from_slice::<Value>(&r.body).unwrap(),
                )
            })
        })
        .collect();
    for t in threads {
        let (k, status, v) = t.join().unwrap();
        assert_eq!(status, 200, "#{k}: {v}");
        let el = if k < 20 { &v[1] } else { &v };
        assert_eq!(el["id"], k, "#{k}: {v}");
        assert!(el["result"].is_string(), "#{k}: {v}");
    }
    assert_eq!(
        calls(&node, "eth_getBalance"),
        1,
        "the slow call reached the node more than once"
    );
    // Most waited on the one call (the rest came late enough to hit).
    let coalesced = gw.metric("nodeward_cache_coalesced_total{route=\"/\"}");
    let hits = gw.metric("nodeward_cache_hits_total{route=\"/\"}");
    assert!(coalesced >= 10.0, "coalesced {coalesced}, hits {hits}");
    assert_eq!(coalesced + hits, 24.0, "coalesced {coalesced}, hits {hits}");
}

#[test]
fn a_batch_leader_that_hangs_up_still_answers_its_waiters() {
    let (node, gw) = slow_cached_balance("leader-leaves", 800);
    let balance = r#"{"jsonrpc":"2.0","id":ID,"method":"eth_getBalance","params":["0x00000000000000000000000000000000000000bb","0x5"]}"#;
    // The batch leads the slow call, then its client hangs up (curl's
    // --max-time) while a single call waits on the same node call.
    let leader = {
        let body = format!(
            r#"[{{"id":"v","method":"net_version"}},{}]"#,
            balance.replace("ID", "1")
        );
        let url = format!("http://{}/", gw.addr());
        std::thread::spawn(move || {
            std::process::Command::new("curl")
                .args(["-s", "-o", "/dev/null", "--max-time", "0.3", "-H"])
                .arg("content-type: application/json")
                .args(["--data-binary", &body, &url])
                .status()
                .unwrap()
        })
    };
    std::thread::sleep(std::time::Duration::from_millis(100));
    let (status, v) = post(&gw, &balance.replace("ID", "2"));
    assert!(
        !leader.join().unwrap().success(),
        "the leader's client hung up"
    );
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["id"], 2, "{v}");
    assert!(
        v["result"].is_string(),
        "the waiter got the node's answer: {v}"
    );
    assert_eq!(calls(&node, "eth_getBalance"), 1, "one node call");
    let coalesced = gw.metric("nodeward_cache_coalesced_total{route=\"/\"}");
    assert_eq!(coalesced, 1.0, "the single call waited on the batch's call");
}
