//! End-to-end: forwarding headers and hop-by-hop stripping, several
//! listeners and threads, IPv6 source lists, HTTP/2 idle timeout, and a
//! 100,000-call batch.

mod common_gateway;
use common_gateway::*;
use std::io::Read;
use std::net::TcpStream;
use std::time::{Duration, Instant};

#[test]
fn hop_by_hop_headers_are_stripped_and_forwarding_headers_replaced() {
    let backend = Backend::start();
    let gw = Gateway::start(&iri_config("", ""), &backend.url());
    let (code, _) = curl(&[
        "-H",
        "X-IOTA-API-Version: 1",
        "-H",
        "Connection: keep-alive, X-Secret-Hop",
        "-H",
        "X-Secret-Hop: token",
        "-H",
        "Proxy-Authorization: Basic Zm9vOmJhcg==",
        "-H",
        "X-Forwarded-For: 6.6.6.6",
        "-H",
        "X-Forwarded-Proto: https",
        "-H",
        "Forwarded: for=6.6.6.6",
        "--data-binary",
        r#"{"command":"getNodeInfo"}"#,
        &gw.url(),
    ]);
    assert_eq!(code, 200);
    let got = backend.last();
    assert_eq!(got.header("x-secret-hop"), None);
    assert_eq!(got.header("proxy-authorization"), None);
    assert_eq!(got.header("forwarded"), None);
    // An untrusted peer cannot forge its address or scheme.
    assert_eq!(got.header("x-forwarded-for"), Some("127.0.0.1"));
    assert_eq!(got.header("x-forwarded-proto"), Some("http"));
}

#[test]
fn a_trusted_proxy_passes_the_client_address_and_limits_apply_to_it() {
    let backend = Backend::start();
    let gw = Gateway::start(
        &iri_config(
            "trusted_proxies = [\"127.0.0.1\"]",
            "per_ip_rate = \"2/min\"",
        ),
        &backend.url(),
    );
    let from = |client: &str| {
        curl(&[
            "-H",
            "X-IOTA-API-Version: 1",
            "-H",
            &format!("X-Forwarded-For: {client}"),
            "--data-binary",
            r#"{"command":"getNodeInfo"}"#,
            &gw.url(),
        ])
        .0
    };
    assert_eq!(from("198.51.100.1"), 200);
    assert_eq!(
        backend.last().header("x-forwarded-for"),
        Some("198.51.100.1, 127.0.0.1")
    );
    assert_eq!(from("198.51.100.1"), 200);
    assert_eq!(
        from("198.51.100.1"),
        429,
        "the limit follows the real client"
    );
    assert_eq!(
        from("198.51.100.2"),
        200,
        "another client behind the same proxy is not limited"
    );
    let log = gw.wait_log_lines(4);
    assert_eq!(log[0]["client_ip"], "198.51.100.1");
    assert_eq!(log[0]["peer_ip"], "127.0.0.1");
}

#[test]
fn several_listeners_ipv6_sources_and_worker_threads() {
    let backend = Backend::start();
    let v6 = free_port();
    let template = iri_config("", "deny_ips = [\"::1/128\"]").replace(
        "[admin]",
        &format!("[[listener]]\nbind = \"[::1]:{v6}\"\n\n[admin]"),
    );
    let gw = Gateway::start_with(&template, &backend.url(), &["--threads", "2"]);
    assert_eq!(post(&gw.url(), r#"{"command":"getNodeInfo"}"#).0, 200);
    let (code, body) = post(
        &format!("http://[::1]:{v6}/"),
        r#"{"command":"getNodeInfo"}"#,
    );
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("ip_denied"));
    let status: serde_json::Value = serde_json::from_str(&gw.admin("GET", "/status").1).unwrap();
    assert_eq!(status["listeners"].as_array().unwrap().len(), 2);
}

#[test]
fn idle_http2_connections_are_closed() {
    let backend = Backend::start();
    let gw = Gateway::start(
        &iri_config("h2c = true\nidle_timeout = \"1s\"", ""),
        &backend.url(),
    );
    let mut s = TcpStream::connect(gw.addr()).unwrap();
    use std::io::Write;
    s.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00")
        .unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let t = Instant::now();
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
    }
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(4),
        "closed after {took:?}"
    );
}

