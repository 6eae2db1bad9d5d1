//! End-to-end: what the gateway's request path does with a node pool —
//! never-sent requests moving on, retries of read-only calls only, batches,
//! JSON-RPC answer classification, block-number routing, the attempt cap and
//! retry budget, hedging, timeouts, slow start and probation — with the real
//! `nodeward gateway` and real `nodeward-testnode` processes on 127.0.0.1.
//!
//! No active health checks unless a test needs them, so what is tested is
//! the request path's own decisions. Needs
//! `cargo build --release -p nodeward -p nodeward-testnode` first.

mod common_gateway;
mod common_pool;

use common_gateway::{curl, free_port, Gateway};
use common_pool::{http, HttpReply, TestNode};
use serde_json::{json, Value};
use std::thread;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- helpers

/// A gateway config with one pool called `pool` and one route to it.
/// `backends` is TOML for the pool's backends ([`short`] or [`long`]);
/// `upstream_keys` are more keys of `[[upstream]]`; `upstream_tables` are
/// its sub-tables (`[upstream.hedge]`, ...); `route` is keys and
/// `[[route.command]]` tables of the route (keys first).
fn config(
    protocol: &str,
    backends: &str,
    upstream_keys: &str,
    upstream_tables: &str,
    route: &str,
) -> String {
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
name = "pool"
timeout = "5s"
{upstream_keys}
{backends}
{upstream_tables}

[[route]]
protocol = "{protocol}"
upstream = "pool"
{route}
"#
    )
}

/// The short form: `backends = [...]` (ids are `host:port`).
fn short(urls: &[&str]) -> String {
    let list: Vec<String> = urls.iter().map(|u| format!("{u:?}")).collect();
    format!("backends = [{}]", list.join(", "))
}

/// The long form: one `[[upstream.backend]]` per node, its id the node's name.
fn long(nodes: &[&TestNode]) -> String {
    nodes
        .iter()
        .map(|n| {
            format!(
                "[[upstream.backend]]\naddress = \"{}\"\nid = \"{}\"\n",
                n.url(),
                n.name
            )
        })
        .collect()
}

fn start(template: &str) -> Gateway {
    Gateway::start(template, "unused")
}

/// POSTs `body` to the gateway (plain HTTP/1.1, own connection).
fn send(gw: &Gateway, body: &Value) -> HttpReply {
    http(gw.addr(), "POST", "/", body.to_string().as_bytes())
        .unwrap_or_else(|e| panic!("POST {body} to the gateway: {e}\n{}", gw.stderr()))
}

/// [`send`], and how long it took.
fn timed(gw: &Gateway, body: &Value) -> (HttpReply, Duration) {
    let t = Instant::now();
    let r = send(gw, body);
    (r, t.elapsed())
}

/// The node that answered (`x-testnode`), or "" for the gateway's own answers.
fn who(r: &HttpReply) -> String {
    r.header("x-testnode").unwrap_or("").to_string()
}

fn describe(r: &HttpReply) -> String {
    format!("{} from {:?}: {}", r.status, who(r), r.text())
}

fn get_balances() -> Value {
    json!({"command": "getBalances", "addresses": ["ABC"], "threshold": 100})
}

fn broadcast() -> Value {
    json!({"command": "broadcastTransactions", "trytes": ["999"]})
}

fn rpc(id: u64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// How many `cmd` calls the node received (from its /_stats).
fn count(node: &TestNode, cmd: &str) -> u64 {
    node.stats()["by_command"][cmd].as_u64().unwrap_or(0)
}

fn status(gw: &Gateway) -> Value {
    let (code, body) = gw.admin("GET", "/status");
    assert_eq!(code, 200, "GET /status: {body}");
    serde_json::from_str(&body).unwrap_or_else(|e| panic!("/status is not JSON ({e}): {body}"))
}

/// The pool's `/status` entry.
fn pool_status(gw: &Gateway) -> Value {
    let st = status(gw);
    st["upstreams"]
        .as_array()
        .and_then(|u| u.iter().find(|p| p["name"] == "pool"))
        .cloned()
        .unwrap_or_else(|| panic!("no pool in /status: {st}"))
}

/// One backend's `/status` entry.
fn backend(gw: &Gateway, id: &str) -> Value {
    let pool = pool_status(gw);
    pool["backends"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["id"] == id))
        .cloned()
        .unwrap_or_else(|| panic!("no backend {id} in /status: {pool}"))
}

fn pool_metric(gw: &Gateway, name: &str) -> f64 {
    gw.metric(&format!("{name}{{pool=\"pool\"}}"))
}

