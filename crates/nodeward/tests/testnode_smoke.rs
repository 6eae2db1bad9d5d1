//! Smoke tests of the fake node (`nodeward-testnode`) and its test support
//! (`common_pool`), so pool tests can trust the node they script: answers,
//! control patches, knobs, kill/restart on the same port, and mTLS.
//!
//! Needs `cargo build --release -p nodeward-testnode` first (scripts/test.sh does it).

mod common_pool;

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use common_pool::{http, make_pki, TestNode};
use serde_json::json;

/// Polls `f` until it is true or 5 s pass.
fn eventually(what: &str, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn answers_iri_and_jsonrpc_over_raw_http() {
    let node = TestNode::start("alpha");
    assert!(node.addr.ip().is_loopback());
    assert_eq!(node.url(), format!("http://127.0.0.1:{}", node.addr.port()));

    let r = node.post(&json!({"command": "getNodeInfo"}));
    assert_eq!(r.status, 200);
    assert_eq!(r.header("x-testnode"), Some("alpha"));
    let info = r.json();
    assert_eq!(info["appName"], "IRI");
    assert_eq!(info["latestMilestoneIndex"], 1000);
    assert_eq!(info["latestSolidSubtangleMilestoneIndex"], 1000);
    assert_eq!(info["node"], "alpha");

    // Raw bytes on the wire, keep-alive: two requests on one connection.
    let body = r#"{"jsonrpc":"2.0","id":41,"method":"eth_blockNumber","params":[]}"#;
    let one = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let mut s = TcpStream::connect(node.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s.write_all(format!("{one}{one}").as_bytes()).unwrap();
    let mut got = String::new();
    let mut buf = [0u8; 4096];
    while got.matches(r#""result":"0x64""#).count() < 2 {
        let n = s.read(&mut buf).expect("two keep-alive answers");
        assert!(n > 0, "closed early: {got}");
        got.push_str(&String::from_utf8_lossy(&buf[..n]));
    }
    assert!(got.starts_with("HTTP/1.1 200"), "{got}");
    assert!(got.contains(r#""id":41"#), "{got}");

    let r = node.post(&json!({"command": "addNeighbors", "uris": []}));
    assert_eq!(r.status, 401);
    assert_eq!(
        r.json()["error"],
        "COMMAND addNeighbors is not available on this node"
    );
    let r = http(node.addr, "POST", "/", b"not json").unwrap();
    assert_eq!(r.status, 400);
    let r = http(node.addr, "GET", "/version", b"").unwrap();
    assert_eq!((r.status, r.text()), (200, "alpha 1.8.6".to_string()));

    let stats = node.stats();
    assert_eq!(stats["by_command"]["getNodeInfo"], 1);
    assert_eq!(stats["by_command"]["eth_blockNumber"], 2);
    assert_eq!(stats["connections"], 5);
    node.reset_stats();
    assert_eq!(node.stats()["total"], 0);
}

#[test]
fn control_patch_makes_the_node_lag() {
    let node = TestNode::start("lagger");
    let st = node.control(json!({"latest": 1000, "solid": 990, "head": 50, "syncing": true}));
    assert_eq!(st["solid"], 990);
    assert_eq!(st["neighbors"], 3, "untouched keys keep their defaults");
    let info = node.post(&json!({"command": "getNodeInfo"})).json();
    assert_eq!(info["latestMilestoneIndex"], 1000);
    assert_eq!(info["latestSolidSubtangleMilestoneIndex"], 990);
    let sync = node
        .post(&json!({"jsonrpc": "2.0", "id": 1, "method": "eth_syncing"}))
        .json();
    assert_eq!(sync["result"]["currentBlock"], "0x32");

    let r = http(node.control_addr, "POST", "/_control", br#"{"lag":1}"#).unwrap();
    assert_eq!(r.status, 400);
    assert!(r.text().contains("lag"), "{}", r.text());
    // The control port serves nothing else.
    let r = http(
        node.control_addr,
        "POST",
        "/",
        br#"{"command":"getNodeInfo"}"#,
    )
    .unwrap();
    assert_eq!(r.status, 404);
}

#[test]
fn status_hang_close_and_delay_knobs() {
    let node = TestNode::start("flaky");
    node.control(json!({"status": {"getNodeInfo": 503}}));
    let r = node.post(&json!({"command": "getNodeInfo"}));
    assert_eq!(r.status, 503);
    assert_eq!(r.json(), json!({"error": "forced", "node": "flaky"}));
    // Other commands are unaffected: health checks and real calls can differ.
    assert_eq!(node.post(&json!({"command": "getTips"})).status, 200);

    node.control(json!({"status": {}, "hang": ["getTips"], "close": ["getTrytes"]}));
    let mut s = TcpStream::connect(node.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let body = r#"{"command":"getTips"}"#;
    write!(
        s,
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let err = s
        .read(&mut [0u8; 64])
        .expect_err("a hung node must not answer");
    assert!(
        matches!(err.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut),
        "{err}"
    );
    eventually("one request in flight", || node.stats()["inflight"] == 1);
    drop(s);
    eventually("the hung request to count as abandoned", || {
        let st = node.stats();
        st["abandoned"] == 1 && st["inflight"] == 0
    });

    let r = http(node.addr, "POST", "/", br#"{"command":"getTrytes"}"#);
    assert!(r.is_err(), "close knob must answer nothing: {r:?}");

    node.control(json!({"hang": [], "close": [], "delay_ms": {"*": 300}}));
    let t = Instant::now();
    assert_eq!(node.post(&json!({"command": "getTips"})).status, 200);
    assert!(t.elapsed() >= Duration::from_millis(300));
}

#[test]
fn kill_and_restart_on_the_same_port() {
    let mut node = TestNode::start("phoenix");
    let addr = node.addr;
    node.control(json!({"latest": 7}));
    node.kill();
    assert!(!node.is_alive());
    assert!(
        TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
        "a killed node must refuse connections"
    );
    node.restart();
    assert_eq!(node.addr, addr);
    let info = node.post(&json!({"command": "getNodeInfo"})).json();
    assert_eq!(info["latestMilestoneIndex"], 1000, "state starts fresh");
    // And a second node can take a known port on purpose.
    node.kill();
    let twin = TestNode::start_on("twin", addr.port());
    assert_eq!(twin.addr, addr);
    assert_eq!(
        twin.post(&json!({"command": "x"})).header("x-testnode"),
        Some("twin")
    );
}

#[test]
fn bad_arguments_exit_2() {
    let out = Command::new(common_pool::bin())
        .args(["--listen", "0.0.0.0:0", "--name", "x"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));
    let out = Command::new(common_pool::bin())
        .args([
            "--listen",
            "127.0.0.1:0",
            "--name",
            "x",
            "--tls-cert",
            "/nonexistent/c.pem",
            "--tls-key",
            "/nonexistent/k.pem",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
}

/// curl against the TLS node, resolving localhost to 127.0.0.1 only.
fn curl(node: &TestNode, dir: &Path, client_cert: bool) -> std::process::Output {
    let port = node.addr.port();
    let mut cmd = Command::new("curl");
    cmd.current_dir(dir).args([
        "-sS",
        "--max-time",
        "5",
        "--resolve",
        &format!("localhost:{port}:127.0.0.1"),
        "--cacert",
        "ca.pem",
    ]);
    if client_cert {
        cmd.args(["--cert", "client.pem", "--key", "client.key"]);
    }
    cmd.arg(format!("{}/", node.url()));
    cmd.output().expect("run curl")
}

#[test]
fn tls_node_requires_a_client_certificate() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    make_pki(d);
    let node = TestNode::start_tls(
        "secure",
        &d.join("server.pem"),
        &d.join("server.key"),
        Some(&d.join("ca.pem")),
    );
    assert_eq!(
        node.url(),
        format!("https://localhost:{}", node.addr.port())
    );

    let ok = curl(&node, d, true);
    assert!(
        ok.status.success(),
        "curl with a client cert: {}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let body: serde_json::Value = serde_json::from_slice(&ok.stdout).unwrap();
    assert_eq!(body, json!({"node": "secure", "path": "/"}));

    let refused = curl(&node, d, false);
    assert!(
        !refused.status.success(),
        "curl without a client cert must fail, got {}",
        String::from_utf8_lossy(&refused.stdout)
    );

    // Control works over the plain control port even though the API needs mTLS.
    assert_eq!(node.control(json!({"latest": 5}))["latest"], 5);
    assert_eq!(node.stats()["by_command"]["GET"], 1);

    // Without --client-ca any client may connect.
    let open = TestNode::start_tls("open", &d.join("server.pem"), &d.join("server.key"), None);
    assert!(curl(&open, d, false).status.success());
}
