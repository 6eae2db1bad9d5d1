//! End-to-end: nodeward's own HTTP/1.1 server on plain connections, driven
//! byte by byte over raw TCP (and with curl) against the real binary.

mod common_gateway;
use common_gateway::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

const FAST_TIMEOUTS: &str = "header_timeout = \"1s\"\nbody_timeout = \"2s\"";
const GET_NODE_INFO: &str = r#"{"command":"getNodeInfo"}"#;

/// Reads from `s` until `needle` has arrived (or the read times out).
fn read_until(s: &mut TcpStream, needle: &str) -> String {
    s.set_read_timeout(Some(Duration::from_secs(3))).unwrap();
    let mut got = Vec::new();
    let mut chunk = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains(needle) {
        match s.read(&mut chunk) {
            Ok(0) | Err(_) => break,
            Ok(n) => got.extend_from_slice(&chunk[..n]),
        }
    }
    String::from_utf8_lossy(&got).into_owned()
}

#[test]
fn a_chunked_body_after_100_continue_reaches_the_node_whole() {
    let backend = Backend::start();
    let gw = Gateway::start(&iri_config(FAST_TIMEOUTS, ""), &backend.url());
    let mut s = TcpStream::connect(gw.addr()).unwrap();
    s.write_all(
        b"POST / HTTP/1.1\r\nhost: x\r\nx-iota-api-version: 1\r\nexpect: 100-continue\r\ntransfer-encoding: chunked\r\n\r\n",
    )
    .unwrap();
    // The gateway asks for the body only once the request path reads it.
    let interim = read_until(&mut s, "\r\n\r\n");
    assert!(
        interim.starts_with("HTTP/1.1 100 Continue\r\n"),
        "{interim}"
    );
    let body = GET_NODE_INFO.as_bytes();
    let (a, b) = body.split_at(10);
    let mut chunked = Vec::new();
    for part in [a, b] {
        chunked.extend_from_slice(format!("{:x};ext=1\r\n", part.len()).as_bytes());
        chunked.extend_from_slice(part);
        chunked.extend_from_slice(b"\r\n");
    }
    chunked.extend_from_slice(b"0\r\nx-trailer: dropped\r\n\r\n");
    s.write_all(&chunked).unwrap();
    let reply = read_until(&mut s, "}");
    assert_eq!(statuses(&reply), vec![200], "{reply}");
    let got = backend.last();
    assert_eq!(got.body_str(), GET_NODE_INFO);
    // Re-framed for the node with the length the gateway counted.
    assert_eq!(got.header("content-length"), Some("25"));
    assert_eq!(got.header("transfer-encoding"), None);
    assert_eq!(got.header("x-trailer"), None);
}

#[test]
fn broken_chunked_bodies_get_400_and_never_reach_the_node() {
    let backend = Backend::start();
    let gw = Gateway::start(&iri_config(FAST_TIMEOUTS, ""), &backend.url());
    for body in [
        &b"zz\r\n{}\r\n0\r\n\r\n"[..],
        b"2\r\n{}XX0\r\n\r\n",
        b"2 2\r\n{}\r\n0\r\n\r\n",
    ] {
        let mut raw =
            b"POST / HTTP/1.1\r\nhost: x\r\nx-iota-api-version: 1\r\ntransfer-encoding: chunked\r\n\r\n"
                .to_vec();
        raw.extend_from_slice(body);
        let reply = raw_exchange(gw.addr(), &raw, Duration::from_secs(3));
        assert_eq!(statuses(&reply), vec![400], "{reply}");
        assert!(reply.contains("bad_request"), "{reply}");
    }
    assert_eq!(backend.count(), 0);
}

