//! End-to-end: a node pool of REAL Ethereum JSON-RPC nodes — ganache processes
//! on 127.0.0.1 (installed by `scripts/test.sh`, see `scripts/evm-node.sh`) —
//! behind the real `nodeward gateway`: real health-check answers parse, a
//! node that falls behind is removed for lag and comes back, block-number
//! routing with real blocks, real error answers passed on without retries,
//! and a node killed -9 under read load costs no client request.
//!
//! Heads are set by mining (`evm_mine`) on each node directly. Needs
//! `cargo build --release -p nodeward -p nodeward-testnode` first; fails
//! (never skips) if ganache is not installed.

mod common_evm;
mod common_gateway;
mod common_pool;

use common_evm::{hex, EvmNode, ACCOUNT0, ACCOUNT1, CHAIN_ID, START_BALANCE};
use common_gateway::Gateway;
use common_pool::{http, HttpReply};
use serde_json::{json, Value};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

// ---------------------------------------------------------------- helpers

/// A gateway with one JSON-RPC pool "evm" of `nodes` (short form: ids are
/// `127.0.0.1:PORT`), active jsonrpc checks every 200 ms, `health_extra`
/// more `[upstream.health]` keys.
fn start_gw(nodes: &[EvmNode], health_extra: &str) -> Gateway {
    let list: Vec<String> = nodes.iter().map(|n| format!("{:?}", n.url())).collect();
    let template = format!(
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
timeout = "5s"
backends = [{}]

[upstream.health]
kind = "jsonrpc"
interval = "200ms"
timeout = "1s"
min_peers = 0
{health_extra}

[[route]]
protocol = "jsonrpc"
upstream = "evm"
"#,
        list.join(", ")
    );
    Gateway::start(&template, "unused")
}

fn rpc(id: u64, method: &str, params: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params})
}

/// POSTs `body` to the gateway on its own connection.
fn send(gw: &Gateway, body: &Value) -> HttpReply {
    http(gw.addr(), "POST", "/", body.to_string().as_bytes())
        .unwrap_or_else(|e| panic!("POST {body} to the gateway: {e}\n{}", gw.stderr()))
}

/// [`send`]; asserts a 200 JSON-RPC success with the request's id and
/// returns its `result`.
fn result(gw: &Gateway, id: u64, method: &str, params: Value) -> Value {
    let r = send(gw, &rpc(id, method, params.clone()));
    assert_eq!(r.status, 200, "{method} {params}: {}", r.text());
    let v = r.json();
    assert!(v.get("error").is_none(), "{method} {params}: {v}");
    assert_eq!(v["id"], id, "{method}: the id must be echoed: {v}");
    v["result"].clone()
}

/// The pool's `/status` entry.
fn pool(gw: &Gateway) -> Value {
    let (code, body) = gw.admin("GET", "/status");
    assert_eq!(code, 200, "GET /status: {body}");
    let st: Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("/status is not JSON ({e}): {body}"));
    st["upstreams"]
        .as_array()
        .and_then(|u| u.iter().find(|p| p["name"] == "evm"))
        .cloned()
        .unwrap_or_else(|| panic!("no pool evm in /status: {st}"))
}

fn backend_in(pool: &Value, node: &EvmNode) -> Value {
    let id = node.id();
    pool["backends"]
        .as_array()
        .and_then(|b| b.iter().find(|b| b["id"] == id.as_str()))
        .cloned()
        .unwrap_or_else(|| panic!("no backend {id} ({}) in /status: {pool}", node.name))
}

