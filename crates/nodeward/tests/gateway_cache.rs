//! End-to-end: the gateway's read cache and request coalescing in front of the
//! real test node (`nodeward-testnode`, JSON-RPC and IRI on 127.0.0.1),
//! counting the calls that reach the node: hits never do, TTLs expire,
//! immutable answers stay, ids are the caller's, batches come back in the
//! caller's order, reordered JSON keys hit, 100 identical concurrent calls
//! make one node call, errors and state-changing calls are never cached,
//! purge through the admin API, the bounds hold under a key flood, and
//! blocks are cached only once confirmed below the pool's head or pinned to
//! their hash (a reorg drops them), answers from a node behind the head are
//! not stored, the negative cache keeps listed errors briefly, a wrk key
//! flood stays within the caps, and batch hits carry each caller's id.

mod common_gateway;
mod common_pool;

use common_gateway::Gateway;
use common_pool::{http, TestNode};
use serde_json::{json, Value};
use std::thread;
use std::time::Duration;

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

[[route.command]]
name = "eth_chainId"
cache = "immutable"

[[route.command]]
name = "eth_blockNumber"
cache = "300ms"

[[route.command]]
name = "eth_getBalance"
cache = "immutable"

[[route.command]]
name = "eth_getBlockByNumber"
cache = "immutable"
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