#[test]
fn http10_clients_get_close_or_keep_alive_as_they_ask() {
    let backend = Backend::start();
    let gw = Gateway::start(&iri_config(FAST_TIMEOUTS, ""), &backend.url());
    let request = |connection: &str| {
        format!(
            "POST / HTTP/1.0\r\nx-iota-api-version: 1\r\n{connection}content-length: {}\r\n\r\n{GET_NODE_INFO}",
            GET_NODE_INFO.len()
        )
    };
    // Plain HTTP/1.0: one answer, then the gateway closes. (The client does
    // not half-close: like hyper's default and nginx, the gateway takes a
    // client's FIN while its request is with the node as leaving, and
    // cancels the request.)
    let mut s = TcpStream::connect(gw.addr()).unwrap();
    s.write_all(request("").as_bytes()).unwrap();
    let (reply, _) = read_until_closed(&mut s, Duration::from_secs(3));
    assert_eq!(statuses(&reply), vec![200], "{reply}");
    assert!(reply.contains("connection: close\r\n"), "{reply}");
    // HTTP/1.0 with keep-alive: two answers on one connection.
    let mut s = TcpStream::connect(gw.addr()).unwrap();
    let ka = request("connection: keep-alive\r\n");
    s.write_all(ka.as_bytes()).unwrap();
    let first = read_until(&mut s, "\r\n\r\n");
    assert!(first.contains("connection: keep-alive\r\n"), "{first}");
    s.write_all(ka.as_bytes()).unwrap();
    let more = read_until(&mut s, "HTTP/1.1 200");
    assert!(more.contains("HTTP/1.1 200"), "{first}{more}");
    assert_eq!(backend.count(), 3);
}

#[test]
fn refused_heads_are_answered_and_counted_under_their_reason() {
    let backend = Backend::start();
    let gw = Gateway::start(
        &iri_config(
            &format!("{FAST_TIMEOUTS}\nmax_header_size = \"2KiB\"\nmax_headers = 8"),
            "",
        ),
        &backend.url(),
    );
    let t = Duration::from_secs(3);
    // Larger than max_header_size.
    let big = format!(
        "POST / HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n",
        "a".repeat(3000)
    );
    let reply = raw_exchange(gw.addr(), big.as_bytes(), t);
    assert_eq!(statuses(&reply), vec![431], "{reply}");
    assert!(reply.contains("head_too_large"), "{reply}");
    // More fields than max_headers.
    let many: String = (0..9).map(|i| format!("x-{i}: 1\r\n")).collect();
    let reply = raw_exchange(
        gw.addr(),
        format!("POST / HTTP/1.1\r\n{many}\r\n").as_bytes(),
        t,
    );
    assert_eq!(statuses(&reply), vec![431], "{reply}");
    // Not HTTP at all.
    let reply = raw_exchange(
        gw.addr(),
        b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03",
        t,
    );
    assert_eq!(statuses(&reply), vec![400], "{reply}");
    // Half a head, then nothing until the header timeout: 408 and closed.
    let mut s = TcpStream::connect(gw.addr()).unwrap();
    s.write_all(b"POST / HTTP/1.1\r\nhost: x\r\n").unwrap();
    let (reply, _) = read_until_closed(&mut s, Duration::from_secs(4));
    assert_eq!(statuses(&reply), vec![408], "{reply}");
    assert!(reply.contains("header_timeout"), "{reply}");
    // An idle connection is closed at the same deadline, without an answer.
    let mut idle = TcpStream::connect(gw.addr()).unwrap();
    let (out, _) = read_until_closed(&mut idle, Duration::from_secs(4));
    assert!(out.is_empty(), "{out}");

    assert_eq!(
        gw.metric("nodeward_rejections_total{reason=\"head_too_large\"}"),
        2.0
    );
    assert_eq!(
        gw.metric("nodeward_rejections_total{reason=\"bad_request\"}"),
        1.0
    );
    assert_eq!(
        gw.metric("nodeward_rejections_total{reason=\"header_timeout\"}"),
        1.0
    );
    assert_eq!(backend.count(), 0);
}

#[test]
fn head_answers_carry_the_length_of_the_get_answer_and_no_body() {
    let backend = Backend::start();
    let gw = Gateway::start(&iri_config(FAST_TIMEOUTS, ""), &backend.url());
    let get = raw_exchange(
        gw.addr(),
        b"GET / HTTP/1.1\r\nhost: x\r\n\r\n",
        Duration::from_secs(3),
    );
    let head = raw_exchange(
        gw.addr(),
        b"HEAD / HTTP/1.1\r\nhost: x\r\n\r\n",
        Duration::from_secs(3),
    );
    assert_eq!(statuses(&get), vec![405], "{get}");
    assert_eq!(statuses(&head), vec![405], "{head}");
    let get_body = get.split("\r\n\r\n").nth(1).unwrap();
    assert!(
        head.contains(&format!("content-length: {}\r\n", get_body.len())),
        "{head}"
    );
    assert!(
        head.ends_with("\r\n\r\n"),
        "a body followed the HEAD answer: {head}"
    );
    assert!(head.contains("date: "), "{head}");
}

