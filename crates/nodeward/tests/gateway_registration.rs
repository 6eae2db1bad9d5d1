//! End-to-end tests of the gateway's live backend registration and the other
//! ways a node pool changes at run time: the admin API (`PUT`/`DELETE`
//! /upstreams/{pool}/backends/{id}, drain/undrain), persistence across
//! restarts, config and registered backends side by side, bad input, entering
//! service only after a passing check, reloads that keep health state and idle
//! connections, the watched backends file, the `nodeward gateway backends`
//! command line, and HTTPS backends with a client certificate.
//!
//! Real `nodeward gateway` and `nodeward-testnode` processes on 127.0.0.1.
//! Needs `cargo build --release -p nodeward -p nodeward-testnode` (run with --release).

mod common_gateway;
mod common_pool;
mod common_registration;

use common_gateway::free_port;
use common_pool::{make_pki, TestNode};
use common_registration::*;
use serde_json::{json, Value};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

fn count(names: &[String], who: &str) -> usize {
    names.iter().filter(|n| *n == who).count()
}

// ---------------------------------------------------------------------------
// 1. Registration through the admin API
// ---------------------------------------------------------------------------

#[test]
fn put_registers_a_backend_that_serves_at_once_and_shows_in_status() {
    let a = TestNode::start("node-a");
    let d = TestNode::start("node-d");
    let gw = Cfg::new(&[a.url()]).start();

    let (st, v) = put(
        &gw,
        "node-d",
        &json!({"address": d.url(), "weight": 1, "tags": ["eu", "fast"]}),
    );
    assert_eq!(st, 201, "first PUT: {v}");
    assert_eq!(v["created"], true, "{v}");
    assert_eq!(v["id"], "node-d", "{v}");

    // The very next requests reach node-d (round robin over two backends).
    let served = serve_n(&gw, 6);
    assert!(
        count(&served, "node-d") >= 2,
        "node-d should serve right after registration: {served:?}"
    );
    assert_eq!(
        calls(&d, "getTips") as usize,
        count(&served, "node-d"),
        "node-d's own counters agree with the answers"
    );

    let b = backend(&gw, "node-d").expect("node-d in /status");
    assert_eq!(b["origin"], "registered", "{b}");
    assert_eq!(b["address"], d.url(), "{b}");
    assert_eq!(b["tags"], json!(["eu", "fast"]), "{b}");
    assert_eq!(b["weight"], 1, "{b}");
    let cfg_id = format!("127.0.0.1:{}", a.addr.port());
    assert_eq!(
        backend(&gw, &cfg_id).expect("config backend in /status")["origin"],
        "config"
    );

    // A second PUT with a new weight updates it.
    let (st, v) = put(
        &gw,
        "node-d",
        &json!({"address": d.url(), "weight": 3, "tags": ["eu", "fast"]}),
    );
    assert_eq!(st, 200, "second PUT: {v}");
    assert_eq!(v["created"], false, "{v}");

    let (st, v) = admin(&gw, "GET", "/upstreams/iri/backends/node-d", None);
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["id"], "node-d", "{v}");
    assert_eq!(v["weight"], 3, "{v}");
    assert_eq!(v["origin"], "registered", "{v}");
    assert_eq!(v["address"], d.url(), "{v}");

    let (st, v) = admin(&gw, "GET", "/upstreams", None);
    assert_eq!(st, 200, "{v}");
    let pools = v["upstreams"].as_array().expect("upstreams list");
    assert_eq!(pools.len(), 1, "{v}");
    assert_eq!(pools[0]["name"], "iri");
    assert_eq!(pools[0]["backends"].as_array().unwrap().len(), 2, "{v}");

    let (st, v) = admin(&gw, "GET", "/upstreams/iri/backends/nobody", None);
    assert_eq!(st, 404, "{v}");
    // Still serving after the update.
    let served = serve_n(&gw, 4);
    assert!(
        served.iter().all(|n| n == "node-a" || n == "node-d"),
        "{served:?}"
    );

    // A PUT with a new address moves the backend: the next requests go there.
    let d2 = TestNode::start("node-d2");
    let (st, v) = put(&gw, "node-d", &json!({"address": d2.url(), "weight": 3}));
    assert_eq!(st, 200, "address change: {v}");
    let before = calls(&d, "getTips");
    let served = serve_n(&gw, 8);
    assert!(count(&served, "node-d2") >= 2, "{served:?}");
    assert_eq!(count(&served, "node-d"), 0, "{served:?}");
    assert_eq!(
        calls(&d, "getTips"),
        before,
        "the old address still got requests"
    );
    let b = backend(&gw, "node-d").unwrap();
    assert_eq!(b["address"], d2.url(), "{b}");
    assert_eq!(ids(&gw).len(), 2);
}

// ---------------------------------------------------------------------------
// 2. Register / deregister / drain under load
// ---------------------------------------------------------------------------

struct Load {
    stop: Arc<AtomicBool>,
    handles: Vec<thread::JoinHandle<()>>,
    /// (command, status, node or error text)
    results: Arc<Mutex<Vec<(String, u16, String)>>>,
}

impl Load {
    /// `threads` clients alternating getTips and getTrytes, each request on
    /// a new connection.
    fn start(gw: &common_gateway::Gateway, threads: usize) -> Load {
        let stop = Arc::new(AtomicBool::new(false));
        let results = Arc::new(Mutex::new(Vec::new()));
        let addr = gw.addr();
        let handles = (0..threads)
            .map(|t| {
                let (stop, results) = (stop.clone(), results.clone());
                thread::spawn(move || {
                    let mut i = t;
                    while !stop.load(Ordering::Relaxed) {
                        let cmd = if i % 2 == 0 { "getTips" } else { "getTrytes" };
                        i += 1;
                        let body = json!({"command": cmd}).to_string();
                        let r = request(
                            addr,
                            "POST",
                            "/",
                            &[("X-IOTA-API-Version", "1")],
                            body.as_bytes(),
                            secs(15),
                        );
                        let rec = match r {
                            Ok(r) => (
                                cmd.to_string(),
                                r.status,
                                r.node().unwrap_or_else(|| r.text()),
                            ),
                            Err(e) => (cmd.to_string(), 0, e.to_string()),
                        };
                        results.lock().unwrap().push(rec);
                    }
                })
            })
            .collect();
        Load {
            stop,
            handles,
            results,
        }
    }

    fn served_by(&self, node: &str) -> usize {
        self.results
            .lock()
            .unwrap()
            .iter()
            .filter(|r| r.1 == 200 && r.2 == node)
            .count()
    }

    fn total(&self) -> usize {
        self.results.lock().unwrap().len()
    }

    fn finish(self) -> Vec<(String, u16, String)> {
        self.stop.store(true, Ordering::Relaxed);
        for h in self.handles {
            h.join().unwrap();
        }
        Arc::try_unwrap(self.results).unwrap().into_inner().unwrap()
    }
}

