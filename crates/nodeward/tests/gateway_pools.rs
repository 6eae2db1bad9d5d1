//! End-to-end tests of the gateway's node pools (issue 10): the real
//! `nodeward gateway` in front of several real `nodeward-testnode` processes
//! on 127.0.0.1. Strategies, active checks of every kind judged against the
//! pool, passive ejection, kills under load, pool-wide conditions, metrics
//! and the `status` command.
//!
//! Needs `cargo build --release -p nodeward -p nodeward-testnode` first.

mod common_gateway;
mod common_pool;
mod common_pools_health;

use common_pool::TestNode;
use common_pools_health::*;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// An IRI pool over `nodes` with `keys` (strategy, timeouts...) and `[upstream.health]` `health`.
fn iri_pool(nodes: &[TestNode], keys: &str, health: &str) -> String {
    config(&format!("{}{keys}\n{health}", backends(nodes)), IRI_ROUTE)
}

fn ids(nodes: &[TestNode]) -> Vec<String> {
    nodes.iter().map(id).collect()
}

/// Sends `n` IRI `command`s on one keep-alive connection; every answer must be 200.
fn send_ok(gw: &common_gateway::Gateway, command: &str, n: usize) -> Vec<Reply> {
    let mut c = Client::new(gw.addr());
    (0..n)
        .map(|i| {
            let r = c.iri(command);
            assert_eq!(
                r.status, 200,
                "{command} #{i} through the gateway: {}",
                r.body
            );
            r
        })
        .collect()
}

// ---------------------------------------------------------------------------
// 1. Distribution per strategy
// ---------------------------------------------------------------------------

#[test]
fn round_robin_spreads_requests_evenly() {
    let nodes = nodes("rr", 3);
    let gw = start_gw(&iri_pool(
        &nodes,
        "strategy = \"round_robin\"\n",
        &health("iri", FAST, ""),
    ));
    wait_all(&gw, &ids(&nodes), "healthy", 5.0);
    reset_all(&nodes);
    let replies = send_ok(&gw, "getTips", 90);
    let mut by_header: HashMap<String, u64> = HashMap::new();
    for r in &replies {
        *by_header
            .entry(r.node().expect("answer names its node"))
            .or_default() += 1;
    }
    let c = counts(&nodes, "getTips");
    assert_eq!(c.iter().sum::<u64>(), 90, "{c:?}");
    for (n, &k) in nodes.iter().zip(&c) {
        assert!((28..=32).contains(&k), "round robin gave {c:?}");
        assert_eq!(
            by_header.get(&n.name).copied().unwrap_or(0),
            k,
            "{by_header:?} vs {c:?}"
        );
    }
}

#[test]
fn weighted_follows_the_weights() {
    let nodes = nodes("wt", 2);
    let upstream = format!(
        "strategy = \"weighted\"\n{}\n\
         [[upstream.backend]]\naddress = \"{}\"\nid = \"light\"\nweight = 1\n\
         [[upstream.backend]]\naddress = \"{}\"\nid = \"heavy\"\nweight = 3\n",
        health("iri", FAST, ""),
        nodes[0].url(),
        nodes[1].url()
    );
    let gw = start_gw(&config(&upstream, IRI_ROUTE));
    wait_all(&gw, &["light".into(), "heavy".into()], "healthy", 5.0);
    reset_all(&nodes);
    send_ok(&gw, "getTips", 200);
    let c = counts(&nodes, "getTips");
    assert_eq!(c[0] + c[1], 200, "{c:?}");
    let ratio = c[1] as f64 / c[0].max(1) as f64;
    assert!(
        (2.4..=3.7).contains(&ratio),
        "weights 1:3 gave light {} heavy {} (ratio {ratio:.2})",
        c[0],
        c[1]
    );
}