/// Polls `done` every 20 ms until it holds; panics with `what` (and the
/// pool's status) after `limit`.
fn wait_for(gw: &Gateway, what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !done() {
        if Instant::now() > deadline {
            panic!(
                "timed out after {limit:?} waiting for {what}; pool: {}",
                pool_status(gw)
            );
        }
        thread::sleep(Duration::from_millis(20));
    }
}

/// PUT with a JSON body on the admin listener; returns (status, body).
fn admin_put(gw: &Gateway, path: &str, body: &Value) -> (u16, String) {
    let auth = format!("Authorization: Bearer {}", gw.token());
    curl(&[
        "-X",
        "PUT",
        "-H",
        &auth,
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        &body.to_string(),
        &format!("http://127.0.0.1:{}{path}", gw.admin_port),
    ])
}

// ------------------------------------------------------------------ tests

/// A backend nobody listens on: every request moves on (none fails), the
/// backend is ejected at once, and a state-changing call that could not be
/// sent goes to exactly one other node.
#[test]
fn never_sent_requests_move_on_even_state_changing_ones() {
    let a = TestNode::start("a");
    let b = TestNode::start("b");
    let dead_port = free_port();
    let dead_url = format!("http://127.0.0.1:{dead_port}");
    let dead_id = format!("127.0.0.1:{dead_port}");
    let gw = start(&config(
        "iri",
        &short(&[&dead_url, &a.url(), &b.url()]),
        r#"eject_for = "30s""#,
        "",
        "",
    ));
    assert_eq!(backend(&gw, &dead_id)["state"], "healthy");

    // State-changing calls first, while the dead backend is still in rotation:
    // round robin tries it within three requests.
    let mut sent = 0;
    while backend(&gw, &dead_id)["state"] != "ejected" {
        assert!(
            sent < 3,
            "the closed-port backend was not tried by {sent} requests: {}",
            pool_status(&gw)
        );
        let r = send(&gw, &broadcast());
        sent += 1;
        assert_eq!(
            r.status,
            200,
            "broadcastTransactions #{sent}: {}",
            describe(&r)
        );
        assert!(["a", "b"].contains(&who(&r).as_str()), "{}", describe(&r));
        let got = count(&a, "broadcastTransactions") + count(&b, "broadcastTransactions");
        assert_eq!(
            got, sent,
            "each broadcastTransactions must reach exactly one node"
        );
    }
    let dead = backend(&gw, &dead_id);
    assert!(dead["requests"].as_u64() >= Some(1), "{dead}");
    assert!(dead["failures"].as_u64() >= Some(1), "{dead}");
    assert_eq!(dead["serving"], false, "{dead}");

    // Read-only traffic: nothing fails, and the live nodes share it.
    let mut by = std::collections::HashMap::<String, u32>::new();
    for i in 0..30 {
        let r = send(&gw, &get_balances());
        assert_eq!(r.status, 200, "getBalances #{i}: {}", describe(&r));
        *by.entry(who(&r)).or_default() += 1;
    }
    assert_eq!(by.len(), 2, "both live nodes should serve: {by:?}");
    assert!(by.contains_key("a") && by.contains_key("b"), "{by:?}");
    assert_eq!(backend(&gw, &dead_id)["state"], "ejected");
    assert_eq!(
        gw.metric(&format!(
            "nodeward_backend_up{{pool=\"pool\",backend=\"{dead_id}\"}}"
        )),
        0.0
    );
}

/// A read-only request a node answered 503, or whose connection it
/// closed, is retried once on another node; the client gets 200, the retry
/// counter grows, and the access log names the node that answered.
#[test]
fn sent_read_only_requests_are_retried_on_another_node() {
    let a = TestNode::start("a");
    let b = TestNode::start("b");
    let gw = start(&config(
        "iri",
        &long(&[&a, &b]),
        "consecutive_failures = 1000",
        "",
        "",
    ));

    // A answers 503.
    a.control(json!({"status": {"getBalances": 503}}));
    for i in 0..6 {
        let r = send(&gw, &get_balances());
        assert_eq!(r.status, 200, "getBalances #{i}: {}", describe(&r));
        assert_eq!(who(&r), "b", "{}", describe(&r));
        assert_eq!(r.json()["node"], "b");
    }
    let tried_a = count(&a, "getBalances");
    assert!(tried_a >= 1, "round robin never tried node a");
    assert_eq!(count(&b, "getBalances"), 6);
    let retries = pool_metric(&gw, "nodeward_pool_retries_total");
    assert_eq!(
        retries, tried_a as f64,
        "one retry per request node a answered 503"
    );
    assert_eq!(pool_status(&gw)["retries"].as_u64(), Some(tried_a));
    let lines = gw.wait_log_lines(6);
    let served: Vec<&Value> = lines
        .iter()
        .filter(|l| l["command"] == "getbalances")
        .collect();
    assert_eq!(served.len(), 6, "access log: {lines:?}");
    for l in &served {
        assert_eq!(l["status"], 200, "{l}");
        assert_eq!(l["upstream"], "pool", "{l}");
        assert_eq!(
            l["backend"], "b",
            "the log must name the node that answered: {l}"
        );
    }

    // A closes the connection without answering.
    a.control(json!({"status": {}, "close": ["getBalances"]}));
    a.reset_stats();
    b.reset_stats();
    for i in 0..6 {
        let r = send(&gw, &get_balances());
        assert_eq!(r.status, 200, "getBalances #{i} (close): {}", describe(&r));
        assert_eq!(who(&r), "b", "{}", describe(&r));
    }
    assert!(
        count(&a, "getBalances") >= 1,
        "round robin never tried node a"
    );
    assert_eq!(count(&b, "getBalances"), 6);
    assert!(
        pool_metric(&gw, "nodeward_pool_retries_total") > retries,
        "retries did not grow for closed connections"
    );
}