#[test]
fn a_batch_of_100000_calls_is_refused_while_parsing() {
    let backend = Backend::start();
    let template = r#"
[gateway]
state_dir = "{state}"
access_log = "off"

[[listener]]
bind = "127.0.0.1:{port}"

[admin]
bind = "127.0.0.1:{admin}"

[[upstream]]
name = "eth"
backends = ["{backend}"]

[[route]]
protocol = "jsonrpc"
upstream = "eth"
max_body = "8MiB"
max_batch = 100
"#;
    let gw = Gateway::start(template, &backend.url());
    let call = r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId"},"#;
    let mut batch = String::from("[");
    for _ in 0..100_000 {
        batch.push_str(call);
    }
    batch.pop();
    batch.push(']');
    let file = gw.dir.path().join("batch.json");
    std::fs::write(&file, &batch).unwrap();
    let (code, body) = curl(&["--data-binary", &format!("@{}", file.display()), &gw.url()]);
    assert_eq!(code, 413, "{body}");
    assert!(body.contains("batch_too_large"), "{body}");
    assert_eq!(backend.count(), 0);
    assert_eq!(
        gw.metric("nodeward_rejections_total{reason=\"batch_too_large\"}"),
        1.0
    );
}

#[test]
fn an_early_refusal_is_not_destroyed_by_a_reset_while_the_client_uploads() {
    // The gateway answers 413 from the declared length without reading the
    // body. It must then close with FIN and keep reading what the client still
    // sends; closing with unread bytes would send a reset, and the client's
    // next writes (and, with bad timing, the 413 itself) would be lost.
    let backend = Backend::start();
    let gw = Gateway::start(&iri_config("", ""), &backend.url());
    let mut client = TcpStream::connect(gw.addr()).unwrap();
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let head = "POST / HTTP/1.1\r\nHost: x\r\nX-IOTA-API-Version: 1\r\n\
                Content-Type: application/json\r\nContent-Length: 10000000\r\n\r\n";
    use std::io::Write;
    client.write_all(head.as_bytes()).unwrap();
    let chunk = vec![b' '; 16 * 1024];
    client.write_all(&chunk).unwrap();
    // Read the whole refusal first.
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("body_too_large") {
        let n = client.read(&mut buf).expect("the 413 arrives");
        assert!(
            n > 0,
            "closed before the refusal: {:?}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    assert!(String::from_utf8_lossy(&got).starts_with("HTTP/1.1 413"));
    // The client goes on uploading for a while, as curl does: no reset.
    for _ in 0..32 {
        client
            .write_all(&chunk)
            .expect("the gateway keeps reading instead of resetting");
        std::thread::sleep(Duration::from_millis(5));
    }
    // Then the gateway's FIN is seen as a clean end of stream.
    let n = client.read(&mut buf).expect("a clean close, not a reset");
    assert_eq!(n, 0);
    assert_eq!(backend.count(), 0);
}

#[test]
fn the_gateway_runs_with_memory_committed_on_demand() {
    // The gateway re-executes itself once (same process) with mimalloc's
    // on-demand commit, then serves as usual.
    let backend = Backend::start();
    let gw = Gateway::start(&iri_config("", ""), &backend.url());
    let pid = gw.child.as_ref().unwrap().id();
    let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let vars: Vec<String> = environ
        .split(|b| *b == 0)
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .collect();
    assert!(
        vars.contains(&"MIMALLOC_ARENA_EAGER_COMMIT=0".to_string()),
        "{vars:?}"
    );
    let (code, _) = post(&gw.url(), r#"{"command":"getNodeInfo"}"#);
    assert_eq!(code, 200);
}