#[test]
fn least_inflight_steers_away_from_a_slow_node() {
    let nodes = nodes("li", 3);
    let gw = start_gw(&iri_pool(
        &nodes,
        "strategy = \"least_inflight\"\n",
        &health("iri", FAST, ""),
    ));
    wait_all(&gw, &ids(&nodes), "healthy", 5.0);
    nodes[2].control(json!({"delay_ms": {"getTips": 400}}));
    reset_all(&nodes);
    let addr = gw.addr();
    let threads: Vec<_> = (0..4)
        .map(|_| {
            thread::spawn(move || {
                let mut c = Client::new(addr);
                for _ in 0..40 {
                    let r = c.iri("getTips");
                    assert_eq!(r.status, 200, "{}", r.body);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let c = counts(&nodes, "getTips");
    let total: u64 = c.iter().sum();
    assert_eq!(total, 160, "{c:?}");
    // Round robin would give the slow node a third (53).
    assert!(
        c[2] * 100 < total * 15,
        "the slow node got {} of {total} requests ({c:?})",
        c[2]
    );
}

#[test]
fn peak_ewma_prefers_the_fast_nodes() {
    let nodes = nodes("ewma", 3);
    nodes[2].control(json!({"delay_ms": {"*": 50}}));
    let gw = start_gw(&iri_pool(
        &nodes,
        "strategy = \"peak_ewma\"\n",
        &health("iri", FAST, ""),
    ));
    wait_all(&gw, &ids(&nodes), "healthy", 5.0);
    reset_all(&nodes);
    send_ok(&gw, "getTips", 150);
    let c = counts(&nodes, "getTips");
    assert_eq!(c.iter().sum::<u64>(), 150, "{c:?}");
    assert!(
        c[2] * 100 < 150 * 10,
        "the slow node got {} of 150 requests ({c:?})",
        c[2]
    );
    assert!(c[0] > 20 && c[1] > 20, "both fast nodes serve: {c:?}");
}

// ---------------------------------------------------------------------------
// 2. A node that goes bad is removed within interval x fall and returns after rise
// ---------------------------------------------------------------------------

/// 3 nodes; node 2 gets `bad`, must become critical with (reason, value,
/// threshold), get no traffic, then `good` brings it back after `rise` passes.
fn bad_node_cycle(
    prefix: &str,
    health_extra: &str,
    bad: Value,
    good: Value,
    want: (&str, &str, &str),
) {
    let nodes = nodes(prefix, 3);
    let gw = start_gw(&iri_pool(&nodes, "", &health("iri", FAST, health_extra)));
    let all = ids(&nodes);
    wait_all(&gw, &all, "healthy", 5.0);
    let sick = &all[2];

    nodes[2].control(bad);
    // interval 200ms x fall 2, plus a round in progress and scheduling slack.
    let (b, took) = wait_state(&gw, sick, "critical", 5.0);
    assert!(
        took < Duration::from_millis(2000),
        "critical only after {took:?} (interval 200ms x fall 2)"
    );
    let x = exclusion(&b, want.0).unwrap_or_else(|| panic!("no {} exclusion in {b}", want.0));
    assert_eq!(
        (
            x["value"].as_str(),
            x["threshold"].as_str(),
            x["level"].as_str()
        ),
        (Some(want.1), Some(want.2), Some("critical")),
        "exclusion {x}"
    );
    assert_eq!(b["last_check"]["level"], "critical", "{b}");
    assert_eq!(b["serving"], false, "{b}");
    for other in &all[..2] {
        assert_eq!(backend(&gw, other)["state"], "healthy");
    }

    reset_all(&nodes);
    send_ok(&gw, "getTips", 30);
    let c = counts(&nodes, "getTips");
    assert_eq!(c[2], 0, "a critical node still gets traffic: {c:?}");
    assert_eq!(c[0] + c[1], 30, "{c:?}");

    let passes_before = backend(&gw, sick)["checks"]["pass"].as_u64().unwrap();
    nodes[2].control(good);
    let (b, _) = wait_state(&gw, sick, "healthy", 5.0);
    let passes = b["checks"]["pass"].as_u64().unwrap() - passes_before;
    assert!(passes >= 2, "back after {passes} passes; rise is 2: {b}");
    reset_all(&nodes);
    send_ok(&gw, "getTips", 30);
    let c = counts(&nodes, "getTips");
    assert!(c[2] >= 5, "the recovered node gets traffic again: {c:?}");
}

#[test]
fn out_of_sync_node_is_removed_and_returns() {
    bad_node_cycle(
        "sync",
        "max_lag = 5\n",
        json!({"solid": 900}),
        json!({"solid": 1000}),
        ("lag", "100", "5"),
    );
}

#[test]
fn node_without_neighbours_is_removed_and_returns() {
    bad_node_cycle(
        "peers",
        "min_peers = 1\n",
        json!({"neighbors": 0}),
        json!({"neighbors": 3}),
        ("peers", "0", "1"),
    );
}

#[test]
fn node_on_an_old_version_is_removed_and_returns() {
    bad_node_cycle(
        "version",
        "min_version = \"1.8.6\"\n",
        json!({"version": "1.8.5"}),
        json!({"version": "1.8.6"}),
        ("version", "1.8.5", "1.8.6"),
    );
}

#[test]
fn node_answering_restricted_commands_is_removed_and_returns() {
    bad_node_cycle(
        "restr",
        "restricted = [\"addNeighbors\", \"removeNeighbors\"]\n",
        json!({"restricted": false}),
        json!({"restricted": true}),
        (
            "unrestricted",
            "addNeighbors,removeNeighbors",
            "refused by the node",
        ),
    );
}

// ---------------------------------------------------------------------------
// 3. Killed under load
// ---------------------------------------------------------------------------

#[test]
fn node_killed_under_load_fails_no_read_only_request_and_returns() {
    let mut nodes = nodes("kill", 3);
    let gw = start_gw(&iri_pool(&nodes, "", &health("iri", FAST, "")));
    let all = ids(&nodes);
    wait_all(&gw, &all, "healthy", 5.0);

    let stop = Arc::new(AtomicBool::new(false));
    let results: Arc<Mutex<Vec<Result<u16, String>>>> = Arc::default();
    let addr = gw.addr();
    let clients: Vec<_> = (0..4)
        .map(|t| {
            let (stop, results) = (stop.clone(), results.clone());
            thread::spawn(move || {
                let mut c = Client::new(addr);
                let mut i = 0usize;
                while !stop.load(Ordering::Relaxed) {
                    let cmd = if (i + t).is_multiple_of(2) {
                        r#"{"command":"getNodeInfo"}"#
                    } else {
                        r#"{"command":"getBalances","addresses":["A"],"threshold":100}"#
                    };
                    let r = match c.post("/", cmd) {
                        Ok(r) if r.status == 200 => Ok(200),
                        Ok(r) => Err(format!("{} {}", r.status, r.body)),
                        Err(e) => Err(format!("transport: {e}")),
                    };
                    results.lock().unwrap().push(r);
                    i += 1;
                }
            })
        })
        .collect();
    thread::sleep(Duration::from_millis(800));
    nodes[2].kill();
    let killed_at = Instant::now();
    thread::sleep(Duration::from_millis(2000));
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().unwrap();
    }
    let results = results.lock().unwrap();
    let failed: Vec<&String> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        results.len() > 200,
        "only {} requests in ~3 s",
        results.len()
    );
    assert!(
        failed.is_empty(),
        "{} of {} read-only requests failed while one node was killed, e.g. {:?}",
        failed.len(),
        results.len(),
        &failed[..failed.len().min(5)]
    );
    let p = pool(&gw);
    let st = state_in(&p, &all[2]);
    assert!(
        st == "critical" || st == "ejected",
        "killed node is {st} {:?} after the kill",
        killed_at.elapsed()
    );
    assert!(
        exclusion(&backend_in(&p, &all[2]), "unreachable").is_some() || st == "ejected",
        "{p}"
    );

    nodes[2].restart();
    wait_state(&gw, &all[2], "healthy", 8.0);
    reset_all(&nodes);
    send_ok(&gw, "getBalances", 30);
    let c = counts(&nodes, "getBalances");
    assert!(c[2] >= 5, "the restarted node gets traffic again: {c:?}");
}

#[test]
fn state_changing_call_in_flight_on_a_killed_node_is_not_retried() {
    let mut nodes = nodes("bcast", 3);
    for n in &nodes {
        n.control(json!({"delay_ms": {"broadcastTransactions": 3000}}));
    }
    let gw = start_gw(&iri_pool(&nodes, "", &health("iri", FAST, "")));
    wait_all(&gw, &ids(&nodes), "healthy", 5.0);
    reset_all(&nodes);
    let addr = gw.addr();
    let client = thread::spawn(move || {
        let mut c = Client::new(addr);
        let r = c.post(
            "/",
            r#"{"command":"broadcastTransactions","trytes":["999999999"]}"#,
        );
        (r, Instant::now())
    });
    // Find the node holding it.
    let deadline = Instant::now() + Duration::from_secs(3);
    let holder = loop {
        let c = counts(&nodes, "broadcastTransactions");
        if let Some(i) = c.iter().position(|&k| k > 0) {
            break i;
        }
        assert!(
            Instant::now() < deadline,
            "no node got the broadcast: {c:?}"
        );
        thread::sleep(Duration::from_millis(10));
    };
    nodes[holder].kill();
    let killed = Instant::now();
    let (r, answered) = client.join().unwrap();
    let r = r.expect("the client gets an answer, not a dropped connection");
    assert!(
        matches!(r.status, 502..=504),
        "the client should get a 502/503/504, got {} {}",
        r.status,
        r.body
    );
    assert!(
        answered.duration_since(killed) < Duration::from_millis(1500),
        "answer came {:?} after the kill",
        answered.duration_since(killed)
    );
    thread::sleep(Duration::from_millis(500));
    for (i, n) in nodes.iter().enumerate() {
        if i == holder {
            continue;
        }
        let k = n.stats()["by_command"]["broadcastTransactions"]
            .as_u64()
            .unwrap_or(0);
        assert_eq!(k, 0, "broadcastTransactions was sent again, to {}", n.name);
    }
}

// ---------------------------------------------------------------------------
// 4. Robust head
// ---------------------------------------------------------------------------

#[test]
fn a_node_claiming_a_higher_head_is_flagged_and_does_not_move_the_pool_head() {
    let nodes = nodes("liar", 3);
    let gw = start_gw(&iri_pool(&nodes, "", &health("iri", FAST, "max_lag = 5\n")));
    let all = ids(&nodes);
    wait_all(&gw, &all, "healthy", 5.0);
    nodes[2].control(json!({"latest": 2000, "solid": 2000}));
    let (b, _) = wait_state(&gw, &all[2], "critical", 5.0);
    let x = exclusion(&b, "ahead_of_pool").unwrap_or_else(|| panic!("{b}"));
    assert_eq!(x["value"], "1000", "{x}");
    assert_eq!(x["threshold"], "5", "{x}");
    // Over several more rounds: head stays honest, honest nodes stay healthy.
    let until = Instant::now() + Duration::from_millis(1000);
    while Instant::now() < until {
        let p = pool(&gw);
        assert_eq!(p["head"], 1000, "the pool head moved: {p}");
        for id in &all[..2] {
            assert_eq!(state_in(&p, id), "healthy", "{p}");
        }
        assert_eq!(state_in(&p, &all[2]), "critical", "{p}");
        thread::sleep(Duration::from_millis(100));
    }
    reset_all(&nodes);
    send_ok(&gw, "getTips", 20);
    assert_eq!(counts(&nodes, "getTips")[2], 0);
}

// ---------------------------------------------------------------------------
// 5. Pool-wide condition
// ---------------------------------------------------------------------------

#[test]
fn a_lag_every_node_shares_ejects_nobody_and_stalls_the_pool() {
    let nodes = nodes("stall", 3);
    let gw = start_gw(&iri_pool(&nodes, "", &health("iri", FAST, "max_lag = 5\n")));
    let all = ids(&nodes);
    wait_all(&gw, &all, "healthy", 5.0);
    assert_eq!(admin_get(&gw, "/ready").status, 200);
    for n in &nodes {
        n.control(json!({"solid": 950}));
    }
    let p = wait_pool(&gw, "the pool to be stalled", 5.0, |p| {
        p["stalled"].is_string() && !p["pool_wide"].as_array().unwrap().is_empty()
    });
    assert!(
        p["stalled"].as_str().unwrap().contains("pool stalled"),
        "{p}"
    );
    assert!(p["pool_wide"][0].as_str().unwrap().contains("lag"), "{p}");
    // Several more rounds: nobody critical, everyone serves.
    thread::sleep(Duration::from_millis(700));
    let p = pool(&gw);
    for id in &all {
        let b = backend_in(&p, id);
        assert_ne!(b["state"], "critical", "{b}");
        assert_eq!(b["serving"], true, "{b}");
    }
    reset_all(&nodes);
    send_ok(&gw, "getTips", 30);
    let c = counts(&nodes, "getTips");
    assert!(c.iter().all(|&k| k > 0), "every node still serves: {c:?}");
    let r = admin_get(&gw, "/ready");
    assert_eq!(r.status, 503, "{}", r.body);
    assert!(r.body.contains("pool stalled"), "{}", r.body);
    assert_eq!(
        r.json()["pools"]["iri"].as_str().map(|s| s.contains("lag")),
        Some(true),
        "{}",
        r.body
    );
    assert_eq!(
        metric_value(&gw.metrics(), "nodeward_pool_stalled", &[("pool", "iri")]),
        Some(1.0)
    );
    for n in &nodes {
        n.control(json!({"solid": 1000}));
    }
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let r = admin_get(&gw, "/ready");
        if r.status == 200 {
            break;
        }
        assert!(Instant::now() < deadline, "still not ready: {}", r.body);
        thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        metric_value(&gw.metrics(), "nodeward_pool_stalled", &[("pool", "iri")]),
        Some(0.0)
    );
}

// ---------------------------------------------------------------------------
// 6. Share cap
// ---------------------------------------------------------------------------

#[test]
fn at_most_the_configured_share_is_ejected_for_one_reason() {
    let nodes = nodes("share", 4);
    let gw = start_gw(&iri_pool(
        &nodes,
        "",
        &health("iri", FAST, "max_lag = 5\nmax_ejected_share = 0.5\n"),
    ));
    let all = ids(&nodes);
    wait_all(&gw, &all, "healthy", 5.0);
    nodes[1].control(json!({"solid": 990}));
    nodes[2].control(json!({"solid": 950}));
    nodes[3].control(json!({"solid": 900}));
    wait_pool(&gw, "the two worst to be critical", 5.0, |p| {
        state_in(p, &all[2]) == "critical" && state_in(p, &all[3]) == "critical"
    });
    let until = Instant::now() + Duration::from_millis(800);
    while Instant::now() < until {
        let p = pool(&gw);
        let critical = all
            .iter()
            .filter(|id| state_in(&p, id) == "critical")
            .count();
        assert!(critical <= 2, "more than half the pool out: {p}");
        let kept = backend_in(&p, &all[1]);
        assert_eq!(
            kept["state"], "warn",
            "the least lagging is kept at warn: {kept}"
        );
        assert_eq!(state_in(&p, &all[0]), "healthy", "{p}");
        let notes = kept["last_check"]["notes"].to_string();
        assert!(notes.contains("at most 2 of 4"), "note: {kept}");
        let x = exclusion(&kept, "lag").unwrap();
        assert_eq!(
            (x["value"].as_str(), x["level"].as_str()),
            (Some("10"), Some("warn"))
        );
        thread::sleep(Duration::from_millis(100));
    }
}

// ---------------------------------------------------------------------------
// 7. All backends down
// ---------------------------------------------------------------------------

#[test]
fn every_node_down_gives_a_fast_503_in_the_protocols_shape() {
    let mut nodes = nodes("down", 3);
    let gw = start_gw(&config(
        &format!("{}\n{}", backends(&nodes), health("iri", FAST, "")),
        &format!("{RPC_ROUTE}\n{IRI_ROUTE}"),
    ));
    let all = ids(&nodes);
    wait_all(&gw, &all, "healthy", 5.0);
    for n in nodes.iter_mut() {
        n.kill();
    }
    wait_pool(&gw, "every backend out", 5.0, |p| {
        all.iter().all(|id| backend_in(p, id)["serving"] == false)
    });
    let mut c = Client::new(gw.addr());
    for _ in 0..5 {
        let r = c.iri("getTips");
        assert_eq!(r.status, 503, "{}", r.body);
        let v = r.json();
        assert_eq!(v["reason"], "no_healthy_backend", "{v}");
        assert!(v["error"].is_string(), "{v}");
        assert!(
            r.elapsed < Duration::from_millis(300),
            "took {:?}",
            r.elapsed
        );
    }
    for i in 0..3 {
        let body = format!(
            r#"{{"jsonrpc":"2.0","id":{},"method":"eth_blockNumber","params":[]}}"#,
            40 + i
        );
        let r = c.post("/rpc", &body).unwrap();
        assert_eq!(r.status, 503, "{}", r.body);
        let v = r.json();
        assert_eq!(v["jsonrpc"], "2.0", "{v}");
        assert_eq!(v["id"], 40 + i, "{v}");
        assert!(v["error"]["code"].is_i64(), "{v}");
        assert_eq!(v["error"]["data"]["reason"], "no_healthy_backend", "{v}");
        assert!(
            r.elapsed < Duration::from_millis(300),
            "took {:?}",
            r.elapsed
        );
    }
    let r = admin_get(&gw, "/ready");
    assert_eq!(r.status, 503, "{}", r.body);
    assert_eq!(r.json()["ready"], false);
}

#[test]
fn every_node_killed_at_once_answers_fast_even_before_the_checks_notice() {
    let mut nodes = nodes("down2", 3);
    // Slow checks: the first requests find out by themselves.
    let gw = start_gw(&iri_pool(
        &nodes,
        "",
        &health("iri", "interval = \"10s\"\ntimeout = \"1s\"\n", ""),
    ));
    wait_all(&gw, &ids(&nodes), "healthy", 5.0);
    for n in nodes.iter_mut() {
        n.kill();
    }
    let mut c = Client::new(gw.addr());
    for _ in 0..4 {
        let r = c.iri("getTips");
        assert_eq!(r.status, 503, "{}", r.body);
        assert_eq!(r.json()["reason"], "no_healthy_backend", "{}", r.body);
        assert!(
            r.elapsed < Duration::from_millis(500),
            "took {:?}",
            r.elapsed
        );
    }
}

// ---------------------------------------------------------------------------
// 8. Lying or hanging health endpoints
// ---------------------------------------------------------------------------

#[test]
fn garbage_and_hanging_health_answers_are_critical_and_never_delay_clients() {
    let nodes = nodes("lying", 3);
    let gw = start_gw(&iri_pool(
        &nodes,
        "",
        &health(
            "iri",
            "interval = \"200ms\"\ntimeout = \"800ms\"\nrise = 2\nfall = 2\n",
            "",
        ),
    ));
    let all = ids(&nodes);
    wait_all(&gw, &all, "healthy", 5.0);
    nodes[1].control(json!({"garbage": ["getNodeInfo"]}));
    nodes[2].control(json!({"hang": ["getNodeInfo"]}));
    // Client requests while the checks hang: never slowed down by them.
    let mut c = Client::new(gw.addr());
    let t = Instant::now();
    let mut slowest = Duration::ZERO;
    let mut n = 0;
    loop {
        let r = c.iri("getTips");
        assert_eq!(r.status, 200, "{}", r.body);
        slowest = slowest.max(r.elapsed);
        n += 1;
        let p = pool(&gw);
        if state_in(&p, &all[1]) == "critical" && state_in(&p, &all[2]) == "critical" {
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(8),
            "not both critical in time: {p}"
        );
        thread::sleep(Duration::from_millis(20));
    }
    assert!(n > 10, "only {n} requests measured");
    assert!(
        slowest < Duration::from_millis(250),
        "a client request took {slowest:?} while a check hung (check timeout 800ms)"
    );
    let b = backend(&gw, &all[1]);
    assert!(exclusion(&b, "invalid_answer").is_some(), "{b}");
    let b = backend(&gw, &all[2]);
    let x = exclusion(&b, "unreachable").unwrap_or_else(|| panic!("{b}"));
    let text = format!("{} {}", x["value"], b["last_check"]["output"]).to_lowercase();
    assert!(
        text.contains("time") || text.contains("within") || text.contains("deadline"),
        "the hang should read as a timeout: {b}"
    );
    assert_eq!(backend(&gw, &all[0])["state"], "healthy");
}

// ---------------------------------------------------------------------------
// 9. Passive ejection of a node that passes checks but times out real calls
// ---------------------------------------------------------------------------

#[test]
fn a_node_timing_out_real_calls_is_ejected_by_the_passive_side() {
    let nodes = nodes("passive", 3);
    let gw = start_gw(&iri_pool(
        &nodes,
        "timeout = \"300ms\"\nconsecutive_failures = 2\neject_for = \"20s\"\n",
        &health("iri", FAST, ""),
    ));
    let all = ids(&nodes);
    wait_all(&gw, &all, "healthy", 5.0);
    nodes[2].control(json!({"delay_ms": {"getBalances": 2000}}));
    let body = r#"{"command":"getBalances","addresses":["A"],"threshold":100}"#;
    let mut c = Client::new(gw.addr());
    let deadline = Instant::now() + Duration::from_secs(10);
    // The upstream timeout bounds the whole request, so the requests that
    // land on the slow node before it is ejected end in a 504; at most
    // consecutive_failures (2) of them.
    let mut timeouts = 0;
    let b = loop {
        let r = c.post("/", body).unwrap();
        if r.status != 200 {
            assert_eq!(r.status, 504, "{}", r.body);
            assert_eq!(r.json()["reason"], "upstream_timeout", "{}", r.body);
            timeouts += 1;
        }
        let b = backend(&gw, &all[2]);
        if b["state"] == "ejected" {
            break b;
        }
        assert!(Instant::now() < deadline, "not ejected: {b}");
    };
    assert!(
        timeouts <= 2,
        "{timeouts} requests timed out before the node was ejected (consecutive_failures = 2)"
    );
    assert!(b["ejections"].as_u64().unwrap_or(0) >= 1, "{b}");
    assert_eq!(b["serving"], false, "{b}");
    // The active check still passes.
    assert_eq!(b["last_check"]["level"], "pass", "{b}");
    reset_all(&nodes);
    for _ in 0..30 {
        let r = c.post("/", body).unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(
            r.elapsed < Duration::from_millis(250),
            "slow: {:?}",
            r.elapsed
        );
    }
    let k = counts(&nodes, "getBalances");
    assert_eq!(k[2], 0, "the ejected node still gets requests: {k:?}");
}

// ---------------------------------------------------------------------------
// 10. Flapping
// ---------------------------------------------------------------------------

#[test]
fn a_flapping_node_stays_out_until_rise_passes_in_a_row() {
    let nodes = nodes("flap", 3);
    let gw = start_gw(&iri_pool(
        &nodes,
        "",
        &health(
            "iri",
            "interval = \"400ms\"\ntimeout = \"150ms\"\nrise = 3\nfall = 1\n",
            "max_lag = 5\n",
        ),
    ));
    let all = ids(&nodes);
    wait_all(&gw, &all, "healthy", 5.0);
    let rounds = |p: &Value| p["health"]["rounds"].as_u64().unwrap_or(0);
    // Toggle bad/good once per check round, in step with the rounds.
    let mut bad = true;
    nodes[2].control(json!({"solid": 900}));
    let mut seen = rounds(&pool(&gw));
    let mut toggles = 0;
    let mut was_critical = false;
    let mut sent = 0;
    let mut client = Client::new(gw.addr());
    let deadline = Instant::now() + Duration::from_secs(12);
    while toggles < 10 {
        assert!(Instant::now() < deadline, "rounds do not advance");
        let p = pool(&gw);
        let st = state_in(&p, &all[2]);
        if was_critical {
            assert_eq!(st, "critical", "a flapping node came back: {p}");
        } else if st == "critical" {
            was_critical = true;
            reset_all(&nodes);
        }
        if was_critical {
            assert_eq!(client.iri("getTips").status, 200);
            sent += 1;
        }
        let r = rounds(&p);
        if r > seen {
            seen = r;
            bad = !bad;
            let solid = if bad { 900 } else { 1000 };
            nodes[2].control(json!({"solid": solid}));
            toggles += 1;
        }
        thread::sleep(Duration::from_millis(15));
    }
    assert!(was_critical, "never went critical");
    if !bad {
        nodes[2].control(json!({"solid": 900}));
    }
    // One round sees it bad (its pass streak starts over) before the fix.
    let p = wait_pool(&gw, "one more round", 3.0, |p| rounds(p) > seen);
    let b = backend_in(&p, &all[2]);
    assert_eq!(b["last_check"]["level"], "critical", "{b}");
    assert!(
        b["checks"]["pass"].as_u64().unwrap() >= 3,
        "it did pass checks meanwhile (it flapped): {b}"
    );
    assert!(sent > 0);
    assert_eq!(
        counts(&nodes, "getTips")[2],
        0,
        "a flapping node got traffic"
    );
    // Good for good now: back only after 3 passes in a row.
    let before = b["checks"]["pass"].as_u64().unwrap();
    nodes[2].control(json!({"solid": 1000}));
    let (b, took) = wait_state(&gw, &all[2], "healthy", 6.0);
    let passes = b["checks"]["pass"].as_u64().unwrap() - before;
    assert!(
        passes >= 3,
        "back after {passes} passes ({took:?}); rise is 3: {b}"
    );
}

// ---------------------------------------------------------------------------
// 11. exec checks
// ---------------------------------------------------------------------------

#[test]
fn exec_checks_map_exit_codes_bound_output_and_deadlines() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let script = dir.path().join("check.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             echo \"$1 $2\" >> {d}/args.log\n\
             what=$(cat {d}/code.$2 2>/dev/null || echo 0)\n\
             case \"$what\" in\n\
             big) head -c 1048576 /dev/zero | tr '\\0' x; exit 0;;\n\
             hang) sleep 100;;\n\
             esac\n\
             echo \"check $1:$2 exits $what\"\n\
             exit $what\n"
        ),
    )
    .unwrap();
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    let nodes = nodes("exec", 5);
    let all = ids(&nodes);
    // 0 pass, 1 warn, 2 critical, 1 MB of output, never exits.
    for (n, what) in nodes.iter().zip(["0", "1", "2", "big", "0"]) {
        std::fs::write(dir.path().join(format!("code.{}", n.addr.port())), what).unwrap();
    }
    let gw = start_gw(&iri_pool(
        &nodes,
        "",
        &health(
            "exec",
            "interval = \"200ms\"\ntimeout = \"500ms\"\nrise = 2\nfall = 2\n",
            &format!(
                "command = [\"{}\", \"{{host}}\", \"{{port}}\"]\n",
                script.display()
            ),
        ),
    ));
    let p = wait_pool(&gw, "exec levels", 6.0, |p| {
        state_in(p, &all[0]) == "healthy"
            && state_in(p, &all[1]) == "warn"
            && state_in(p, &all[2]) == "critical"
            && state_in(p, &all[3]) == "healthy"
            && state_in(p, &all[4]) == "healthy"
    });
    let x = exclusion(&backend_in(&p, &all[2]), "script").unwrap();
    assert_eq!(x["value"], "exit 2", "{x}");
    let big = backend_in(&p, &all[3]);
    let out = big["last_check"]["output"].as_str().unwrap_or("");
    assert!(
        out.len() <= 4096,
        "1 MB of script output kept as {} bytes",
        out.len()
    );
    // Args substituted.
    let args = std::fs::read_to_string(dir.path().join("args.log")).unwrap();
    for n in &nodes {
        assert!(
            args.contains(&format!("127.0.0.1 {}", n.addr.port())),
            "args.log lacks node {}: {args:?}",
            n.addr.port()
        );
    }
    // Warn serves at a reduced share; critical not at all.
    reset_all(&nodes);
    send_ok(&gw, "getTips", 140);
    let c = counts(&nodes, "getTips");
    assert_eq!(c[2], 0, "critical node served: {c:?}");
    assert!(c[1] > 0, "warn node does not serve: {c:?}");
    assert!(
        c[1] * 10 < c[0] * 8,
        "warn node is not at a reduced share: {c:?}"
    );

    // A script that never exits: critical (deadline 500ms), gateway keeps serving.
    std::fs::write(
        dir.path().join(format!("code.{}", nodes[4].addr.port())),
        "hang",
    )
    .unwrap();
    let mut client = Client::new(gw.addr());
    let t = Instant::now();
    loop {
        let r = client.iri("getTips");
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(
            r.elapsed < Duration::from_millis(250),
            "slow: {:?}",
            r.elapsed
        );
        let b = backend(&gw, &all[4]);
        if b["state"] == "critical" {
            let x = exclusion(&b, "script").unwrap_or_else(|| panic!("{b}"));
            assert!(x["value"].as_str().unwrap().contains("500"), "{x}");
            assert!(
                b["last_check"]["elapsed_ms"].as_u64().unwrap() < 1500,
                "the check ran past its deadline: {b}"
            );
            break;
        }
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "never exiting script not critical: {b}"
        );
        thread::sleep(Duration::from_millis(20));
    }
    // Still checking the others every round (the hang blocks nothing).
    let r0 = pool(&gw)["health"]["rounds"].as_u64().unwrap();
    thread::sleep(Duration::from_millis(1500));
    let p = pool(&gw);
    assert!(
        p["health"]["rounds"].as_u64().unwrap() > r0,
        "check rounds stopped: {p}"
    );
    assert_eq!(state_in(&p, &all[0]), "healthy");
}