/// Requests node `n` has received (getTips + getTrytes: no health checks run here).
fn received(n: &TestNode) -> u64 {
    calls(n, "getTips") + calls(n, "getTrytes")
}

#[test]
fn register_deregister_and_drain_under_load_lose_no_request() {
    let a = TestNode::start("node-a");
    let b = TestNode::start("node-b");
    let d = TestNode::start("node-d");
    // node-d answers getTrytes slowly, so some requests are in flight there.
    d.control(json!({"delay_ms": {"getTrytes": 1200}}));
    let gw = Cfg::new(&[a.url(), b.url()]).start();
    let load = Load::start(&gw, 6);
    eventually("some load", secs(5), || (load.total() > 20).then_some(()));

    // Register under load: node-d takes requests at once.
    register(&gw, "node-d", &d);
    eventually("slow requests in flight on node-d", secs(5), || {
        (stat(&d, "inflight") >= 2).then_some(())
    });

    // Deregister with slow requests in flight on node-d.
    let (st, v) = admin(&gw, "DELETE", "/upstreams/iri/backends/node-d", None);
    assert_eq!(st, 200, "DELETE: {v}");
    assert!(
        backend(&gw, "node-d").is_none(),
        "node-d still listed after DELETE"
    );
    let (st, _) = admin(&gw, "GET", "/upstreams/iri/backends/node-d", None);
    assert_eq!(st, 404);
    // Requests chosen just before the DELETE may still be on their way.
    thread::sleep(Duration::from_millis(300));
    let after_delete = received(&d);
    eventually("node-d's in-flight requests to finish", secs(5), || {
        (stat(&d, "inflight") == 0).then_some(())
    });
    thread::sleep(Duration::from_millis(800));
    assert_eq!(
        received(&d),
        after_delete,
        "node-d got new requests after it was deregistered"
    );
    assert_eq!(stat(&d, "abandoned"), 0, "in-flight requests were cut off");
    // Every request node-d got was answered to a client.
    eventually("clients to get node-d's answers", secs(5), || {
        (load.served_by("node-d") as u64 == received(&d)).then_some(())
    });

    // Register again, then drain with requests in flight.
    register(&gw, "node-d", &d);
    eventually("slow requests in flight on node-d again", secs(5), || {
        (stat(&d, "inflight") >= 2).then_some(())
    });
    let (st, v) = admin(&gw, "POST", "/upstreams/iri/backends/node-d/drain", None);
    assert_eq!(st, 200, "drain: {v}");
    let bd = backend(&gw, "node-d").expect("a draining backend stays listed");
    assert_eq!(bd["state"], "draining", "{bd}");
    assert_eq!(bd["serving"], false, "{bd}");
    thread::sleep(Duration::from_millis(300));
    let after_drain = received(&d);
    eventually("node-d's in-flight requests to finish", secs(5), || {
        (stat(&d, "inflight") == 0).then_some(())
    });
    thread::sleep(Duration::from_millis(800));
    assert_eq!(
        received(&d),
        after_drain,
        "a draining backend got new requests"
    );
    assert_eq!(stat(&d, "abandoned"), 0);
    assert_eq!(backend(&gw, "node-d").unwrap()["state"], "draining");

    // Undrain: back in service.
    let (st, v) = admin(&gw, "POST", "/upstreams/iri/backends/node-d/undrain", None);
    assert_eq!(st, 200, "undrain: {v}");
    let bd = backend(&gw, "node-d").unwrap();
    assert_ne!(bd["state"], "draining", "{bd}");
    eventually("node-d to take requests after undrain", secs(5), || {
        (received(&d) > after_drain).then_some(())
    });
    let results = load.finish();
    let failed: Vec<_> = results.iter().filter(|r| r.1 != 200).collect();
    assert!(
        failed.is_empty(),
        "{} of {} client requests failed, e.g. {:?}",
        failed.len(),
        results.len(),
        &failed[..failed.len().min(5)]
    );
    let by_d = results.iter().filter(|r| r.2 == "node-d").count() as u64;
    assert_eq!(
        by_d,
        received(&d),
        "every request node-d received reached a client"
    );
    assert!(results.len() > 100, "too little load: {}", results.len());
    assert_eq!(stat(&a, "abandoned") + stat(&b, "abandoned"), 0);
}

// ---------------------------------------------------------------------------
// 3. Persistence across restarts
// ---------------------------------------------------------------------------

#[test]
fn registrations_and_drain_state_survive_a_restart() {
    let a = TestNode::start("node-a");
    let d = TestNode::start("node-d");
    let e = TestNode::start("node-e");
    let mut gw = Cfg::new(&[a.url()]).start();
    let (st, v) = put(
        &gw,
        "node-d",
        &json!({"address": d.url(), "weight": 2, "tags": ["eu"], "health": {"max_lag": 7}}),
    );
    assert_eq!(st, 201, "{v}");
    register(&gw, "node-e", &e);
    let (st, v) = admin(&gw, "POST", "/upstreams/iri/backends/node-e/drain", None);
    assert_eq!(st, 200, "{v}");
    // Registered already draining, through the PUT body.
    let f = TestNode::start("node-f");
    let (st, v) = put(
        &gw,
        "node-f",
        &json!({"address": f.url(), "draining": true}),
    );
    assert_eq!(st, 201, "{v}");
    assert_eq!(backend(&gw, "node-f").unwrap()["state"], "draining");

    let file = gw.dir.path().join("backends.json");
    let mode = std::fs::metadata(&file)
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600, "backends.json mode {:o}", mode & 0o777);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("node-d") && text.contains("node-e"),
        "backends.json: {text}"
    );

    let status = gw.stop();
    assert!(status.success(), "gateway exit: {status:?}");
    respawn(&mut gw);

    let bd = backend(&gw, "node-d").expect("node-d restored after restart");
    assert_eq!(bd["origin"], "registered", "{bd}");
    assert_eq!(bd["address"], d.url(), "{bd}");
    assert_eq!(bd["weight"], 2, "{bd}");
    assert_eq!(bd["tags"], json!(["eu"]), "{bd}");
    let be = backend(&gw, "node-e").expect("node-e restored after restart");
    assert_eq!(be["origin"], "registered", "{be}");
    assert_eq!(be["state"], "draining", "drain state lost on restart: {be}");
    let bf = backend(&gw, "node-f").expect("node-f restored after restart");
    assert_eq!(bf["state"], "draining", "drain state lost on restart: {bf}");

    let served = serve_n(&gw, 8);
    assert!(count(&served, "node-d") >= 1, "{served:?}");
    assert_eq!(
        count(&served, "node-e") + count(&served, "node-f"),
        0,
        "{served:?}"
    );
    assert_eq!(calls(&e, "getTips"), 0, "a drained backend got requests");
    assert_eq!(calls(&f, "getTips"), 0, "a drained backend got requests");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);

    // Still changeable after the restart, and the change is kept.
    let (st, v) = admin(&gw, "DELETE", "/upstreams/iri/backends/node-e", None);
    assert_eq!(st, 200, "{v}");
    gw.stop();
    respawn(&mut gw);
    assert!(
        backend(&gw, "node-e").is_none(),
        "deregistered node-e came back"
    );
    assert!(backend(&gw, "node-d").is_some());
}