/// A state-changing call that reached a node is never sent again: the
/// client gets the error (502 for a closed connection, the node's own 503).
#[test]
fn state_changing_calls_are_never_retried_after_send() {
    let a = TestNode::start("a");
    let b = TestNode::start("b");
    let gw = start(&config(
        "iri",
        &long(&[&a, &b]),
        "consecutive_failures = 1000",
        "",
        "",
    ));

    // A closes the connection.
    a.control(json!({"close": ["broadcastTransactions"]}));
    let (mut failed, mut ok) = (0u64, 0u64);
    for i in 0..4 {
        let r = send(&gw, &broadcast());
        match r.status {
            200 => {
                assert_eq!(who(&r), "b", "{}", describe(&r));
                ok += 1;
            }
            502 => {
                assert_eq!(r.json()["reason"], "upstream_error", "{}", describe(&r));
                failed += 1;
            }
            _ => panic!("broadcastTransactions #{i}: {}", describe(&r)),
        }
    }
    assert!(failed >= 1, "round robin never sent a broadcast to node a");
    assert_eq!(
        count(&b, "broadcastTransactions"),
        ok,
        "a broadcast node a had received was sent to node b as well"
    );
    assert_eq!(
        count(&a, "broadcastTransactions"),
        failed,
        "a broadcast was sent to node a more than once"
    );
    assert_eq!(pool_metric(&gw, "nodeward_pool_retries_total"), 0.0);

    // A answers 503: passed on as it is.
    a.control(json!({"close": [], "status": {"broadcastTransactions": 503}}));
    a.reset_stats();
    b.reset_stats();
    let (mut passed, mut ok) = (0u64, 0u64);
    for i in 0..4 {
        let r = send(&gw, &broadcast());
        match r.status {
            200 => {
                assert_eq!(who(&r), "b", "{}", describe(&r));
                ok += 1;
            }
            503 => {
                assert_eq!(
                    who(&r),
                    "a",
                    "node a's 503 must be passed on: {}",
                    describe(&r)
                );
                assert_eq!(r.json()["error"], "forced");
                passed += 1;
            }
            _ => panic!("broadcastTransactions #{i}: {}", describe(&r)),
        }
    }
    assert!(passed >= 1, "round robin never sent a broadcast to node a");
    assert_eq!(count(&b, "broadcastTransactions"), ok);
    assert_eq!(count(&a, "broadcastTransactions"), passed);
    assert_eq!(pool_metric(&gw, "nodeward_pool_retries_total"), 0.0);
}

/// `[[route.command]] retry = ...` overrides the read-only list both ways.
#[test]
fn per_command_retry_setting_overrides_the_default() {
    let a = TestNode::start("a");
    let b = TestNode::start("b");
    let gw = start(&config(
        "iri",
        &long(&[&a, &b]),
        "consecutive_failures = 1000",
        "",
        r#"
[[route.command]]
name = "broadcastTransactions"
retry = true

[[route.command]]
name = "getBalances"
retry = false
"#,
    ));
    a.control(json!({"status": {"broadcastTransactions": 503, "getBalances": 503}}));

    // broadcastTransactions, declared retryable: every client gets node b's answer.
    for i in 0..4 {
        let r = send(&gw, &broadcast());
        assert_eq!(
            r.status,
            200,
            "broadcastTransactions #{i} (retry = true): {}",
            describe(&r)
        );
        assert_eq!(who(&r), "b", "{}", describe(&r));
    }
    assert!(
        count(&a, "broadcastTransactions") >= 1,
        "node a never tried"
    );
    assert_eq!(count(&b, "broadcastTransactions"), 4);

    // getBalances, declared not retryable: node a's 503 is passed on.
    let (mut passed, mut ok) = (0u64, 0u64);
    for i in 0..4 {
        let r = send(&gw, &get_balances());
        match (r.status, who(&r).as_str()) {
            (200, "b") => ok += 1,
            (503, "a") => passed += 1,
            _ => panic!("getBalances #{i} (retry = false): {}", describe(&r)),
        }
    }
    assert!(passed >= 1, "round robin never sent getBalances to node a");
    assert_eq!(count(&b, "getBalances"), ok, "getBalances was retried");
    assert_eq!(count(&a, "getBalances"), passed);
}