// ---------------------------------------------------------------------------
// 12. jsonrpc kind
// ---------------------------------------------------------------------------

#[test]
fn jsonrpc_checks_judge_block_lag_and_syncing() {
    let nodes = nodes("rpc", 3);
    nodes[2].control(json!({"head": 40}));
    let gw = start_gw(&config(
        &format!(
            "{}\n{}",
            backends(&nodes),
            health("jsonrpc", FAST, "max_lag = 5\n")
        ),
        "[[route]]\nprotocol = \"jsonrpc\"\nupstream = \"iri\"\n",
    ));
    let all = ids(&nodes);
    let p = wait_pool(&gw, "lagging rpc node critical", 5.0, |p| {
        state_in(p, &all[0]) == "healthy"
            && state_in(p, &all[1]) == "healthy"
            && state_in(p, &all[2]) == "critical"
    });
    assert_eq!(p["head"], 100, "{p}");
    let x = exclusion(&backend_in(&p, &all[2]), "lag").unwrap();
    assert_eq!(
        (x["value"].as_str(), x["threshold"].as_str()),
        (Some("60"), Some("5"))
    );
    let mut c = Client::new(gw.addr());
    reset_all(&nodes);
    for i in 0..20 {
        let r = c
            .post(
                "/",
                &format!(r#"{{"jsonrpc":"2.0","id":{i},"method":"eth_blockNumber","params":[]}}"#),
            )
            .unwrap();
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(r.json()["result"], "0x64", "{}", r.body);
    }
    assert_eq!(counts(&nodes, "eth_blockNumber")[2], 0);

    nodes[2].control(json!({"head": 100}));
    wait_state(&gw, &all[2], "healthy", 5.0);
    nodes[2].control(json!({"syncing": true, "highest": 200}));
    let (b, _) = wait_state(&gw, &all[2], "critical", 5.0);
    assert!(exclusion(&b, "syncing").is_some(), "{b}");
}

// ---------------------------------------------------------------------------
// 13. http and tcp kinds
// ---------------------------------------------------------------------------

#[test]
fn http_checks_match_status_and_body() {
    let nodes = nodes("http", 3);
    let gw = start_gw(&iri_pool(
        &nodes,
        "",
        &health(
            "http",
            FAST,
            "path = \"/version\"\nexpect_body = '^http-\\d \\d+\\.\\d+\\.\\d+$'\n",
        ),
    ));
    let all = ids(&nodes);
    wait_all(&gw, &all, "healthy", 5.0);
    nodes[1].control(json!({"version": "unknown"}));
    nodes[2].control(json!({"status": {"GET": 500}}));
    let p = wait_pool(&gw, "nodes 1 and 2 critical", 5.0, |p| {
        state_in(p, &all[1]) == "critical" && state_in(p, &all[2]) == "critical"
    });
    let b1 = backend_in(&p, &all[1]);
    assert!(exclusion(&b1, "body").is_some(), "{b1}");
    let b2 = backend_in(&p, &all[2]);
    let x = exclusion(&b2, "status").unwrap_or_else(|| panic!("{b2}"));
    assert_eq!(
        (x["value"].as_str(), x["threshold"].as_str()),
        (Some("500"), Some("200"))
    );
    assert_eq!(state_in(&p, &all[0]), "healthy");
    reset_all(&nodes);
    send_ok(&gw, "getTips", 10);
    assert_eq!(counts(&nodes, "getTips"), vec![10, 0, 0]);
}

#[test]
fn tcp_check_marks_a_killed_node_unreachable() {
    let mut nodes = nodes("tcp", 3);
    let gw = start_gw(&iri_pool(&nodes, "", &health("tcp", FAST, "")));
    let all = ids(&nodes);
    wait_all(&gw, &all, "healthy", 5.0);
    nodes[2].kill();
    let (b, _) = wait_state(&gw, &all[2], "critical", 5.0);
    assert!(exclusion(&b, "unreachable").is_some(), "{b}");
    nodes[2].restart();
    wait_state(&gw, &all[2], "healthy", 5.0);
}

// ---------------------------------------------------------------------------
// 14. Metrics and access log
// ---------------------------------------------------------------------------

#[test]
fn metrics_and_access_log_name_each_backend() {
    let nodes = nodes("metrics", 3);
    let gw = start_gw(&iri_pool(&nodes, "", &health("iri", FAST, "")));
    let all = ids(&nodes);
    wait_all(&gw, &all, "healthy", 5.0);
    send_ok(&gw, "getTips", 30);
    let text = gw.metrics();
    for id in &all {
        let l = [("pool", "iri"), ("backend", id.as_str())];
        assert_eq!(
            metric_value(&text, "nodeward_backend_up", &l),
            Some(1.0),
            "{id}\n{text}"
        );
        let n = metric_value(
            &text,
            "nodeward_backend_requests_total",
            &[("pool", "iri"), ("backend", id), ("class", "2xx")],
        );
        assert!(
            n.is_some_and(|n| n >= 10.0),
            "requests of {id}: {n:?}\n{text}"
        );
        let checks = metric_value(
            &text,
            "nodeward_backend_checks_total",
            &[("pool", "iri"), ("backend", id), ("result", "pass")],
        );
        assert!(
            checks.is_some_and(|n| n >= 1.0),
            "checks of {id}: {checks:?}\n{text}"
        );
    }
    assert_eq!(
        metric_value(&text, "nodeward_pool_head", &[("pool", "iri")]),
        Some(1000.0),
        "{text}"
    );
    let lines = gw.wait_log_lines(30);
    let named: Vec<&str> = lines
        .iter()
        .filter(|l| l["upstream"] == "iri")
        .filter_map(|l| l["backend"].as_str())
        .collect();
    assert!(
        named.len() >= 30,
        "access log lines naming a backend: {lines:?}"
    );
    for id in &all {
        assert!(
            named.iter().filter(|b| *b == id).count() >= 10,
            "log lines for {id}: {named:?}"
        );
    }
}

// ---------------------------------------------------------------------------
// 15. nodeward gateway status
// ---------------------------------------------------------------------------

#[test]
fn status_command_prints_each_backend_and_its_state() {
    let nodes = nodes("cli", 3);
    let gw = start_gw(&iri_pool(&nodes, "", &health("iri", FAST, "max_lag = 5\n")));
    let all = ids(&nodes);
    wait_all(&gw, &all, "healthy", 5.0);
    nodes[2].control(json!({"solid": 500}));
    wait_state(&gw, &all[2], "critical", 5.0);
    let run = |json: bool| {
        let mut cmd = Command::new(common_gateway::bin());
        cmd.args(["gateway", "--config"])
            .arg(&gw.config)
            .arg("status");
        if json {
            cmd.arg("--json");
        }
        let out = cmd.output().unwrap();
        assert!(
            out.status.success(),
            "status failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let table = run(false);
    for (i, id) in all.iter().enumerate() {
        let line = table
            .lines()
            .find(|l| l.contains(id.as_str()))
            .unwrap_or_else(|| panic!("no row for {id}:\n{table}"));
        let want = if i == 2 { "critical" } else { "healthy" };
        assert!(line.contains(want), "row for {id} lacks {want}:\n{table}");
    }
    let v: Value = serde_json::from_str(&run(true)).expect("status --json is JSON");
    let p = v["upstreams"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "iri")
        .unwrap();
    assert_eq!(state_in(p, &all[2]), "critical");
    assert_eq!(state_in(p, &all[0]), "healthy");
}