#[test]
fn hits_ttl_ids_batches_keys_errors_and_purge() {
    let node = TestNode::start("a");
    let gw = Gateway::start(&config(""), &node.url());

    // Immutable: the second call is a hit, served with the caller's id.
    let (s, a) = post(&gw, r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}"#);
    assert_eq!((s, &a["result"], &a["id"]), (200, &json!("0x1"), &json!(1)));
    let (_, b) = post(
        &gw,
        r#"{"jsonrpc":"2.0","id":"x-7","method":"eth_chainId"}"#,
    );
    assert_eq!((&b["result"], &b["id"]), (&json!("0x1"), &json!("x-7")));
    let (_, c) = post(&gw, r#"{"jsonrpc":"2.0","id":null,"method":"eth_chainId"}"#);
    assert_eq!((&c["result"], &c["id"]), (&json!("0x1"), &Value::Null));
    assert_eq!(calls(&node, "eth_chainId"), 1);

    // Canonical keys: reordered keys, whitespace and escapes hit the same entry;
    // different arguments do not.
    let addr = "0x00000000000000000000000000000000000000aa";
    post(
        &gw,
        &format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["{addr}","0x1"]}}"#
        ),
    );
    let (_, r) = post(
        &gw,
        &format!(
            r#"{{ "params" : [ "{}" , "0x\u0031" ], "id" : 2, "method":"eth_getBalance", "jsonrpc":"2.0" }}"#,
            addr
        ),
    );
    assert_eq!(r["id"], 2);
    assert_eq!(calls(&node, "eth_getBalance"), 1);
    post(
        &gw,
        &format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["{addr}","0x2"]}}"#
        ),
    );
    assert_eq!(calls(&node, "eth_getBalance"), 2);

    // TTL: a hit within 300 ms, a miss after.
    node.control(json!({"head": 100}));
    let (_, h1) = post(
        &gw,
        r#"{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"}"#,
    );
    node.control(json!({"head": 101}));
    let (_, h2) = post(
        &gw,
        r#"{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"}"#,
    );
    assert_eq!(h1["result"], h2["result"], "served from the cache");
    assert_eq!(calls(&node, "eth_blockNumber"), 1);
    thread::sleep(Duration::from_millis(400));
    let (_, h3) = post(
        &gw,
        r#"{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"}"#,
    );
    assert_eq!(h3["result"], "0x65", "expired, asked again");
    assert_eq!(calls(&node, "eth_blockNumber"), 2);

    // Errors are never cached: a block past the head is an error the node
    // answers each time; a node error status too.
    for _ in 0..2 {
        let (_, e) = post(
            &gw,
            r#"{"jsonrpc":"2.0","id":5,"method":"eth_getBalance","params":["0x00000000000000000000000000000000000000bb","0x999"]}"#,
        );
        assert!(e["error"].is_object(), "{e}");
        assert_eq!(e["id"], 5);
    }
    assert_eq!(calls(&node, "eth_getBalance"), 4);

    // Uncached (state-changing or unconfigured) calls always reach the node.
    for _ in 0..2 {
        post(&gw, r#"{"jsonrpc":"2.0","id":1,"method":"net_peerCount"}"#);
    }
    assert_eq!(calls(&node, "net_peerCount"), 2);

    // A batch mixing cached, uncached and new calls, with duplicate and odd
    // ids: one smaller batch reaches the node, the answer is in order.
    node.reset_stats();
    let batch = r#"[
        {"jsonrpc":"2.0","id":"a","method":"eth_chainId"},
        {"jsonrpc":"2.0","id":9,"method":"net_peerCount"},
        {"jsonrpc":"2.0","id":9,"method":"eth_getBlockByNumber","params":["0x3",false]},
        {"jsonrpc":"2.0","id":[1],"method":"eth_chainId"}
    ]"#;
    let (s, arr) = post(&gw, batch);
    assert_eq!(s, 200);
    let arr = arr.as_array().expect("a batch answer").clone();
    assert_eq!(arr.len(), 4);
    assert_eq!(arr[0]["id"], "a");
    assert_eq!(arr[0]["result"], "0x1");
    assert_eq!(arr[1]["id"], 9);
    assert!(arr[1]["result"].is_string());
    assert_eq!(arr[2]["id"], 9);
    assert_eq!(arr[2]["result"]["number"], "0x3");
    assert_eq!(arr[3]["id"], json!([1]));
    assert_eq!(calls(&node, "eth_chainId"), 0, "both from the cache");
    assert_eq!(calls(&node, "net_peerCount"), 1);
    assert_eq!(calls(&node, "eth_getBlockByNumber"), 1);
    let (_, again) = post(&gw, batch);
    assert_eq!(again[2]["result"]["number"], "0x3");
    assert_eq!(calls(&node, "eth_getBlockByNumber"), 1, "now cached");

    // The access log marks cached answers.
    let log = gw.wait_log_lines(15);
    assert!(log.iter().any(|l| l["cache"] == "hit"), "{log:?}");
    assert!(log.iter().any(|l| l["cache"] == "partial"), "{log:?}");

    // Purge one command through the admin API, then everything.
    let (code, body) = gw.admin("POST", "/cache/purge?command=eth_chainId");
    assert_eq!(code, 200, "{body}");
    post(&gw, r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId"}"#);
    assert_eq!(calls(&node, "eth_chainId"), 1);
    post(
        &gw,
        r#"{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0x3",false]}"#,
    );
    assert_eq!(calls(&node, "eth_getBlockByNumber"), 1);
    let (code, _) = gw.admin("POST", "/cache/purge");
    assert_eq!(code, 200);
    post(
        &gw,
        r#"{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0x3",false]}"#,
    );
    assert_eq!(calls(&node, "eth_getBlockByNumber"), 2);
    let (code, _) = gw.admin("POST", "/cache/purge?route=/nope");
    assert_eq!(code, 404);

    // Figures in /metrics and /status.
    assert!(gw.metric("nodeward_cache_hits_total{route=\"/\"}") >= 5.0);
    assert!(gw.metric("nodeward_cache_entries{route=\"/\"}") >= 1.0);
    let (_, status) = gw.admin("GET", "/status");
    let status: Value = serde_json::from_str(&status).unwrap();
    assert!(status["routes"][0]["cache"]["hits"].as_u64().unwrap() >= 5);
}