/// A JSON-RPC batch is read-only only if every call in it is.
#[test]
fn a_batch_is_retried_only_when_every_call_is_read_only() {
    let a = TestNode::start("a");
    let b = TestNode::start("b");
    let gw = start(&config(
        "jsonrpc",
        &long(&[&a, &b]),
        "consecutive_failures = 1000",
        "",
        "",
    ));
    a.control(json!({"status": {"*": 503}}));

    let mixed = json!([
        rpc(1, "eth_getBalance", json!(["0xabc", "latest"])),
        rpc(2, "eth_sendRawTransaction", json!(["0xf86c01"])),
    ]);
    let (mut passed, mut ok) = (0u64, 0u64);
    for i in 0..4 {
        let r = send(&gw, &mixed);
        match (r.status, who(&r).as_str()) {
            (200, "b") => {
                assert_eq!(r.json()[1]["id"], 2, "{}", describe(&r));
                ok += 1;
            }
            (503, "a") => passed += 1,
            _ => panic!("mixed batch #{i}: {}", describe(&r)),
        }
    }
    assert!(
        passed >= 1,
        "round robin never sent the mixed batch to node a"
    );
    assert_eq!(
        count(&b, "eth_sendRawTransaction"),
        ok,
        "a batch with eth_sendRawTransaction was retried"
    );
    assert_eq!(count(&a, "eth_sendRawTransaction"), passed);
    let retries = pool_metric(&gw, "nodeward_pool_retries_total");
    assert_eq!(retries, 0.0);

    a.reset_stats();
    let reads = json!([
        rpc(1, "eth_getBalance", json!(["0xabc", "latest"])),
        rpc(2, "eth_getBalance", json!(["0xdef", "latest"])),
    ]);
    for i in 0..4 {
        let r = send(&gw, &reads);
        assert_eq!(r.status, 200, "read-only batch #{i}: {}", describe(&r));
        assert_eq!(who(&r), "b", "{}", describe(&r));
        let v = r.json();
        assert_eq!(v[0]["result"], "0x0", "{v}");
        assert_eq!(v[1]["result"], "0x0", "{v}");
    }
    assert!(count(&a, "eth_getBalance") >= 2, "node a never tried");
    assert!(pool_metric(&gw, "nodeward_pool_retries_total") > retries);
}

/// JSON-RPC answers are classified: "missing trie node" goes to another
/// node; "execution reverted" is final.
#[test]
fn jsonrpc_node_state_errors_go_elsewhere_and_reverts_are_final() {
    let a = TestNode::start("a");
    let b = TestNode::start("b");
    let gw = start(&config("jsonrpc", &long(&[&a, &b]), "", "", ""));
    a.control(json!({"missing_trie": true}));

    for i in 0..6 {
        let r = send(
            &gw,
            &rpc(
                i,
                "eth_call",
                json!([{"to": "0x1", "data": "0x"}, "latest"]),
            ),
        );
        assert_eq!(r.status, 200, "eth_call #{i}: {}", describe(&r));
        let v = r.json();
        assert_eq!(
            v["result"], "0x62",
            "eth_call #{i} must get node b's result: {v}"
        );
        assert_eq!(v["id"], i);
        let r = send(&gw, &rpc(i, "eth_getBalance", json!(["0xabc", "latest"])));
        let v = r.json();
        assert_eq!(v["result"], "0x0", "eth_getBalance #{i}: {v}");
        assert!(v.get("error").is_none(), "{v}");
    }
    assert!(count(&a, "eth_call") >= 1, "node a never tried eth_call");
    assert!(
        count(&a, "eth_getBalance") >= 1,
        "node a never tried eth_getBalance"
    );
    assert!(pool_metric(&gw, "nodeward_pool_retries_total") >= 2.0);

    a.reset_stats();
    b.reset_stats();
    for i in 0..4 {
        let r = send(
            &gw,
            &rpc(
                100 + i,
                "eth_call",
                json!([{"to": "0x1", "data": "0xrevert"}, "latest"]),
            ),
        );
        assert_eq!(r.status, 200, "reverting eth_call #{i}: {}", describe(&r));
        let v = r.json();
        assert_eq!(v["error"]["message"], "execution reverted", "{v}");
        assert_eq!(v["error"]["code"], 3, "{v}");
        assert_eq!(v["id"], 100 + i);
    }
    assert_eq!(
        count(&a, "eth_call") + count(&b, "eth_call"),
        4,
        "a reverted eth_call was sent to a second node"
    );
}