#[test]
fn a_blank_line_after_a_body_leaves_the_connection_idle_not_half_read() {
    let backend = Backend::start();
    let gw = Gateway::start(&iri_config(FAST_TIMEOUTS, ""), &backend.url());
    let mut s = TcpStream::connect(gw.addr()).unwrap();
    // Some clients send CRLF after a POST body.
    write!(
        s,
        "POST / HTTP/1.1\r\nhost: x\r\nx-iota-api-version: 1\r\ncontent-length: {}\r\n\r\n{GET_NODE_INFO}\r\n",
        GET_NODE_INFO.len()
    )
    .unwrap();
    let first = read_until(&mut s, "}");
    assert_eq!(statuses(&first), vec![200], "{first}");
    // At the header timeout the idle connection is closed without a 408.
    let (rest, _) = read_until_closed(&mut s, Duration::from_secs(4));
    assert!(!rest.contains("HTTP/1.1"), "{rest}");
    assert_eq!(
        gw.metric("nodeward_rejections_total{reason=\"header_timeout\"}"),
        0.0
    );
}

#[test]
fn malformed_heads_relayed_by_a_trusted_proxy_do_not_ban_it() {
    let backend = Backend::start();
    let gw = Gateway::start(
        &iri_config(
            &format!(
                "{FAST_TIMEOUTS}\ntrusted_proxies = [\"127.0.0.1\"]\n[gateway.autoban]\nthreshold = 3\nwindow = \"1m\"\nban_for = \"1m\"\nreasons = [\"bad_request\"]"
            ),
            "",
        ),
        &backend.url(),
    );
    // A proxy passes on what scanners send: a target no URI parser accepts.
    for _ in 0..5 {
        let reply = raw_exchange(
            gw.addr(),
            b"GET /<script> HTTP/1.1\r\nhost: x\r\n\r\n",
            Duration::from_secs(3),
        );
        assert_eq!(statuses(&reply), vec![400], "{reply}");
    }
    // The proxy itself is still served.
    let (status, reply) = post(&gw.url(), GET_NODE_INFO);
    assert_eq!(status, 200, "{reply}");
    // The same heads straight from a client do count toward its ban.
    let url = gw.url();
    for _ in 0..3 {
        let (status, reply) = curl(&[
            "--interface",
            "127.0.0.2",
            "--request-target",
            "/<script>",
            &url,
        ]);
        assert_eq!(status, 400, "{reply}");
    }
    let (status, _) = curl(&[
        "--interface",
        "127.0.0.2",
        "-H",
        "X-IOTA-API-Version: 1",
        "--data-binary",
        GET_NODE_INFO,
        &url,
    ]);
    assert_eq!(status, 0, "a client sending malformed heads was not banned");
}

#[test]
fn a_request_refused_before_its_body_is_read_keeps_the_connection_when_the_body_is_here() {
    let backend = Backend::start();
    let gw = Gateway::start(
        &iri_config(FAST_TIMEOUTS, "require_headers = [\"X-IOTA-API-Version\"]"),
        &backend.url(),
    );
    let with = |api_header: &str| {
        format!(
            "POST / HTTP/1.1\r\nhost: x\r\n{api_header}content-length: {}\r\n\r\n{GET_NODE_INFO}",
            GET_NODE_INFO.len()
        )
    };
    // The first lacks the required header (refused before the body is
    // read); its body is already here, so the second is still served on
    // the same connection, and the first body is not taken for a request.
    let both = format!("{}{}", with(""), with("x-iota-api-version: 1\r\n"));
    let mut s = TcpStream::connect(gw.addr()).unwrap();
    s.write_all(both.as_bytes()).unwrap();
    let reply = read_until(&mut s, "appName");
    assert_eq!(statuses(&reply), vec![400, 200], "{reply}");
    assert!(reply.contains("missing_header"), "{reply}");
    assert_eq!(backend.count(), 1);
}