#[test]
fn coalescing_shares_one_node_call_and_its_failure() {
    let node = TestNode::start("b");
    let gw = Gateway::start(&config(""), &node.url());
    node.control(json!({"delay_ms": {"eth_getBalance": 600}}));
    let body = r#"{"jsonrpc":"2.0","id":3,"method":"eth_getBalance","params":["0x00000000000000000000000000000000000000cc","0x1"]}"#;
    let answers: Vec<(u16, Value)> = thread::scope(|s| {
        let hs: Vec<_> = (0..100).map(|_| s.spawn(|| post(&gw, body))).collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for (s, a) in &answers {
        assert_eq!(*s, 200, "{a}");
        assert_eq!(a["id"], 3);
        assert!(a["result"].is_string(), "{a}");
    }
    assert_eq!(
        calls(&node, "eth_getBalance"),
        1,
        "100 callers, one node call"
    );
    assert!(gw.metric("nodeward_cache_coalesced_total{route=\"/\"}") >= 50.0);

    // A failed shared call fails its waiters with the same refusal, and is
    // not cached: the next call goes to the node again.
    node.reset_stats();
    node.control(json!({"delay_ms": {"eth_chainId": 400}, "status": {"eth_chainId": 503}}));
    let body = r#"{"jsonrpc":"2.0","id":4,"method":"eth_chainId"}"#;
    let answers: Vec<(u16, Value)> = thread::scope(|s| {
        let hs: Vec<_> = (0..20).map(|_| s.spawn(|| post(&gw, body))).collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    let first = answers[0].0;
    assert!(first >= 500, "{answers:?}");
    assert!(answers.iter().all(|(s, _)| *s == first), "{answers:?}");
    assert_eq!(calls(&node, "eth_chainId"), 1);
    node.control(json!({"delay_ms": {}, "status": {}}));
    let (s, a) = post(&gw, body);
    assert_eq!((s, &a["result"]), (200, &json!("0x1")));
    assert_eq!(calls(&node, "eth_chainId"), 2);
}

#[test]
fn bounds_hold_under_a_key_flood_and_iri_is_cached() {
    let node = TestNode::start("c");
    let gw = Gateway::start(
        &config("\n[route.cache]\nmax_entries = 50\nmax_bytes = \"64KiB\"\nmax_entry = \"2KiB\"\n"),
        &node.url(),
    );
    for i in 0..400u32 {
        post(
            &gw,
            &format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x{i:040x}","0x1"]}}"#
            ),
        );
    }
    let entries = gw.metric("nodeward_cache_entries{route=\"/\"}");
    assert!(entries <= 60.0, "{entries} entries held");
    assert!(gw.metric("nodeward_cache_bytes{route=\"/\"}") <= 65536.0);
    assert!(gw.metric("nodeward_cache_evictions_total{route=\"/\"}") >= 300.0);

    // IRI: getNodeInfo cached with a TTL, keyed with X-IOTA-API-Version.
    let iri = TestNode::start("d");
    let gw2 = Gateway::start(
        r#"
[gateway]
state_dir = "{state}"
access_log = "stdout"
[[listener]]
bind = "127.0.0.1:{port}"
[admin]
bind = "127.0.0.1:{admin}"
[[upstream]]
name = "iri"
backends = ["{backend}"]
[[route]]
protocol = "iri"
upstream = "iri"
[[route.command]]
name = "getNodeInfo"
cache = "1s"
"#,
        &iri.url(),
    );
    let ask = |version: &str| {
        let out = common_gateway::curl(&[
            "-H",
            &format!("X-IOTA-API-Version: {version}"),
            "-d",
            r#"{"command":"getNodeInfo"}"#,
            &gw2.url(),
        ]);
        assert_eq!(out.0, 200, "{}", out.1);
    };
    ask("1");
    ask("1");
    assert_eq!(calls(&iri, "getNodeInfo"), 1);
    ask("2");
    assert_eq!(
        calls(&iri, "getNodeInfo"),
        2,
        "another API version is another entry"
    );
}

#[test]
fn state_changing_calls_cannot_be_cached() {
    let (code, err) = common_gateway::config_check(&config(
        "\n[[route.command]]\nname = \"eth_sendRawTransaction\"\ncache = \"1s\"\n",
    ));
    assert_ne!(code, Some(0));
    assert!(err.contains("read-only"), "{err}");
    let (code, err) = common_gateway::config_check(&config(
        "\n[[route.command]]\nname = \"eth_call\"\ncache = \"forever\"\n",
    ));
    assert_ne!(code, Some(0));
    assert!(err.contains("immutable"), "{err}");
}

/// A shipped example with its addresses swapped for the test's placeholders.
fn example(name: &str, listen: &str, backend: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/../../examples/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
    .replace(listen, "127.0.0.1:{port}")
    .replace("127.0.0.1:9901", "127.0.0.1:{admin}")
    .replace(backend, "{backend}")
    .replace("/var/lib/nodeward", "{state}")
}

#[test]
fn shipped_examples_cache_polled_calls_only() {
    // JSON-RPC: eth_chainId from the cache, eth_sendRawTransaction never.
    let node = TestNode::start("geth");
    node.control(json!({"peers": 3}));
    let gw = Gateway::start(
        &example("jsonrpc.toml", "127.0.0.1:8545", "http://127.0.0.1:18545"),
        &node.url(),
    );
    let rpc = |m: &str, id: u32| {
        common_gateway::curl(&[
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            &format!(r#"{{"jsonrpc":"2.0","id":{id},"method":"{m}","params":[]}}"#),
            &gw.url(),
        ])
    };
    let before = (
        calls(&node, "eth_chainId"),
        calls(&node, "eth_sendRawTransaction"),
    );
    for id in 0..5 {
        let (s, body) = rpc("eth_chainId", id);
        assert_eq!(s, 200, "{body}");
        let v: Value = serde_json::from_str(&body).unwrap();
        assert_eq!((&v["id"], &v["result"]), (&json!(id), &json!("0x1")));
        rpc("eth_sendRawTransaction", id);
    }
    // Health checks may add one call of their own meanwhile.
    assert!(calls(&node, "eth_chainId") - before.0 <= 2);
    assert_eq!(calls(&node, "eth_sendRawTransaction") - before.1, 5);

    // IRI: getTrytes from the cache, broadcastTransactions never.
    let iri = TestNode::start("iri");
    let gw = Gateway::start(
        &example("iri.toml", "127.0.0.1:14265", "http://127.0.0.1:14266"),
        &iri.url(),
    );
    let call = |body: &str| {
        common_gateway::curl(&[
            "-H",
            "X-IOTA-API-Version: 1",
            "--data-binary",
            body,
            &gw.url(),
        ])
    };
    let trytes = r#"{"command":"getTrytes","hashes":["ABC"]}"#;
    for _ in 0..5 {
        assert_eq!(call(trytes).0, 200);
        assert_eq!(
            call(r#"{"command":"broadcastTransactions","trytes":["X"]}"#).0,
            200
        );
    }
    assert_eq!(calls(&iri, "getTrytes"), 1);
    assert_eq!(calls(&iri, "broadcastTransactions"), 5);
}

/// A gateway in front of `backends` (JSON-RPC, health-checked every
/// `interval`) caching `eth_getBlockByNumber` with 10 confirmations and
/// `eth_blockNumber` for 5 s.
fn finality_gateway(backends: &[String], interval: &str) -> Gateway {
    let list: Vec<String> = backends.iter().map(|b| format!("{b:?}")).collect();
    Gateway::start(
        &format!(
            r#"
[gateway]
state_dir = "{{state}}"
access_log = "stdout"
[[listener]]
bind = "127.0.0.1:{{port}}"
[admin]
bind = "127.0.0.1:{{admin}}"
[[upstream]]
name = "evm"
backends = [{}]
[upstream.health]
kind = "jsonrpc"
interval = "{interval}"
timeout = "2s"
min_peers = 0
max_lag = 1000
[[route]]
protocol = "jsonrpc"
upstream = "evm"
[[route.command]]
name = "eth_getBlockByNumber"
cache = {{ confirmations = 10 }}
[[route.command]]
name = "eth_blockNumber"
cache = "5s"
"#,
            list.join(", ")
        ),
        &backends[0],
    )
}

/// Waits until the gateway's pool reports `head`.
fn wait_for_head(gw: &Gateway, head: u64) {
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let (_, status) = gw.admin("GET", "/status");
        let v: Value = serde_json::from_str(&status).unwrap_or(Value::Null);
        if v["upstreams"][0]["head"] == head {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the pool never reported head {head}: {status}"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

fn block(gw: &Gateway, tag: &str) -> Value {
    let (s, v) = post(
        gw,
        &format!(
            r#"{{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["{tag}",false]}}"#
        ),
    );
    assert_eq!(s, 200, "{v}");
    v
}

#[test]
fn confirmed_blocks_are_immutable_latest_and_recent_blocks_pinned_to_their_hash() {
    let node = TestNode::start("e");
    node.control(json!({"head": 100, "peers": 2}));
    // Check rounds at start only (the pool learns head 100 and its hash);
    // the health check asks eth_getBlockByNumber itself, so the cache's own
    // counters tell hits from node calls.
    let gw = finality_gateway(&[node.url()], "1h");
    wait_for_head(&gw, 100);
    let m = |name: &str| gw.metric(&format!("nodeward_cache_{name}{{route=\"/\"}}"));
    let counts = || (m("stores_total"), m("hits_total"));
    for _ in 0..3 {
        assert_eq!(block(&gw, "0x5")["result"]["number"], "0x5");
    }
    assert_eq!(counts(), (1.0, 2.0), "90+ blocks deep: immutable");
    // latest resolves to block 100 with the hash the tracker saw: cached.
    let l1 = block(&gw, "latest");
    let l2 = block(&gw, "latest");
    assert_eq!(l1["result"]["number"], "0x64");
    assert_eq!(l1, l2);
    assert_eq!(counts(), (2.0, 3.0), "latest pinned to its hash");
    // 99 is known (the head's parent): pinned. 96's hash is unknown, and
    // pending is never resolved: neither stored nor looked up.
    for tag in ["0x63", "0x63", "0x60", "0x60", "pending", "pending"] {
        block(&gw, tag);
    }
    assert_eq!(counts(), (3.0, 4.0));
}

#[test]
fn a_reorg_drops_the_cached_latest_block_and_serves_the_new_one() {
    let node = TestNode::start("r");
    node.control(json!({"head": 100, "peers": 2}));
    let gw = finality_gateway(&[node.url()], "100ms");
    wait_for_head(&gw, 100);
    let old = block(&gw, "latest")["result"]["hash"].clone();
    // Served from the cache while the chain stands.
    let hits = gw.metric("nodeward_cache_hits_total{route=\"/\"}");
    assert_eq!(block(&gw, "latest")["result"]["hash"], old);
    assert!(gw.metric("nodeward_cache_hits_total{route=\"/\"}") > hits);
    // Another block at height 100: a reorg. Once the tracker has seen it,
    // the old entry is gone (before any TTL: it has none) and the new block
    // is served.
    node.control(json!({"fork_seed": 7, "fork_from": 100}));
    let direct = node.post(
        &json!({"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["latest", false]}),
    );
    let new = direct.json()["result"]["hash"].clone();
    assert_ne!(new, old);
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let got = block(&gw, "latest")["result"]["hash"].clone();
        if got == new {
            break;
        }
        assert_eq!(got, old, "only the old or the new block");
        assert!(std::time::Instant::now() < deadline, "never saw the reorg");
        thread::sleep(Duration::from_millis(50));
    }
    assert!(gw.metric("nodeward_cache_evictions_total{route=\"/\"}") >= 1.0);
    // And the new block is cached in turn.
    let stores = gw.metric("nodeward_cache_stores_total{route=\"/\"}");
    assert_eq!(block(&gw, "latest")["result"]["hash"], new);
    assert_eq!(
        gw.metric("nodeward_cache_stores_total{route=\"/\"}"),
        stores
    );
    // A reorg seen through the parent hash (block 101 on yet another branch).
    let reorgs_before = gw.metric("nodeward_cache_evictions_total{route=\"/\"}");
    node.control(json!({"fork_seed": 9, "fork_from": 100, "head": 101}));
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    loop {
        let got = block(&gw, "latest")["result"].clone();
        if got["number"] == "0x65" {
            let direct = node.post(&json!({"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0x64", false]}));
            assert_eq!(
                block(&gw, "0x64")["result"]["hash"],
                direct.json()["result"]["hash"]
            );
            break;
        }
        assert!(std::time::Instant::now() < deadline, "never saw block 101");
        thread::sleep(Duration::from_millis(50));
    }
    assert!(gw.metric("nodeward_cache_evictions_total{route=\"/\"}") > reorgs_before);
}

#[test]
fn answers_from_a_node_behind_the_pool_head_are_not_stored() {
    let ahead = TestNode::start("ahead");
    let behind = TestNode::start("behind");
    ahead.control(json!({"head": 100, "peers": 2}));
    behind.control(json!({"head": 90, "peers": 2}));
    let gw = finality_gateway(&[ahead.url(), behind.url()], "1h");
    wait_for_head(&gw, 100);
    let mut answers = Vec::new();
    for _ in 0..8 {
        let (_, v) = post(
            &gw,
            r#"{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber"}"#,
        );
        answers.push(v["result"].as_str().unwrap_or("?").to_string());
    }
    // Round robin: the node behind is asked only until the node at the head
    // answers once; its answer is passed on but never stored. (The cache's
    // counters, not the nodes': the health check asks eth_blockNumber too.)
    let m = |name: &str| gw.metric(&format!("nodeward_cache_{name}{{route=\"/\"}}"));
    let not_current = m("not_current_total");
    assert!(not_current <= 1.0, "{answers:?}");
    assert_eq!(m("stores_total"), 1.0, "{answers:?}");
    assert_eq!(m("hits_total"), 7.0 - not_current, "{answers:?}");
    let skip = 1 + not_current as usize;
    assert!(answers[skip..].iter().all(|a| a == "0x64"), "{answers:?}");
    assert_eq!(
        answers.iter().filter(|a| *a == "0x5a").count(),
        not_current as usize
    );
}

const NEGATIVE: &str = r#"
[gateway]
state_dir = "{state}"
access_log = "stdout"
[[listener]]
bind = "127.0.0.1:{port}"
[admin]
bind = "127.0.0.1:{admin}"
[[upstream]]
name = "node"
timeout = "5s"
backends = ["{backend}"]
[[route]]
protocol = "jsonrpc"
upstream = "node"
[[route.command]]
name = "eth_getBalance"
negative_cache = { ttl = "500ms", codes = [-32000] }
[[route.command]]
name = "eth_call"
negative_cache = { ttl = "500ms", codes = [-32000] }
"#;

#[test]
fn the_negative_cache_keeps_listed_node_errors_briefly_and_nothing_else() {
    let node = TestNode::start("neg");
    node.control(json!({"missing_trie": true}));
    let gw = Gateway::start(NEGATIVE, &node.url());
    let balance = |id: &str| {
        post(
            &gw,
            &format!(
                r#"{{"jsonrpc":"2.0","id":{id},"method":"eth_getBalance","params":["0x00000000000000000000000000000000000000aa","0x1"]}}"#
            ),
        )
    };
    // A listed code (-32000, missing trie node): one node call, each caller
    // gets the error with its own id.
    for id in ["1", "\"b\"", "null"] {
        let (s, v) = balance(id);
        assert_eq!(s, 200);
        assert_eq!(v["error"]["code"], -32000, "{v}");
        assert_eq!(v["id"], serde_json::from_str::<Value>(id).unwrap());
    }
    assert_eq!(calls(&node, "eth_getBalance"), 1);
    assert_eq!(
        gw.metric("nodeward_cache_negative_stores_total{route=\"/\"}"),
        1.0
    );
    // Short TTL: asked again once it has passed.
    thread::sleep(Duration::from_millis(600));
    balance("2");
    assert_eq!(calls(&node, "eth_getBalance"), 2);
    // A code not listed (3, a revert) is never cached.
    for _ in 0..2 {
        let (_, v) = post(
            &gw,
            r#"{"jsonrpc":"2.0","id":1,"method":"eth_call","params":[{"data":"0xrevert"},"0x1"]}"#,
        );
        assert_eq!(v["error"]["code"], 3, "{v}");
    }
    assert_eq!(calls(&node, "eth_call"), 2);
    // Nor are successes (the command has no `cache` rule), 5xx answers or
    // garbage.
    thread::sleep(Duration::from_millis(600));
    node.control(json!({"missing_trie": false}));
    for _ in 0..2 {
        assert_eq!(balance("3").1["result"], "0x0");
    }
    assert_eq!(calls(&node, "eth_getBalance"), 4);
    node.control(json!({"status": {"eth_getBalance": 500}}));
    for _ in 0..2 {
        balance("4");
    }
    assert_eq!(calls(&node, "eth_getBalance"), 6);
    node.control(json!({"status": {}, "garbage": ["eth_getBalance"]}));
    for _ in 0..2 {
        balance("5");
    }
    assert_eq!(calls(&node, "eth_getBalance"), 8);
    assert_eq!(
        gw.metric("nodeward_cache_negative_stores_total{route=\"/\"}"),
        2.0
    );

    // Checked config: JSON-RPC read-only commands only, a short TTL.
    for (bad, says) in [
        (
            NEGATIVE.replace("name = \"eth_call\"", "name = \"eth_sendRawTransaction\""),
            "read-only",
        ),
        (
            NEGATIVE.replace(
                "ttl = \"500ms\", codes = [-32000] }\n[[route.command]]\nname = \"eth_call\"",
                "ttl = \"2m\", codes = [-32000] }\n[[route.command]]\nname = \"eth_call\"",
            ),
            "60s",
        ),
        (
            NEGATIVE.replace(
                "codes = [-32000] }\n[[route.command]]",
                "codes = [] }\n[[route.command]]",
            ),
            "codes",
        ),
        (
            NEGATIVE.replace(
                "codes = [-32000] }\n[[route.command]]",
                "codes = [1], stale = \"1s\" }\n[[route.command]]",
            ),
            "stale",
        ),
    ] {
        let (code, err) = common_gateway::config_check(&bad);
        assert_ne!(code, Some(0), "{bad}");
        assert!(err.contains(says), "{err}");
        // Named by key, or (unknown keys) by file:line.
        assert!(
            err.contains("negative_cache") || err.contains("c.toml:18:"),
            "{err}"
        );
    }
}

/// The gateway's resident memory, KiB.
fn rss_kib(gw: &Gateway) -> u64 {
    let pid = gw.child.as_ref().unwrap().id();
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

/// wrk's Lua script: every request a distinct eth_getBalance address.
const FLOOD_LUA: &str = r#"
local n = 0
local tid = 0
function init(args)
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
  tid = math.random(0, 2147483646)
end
request = function()
  n = n + 1
  local body = string.format('{"jsonrpc":"2.0","id":%d,"method":"eth_getBalance","params":["0x%08x%032x","0x1"]}', n, tid, n)
  return wrk.format("POST", "/", {["Content-Type"] = "application/json"}, body)
end
"#;

#[test]
fn a_key_flood_stays_within_the_caps_and_huge_answers_pass_uncached() {
    let node = TestNode::start("flood");
    let gw = Gateway::start(
        &config(
            "\n[route.cache]\nmax_entries = 2000\nmax_bytes = \"512KiB\"\nmax_entry = \"64KiB\"\n",
        ),
        &node.url(),
    );
    // Warm up: connections and buffers exist before the baseline is taken.
    for i in 0..200u32 {
        post(
            &gw,
            &format!(
                r#"{{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x{i:040x}","0x1"]}}"#
            ),
        );
    }
    let before = rss_kib(&gw);
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("flood.lua");
    std::fs::write(&script, FLOOD_LUA).unwrap();
    let out = std::process::Command::new("wrk")
        .args(["-t2", "-c16", "-d4s", "-s"])
        .arg(&script)
        .arg(gw.url())
        .output()
        .expect("wrk runs (scripts/test.sh installs it)");
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "{text}");
    let requests: f64 = text
        .lines()
        .find_map(|l| l.trim().split(" requests in ").next()?.parse().ok())
        .unwrap_or(0.0);
    let rate: f64 = text
        .lines()
        .find_map(|l| l.strip_prefix("Requests/sec:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0);
    eprintln!("key flood: {requests} distinct calls, {rate:.0}/s");
    assert!(
        requests >= 4000.0,
        "the flood was too thin to mean anything: {text}"
    );
    assert!(!text.contains("Non-2xx"), "{text}");
    // Every flood call was a distinct key: a miss, not a hit.
    let hits = gw.metric("nodeward_cache_hits_total{route=\"/\"}");
    assert!(
        hits < requests / 100.0,
        "{hits} hits: the keys were not distinct"
    );
    let entries = gw.metric("nodeward_cache_entries{route=\"/\"}");
    let bytes = gw.metric("nodeward_cache_bytes{route=\"/\"}");
    assert!(entries <= 2000.0 * 1.1, "{entries} entries");
    assert!(bytes <= 512.0 * 1024.0, "{bytes} bytes");
    let after = rss_kib(&gw);
    // Unbounded, the flood's entries alone would take requests × ~250 bytes
    // (more than the whole cap many times over); bounded, RSS grows by the
    // cap plus allocator slack.
    eprintln!("RSS {before} KiB -> {after} KiB");
    assert!(
        after < before + 8 * 1024,
        "RSS grew from {before} to {after} KiB during the flood"
    );

    // A cacheable answer larger than max_entry is served whole, not stored.
    node.control(json!({"huge_result": ["eth_chainId"]}));
    for _ in 0..2 {
        let r = http(
            gw.addr(),
            "POST",
            "/",
            br#"{"jsonrpc":"2.0","id":9,"method":"eth_chainId"}"#,
        )
        .unwrap();
        assert_eq!(r.status, 200);
        assert!(r.body.len() > 1_000_000, "{} bytes", r.body.len());
    }
    assert_eq!(calls(&node, "eth_chainId"), 2, "never stored");
    assert!(gw.metric("nodeward_cache_too_large_total{route=\"/\"}") >= 2.0);
}

#[test]
fn cache_hits_in_a_batch_carry_each_callers_id_even_duplicates() {
    let node = TestNode::start("ids");
    let gw = Gateway::start(&config(""), &node.url());
    // Warm the cache.
    post(&gw, r#"{"jsonrpc":"2.0","id":0,"method":"eth_chainId"}"#);
    post(
        &gw,
        r#"{"jsonrpc":"2.0","id":0,"method":"eth_getBalance","params":["0x00000000000000000000000000000000000000aa","0x1"]}"#,
    );
    let before = calls(&node, "eth_chainId");
    let (s, v) = post(
        &gw,
        r#"[{"jsonrpc":"2.0","id":1,"method":"eth_chainId"},
            {"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0x00000000000000000000000000000000000000aa","0x1"]},
            {"jsonrpc":"2.0","id":"1","method":"eth_chainId"},
            {"jsonrpc":"2.0","id":null,"method":"eth_chainId"},
            {"jsonrpc":"2.0","id":1.5e3,"method":"eth_chainId"},
            {"jsonrpc":"2.0","id":"x\"y","method":"net_version"},
            {"jsonrpc":"2.0","id":1,"method":"eth_chainId"}]"#,
    );
    assert_eq!(s, 200, "{v}");
    let a = v.as_array().expect("a batch answer");
    assert_eq!(a.len(), 7, "{v}");
    let want = [
        (json!(1), json!("0x1")),
        (json!(1), json!("0x0")),
        (json!("1"), json!("0x1")),
        (Value::Null, json!("0x1")),
        (json!(1500.0), json!("0x1")),
        (json!("x\"y"), json!("1")),
        (json!(1), json!("0x1")),
    ];
    for (i, (id, result)) in want.iter().enumerate() {
        assert_eq!(
            (&a[i]["id"], &a[i]["result"]),
            (id, result),
            "element {i}: {v}"
        );
    }
    assert_eq!(calls(&node, "eth_chainId"), before, "all from the cache");
    assert_eq!(calls(&node, "net_version"), 1, "the uncached one asked");
}