/// A call naming a block goes only to nodes whose head has it; a block no
/// node has is a clear JSON-RPC error, never an empty answer.
#[test]
fn block_number_calls_go_only_to_nodes_that_have_the_block() {
    let a = TestNode::start("a");
    let b = TestNode::start("b");
    a.control(json!({"head": 100}));
    b.control(json!({"head": 120}));
    let gw = start(&config(
        "jsonrpc",
        &long(&[&a, &b]),
        "",
        r#"
[upstream.health]
kind = "jsonrpc"
interval = "200ms"
timeout = "1s"
max_lag = 50
"#,
        "",
    ));
    wait_for(
        &gw,
        "both heads known and both healthy",
        Duration::from_secs(5),
        || {
            let (ba, bb) = (backend(&gw, "a"), backend(&gw, "b"));
            ba["head"] == 100
                && bb["head"] == 120
                && ba["state"] == "healthy"
                && bb["state"] == "healthy"
        },
    );
    a.reset_stats();
    b.reset_stats();

    for i in 0..10 {
        let r = send(&gw, &rpc(i, "eth_getBlockByNumber", json!(["0x73", false])));
        assert_eq!(r.status, 200, "block 115 #{i}: {}", describe(&r));
        let v = r.json();
        assert_eq!(
            v["result"]["number"], "0x73",
            "block 115 #{i} must not be null: {v}"
        );
        assert_eq!(v["result"]["node"], "b", "{v}");
        assert_eq!(v["id"], i);
    }
    assert_eq!(
        count(&a, "eth_getBlockByNumber"),
        0,
        "block 115 was asked of node a (head 100)"
    );

    for i in 0..6 {
        let r = send(&gw, &rpc(i, "eth_getBlockByNumber", json!(["0x64", false])));
        let v = r.json();
        assert_eq!(v["result"]["number"], "0x64", "block 100 #{i}: {v}");
    }

    let r = send(
        &gw,
        &json!({"jsonrpc": "2.0", "id": "q-500", "method": "eth_getBlockByNumber", "params": ["0x1f4", false]}),
    );
    assert_eq!(r.status, 503, "block 500: {}", describe(&r));
    let v = r.json();
    assert_eq!(v["jsonrpc"], "2.0", "{v}");
    assert_eq!(v["id"], "q-500", "the request's id must be echoed: {v}");
    assert_eq!(v["error"]["code"], -32000, "{v}");
    assert_eq!(v["error"]["data"]["reason"], "block_unavailable", "{v}");
    let msg = v["error"]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("block 500") && msg.contains("120"),
        "the message must name block 500 and the highest head 120: {v}"
    );
    assert!(v.get("result").is_none(), "{v}");
}

/// The attempt cap: three nodes answering 503, max_attempts = 2 — the
/// client gets a 503 after exactly two attempts.
#[test]
fn attempts_per_request_are_capped() {
    let nodes = [
        TestNode::start("a"),
        TestNode::start("b"),
        TestNode::start("c"),
    ];
    let gw = start(&config(
        "iri",
        &long(&[&nodes[0], &nodes[1], &nodes[2]]),
        "consecutive_failures = 1000\nmax_attempts = 2",
        "",
        "",
    ));
    for n in &nodes {
        n.control(json!({"status": {"getBalances": 503}}));
    }
    for i in 1..=3u64 {
        let r = send(&gw, &get_balances());
        assert_eq!(r.status, 503, "request #{i}: {}", describe(&r));
        let total: u64 = nodes.iter().map(|n| count(n, "getBalances")).sum();
        assert_eq!(total, 2 * i, "request #{i}: attempts over all nodes");
    }
    assert_eq!(pool_metric(&gw, "nodeward_pool_retries_total"), 3.0);
}

