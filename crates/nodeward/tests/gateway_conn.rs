//! End-to-end: the connection guard and HTTP hygiene under hostile clients.

mod common_gateway;
use common_gateway::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::thread;
use std::time::Duration;

const FAST_TIMEOUTS: &str =
    "header_timeout = \"1s\"\nbody_timeout = \"1s\"\nmax_connections_per_ip = 64";

fn gateway_rss_kib(gw: &Gateway) -> u64 {
    let pid = gw.child.as_ref().unwrap().id();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

#[test]
fn slowloris_headers_are_cut_off_by_the_header_timeout() {
    let backend = Backend::start();
    let gw = Gateway::start(&iri_config(FAST_TIMEOUTS, ""), &backend.url());
    let mut s = TcpStream::connect(gw.addr()).unwrap();
    s.write_all(b"POST / HTTP/1.1\r\nhost: x\r\n").unwrap();
    // Keep trickling header bytes: the deadline is for the whole head.
    let writer = {
        let mut w = s.try_clone().unwrap();
        thread::spawn(move || {
            for _ in 0..30 {
                if w.write_all(b"x").is_err() {
                    return;
                }
                thread::sleep(Duration::from_millis(100));
            }
        })
    };
    let (_, took) = read_until_closed(&mut s, Duration::from_secs(6));
    assert!(took < Duration::from_millis(2500), "closed after {took:?}");
    let _ = writer.join();
    assert_eq!(backend.count(), 0);
}

#[test]
fn a_one_byte_per_interval_body_hits_the_whole_body_deadline() {
    let backend = Backend::start();
    let gw = Gateway::start(&iri_config(FAST_TIMEOUTS, ""), &backend.url());
    let mut s = TcpStream::connect(gw.addr()).unwrap();
    s.write_all(
        b"POST / HTTP/1.1\r\nhost: x\r\nx-iota-api-version: 1\r\ncontent-length: 200\r\n\r\n{",
    )
    .unwrap();
    let mut w = s.try_clone().unwrap();
    let writer = thread::spawn(move || {
        for _ in 0..40 {
            if w.write_all(b" ").is_err() {
                return;
            }
            thread::sleep(Duration::from_millis(100));
        }
    });
    let (reply, took) = read_until_closed(&mut s, Duration::from_secs(6));
    assert!(reply.starts_with("HTTP/1.1 408"), "{reply}");
    assert!(reply.contains("body_timeout"));
    assert!(
        took < Duration::from_millis(2500),
        "answered after {took:?}"
    );
    let _ = writer.join();
    assert_eq!(backend.count(), 0);
}

#[test]
fn smuggling_and_malformed_framing_are_refused_before_the_node() {
    let backend = Backend::start();
    let gw = Gateway::start(&iri_config(FAST_TIMEOUTS, ""), &backend.url());
    let t = Duration::from_secs(3);
    let cases: [&[u8]; 5] = [
        // CL.TE: a front end reading Content-Length and a back end reading chunked disagree.
        b"POST / HTTP/1.1\r\nhost: x\r\nx-iota-api-version: 1\r\ncontent-length: 6\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\nG",
        // Two different lengths.
        b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 26\r\ncontent-length: 5\r\n\r\n{\"command\":\"getNodeInfo\"}",
        // Obfuscated transfer coding.
        b"POST / HTTP/1.1\r\nhost: x\r\ntransfer-encoding: xchunked\r\n\r\n0\r\n\r\n",
        // Invalid header name.
        b"POST / HTTP/1.1\r\nhost: x\r\nbad header: 1\r\ncontent-length: 2\r\n\r\n{}",
        // Line folding.
        b"POST / HTTP/1.1\r\nhost: x\r\nx-a: 1\r\n folded\r\ncontent-length: 2\r\n\r\n{}",
    ];
    for case in cases {
        let reply = raw_exchange(gw.addr(), case, t);
        let codes = statuses(&reply);
        assert!(
            codes.first().is_some_and(|&c| c == 400 || c == 501),
            "{:?} -> {reply}",
            String::from_utf8_lossy(case)
        );
    }
    // Oversized headers.
    let big = format!(
        "POST / HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n",
        "a".repeat(40_000)
    );
    let reply = raw_exchange(gw.addr(), big.as_bytes(), t);
    assert!(
        statuses(&reply)
            .first()
            .is_some_and(|&c| c == 431 || c == 400),
        "{reply}"
    );
    assert_eq!(backend.count(), 0, "{:?}", backend.bodies());
}

#[test]
fn pipelined_requests_are_each_checked() {
    let backend = Backend::start();
    let gw = Gateway::start(&iri_config(FAST_TIMEOUTS, ""), &backend.url());
    let req = |cmd: &str| {
        let body = format!(r#"{{"command":"{cmd}"}}"#);
        format!(
            "POST / HTTP/1.1\r\nhost: x\r\nx-iota-api-version: 1\r\ncontent-length: {}\r\n\r\n{body}",
            body.len()
        )
    };
    let all = format!(
        "{}{}{}{}",
        req("getNodeInfo"),
        req("addNeighbors"),
        req("getTips"),
        req("attachToTangle")
    );
    // Written in one go, then read without half-closing (as pipelining clients do).
    let mut s = TcpStream::connect(gw.addr()).unwrap();
    s.write_all(all.as_bytes()).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(1500)))
        .unwrap();
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    let reply = String::from_utf8_lossy(&buf);
    assert_eq!(statuses(&reply), vec![200, 403, 200, 403], "{reply}");
    assert_eq!(backend.count(), 2);
    assert!(backend
        .bodies()
        .iter()
        .all(|b| !b.contains("Neighbors") && !b.contains("attach")));
}

#[test]
fn an_idle_connection_flood_from_one_source_does_not_lock_out_others() {
    let backend = Backend::start();
    let gw = Gateway::start(
        &iri_config(
            "max_connections_per_ip = 64\nmax_connections = 4096\nheader_timeout = \"30s\"",
            "",
        ),
        &backend.url(),
    );
    // 10,000 idle connections from 127.0.0.1.
    let mut flood = Vec::new();
    for _ in 0..10_000 {
        match TcpStream::connect(gw.addr()) {
            Ok(s) => flood.push(s),
            Err(e) => panic!("connect failed after {} connections: {e}", flood.len()),
        }
    }
    // A legitimate client from another loopback address is still served.
    let (status, reply) = curl(&[
        "--interface",
        "127.0.0.2",
        "-H",
        "X-IOTA-API-Version: 1",
        "--data-binary",
        r#"{"command":"getNodeInfo"}"#,
        &gw.url(),
    ]);
    assert_eq!(status, 200, "{reply}");
    // The flood beyond the per-source cap was refused cleanly with 503.
    let mut refused_with_503 = 0;
    for s in flood.iter_mut().rev().take(20) {
        s.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut buf = [0u8; 64];
        if let Ok(n) = s.read(&mut buf) {
            if buf[..n].starts_with(b"HTTP/1.1 503") {
                refused_with_503 += 1;
            }
        }
    }
    assert_eq!(refused_with_503, 20);
    let refused = gw.metric("nodeward_connections_refused_total{reason=\"too_many_connections\"}");
    assert!(refused >= 9_900.0, "refused {refused}");
    let rss = gateway_rss_kib(&gw);
    assert!(
        rss < 64 * 1024,
        "RSS {rss} KiB with 10,000 flood connections"
    );
    drop(flood);
}

#[test]
fn the_global_cap_refuses_beyond_max_connections() {
    let backend = Backend::start();
    let gw = Gateway::start(
        &iri_config(
            "max_connections = 5\nmax_connections_per_ip = 100\nheader_timeout = \"30s\"",
            "",
        ),
        &backend.url(),
    );
    // Let the start-up probe connection close first.
    thread::sleep(Duration::from_millis(300));
    let held: Vec<TcpStream> = (0..5)
        .map(|_| TcpStream::connect(gw.addr()).unwrap())
        .collect();
    thread::sleep(Duration::from_millis(200));
    let reply = raw_exchange(gw.addr(), b"", Duration::from_secs(2));
    assert!(reply.starts_with("HTTP/1.1 503"), "{reply}");
    drop(held);
    thread::sleep(Duration::from_millis(300));
    assert_eq!(post(&gw.url(), r#"{"command":"getNodeInfo"}"#).0, 200);
}
