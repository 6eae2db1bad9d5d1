//! End-to-end: per-command routing. attachToTangle (and its interrupt) go to
//! a dedicated PoW pool with its own in-flight cap and timeout; nothing else
//! goes there, and the PoW commands never reach the ordinary node.

mod common_gateway;

use common_gateway::*;
use std::time::{Duration, Instant};

const POW_TEMPLATE: &str = r#"
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
timeout = "5s"

[[upstream]]
name = "pow"
backends = ["POW"]
timeout = "1s"

[[route]]
protocol = "iri"
upstream = "iri"
deny = ["addNeighbors", "removeNeighbors", "getNeighbors"]

[[route.command]]
name = "attachToTangle"
upstream = "pow"
max_inflight = 1

[[route.command]]
name = "interruptAttachingToTangle"
upstream = "pow"

[[route]]
path = "/rpc"
protocol = "jsonrpc"
upstream = "iri"

[[route.command]]
name = "eth_sendRawTransaction"
upstream = "pow"
timeout = "3s"
"#;

fn start() -> (Backend, Backend, Gateway) {
    let node = Backend::start();
    let pow = Backend::start();
    let gw = Gateway::start(&POW_TEMPLATE.replace("POW", &pow.url()), &node.url());
    (node, pow, gw)
}

#[test]
fn attach_to_tangle_reaches_only_the_pow_backend_and_nothing_else_does() {
    let (node, pow, gw) = start();
    for body in [
        r#"{"command":"getNodeInfo"}"#,
        r#"{"command":"getTransactionsToApprove","depth":3}"#,
        r#"{"command":"attachToTangle","trunkTransaction":"T","minWeightMagnitude":14}"#,
        r#"{"command":"ATTACHTOTANGLE","trunkTransaction":"U"}"#,
        r#"{"command":"\u0061ttachToTangle","trunkTransaction":"V"}"#,
        r#"{"command":"interruptAttachingToTangle"}"#,
        r#"{"command":"getTips"}"#,
    ] {
        let (status, out) = post(&gw.url(), body);
        assert_eq!(status, 200, "{body}: {out}");
    }
    let to_node = node.bodies();
    let to_pow = pow.bodies();
    assert_eq!(to_node.len(), 3, "{to_node:?}");
    assert_eq!(to_pow.len(), 4, "{to_pow:?}");
    for b in &to_node {
        let lower = b.to_ascii_lowercase();
        assert!(
            !lower.contains("attach") && !lower.contains("\\u0061"),
            "PoW call reached the node: {b}"
        );
    }
    for b in &to_pow {
        let v: serde_json::Value = serde_json::from_str(b).unwrap();
        let cmd = v["command"].as_str().unwrap().to_ascii_lowercase();
        assert!(
            cmd == "attachtotangle" || cmd == "interruptattachingtotangle",
            "{b} reached the PoW node"
        );
    }
    // The access log names the pool and backend that served each call.
    let lines = gw.wait_log_lines(7);
    let pow_addr = pow.addr.to_string();
    for l in &lines {
        let on_pow = l["command"].as_str().unwrap().contains("attach");
        assert_eq!(l["upstream"], if on_pow { "pow" } else { "iri" }, "{l}");
        if on_pow {
            assert_eq!(l["backend"], pow_addr.as_str(), "{l}");
        }
    }
}

#[test]
fn the_pow_pool_has_its_own_inflight_cap_and_timeout() {
    let (node, pow, gw) = start();
    let url = gw.url();
    // A PoW call slower than the pool's 1 s timeout holds the single permit.
    let slow = std::thread::spawn(move || {
        let started = Instant::now();
        let r = post(&url, r#"{"command":"attachToTangle","slow":3000}"#);
        (r, started.elapsed())
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    while pow.count() == 0 {
        assert!(Instant::now() < deadline, "PoW call never arrived");
        std::thread::sleep(Duration::from_millis(10));
    }
    let (status, out) = post(&gw.url(), r#"{"command":"attachToTangle"}"#);
    assert_eq!(status, 503, "{out}");
    assert!(out.contains("inflight_cap"), "{out}");
    // Everything else keeps flowing to the node meanwhile.
    assert_eq!(post(&gw.url(), r#"{"command":"getNodeInfo"}"#).0, 200);
    let ((status, out), took) = slow.join().unwrap();
    assert_eq!(status, 504, "{out}");
    assert!(out.contains("upstream_timeout"), "{out}");
    assert!(
        took < Duration::from_millis(2500),
        "pool timeout not applied: {took:?}"
    );
    assert_eq!(pow.count(), 1);
    assert_eq!(node.count(), 1);
}

#[test]
fn jsonrpc_commands_routed_alone_and_mixed_batches_refused() {
    let (node, pow, gw) = start();
    let url = format!("{}rpc", gw.url());
    let rpc = |body: &str| {
        curl(&[
            "-H",
            "Content-Type: application/json",
            "--data-binary",
            body,
            &url,
        ])
    };
    let (status, _) =
        rpc(r#"{"jsonrpc":"2.0","id":1,"method":"eth_sendRawTransaction","params":["0x00"]}"#);
    assert_eq!(status, 200);
    let (status, _) = rpc(r#"{"jsonrpc":"2.0","id":2,"method":"eth_blockNumber"}"#);
    assert_eq!(status, 200);
    assert_eq!((node.count(), pow.count()), (1, 1));
    assert!(pow.last().body_str().contains("eth_sendRawTransaction"));
    let (status, out) = rpc(
        r#"[{"jsonrpc":"2.0","id":3,"method":"eth_blockNumber"},{"jsonrpc":"2.0","id":4,"method":"eth_sendRawTransaction","params":["0x00"]}]"#,
    );
    assert_eq!(status, 400, "{out}");
    assert!(out.contains("another upstream"), "{out}");
    assert_eq!(
        (node.count(), pow.count()),
        (1, 1),
        "a mixed batch was forwarded"
    );
}

#[test]
fn an_unknown_command_upstream_is_refused_by_config_check() {
    let template = POW_TEMPLATE
        .replace(
            "upstream = \"pow\"\nmax_inflight",
            "upstream = \"remote-pow\"\nmax_inflight",
        )
        .replace("POW", "http://127.0.0.1:1");
    let (code, err) = config_check(&template);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("route[0].command[0].upstream") && err.contains("remote-pow"),
        "{err}"
    );
}