/// Polls /status every 50 ms until `ok` holds; panics with `what`, the last
/// pool status and the gateway's stderr tail after `secs`.
fn wait_pool(gw: &Gateway, what: &str, secs: u64, mut ok: impl FnMut(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        let p = pool(gw);
        if ok(&p) {
            return p;
        }
        if Instant::now() > deadline {
            let err = gw.stderr();
            let tail = &err[err.len().saturating_sub(3000)..];
            panic!("timed out after {secs} s waiting for {what}; pool: {p}\nstderr tail:\n{tail}");
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// Every node healthy, serving, with the head `heads[i]` the check read.
fn all_healthy_at(p: &Value, nodes: &[EvmNode], heads: &[u64]) -> bool {
    nodes.iter().zip(heads).all(|(n, h)| {
        let b = backend_in(p, n);
        b["state"] == "healthy" && b["serving"] == true && b["head"] == *h
    })
}

fn has_exclusion(b: &Value, reason: &str) -> bool {
    b["last_check"]["exclusions"]
        .as_array()
        .is_some_and(|x| x.iter().any(|e| e["reason"] == reason))
}

fn retries(gw: &Gateway) -> f64 {
    gw.metric(r#"nodeward_pool_retries_total{pool="evm"}"#)
}

// ------------------------------------------------------------------ tests

/// Real answers parse: the checks read each ganache's head (no peers, not
/// syncing), the pool is ready, and real calls get real results.
#[test]
fn real_nodes_are_checked_healthy_and_answer_through_the_gateway() {
    let nodes = EvmNode::start_all(&["a", "b", "c"]);
    for (n, k) in nodes.iter().zip([2, 2, 1]) {
        n.mine(k);
    }
    let gw = start_gw(&nodes, "max_lag = 5");
    let p = wait_pool(&gw, "a, b, c healthy at heads 2, 2, 1", 10, |p| {
        all_healthy_at(p, &nodes, &[2, 2, 1])
    });
    assert_eq!(p["head"], 2, "pool head (2nd highest of 2, 2, 1): {p}");
    for n in &nodes {
        let b = backend_in(&p, n);
        assert_eq!(b["last_check"]["level"], "pass", "{}: {b}", n.name);
        assert!(b["checks"]["pass"].as_u64().unwrap_or(0) >= 1, "{b}");
    }
    let (code, body) = gw.admin("GET", "/ready");
    assert_eq!(code, 200, "/ready: {body}");

    assert_eq!(result(&gw, 1, "eth_chainId", json!([])), CHAIN_ID);
    for i in 0..6 {
        let head = hex(&result(&gw, 10 + i, "eth_blockNumber", json!([])));
        assert!(head == 1 || head == 2, "eth_blockNumber #{i}: {head}");
    }
    let version = result(&gw, 2, "web3_clientVersion", json!([]));
    assert!(
        version
            .as_str()
            .is_some_and(|v| v.starts_with("Ganache/v7.9.2")),
        "web3_clientVersion: {version}"
    );
    let balance = result(&gw, 3, "eth_getBalance", json!([ACCOUNT0, "latest"]));
    assert_eq!(balance, START_BALANCE);
    let block = result(&gw, 4, "eth_getBlockByNumber", json!(["0x1", false]));
    assert_eq!(block["number"], "0x1", "{block}");
    assert!(
        block["hash"].as_str().is_some_and(|h| h.len() == 66),
        "{block}"
    );
    assert_eq!(retries(&gw), 0.0, "nothing needed a retry");
}

/// max_lag = 2: A and B mine 5 blocks, C stays at 0 — C becomes critical
/// for "lag" and stops serving, the pool head is A's head; C mined up
/// returns.
#[test]
fn a_real_node_that_falls_behind_is_removed_for_lag_and_returns() {
    let nodes = EvmNode::start_all(&["a", "b", "c"]);
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
    let gw = start_gw(&nodes, "max_lag = 2\nfall = 2\nrise = 2");
    wait_pool(&gw, "a, b, c healthy at head 0", 10, |p| {
        all_healthy_at(p, &nodes, &[0, 0, 0])
    });

    a.mine(5);
    b.mine(5);
    assert_eq!((a.head(), b.head(), c.head()), (5, 5, 0));
    let p = wait_pool(&gw, "c critical for lag, out of service", 10, |p| {
        let bc = backend_in(p, c);
        bc["state"] == "critical" && bc["serving"] == false && has_exclusion(&bc, "lag")
    });
    assert_eq!(p["head"], a.head(), "pool head must be a's head: {p}");
    for n in [a, b] {
        let bn = backend_in(&p, n);
        assert_eq!(bn["state"], "healthy", "{}: {bn}", n.name);
        assert_eq!(bn["head"], 5, "{}: {bn}", n.name);
    }
    let x = backend_in(&p, c)["last_check"]["exclusions"]
        .as_array()
        .and_then(|x| x.iter().find(|e| e["reason"] == "lag").cloned())
        .unwrap();
    assert_eq!(x["value"], "5", "c's lag: {x}");
    assert_eq!(x["threshold"], "2", "{x}");
    // Only a and b answer now: every head read through the gateway is 5.
    for i in 0..10 {
        let head = hex(&result(&gw, i, "eth_blockNumber", json!([])));
        assert_eq!(
            head, 5,
            "eth_blockNumber #{i} was answered by the lagging node"
        );
    }

    c.mine(5);
    wait_pool(&gw, "c back, healthy at head 5", 10, |p| {
        all_healthy_at(p, &nodes, &[5, 5, 5])
    });
}

/// With A and B at head 5 and C at 0 (max_lag = 10: C stays in), a call
/// naming block 5 always gets the real block (never ganache's null from C),
/// and block 100 is a JSON-RPC 503 "block_unavailable".
#[test]
fn block_number_calls_get_real_blocks_only_from_nodes_that_have_them() {
    let nodes = EvmNode::start_all(&["a", "b", "c"]);
    let (a, b, c) = (&nodes[0], &nodes[1], &nodes[2]);
    a.mine(5);
    b.mine(5);
    let gw = start_gw(&nodes, "max_lag = 10");
    wait_pool(&gw, "a, b, c healthy at heads 5, 5, 0", 10, |p| {
        all_healthy_at(p, &nodes, &[5, 5, 0])
    });
    // C itself answers null for block 5: what the gateway must never pass on.
    assert_eq!(
        c.rpc("eth_getBlockByNumber", json!(["0x5", false])),
        Value::Null
    );
    let hashes = [a.block(5)["hash"].clone(), b.block(5)["hash"].clone()];

    for i in 0..10 {
        let blk = result(&gw, i, "eth_getBlockByNumber", json!(["0x5", false]));
        assert!(blk.is_object(), "block 5 #{i} must be a block, not {blk}");
        assert_eq!(blk["number"], "0x5", "block 5 #{i}: {blk}");
        assert!(
            hashes.contains(&blk["hash"]),
            "block 5 #{i} is neither a's nor b's block 5: {blk}"
        );
        let bal = result(&gw, 100 + i, "eth_getBalance", json!([ACCOUNT0, "0x5"]));
        assert_eq!(bal, START_BALANCE, "balance at block 5 #{i}");
    }

    let r = send(
        &gw,
        &json!({"jsonrpc": "2.0", "id": "q-100", "method": "eth_getBlockByNumber", "params": ["0x64", false]}),
    );
    assert_eq!(r.status, 503, "block 100: {}", r.text());
    let v = r.json();
    assert_eq!(v["jsonrpc"], "2.0", "{v}");
    assert_eq!(v["id"], "q-100", "the id must be echoed: {v}");
    assert_eq!(v["error"]["code"], -32000, "{v}");
    assert_eq!(v["error"]["data"]["reason"], "block_unavailable", "{v}");
    let msg = v["error"]["message"].as_str().unwrap_or_default();
    assert!(
        msg.contains("block 100") && msg.contains("highest: 5"),
        "the message must name block 100 and the highest head 5: {v}"
    );
    assert!(v.get("result").is_none(), "{v}");
}

/// Ganache's own error answers — a reverting eth_call, an invalid opcode, a
/// transaction that does not decode — are passed on as they are and never
/// retried (they do not eject the node either); a state-changing
/// eth_sendTransaction lands on exactly one node.
#[test]
fn real_error_answers_are_passed_on_and_not_retried() {
    let nodes = EvmNode::start_all(&["a", "b"]);
    let gw = start_gw(&nodes, "max_lag = 5");
    wait_pool(&gw, "a, b healthy at head 0", 10, |p| {
        all_healthy_at(p, &nodes, &[0, 0])
    });

    let cases = [
        (
            "revert",
            "0x60006000fd",
            "VM Exception while processing transaction: revert",
        ),
        (
            "invalid",
            "0xfe",
            "VM Exception while processing transaction: invalid opcode",
        ),
    ];
    for (i, (what, code, message)) in cases.iter().cycle().take(12).enumerate() {
        // From 1: ganache answers an error to id 0 with "id": null.
        let id = 1 + i as u64;
        let r = send(
            &gw,
            &rpc(
                id,
                "eth_call",
                json!([{"from": ACCOUNT0, "data": code}, "latest"]),
            ),
        );
        assert_eq!(r.status, 200, "{what} eth_call #{i}: {}", r.text());
        let v = r.json();
        assert_eq!(v["id"], id, "{v}");
        assert_eq!(v["error"]["message"], *message, "{what} eth_call #{i}: {v}");
        assert_eq!(v["error"]["code"], -32000, "{v}");
        assert!(v.get("result").is_none(), "{v}");
    }
    assert_eq!(retries(&gw), 0.0, "a reverted eth_call was retried");

    for i in 0..3 {
        let r = send(
            &gw,
            &rpc(50 + i, "eth_sendRawTransaction", json!(["0xdeadbeef"])),
        );
        assert_eq!(r.status, 200, "garbage transaction #{i}: {}", r.text());
        let v = r.json();
        assert_eq!(v["id"], 50 + i, "{v}");
        assert_eq!(v["error"]["code"], -32700, "garbage transaction #{i}: {v}");
        let msg = v["error"]["message"].as_str().unwrap_or_default();
        assert!(msg.starts_with("Could not decode transaction"), "{v}");
    }
    assert_eq!(retries(&gw), 0.0, "eth_sendRawTransaction was retried");

    // Instant mining: a transaction mines one block on the one node it reached.
    let tx = result(
        &gw,
        60,
        "eth_sendTransaction",
        json!([{"from": ACCOUNT0, "to": ACCOUNT1, "value": "0x1"}]),
    );
    assert!(tx.as_str().is_some_and(|h| h.len() == 66), "tx hash: {tx}");
    let heads: Vec<u64> = nodes.iter().map(EvmNode::head).collect();
    assert_eq!(
        heads.iter().sum::<u64>(),
        1,
        "eth_sendTransaction must reach exactly one node (heads {heads:?})"
    );
    assert_eq!(retries(&gw), 0.0);

    // Error answers are answers: no node was ejected or failed for them.
    let p = pool(&gw);
    for n in &nodes {
        let b = backend_in(&p, n);
        assert_eq!(b["state"], "healthy", "{}: {b}", n.name);
        assert_eq!(b["ejections"], 0, "{}: {b}", n.name);
        assert_eq!(b["consecutive_failures"], 0, "{}: {b}", n.name);
    }
}

/// Three client threads read (eth_blockNumber, eth_getBalance) while one of
/// three nodes is killed -9: no client request fails, and the dead node is
/// taken out.
#[test]
fn killing_a_real_node_under_read_load_fails_no_request() {
    let mut nodes = EvmNode::start_all(&["a", "b", "c"]);
    for n in &nodes {
        n.mine(3);
    }
    let gw = start_gw(&nodes, "max_lag = 5");
    wait_pool(&gw, "a, b, c healthy at head 3", 10, |p| {
        all_healthy_at(p, &nodes, &[3, 3, 3])
    });
    let addr = gw.addr();
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..3u64)
        .map(|t| {
            let stop = stop.clone();
            thread::spawn(move || {
                let (mut done, mut failures) = (0u64, Vec::new());
                let mut i = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    i += 1;
                    let id = t * 1_000_000 + i;
                    let (body, want) = if i.is_multiple_of(2) {
                        (rpc(id, "eth_blockNumber", json!([])), json!("0x3"))
                    } else {
                        (
                            rpc(id, "eth_getBalance", json!([ACCOUNT0, "latest"])),
                            json!(START_BALANCE),
                        )
                    };
                    match http(addr, "POST", "/", body.to_string().as_bytes()) {
                        Ok(r) if r.status == 200 => {
                            let v: Value = serde_json::from_slice(&r.body).unwrap_or(Value::Null);
                            if v["result"] != want || v["id"] != id {
                                failures.push(format!("{body} -> {v}"));
                            }
                        }
                        Ok(r) => failures.push(format!("{body} -> {} {}", r.status, r.text())),
                        Err(e) => failures.push(format!("{body} -> {e}")),
                    }
                    done += 1;
                }
                (done, failures)
            })
        })
        .collect();

    thread::sleep(Duration::from_millis(1000));
    let victim = nodes[2].id();
    nodes[2].kill9();
    let p = wait_pool(&gw, "the killed node out of service", 5, |p| {
        backend_in(p, &nodes[2])["serving"] == false
    });
    thread::sleep(Duration::from_millis(1500));
    stop.store(true, Ordering::Relaxed);

    let mut total = 0;
    let mut failures = Vec::new();
    for c in clients {
        let (done, f) = c.join().unwrap();
        total += done;
        failures.extend(f);
    }
    assert!(
        failures.is_empty(),
        "{} of {total} read-only requests failed after killing {victim}; first: {:?}\npool: {p}",
        failures.len(),
        &failures[..failures.len().min(5)]
    );
    assert!(total >= 60, "only {total} requests were made");
    let b = backend_in(&pool(&gw), &nodes[2]);
    assert!(
        b["state"] == "ejected" || b["state"] == "critical",
        "the killed node must be ejected or critical: {b}"
    );
}