/// The retry budget: with no share of first attempts and a floor of one
/// retry a second, a node that always fails cannot double the traffic.
#[test]
fn retries_are_limited_by_the_retry_budget() {
    let a = TestNode::start("a");
    let b = TestNode::start("b");
    let gw = start(&config(
        "iri",
        &long(&[&a, &b]),
        "consecutive_failures = 1000\nretry_budget = 0.0\nmin_retries_per_second = 1",
        "",
        "",
    ));
    a.control(json!({"status": {"getBalances": 503}}));
    let t = Instant::now();
    let requests = 80u64;
    let mut failed = 0u64;
    for i in 0..requests {
        let r = send(&gw, &get_balances());
        match (r.status, who(&r).as_str()) {
            (200, "b") => {}
            (503, "a") => failed += 1,
            _ => panic!("request #{i}: {}", describe(&r)),
        }
    }
    let secs = t.elapsed().as_secs_f64();
    let retries = pool_metric(&gw, "nodeward_pool_retries_total");
    let refused = pool_metric(&gw, "nodeward_pool_retries_refused_total");
    let tried_a = count(&a, "getBalances") as f64;
    assert!(
        refused > 0.0,
        "no retry was refused (retries {retries}, node a {tried_a})"
    );
    assert_eq!(
        refused, failed as f64,
        "each refused retry leaves node a's 503"
    );
    assert_eq!(
        retries + refused,
        tried_a,
        "every request node a failed was either retried or refused"
    );
    // The bucket holds 10 s of the floor; it refills 1/s.
    let allowed = 10.0 + secs.ceil() + 1.0;
    assert!(
        retries <= allowed,
        "{retries} retries in {secs:.1}s (at most {allowed})"
    );
    assert!(
        retries < requests as f64 / 4.0,
        "{retries} retries for {requests} requests"
    );
    assert_eq!(
        pool_status(&gw)["retries_refused_by_budget"].as_f64(),
        Some(refused)
    );
}

/// Hedging: once the command's latency is known, a read-only call the
/// first node is slow to answer is also asked of a second node; the first
/// answer wins and the slow request is cancelled. State-changing calls are
/// never hedged.
#[test]
fn slow_read_only_calls_are_hedged_state_changing_ones_never() {
    let a = TestNode::start("a");
    let b = TestNode::start("b");
    let gw = start(&config(
        "iri",
        &long(&[&a, &b]),
        "",
        r#"
[upstream.hedge]
quantile = 0.5
min_delay = "20ms"
budget = 1.0
"#,
        "",
    ));
    for i in 0..30 {
        for body in [get_balances(), broadcast()] {
            let r = send(&gw, &body);
            assert_eq!(r.status, 200, "warm-up #{i}: {}", describe(&r));
        }
    }
    assert_eq!(pool_metric(&gw, "nodeward_pool_hedges_total"), 0.0);

    a.control(json!({"delay_ms": {"getBalances": 2000}}));
    for i in 0..4 {
        let (r, took) = timed(&gw, &get_balances());
        assert_eq!(r.status, 200, "getBalances #{i}: {}", describe(&r));
        assert_eq!(who(&r), "b", "{}", describe(&r));
        assert!(
            took < Duration::from_millis(800),
            "getBalances #{i} took {took:?}: not hedged"
        );
    }
    let hedges = pool_metric(&gw, "nodeward_pool_hedges_total");
    assert!(hedges >= 1.0, "no hedge recorded");
    assert!(
        pool_metric(&gw, "nodeward_pool_hedge_wins_total") >= 1.0,
        "no hedge win recorded"
    );
    wait_for(
        &gw,
        "node a's slow request to be cancelled",
        Duration::from_secs(3),
        || a.stats()["abandoned"].as_u64() >= Some(1),
    );

    // State-changing: never hedged, however slow.
    a.control(json!({"delay_ms": {"broadcastTransactions": 1000}}));
    a.reset_stats();
    b.reset_stats();
    let mut by_b = 0;
    let mut slow = None;
    for _ in 0..3 {
        let (r, took) = timed(&gw, &broadcast());
        assert_eq!(r.status, 200, "broadcastTransactions: {}", describe(&r));
        if who(&r) == "a" {
            slow = Some(took);
            break;
        }
        by_b += 1;
    }
    let took = slow.expect("round robin never sent a broadcast to node a");
    assert!(
        took >= Duration::from_millis(950),
        "the slow broadcast took {took:?}: answered by someone else?"
    );
    assert_eq!(count(&a, "broadcastTransactions"), 1);
    assert_eq!(
        count(&b, "broadcastTransactions"),
        by_b,
        "a broadcast was hedged to node b"
    );
    assert_eq!(pool_metric(&gw, "nodeward_pool_hedges_total"), hedges);
}