// ---------------------------------------------------------------------------
// 4. Config-file and registered backends side by side
// ---------------------------------------------------------------------------

#[test]
fn config_and_registered_backends_coexist_and_config_ones_cannot_be_deleted() {
    let a = TestNode::start("node-a");
    let c = TestNode::start("node-c");
    let d = TestNode::start("node-d");
    let gw = Cfg::new(&[a.url()])
        .section(&format!(
            "[[upstream.backend]]\naddress = {:?}\nid = \"node-c\"\ntags = [\"cfg\"]\n",
            c.url()
        ))
        .start();
    register(&gw, "node-d", &d);
    let a_id = format!("127.0.0.1:{}", a.addr.port());
    let p = pool(&gw);
    let origins: Vec<(String, String)> = p["backends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["id"].as_str().unwrap().to_string(),
                b["origin"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    for (id, origin) in [
        (a_id.as_str(), "config"),
        ("node-c", "config"),
        ("node-d", "registered"),
    ] {
        assert!(
            origins.contains(&(id.to_string(), origin.to_string())),
            "{id} should be {origin}: {origins:?}"
        );
    }
    assert_eq!(origins.len(), 3, "{origins:?}");
    assert_eq!(backend(&gw, "node-c").unwrap()["tags"], json!(["cfg"]));

    let served = serve_n(&gw, 9);
    for n in ["node-a", "node-c", "node-d"] {
        assert!(count(&served, n) >= 2, "{n} should serve: {served:?}");
    }

    for id in ["node-c", a_id.as_str()] {
        let (st, v) = admin(
            &gw,
            "DELETE",
            &format!("/upstreams/iri/backends/{id}"),
            None,
        );
        assert_eq!(st, 409, "DELETE of config backend {id}: {v}");
        assert!(
            error_of(&v).contains("config"),
            "the refusal should name the config: {v}"
        );
    }
    assert_eq!(ids(&gw).len(), 3, "a refused DELETE changed the pool");

    // Config backends can be drained (and undrained) at run time.
    let (st, v) = admin(&gw, "POST", "/upstreams/iri/backends/node-c/drain", None);
    assert_eq!(st, 200, "{v}");
    assert_eq!(backend(&gw, "node-c").unwrap()["state"], "draining");
    let before = calls(&c, "getTips");
    serve_n(&gw, 6);
    assert_eq!(
        calls(&c, "getTips"),
        before,
        "a drained config backend got requests"
    );
    let (st, v) = admin(&gw, "POST", "/upstreams/iri/backends/node-c/undrain", None);
    assert_eq!(st, 200, "{v}");
    assert_ne!(backend(&gw, "node-c").unwrap()["state"], "draining");
    assert_eq!(backend(&gw, "node-c").unwrap()["origin"], "config");

    // Deleting the registered one works.
    let (st, v) = admin(&gw, "DELETE", "/upstreams/iri/backends/node-d", None);
    assert_eq!(st, 200, "{v}");
    let left = ids(&gw);
    assert_eq!(left.len(), 2, "{left:?}");
    assert!(!left.contains(&"node-d".to_string()));
    let (st, v) = admin(&gw, "DELETE", "/upstreams/iri/backends/node-d", None);
    assert_eq!(st, 404, "second DELETE: {v}");
}

// ---------------------------------------------------------------------------
// 5. Bad input
// ---------------------------------------------------------------------------

#[test]
fn bad_registrations_get_a_clear_4xx_and_change_nothing() {
    let a = TestNode::start("node-a");
    let c = TestNode::start("node-c");
    let d = TestNode::start("node-d");
    let gw = Cfg::new(&[a.url()])
        .section(&format!(
            "[[upstream.backend]]\naddress = {:?}\nid = \"node-c\"\n",
            c.url()
        ))
        .start();
    register(&gw, "node-d", &d);

    // Invalid addresses: 400 naming the problem.
    for (address, expect) in [
        ("ftp://x", "only http:// and https://"),
        ("http://x/path", "no path"),
        ("127.0.0.1:1234", "needs a scheme"),
        ("http://127.0.0.1:0", "port"),
        ("http://user@x:1", "credentials"),
    ] {
        let (st, v) = put(&gw, "node-x", &json!({ "address": address }));
        assert_eq!(st, 400, "address {address:?}: {v}");
        assert!(
            error_of(&v).contains(expect),
            "address {address:?}: the error should say {expect:?}: {v}"
        );
    }
    let (st, v) = put(&gw, "node-x", &json!({"weight": 2}));
    assert_eq!(st, 400, "missing address: {v}");
    assert!(error_of(&v).contains("address"), "{v}");
    let (st, v) = admin(
        &gw,
        "PUT",
        "/upstreams/iri/backends/node-x",
        Some("{not json"),
    );
    assert_eq!(st, 400, "broken JSON: {v}");
    for w in [0, 1001] {
        let (st, v) = put(
            &gw,
            "node-x",
            &json!({"address": "http://127.0.0.1:9", "weight": w}),
        );
        assert_eq!(st, 400, "weight {w}: {v}");
        assert!(error_of(&v).contains("weight"), "{v}");
    }

    // Unknown pool: 404.
    let (st, v) = admin(
        &gw,
        "PUT",
        "/upstreams/nosuchpool/backends/node-x",
        Some(&json!({"address": "http://127.0.0.1:9"}).to_string()),
    );
    assert_eq!(st, 404, "{v}");
    assert!(error_of(&v).contains("nosuchpool"), "{v}");

    // Unknown keys: 400 naming the key.
    let (st, v) = put(
        &gw,
        "node-x",
        &json!({"address": "http://127.0.0.1:9", "command": ["/bin/sh"]}),
    );
    assert_eq!(st, 400, "{v}");
    assert!(error_of(&v).contains("command"), "{v}");
    let (st, v) = put(
        &gw,
        "node-x",
        &json!({"address": "http://127.0.0.1:9", "health": {"exec": "/bin/sh"}}),
    );
    assert_eq!(st, 400, "unknown health key: {v}");

    // Bad ids: a '/' (percent-encoded, the only way a path segment holds
    // one) and 65 characters: 400; a raw '/' is another path: never 2xx.
    let body = json!({"address": "http://127.0.0.1:9"}).to_string();
    let (st, v) = admin(&gw, "PUT", "/upstreams/iri/backends/a%2Fb", Some(&body));
    assert_eq!(st, 400, "id with '/': {v}");
    let (st, v) = admin(&gw, "PUT", "/upstreams/iri/backends/a/b", Some(&body));
    assert!((400..500).contains(&st), "raw a/b: {st} {v}");
    let long = "x".repeat(65);
    let (st, v) = put(&gw, &long, &json!({"address": "http://127.0.0.1:9"}));
    assert_eq!(st, 400, "65-character id: {v}");
    assert!(error_of(&v).contains("64"), "{v}");
    let ok64 = "y".repeat(64);
    let (st, v) = put(&gw, &ok64, &json!({"address": "http://127.0.0.1:9"}));
    assert_eq!(st, 201, "a 64-character id is fine: {v}");
    let (st, v) = admin(
        &gw,
        "DELETE",
        &format!("/upstreams/iri/backends/{ok64}"),
        None,
    );
    assert_eq!(st, 200, "{v}");

    // The id of a config backend with another address: 409.
    let (st, v) = put(&gw, "node-c", &json!({"address": "http://127.0.0.1:9"}));
    assert_eq!(st, 409, "config id taken: {v}");
    assert!(error_of(&v).contains("config"), "{v}");
    // The address of another backend (config or registered): 409.
    for taken in [a.url(), c.url(), d.url()] {
        let (st, v) = put(&gw, "node-x", &json!({ "address": taken }));
        assert_eq!(st, 409, "address {taken} already used: {v}");
        assert!(error_of(&v).contains("already used"), "{v}");
    }

    // Unauthenticated or wrong token: 401.
    for auth in [None, Some("Bearer wrong-token")] {
        let headers: Vec<(&str, &str)> = auth.map(|a| ("Authorization", a)).into_iter().collect();
        let r = request(
            admin_addr(&gw),
            "PUT",
            "/upstreams/iri/backends/node-x",
            &headers,
            body.as_bytes(),
            secs(5),
        )
        .unwrap();
        assert_eq!(r.status, 401, "PUT with {auth:?}: {}", r.text());
        let r = request(
            admin_addr(&gw),
            "DELETE",
            "/upstreams/iri/backends/node-d",
            &headers,
            b"",
            secs(5),
        )
        .unwrap();
        assert_eq!(r.status, 401, "DELETE with {auth:?}: {}", r.text());
    }

    // A 1 MB JSON body: 413, quickly (declared length, and chunked).
    let big = format!(
        "{{\"address\": \"http://127.0.0.1:9\", \"tags\": [\"{}\"]}}",
        "t".repeat(1 << 20)
    );
    let t = Instant::now();
    let (st, v) = admin(&gw, "PUT", "/upstreams/iri/backends/node-big", Some(&big));
    assert_eq!(st, 413, "1 MB body: {v}");
    assert!(t.elapsed() < secs(3), "413 took {:?}", t.elapsed());
    let dir = tempfile::tempdir().unwrap();
    let big_file = dir.path().join("big.json");
    std::fs::write(&big_file, &big).unwrap();
    let t = Instant::now();
    let (st, text) = common_gateway::curl(&[
        "-X",
        "PUT",
        "-H",
        &format!("Authorization: {}", bearer(&gw)),
        "-H",
        "Transfer-Encoding: chunked",
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        &format!("@{}", big_file.display()),
        &format!(
            "http://127.0.0.1:{}/upstreams/iri/backends/node-big",
            gw.admin_port
        ),
    ]);
    assert_eq!(st, 413, "1 MB chunked body: {text}");
    assert!(t.elapsed() < secs(3), "chunked 413 took {:?}", t.elapsed());

    // Nothing of the above changed the pool, and it still serves.
    let mut left = ids(&gw);
    left.sort();
    let mut want = vec![
        format!("127.0.0.1:{}", a.addr.port()),
        "node-c".into(),
        "node-d".into(),
    ];
    want.sort();
    assert_eq!(left, want);
    assert_eq!(
        backend(&gw, "node-c").unwrap()["address"],
        c.url(),
        "a refused PUT changed a config backend"
    );
    let served = serve_n(&gw, 6);
    assert!(count(&served, "node-d") >= 1, "{served:?}");
}

#[test]
fn ten_thousand_registrations_fill_max_backends_with_bounded_memory() {
    let a = TestNode::start("node-a");
    // tcp checks keep the (unreachable) registered backends out of service.
    let gw = Cfg::new(&[a.url()])
        .upstream("max_backends = 20")
        .section(&health("tcp", ""))
        .start();
    let rss_before = rss_kib(&gw);
    let t = Instant::now();
    let threads = 4;
    let per = 2500;
    let auth = bearer(&gw);
    let addr = admin_addr(&gw);
    let handles: Vec<_> = (0..threads)
        .map(|t| {
            let auth = auth.clone();
            thread::spawn(move || {
                let mut conn = KeepAlive::new(addr);
                let mut out: Vec<(u16, String)> = Vec::with_capacity(per);
                for i in 0..per {
                    let n = t * per + i;
                    // Distinct loopback addresses where nothing listens.
                    let body = json!({
                        "address": format!("http://127.1.{}.{}:9", n / 250, n % 250 + 1),
                        "tags": ["flood"],
                    })
                    .to_string();
                    let r = conn
                        .send(
                            "PUT",
                            &format!("/upstreams/iri/backends/flood-{n}"),
                            &[("Authorization", &auth)],
                            body.as_bytes(),
                        )
                        .unwrap_or_else(|e| panic!("PUT {n}: {e}"));
                    let msg = if r.status == 409 {
                        error_of(&r.json())
                    } else {
                        String::new()
                    };
                    out.push((r.status, msg));
                }
                (out, conn.opened)
            })
        })
        .collect();
    let mut all = Vec::new();
    let mut conns = 0;
    for h in handles {
        let (out, opened) = h.join().unwrap();
        all.extend(out);
        conns += opened;
    }
    let took = t.elapsed();
    let created = all.iter().filter(|r| r.0 == 201).count();
    let full = all
        .iter()
        .filter(|r| r.0 == 409 && r.1.contains("max_backends"))
        .count();
    let other: Vec<_> = all
        .iter()
        .filter(|r| r.0 != 201 && !(r.0 == 409 && r.1.contains("max_backends")))
        .take(5)
        .collect();
    assert_eq!(all.len(), threads * per);
    assert_eq!(created, 19, "the pool (1 config backend) fills to 20");
    assert_eq!(full, threads * per - 19, "other answers: {other:?}");
    assert!(took < secs(15), "10,000 PUTs took {took:?}");
    let rss_after = rss_kib(&gw);
    eprintln!(
        "10,000 PUTs over {conns} connections in {took:?}; RSS {rss_before} KiB -> {rss_after} KiB"
    );
    assert!(
        rss_after < 100 * 1024,
        "gateway RSS {rss_after} KiB after the flood"
    );
    assert_eq!(ids(&gw).len(), 20);
    let flood = pool(&gw)["backends"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|b| b["origin"] == "registered")
        .count();
    assert_eq!(flood, 19);
    // backends.json holds the 19, not 10,000.
    let saved = std::fs::read_to_string(gw.dir.path().join("backends.json")).unwrap();
    assert_eq!(
        saved.matches("flood-").count(),
        19,
        "backends.json: {saved}"
    );

    // The gateway still serves, from the one live backend.
    let served = serve_n(&gw, 10);
    assert!(served.iter().all(|n| n == "node-a"), "{served:?}");
    // Freeing a slot lets one more in.
    let first = pool(&gw)["backends"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["origin"] == "registered")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let (st, v) = admin(
        &gw,
        "DELETE",
        &format!("/upstreams/iri/backends/{first}"),
        None,
    );
    assert_eq!(st, 200, "{v}");
    let (st, v) = put(&gw, "late", &json!({"address": "http://127.2.0.1:9"}));
    assert_eq!(st, 201, "{v}");
    let (st, v) = put(&gw, "later", &json!({"address": "http://127.2.0.2:9"}));
    assert_eq!(st, 409, "{v}");
    assert!(error_of(&v).contains("max_backends"), "{v}");
}

// ---------------------------------------------------------------------------
// 6. Entering service only after a passing check
// ---------------------------------------------------------------------------

#[test]
fn a_registered_backend_enters_service_only_after_passing_its_check() {
    let a = TestNode::start("node-a");
    let d = TestNode::start("node-d");
    // node-d lags 100 milestones behind its own latest milestone.
    d.control(json!({"solid": 900}));
    let gw = Cfg::new(&[a.url()])
        .section(&health("iri", "max_lag = 5"))
        .start();
    register(&gw, "node-d", &d);
    // From the moment it is registered, it gets no client traffic.
    let served = serve_n(&gw, 10);
    assert_eq!(count(&served, "node-d"), 0, "{served:?}");
    let bd = wait_backend(&gw, "node-d", "critical for lag", secs(5), |b| {
        b["state"] == "critical"
    });
    let reasons: Vec<&str> = bd["last_check"]["exclusions"]
        .as_array()
        .map(|l| l.iter().filter_map(|x| x["reason"].as_str()).collect())
        .unwrap_or_default();
    assert!(reasons.contains(&"lag"), "exclusions: {bd}");
    assert_eq!(bd["serving"], false, "{bd}");
    let served = serve_n(&gw, 10);
    assert_eq!(count(&served, "node-d"), 0, "{served:?}");
    assert_eq!(
        calls(&d, "getTips"),
        0,
        "a lagging new backend got requests"
    );

    // It catches up: in after `rise` passing checks.
    d.control(json!({"solid": 1000}));
    wait_backend(&gw, "node-d", "healthy", secs(5), |b| {
        b["state"] == "healthy"
    });
    let served = serve_n(&gw, 6);
    assert!(count(&served, "node-d") >= 2, "{served:?}");

    // A second healthy node whose check is slow (1.5 s) stays pending until
    // the check answers...
    let e = TestNode::start("node-e");
    e.control(json!({"delay_ms": {"getNodeInfo": 1500}}));
    let gw2 = Cfg::new(&[a.url()])
        .section(&health_every("iri", "5s", "3s", ""))
        .start();
    register(&gw2, "node-e", &e);
    let served = serve_n(&gw2, 6);
    assert_eq!(count(&served, "node-e"), 0, "not yet checked: {served:?}");
    assert_eq!(backend(&gw2, "node-e").unwrap()["state"], "pending");
    drop(gw2);

    // ...while with start_healthy = true it serves at once.
    let f = TestNode::start("node-f");
    f.control(json!({"delay_ms": {"getNodeInfo": 1500}}));
    let gw3 = Cfg::new(&[a.url()])
        .section(&health_every("iri", "5s", "3s", "start_healthy = true"))
        .start();
    register(&gw3, "node-f", &f);
    let served = serve_n(&gw3, 6);
    assert!(
        count(&served, "node-f") >= 2,
        "start_healthy: node-f should serve at once: {served:?}"
    );
}

// ---------------------------------------------------------------------------
// 7. Reloads
// ---------------------------------------------------------------------------

/// Reloads so far: (ok, failed).
fn reload_counts(gw: &common_gateway::Gateway) -> (f64, f64) {
    (
        gw.metric("nodeward_reloads_total"),
        gw.metric("nodeward_reload_failures_total"),
    )
}

/// SIGHUP and wait until the reload is done; returns whether it succeeded.
fn sighup(gw: &common_gateway::Gateway) -> bool {
    let (ok, failed) = reload_counts(gw);
    gw.signal("HUP");
    eventually("the SIGHUP reload", secs(5), || {
        let (ok2, failed2) = reload_counts(gw);
        if ok2 > ok {
            Some(true)
        } else if failed2 > failed {
            Some(false)
        } else {
            None
        }
    })
}

#[test]
fn reload_keeps_ejection_idle_connections_and_registrations() {
    let a = TestNode::start("node-a");
    let b = TestNode::start("node-b");
    let r = TestNode::start("node-r");
    // x: nothing listens there; refused connections eject it.
    let x = format!("http://127.0.0.1:{}", free_port());
    let x_id = x.trim_start_matches("http://").to_string();
    let cfg = Cfg::new(&[a.url(), b.url(), x.clone()]).upstream("eject_for = \"60s\"");
    let gw = cfg.start();
    register(&gw, "node-r", &r);
    // Sequential requests: x is tried once, refused, ejected; every client
    // request still succeeds.
    serve_n(&gw, 9);
    let bx = wait_backend(&gw, &x_id, "ejected", secs(3), |b| b["state"] == "ejected");
    let ejections = bx["ejections"].clone();
    serve_n(&gw, 9);
    let conns: Vec<u64> = [&a, &b, &r]
        .iter()
        .map(|n| stat(n, "connections"))
        .collect();
    for (n, id) in [
        (&a, format!("127.0.0.1:{}", a.addr.port())),
        (&r, "node-r".into()),
    ] {
        let idle = backend(&gw, &id).unwrap()["idle_connections"]
            .as_u64()
            .unwrap();
        assert!(
            idle >= 1,
            "{}: no idle connection before the reload",
            n.name
        );
    }

    // Reload with a changed route setting (SIGHUP), then unchanged (POST /reload).
    cfg.clone().route("max_batch = 100").write_to(&gw);
    assert!(
        sighup(&gw),
        "SIGHUP reload failed: {}",
        tail(&gw.stderr(), 5)
    );
    let bx = backend(&gw, &x_id).unwrap();
    assert_eq!(bx["state"], "ejected", "ejection reset by the reload: {bx}");
    assert_eq!(bx["ejections"], ejections, "{bx}");
    assert!(
        backend(&gw, "node-r").is_some(),
        "registration lost on reload"
    );
    let (st, v) = admin(&gw, "POST", "/reload", None);
    assert_eq!(st, 200, "POST /reload: {v}");
    assert_eq!(backend(&gw, &x_id).unwrap()["state"], "ejected");
    for id in [format!("127.0.0.1:{}", a.addr.port()), "node-r".into()] {
        let b = backend(&gw, &id).unwrap();
        assert!(
            b["idle_connections"].as_u64().unwrap() >= 1,
            "{id}: idle connections dropped by the reload: {b}"
        );
    }
    assert_eq!(backend(&gw, "node-r").unwrap()["origin"], "registered");

    // Idle connections are reused: no node accepts a new connection.
    let served = serve_n(&gw, 9);
    for n in ["node-a", "node-b", "node-r"] {
        assert!(count(&served, n) >= 2, "{n}: {served:?}");
    }
    let after: Vec<u64> = [&a, &b, &r]
        .iter()
        .map(|n| stat(n, "connections"))
        .collect();
    // The idle connections themselves are checked above. A sequential
    // request can still race its predecessor's connection back into the
    // pool and open one more (seen in release builds, about one run in
    // two, on node-r): dropped idle connections would show as a new
    // connection on every node.
    let grown: u64 = after.iter().zip(&conns).map(|(n, o)| n - o).sum();
    assert!(
        grown <= 1,
        "connections accepted by a, b, r grew across the reload (idle connections dropped): {conns:?} -> {after:?}"
    );
}

#[test]
fn reload_keeps_a_critical_backend_critical() {
    let a = TestNode::start("node-a");
    let b = TestNode::start("node-b");
    let x = TestNode::start("node-x");
    x.control(json!({"solid": 900}));
    // fall = 3 at 1 s: a backend reset to healthy by a reload would serve
    // for about 3 s before its checks took it out again.
    let cfg = Cfg::new(&[a.url(), b.url(), x.url()]).section(
        "[upstream.health]\nkind = \"iri\"\ninterval = \"1s\"\ntimeout = \"1s\"\nrise = 2\nfall = 3\n",
    );
    let gw = cfg.start();
    let x_id = format!("127.0.0.1:{}", x.addr.port());
    let bx = wait_backend(&gw, &x_id, "critical", secs(5), |b| {
        b["state"] == "critical"
    });
    let critical_checks = bx["checks"]["critical"].as_u64().unwrap();
    serve_n(&gw, 6);

    cfg.clone().route("max_batch = 100").write_to(&gw);
    assert!(
        sighup(&gw),
        "SIGHUP reload failed: {}",
        tail(&gw.stderr(), 5)
    );
    let (st, v) = admin(&gw, "POST", "/reload", None);
    assert_eq!(st, 200, "{v}");
    let until = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < until {
        let bx = backend(&gw, &x_id).unwrap();
        assert_eq!(
            bx["state"], "critical",
            "health state reset by the reload: {bx}"
        );
        assert!(
            bx["checks"]["critical"].as_u64().unwrap() >= critical_checks,
            "check counts reset: {bx}"
        );
        let r = iri(&gw, "getTips");
        assert_eq!(r.status, 200, "{}", r.text());
        assert_ne!(
            r.node().as_deref(),
            Some("node-x"),
            "critical x served after reload"
        );
    }
    assert_eq!(calls(&x, "getTips"), 0, "critical backend got requests");
}

#[test]
fn reload_adds_and_removes_config_backends_and_refuses_a_clash_with_a_registration() {
    let a = TestNode::start("node-a");
    let b = TestNode::start("node-b");
    let d = TestNode::start("node-d");
    let e = TestNode::start("node-e");
    let cfg = Cfg::new(&[a.url()]);
    let gw = cfg.start();
    register(&gw, "node-d", &d);
    let b_id = format!("127.0.0.1:{}", b.addr.port());

    // Added to the config: added to the pool.
    Cfg::new(&[a.url(), b.url()]).write_to(&gw);
    let (st, v) = admin(&gw, "POST", "/reload", None);
    assert_eq!(st, 200, "{v}");
    assert_eq!(backend(&gw, &b_id).expect("b added")["origin"], "config");
    let served = serve_n(&gw, 6);
    assert!(count(&served, "node-b") >= 1, "{served:?}");

    // Removed from the config: removed.
    cfg.write_to(&gw);
    let (st, v) = admin(&gw, "POST", "/reload", None);
    assert_eq!(st, 200, "{v}");
    assert!(backend(&gw, &b_id).is_none(), "b still in the pool");
    let before_b = calls(&b, "getTips");
    serve_n(&gw, 6);
    assert_eq!(calls(&b, "getTips"), before_b, "removed b still served");

    // A config backend with the id of the registered one: refused, nothing changes.
    let before = pool(&gw)["backends"].clone();
    let clash_id = cfg.clone().section(&format!(
        "[[upstream.backend]]\naddress = {:?}\nid = \"node-d\"\n",
        e.url()
    ));
    clash_id.write_to(&gw);
    let (st, v) = admin(&gw, "POST", "/reload", None);
    assert_eq!(st, 422, "clashing reload: {v}");
    assert!(error_of(&v).contains("node-d"), "{v}");
    let bd = backend(&gw, "node-d").unwrap();
    assert_eq!(bd["origin"], "registered", "{bd}");
    assert_eq!(bd["address"], d.url(), "{bd}");
    assert_eq!(ids(&gw).len(), 2);
    // Same by SIGHUP.
    assert!(!sighup(&gw), "a clashing SIGHUP reload succeeded");
    // A config backend at the registered one's address, another id: refused too.
    cfg.clone()
        .section(&format!(
            "[[upstream.backend]]\naddress = {:?}\nid = \"other\"\n",
            d.url()
        ))
        .write_to(&gw);
    let (st, v) = admin(&gw, "POST", "/reload", None);
    assert_eq!(st, 422, "address clash: {v}");
    let now = pool(&gw)["backends"].clone();
    let key = |l: &Value| -> Vec<(String, String, String)> {
        l.as_array()
            .unwrap()
            .iter()
            .map(|b| {
                (
                    b["id"].as_str().unwrap().into(),
                    b["address"].as_str().unwrap().into(),
                    b["origin"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    assert_eq!(key(&now), key(&before), "a refused reload changed the pool");
    let served = serve_n(&gw, 6);
    assert!(
        count(&served, "node-d") >= 1 && count(&served, "node-e") == 0,
        "{served:?}"
    );
}

// ---------------------------------------------------------------------------
// 8. Watched backends file
// ---------------------------------------------------------------------------

fn write_atomic(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

#[test]
fn a_reload_that_points_at_another_backends_file_swaps_the_file_backends() {
    let f1 = TestNode::start("node-f1");
    let f2 = TestNode::start("node-f2");
    let dir = tempfile::tempdir().unwrap();
    let (one, two) = (dir.path().join("one.toml"), dir.path().join("two.toml"));
    write_atomic(
        &one,
        &format!("[[backend]]\naddress = {:?}\nid = \"f1\"\n", f1.url()),
    );
    write_atomic(
        &two,
        &format!("[[backend]]\naddress = {:?}\nid = \"f2\"\n", f2.url()),
    );
    let gw = Cfg::new(&[])
        .upstream(&format!("backends_file = {:?}", one.display().to_string()))
        .start();
    assert!(serve_n(&gw, 3).iter().all(|n| n == "node-f1"));
    Cfg::new(&[])
        .upstream(&format!("backends_file = {:?}", two.display().to_string()))
        .write_to(&gw);
    let (st, v) = admin(&gw, "POST", "/reload", None);
    assert_eq!(st, 200, "{v}");
    assert_eq!(ids(&gw), vec!["f2".to_string()]);
    assert!(serve_n(&gw, 3).iter().all(|n| n == "node-f2"));
    // The old file is no longer watched: changing it changes nothing.
    write_atomic(
        &one,
        &format!("[[backend]]\naddress = {:?}\nid = \"f1b\"\n", f1.url()),
    );
    std::thread::sleep(secs(2));
    assert_eq!(ids(&gw), vec!["f2".to_string()]);
}

#[test]
fn watched_backends_file_adds_keeps_on_error_and_removes() {
    let f1 = TestNode::start("node-f1");
    let f2 = TestNode::start("node-f2");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("backends.toml");
    write_atomic(
        &file,
        &format!("[[backend]]\naddress = {:?}\nid = \"f1\"\n", f1.url()),
    );
    let gw = Cfg::new(&[])
        .upstream(&format!("backends_file = {:?}", file.display().to_string()))
        .start();
    let served = serve_n(&gw, 4);
    assert!(served.iter().all(|n| n == "node-f1"), "{served:?}");
    let p = pool(&gw);
    assert_eq!(p["backends_file"], file.display().to_string(), "{p}");
    assert_eq!(backend(&gw, "f1").unwrap()["origin"], "file");

    // Two backends: both used within ~2 s.
    write_atomic(
        &file,
        &format!(
            "[[backend]]\naddress = {:?}\nid = \"f1\"\n\n[[backend]]\naddress = {:?}\nid = \"f2\"\nweight = 2\ntags = [\"eu\"]\n",
            f1.url(),
            f2.url()
        ),
    );
    let t = Instant::now();
    let b2 = wait_backend(&gw, "f2", "read from the file", secs(3), |_| true);
    assert!(t.elapsed() < secs(3));
    assert_eq!(b2["origin"], "file", "{b2}");
    assert_eq!(b2["tags"], json!(["eu"]), "{b2}");
    let served = serve_n(&gw, 6);
    assert!(
        count(&served, "node-f1") >= 1 && count(&served, "node-f2") >= 1,
        "{served:?}"
    );

    // A broken file: error shown, previous backends kept.
    std::fs::write(&file, "[[backend]]\naddress = \"ftp://nope\"\n").unwrap();
    let p = eventually("backends_file_error", secs(3), || {
        let p = pool(&gw);
        p["backends_file_error"].is_string().then_some(p)
    });
    let err = p["backends_file_error"].as_str().unwrap();
    assert!(
        err.contains("backends.toml"),
        "the error should name the file: {err}"
    );
    let mut left = ids(&gw);
    left.sort();
    assert_eq!(left, vec!["f1".to_string(), "f2".to_string()]);
    let served = serve_n(&gw, 6);
    assert!(
        count(&served, "node-f1") >= 1 && count(&served, "node-f2") >= 1,
        "{served:?}"
    );
    let (_, status) = admin(&gw, "GET", "/status", None);
    assert!(
        status["upstreams"][0]["backends_file_error"].is_string(),
        "/status shows the file error: {status}"
    );

    // The file removed: its backends go.
    std::fs::remove_file(&file).unwrap();
    eventually("the file backends to go", secs(3), || {
        ids(&gw).is_empty().then_some(())
    });
    assert!(pool(&gw)["backends_file_error"].is_null());
    let r = iri(&gw, "getTips");
    assert_eq!(r.status, 503, "{}", r.text());
    assert_eq!(r.json()["reason"], "no_healthy_backend", "{}", r.text());
}

// ---------------------------------------------------------------------------
// 9. Command line
// ---------------------------------------------------------------------------

#[test]
fn cli_backends_add_list_drain_remove_and_status() {
    let a = TestNode::start("node-a");
    let e = TestNode::start("node-e");
    let gw = Cfg::new(&[a.url()]).start();

    let (code, out, err) = cli(
        &gw,
        &[
            "backends",
            "add",
            "iri",
            "node-e",
            &e.url(),
            "--weight",
            "2",
            "--tag",
            "eu",
        ],
    );
    assert_eq!(code, Some(0), "backends add: {out} {err}");
    assert!(out.contains("node-e"), "{out}");
    let be = backend(&gw, "node-e").expect("node-e registered by the CLI");
    assert_eq!(be["origin"], "registered", "{be}");
    assert_eq!(be["weight"], 2, "{be}");
    assert_eq!(be["tags"], json!(["eu"]), "{be}");
    let served = serve_n(&gw, 6);
    assert!(count(&served, "node-e") >= 1, "{served:?}");

    for args in [
        &["backends", "list"][..],
        &["backends", "list", "iri"],
        &["backends"],
    ] {
        let (code, out, err) = cli(&gw, args);
        assert_eq!(code, Some(0), "{args:?}: {out} {err}");
        let line = out
            .lines()
            .find(|l| l.contains("node-e"))
            .unwrap_or_else(|| panic!("{args:?} does not list node-e:\n{out}"));
        assert!(
            line.contains("registered") && line.contains(&e.url()),
            "{line}"
        );
    }

    let (code, out, err) = cli(&gw, &["backends", "drain", "iri", "node-e"]);
    assert_eq!(code, Some(0), "drain: {out} {err}");
    assert_eq!(backend(&gw, "node-e").unwrap()["state"], "draining");
    let (code, out, err) = cli(&gw, &["backends", "drain", "iri", "node-e", "--undo"]);
    assert_eq!(code, Some(0), "drain --undo: {out} {err}");
    assert_ne!(backend(&gw, "node-e").unwrap()["state"], "draining");

    let (code, out, err) = cli(&gw, &["backends", "remove", "iri", "node-e"]);
    assert_eq!(code, Some(0), "remove: {out} {err}");
    assert!(backend(&gw, "node-e").is_none());

    // Failures: non-zero with a clear message.
    let (code, out, err) = cli(&gw, &["backends", "add", "iri", "node-x", "ftp://x"]);
    assert_ne!(code, Some(0), "bad address accepted: {out}");
    assert!(err.contains("http://"), "unclear message: {err}");
    let (code, _, err) = cli(&gw, &["backends", "add", "iri", "node-x", "127.0.0.1:1"]);
    assert_ne!(code, Some(0));
    assert!(err.contains("scheme"), "{err}");
    let (code, _, err) = cli(&gw, &["backends", "add", "nopool", "node-x", &e.url()]);
    assert_ne!(code, Some(0));
    assert!(err.contains("nopool"), "{err}");
    let a_id = format!("127.0.0.1:{}", a.addr.port());
    let (code, _, err) = cli(&gw, &["backends", "remove", "iri", &a_id]);
    assert_ne!(code, Some(0), "removing a config backend");
    assert!(err.contains("config"), "{err}");
    let (code, _, err) = cli(&gw, &["backends", "remove", "iri", "node-e"]);
    assert_ne!(code, Some(0), "removing an unknown backend");
    assert!(err.contains("node-e"), "{err}");
    assert_eq!(ids(&gw), vec![a_id.clone()]);

    let (code, out, err) = cli(&gw, &["status"]);
    assert_eq!(code, Some(0), "status: {out} {err}");
    let header = out
        .lines()
        .find(|l| l.contains("ID") && l.contains("ORIGIN") && l.contains("STATE"))
        .unwrap_or_else(|| panic!("no table header in:\n{out}"));
    assert!(header.contains("ADDRESS"), "{header}");
    let row = out
        .lines()
        .find(|l| l.contains(&a_id))
        .unwrap_or_else(|| panic!("no row for {a_id}:\n{out}"));
    assert!(row.contains("config") && row.contains("healthy"), "{row}");
    let (code, out, _) = cli(&gw, &["status", "--json"]);
    assert_eq!(code, Some(0));
    let v: Value = serde_json::from_str(&out).expect("status --json is JSON");
    assert_eq!(v["upstreams"][0]["name"], "iri");
}

// ---------------------------------------------------------------------------
// 10. HTTPS backends with a client certificate
// ---------------------------------------------------------------------------

fn tls_gateway(
    node: &TestNode,
    ca: &Path,
    client: Option<(&Path, &Path)>,
) -> common_gateway::Gateway {
    let mut tls = format!("[upstream.tls]\nca = {:?}\n", ca.display().to_string());
    if let Some((cert, key)) = client {
        tls.push_str(&format!(
            "cert = {:?}\nkey = {:?}\n",
            cert.display().to_string(),
            key.display().to_string()
        ));
    }
    Cfg::new(&[node.url()])
        .section(&tls)
        .section(&health("iri", ""))
        .start()
}

fn tls_reasons(b: &Value) -> Vec<String> {
    b["last_check"]["exclusions"]
        .as_array()
        .map(|l| {
            l.iter()
                .filter_map(|x| x["reason"].as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn https_backend_with_client_certificate_and_wrong_ca_marked_critical() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    make_pki(d);
    let node = TestNode::start_tls(
        "secure",
        &d.join("server.pem"),
        &d.join("server.key"),
        Some(&d.join("ca.pem")),
    );
    let id = format!("https:localhost:{}", node.addr.port());
    let client = (d.join("client.pem"), d.join("client.key"));

    // Right CA and a client certificate: served over TLS.
    {
        let gw = tls_gateway(&node, &d.join("ca.pem"), Some((&client.0, &client.1)));
        let bs = wait_backend(&gw, &id, "healthy", secs(5), |b| b["state"] == "healthy");
        assert_eq!(bs["address"], node.url(), "{bs}");
        for _ in 0..4 {
            let r = iri(&gw, "getTips");
            assert_eq!(r.status, 200, "{}", r.text());
            assert_eq!(r.node().as_deref(), Some("secure"), "{}", r.text());
        }
        assert_eq!(calls(&node, "getTips"), 4);
    }

    // Another CA: critical for "tls", clients get 503, nothing plain reaches the node.
    node.reset_stats();
    {
        let gw = tls_gateway(&node, &d.join("other-ca.pem"), Some((&client.0, &client.1)));
        let bs = wait_backend(&gw, &id, "critical", secs(5), |b| b["state"] == "critical");
        assert!(
            tls_reasons(&bs).contains(&"tls".to_string()),
            "the reason should be tls: {bs}"
        );
        for _ in 0..3 {
            let t = Instant::now();
            let r = iri(&gw, "getTips");
            assert_eq!(r.status, 503, "{}", r.text());
            assert_eq!(r.json()["reason"], "no_healthy_backend", "{}", r.text());
            assert!(t.elapsed() < secs(2), "503 took {:?}", t.elapsed());
        }
        let st = node.stats();
        assert_eq!(
            st["total"], 0,
            "a request reached the node without verified TLS: {st}"
        );
    }

    // Right CA, no client certificate: critical too.
    node.reset_stats();
    {
        let gw = tls_gateway(&node, &d.join("ca.pem"), None);
        let bs = wait_backend(&gw, &id, "critical", secs(5), |b| b["state"] == "critical");
        // TLS 1.3 refuses the missing certificate after the handshake; it is
        // still a TLS failure, not an unreachable node.
        assert!(tls_reasons(&bs).contains(&"tls".to_string()), "{bs}");
        let r = iri(&gw, "getTips");
        assert_eq!(r.status, 503, "{}", r.text());
        assert_eq!(r.json()["reason"], "no_healthy_backend", "{}", r.text());
        assert_eq!(node.stats()["total"], 0);
    }

    // An https:// backend that speaks plain HTTP: critical for "tls", never
    // asked in plain HTTP, configured or registered.
    let plain = TestNode::start("plain");
    let plain_https = format!("https://localhost:{}", plain.addr.port());
    {
        let gw = Cfg::new(std::slice::from_ref(&plain_https))
            .section(&format!(
                "[upstream.tls]\nca = {:?}\n",
                d.join("ca.pem").display().to_string()
            ))
            .section(&health("iri", ""))
            .start();
        let pid = format!("https:localhost:{}", plain.addr.port());
        let bs = wait_backend(&gw, &pid, "critical", secs(5), |b| b["state"] == "critical");
        assert!(tls_reasons(&bs).contains(&"tls".to_string()), "{bs}");
        let r = iri(&gw, "getTips");
        assert_eq!(r.status, 503, "{}", r.text());
        assert_eq!(r.json()["reason"], "no_healthy_backend", "{}", r.text());
    }
    {
        // A dynamic pool without [upstream.tls]: system roots, which do not
        // know the test CA; passive health only, so requests try them.
        let a = TestNode::start("node-a");
        let gw = Cfg::new(&[a.url()]).upstream("dynamic = true").start();
        let (st, v) = put(&gw, "tls-plain", &json!({ "address": plain_https }));
        assert_eq!(st, 201, "{v}");
        let (st, v) = put(&gw, "tls-secure", &json!({ "address": node.url() }));
        assert_eq!(st, 201, "{v}");
        let served = serve_n(&gw, 8);
        assert!(served.iter().all(|n| n == "node-a"), "{served:?}");
    }
    let st = plain.stats();
    assert_eq!(
        st["total"], 0,
        "a plain-HTTP request reached the https:// backend: {st}"
    );
    assert_eq!(node.stats()["total"], 0);
}