/// `[[route.command]] hedge = false` turns hedging off for a command.
#[test]
fn hedging_can_be_turned_off_per_command() {
    let a = TestNode::start("a");
    let b = TestNode::start("b");
    let gw = start(&config(
        "iri",
        &long(&[&a, &b]),
        "",
        r#"
[upstream.hedge]
quantile = 0.5
min_delay = "20ms"
budget = 1.0
"#,
        r#"
[[route.command]]
name = "getBalances"
hedge = false
"#,
    ));
    for i in 0..30 {
        let r = send(&gw, &get_balances());
        assert_eq!(r.status, 200, "warm-up #{i}: {}", describe(&r));
    }
    a.control(json!({"delay_ms": {"getBalances": 1000}}));
    a.reset_stats();
    b.reset_stats();
    let mut by_b = 0;
    let mut slow = None;
    for _ in 0..3 {
        let (r, took) = timed(&gw, &get_balances());
        assert_eq!(r.status, 200, "getBalances: {}", describe(&r));
        if who(&r) == "a" {
            slow = Some(took);
            break;
        }
        by_b += 1;
    }
    let took = slow.expect("round robin never sent getBalances to node a");
    assert!(took >= Duration::from_millis(950), "took {took:?}: hedged?");
    assert_eq!(
        count(&b, "getBalances"),
        by_b,
        "getBalances was hedged to node b"
    );
    assert_eq!(pool_metric(&gw, "nodeward_pool_hedges_total"), 0.0);
}

/// A read-only call to a node that hangs past the route's timeout gets a
/// 504 within about the timeout, and the backend's error counter grows.
#[test]
fn a_hanging_node_gets_a_timely_504() {
    let a = TestNode::start("a");
    let gw = start(&config("iri", &long(&[&a]), "", "", r#"timeout = "500ms""#));
    let series = "nodeward_backend_errors_total{pool=\"pool\",backend=\"a\"}";
    assert_eq!(gw.metric(series), 0.0);
    a.control(json!({"hang": ["getBalances"]}));
    let (r, took) = timed(&gw, &get_balances());
    assert_eq!(r.status, 504, "{}", describe(&r));
    assert_eq!(r.json()["reason"], "upstream_timeout", "{}", describe(&r));
    assert!(
        took >= Duration::from_millis(450) && took < Duration::from_millis(1500),
        "504 after {took:?} (route timeout 500ms)"
    );
    assert!(gw.metric(series) >= 1.0, "{}", gw.metrics());
    assert_eq!(
        count(&a, "getBalances"),
        1,
        "a timed-out read was sent again"
    );
    // Other commands still work.
    let r = send(&gw, &json!({"command": "getTips"}));
    assert_eq!(r.status, 200, "{}", describe(&r));
}

/// Slow start: a node registered into a running pool gets a reduced
/// share at first, its full share after the window.
#[test]
fn a_read_only_attempt_past_its_try_timeout_is_asked_of_another_node() {
    let a = TestNode::start("a");
    let b = TestNode::start("b");
    let gw = start(&config(
        "iri",
        &long(&[&a, &b]),
        r#"try_timeout = "300ms"
consecutive_failures = 1000"#,
        "",
        "",
    ));
    a.control(json!({"hang": ["getBalances", "broadcastTransactions"]}));
    for _ in 0..4 {
        let (r, took) = timed(&gw, &get_balances());
        assert_eq!(r.status, 200, "{}", describe(&r));
        assert_eq!(who(&r), "b", "{}", describe(&r));
        assert!(
            took < Duration::from_millis(1500),
            "answered after {took:?}"
        );
    }
    assert!(count(&a, "getBalances") >= 1, "a was never tried");
    // A state-changing call is never given up on this way: it waits for the
    // request's own timeout (5 s) on the node it reached, or is answered by b.
    let (r, _) = timed(&gw, &broadcast());
    let tried = count(&a, "broadcastTransactions") + count(&b, "broadcastTransactions");
    assert_eq!(tried, 1, "sent twice: {}", describe(&r));
}

#[test]
fn a_registered_node_ramps_up_over_the_slow_start_window() {
    let a = TestNode::start("a");
    let b = TestNode::start("b");
    let gw = start(&config("iri", &long(&[&a]), r#"slow_start = "3s""#, "", ""));
    // Backends in the config ramp up from the start too: let node a finish.
    thread::sleep(Duration::from_millis(3200));
    let (code, body) = admin_put(
        &gw,
        "/upstreams/pool/backends/b",
        &json!({"address": b.url()}),
    );
    assert_eq!(code, 201, "registration: {body}");
    let registered = Instant::now();

    let share_of_b = |n: u32| {
        let mut b_count = 0;
        for i in 0..n {
            let r = send(&gw, &get_balances());
            assert_eq!(r.status, 200, "#{i}: {}", describe(&r));
            if who(&r) == "b" {
                b_count += 1;
            }
        }
        f64::from(b_count) / f64::from(n)
    };
    let early = share_of_b(100);
    let early_took = registered.elapsed();
    assert!(
        early_took < Duration::from_millis(1500),
        "100 requests took {early_took:?}; too slow to see the ramp"
    );
    assert!(
        early > 0.0 && early < 0.35,
        "node b got {:.0} % of the first 100 requests after registering",
        early * 100.0
    );
    if let Some(left) = Duration::from_millis(3300).checked_sub(registered.elapsed()) {
        thread::sleep(left);
    }
    let late = share_of_b(100);
    assert!(
        (0.4..=0.6).contains(&late),
        "node b got {:.0} % of 100 requests after the window",
        late * 100.0
    );
}

/// Probation: a node failing every request is ejected after
/// `consecutive_failures`; when the ejection ends exactly one request is
/// let through; it fails and the node is ejected again (for longer); once
/// the node is fixed, the next probation request readmits it.
#[test]
fn an_ejected_node_gets_one_probation_request_at_a_time() {
    let a = TestNode::start("a");
    let b = TestNode::start("b");
    let gw = start(&config(
        "iri",
        &long(&[&a, &b]),
        "consecutive_failures = 3\neject_for = \"1s\"\nmax_eject_for = \"1m\"",
        "",
        "",
    ));
    a.control(json!({"status": {"*": 500}}));

    let mut sent = 0;
    while backend(&gw, "a")["state"] != "ejected" {
        assert!(
            sent < 10,
            "node a not ejected after {sent} requests: {}",
            pool_status(&gw)
        );
        let r = send(&gw, &get_balances());
        match (r.status, who(&r).as_str()) {
            (200, "b") | (500, "a") => {}
            _ => panic!("request #{sent}: {}", describe(&r)),
        }
        sent += 1;
    }
    let ejected_at = Instant::now();
    assert_eq!(
        count(&a, "getBalances"),
        3,
        "ejected after 3 failures in a row"
    );
    assert_eq!(backend(&gw, "a")["ejections"], 1);
    a.reset_stats();

    // While ejected: nothing for node a.
    for i in 0..5 {
        let r = send(&gw, &get_balances());
        assert_eq!(
            (r.status, who(&r).as_str()),
            (200, "b"),
            "#{i}: {}",
            describe(&r)
        );
    }
    assert_eq!(a.stats()["total"], 0, "node a got requests while ejected");

    // After about 1 s: one probation request, which fails.
    let deadline = Instant::now() + Duration::from_secs(4);
    while a.stats()["total"] == 0 {
        assert!(
            Instant::now() < deadline,
            "no probation request: {}",
            pool_status(&gw)
        );
        let r = send(&gw, &get_balances());
        match (r.status, who(&r).as_str()) {
            (200, "b") | (500, "a") => {}
            _ => panic!("{}", describe(&r)),
        }
        thread::sleep(Duration::from_millis(30));
    }
    let probed_after = ejected_at.elapsed();
    assert!(
        probed_after >= Duration::from_millis(900),
        "probation request after only {probed_after:?} (eject_for 1s)"
    );
    let st = backend(&gw, "a");
    assert_eq!(
        st["state"], "ejected",
        "the failed probe must eject again: {st}"
    );
    assert_eq!(st["ejections"], 2, "{st}");
    for i in 0..10 {
        let r = send(&gw, &get_balances());
        assert_eq!(
            (r.status, who(&r).as_str()),
            (200, "b"),
            "#{i}: {}",
            describe(&r)
        );
    }
    assert_eq!(a.stats()["total"], 1, "more than one probation request");

    // Fixed: the next probation request (after the doubled 2 s) readmits it.
    a.control(json!({"status": {}}));
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        assert!(
            Instant::now() < deadline,
            "node a not readmitted: {}",
            pool_status(&gw)
        );
        let r = send(&gw, &get_balances());
        assert_eq!(r.status, 200, "{}", describe(&r));
        if who(&r) == "a" {
            break;
        }
        thread::sleep(Duration::from_millis(30));
    }
    let st = backend(&gw, "a");
    assert_eq!(st["state"], "healthy", "{st}");
    assert_eq!(st["ejections"], 2, "{st}");
    let mut by_a = 0;
    for _ in 0..10 {
        let r = send(&gw, &get_balances());
        assert_eq!(r.status, 200, "{}", describe(&r));
        if who(&r) == "a" {
            by_a += 1;
        }
    }
    assert!(by_a >= 3, "readmitted node a got {by_a} of 10 requests");
}
