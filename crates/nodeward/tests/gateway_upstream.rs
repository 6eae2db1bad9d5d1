//! End-to-end: the gateway's HTTP/1.1 client toward the node. A scripted
//! backend on 127.0.0.1 answers in every framing HTTP/1.1 allows (and some it
//! forbids); the gateway must pass good answers on intact, refuse bad ones
//! with a 502, reuse keep-alive connections, survive a backend that closes
//! idle ones, and never open more connections to a backend than configured.

mod common_gateway;
use common_gateway::*;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

/// A backend whose answer is chosen by the `reply` field of the IRI body.
struct Scripted {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    open: Arc<AtomicUsize>,
    most_open: Arc<AtomicUsize>,
    /// Answers the gateway gave up on while the backend paused midway.
    abandoned: Arc<AtomicUsize>,
}

impl Scripted {
    fn start() -> Scripted {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let open = Arc::new(AtomicUsize::new(0));
        let most_open = Arc::new(AtomicUsize::new(0));
        let abandoned = Arc::new(AtomicUsize::new(0));
        let (a, o, m, g) = (
            accepted.clone(),
            open.clone(),
            most_open.clone(),
            abandoned.clone(),
        );
        thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                a.fetch_add(1, SeqCst);
                let now = o.fetch_add(1, SeqCst) + 1;
                m.fetch_max(now, SeqCst);
                let (o, g) = (o.clone(), g.clone());
                thread::spawn(move || {
                    let _ = serve(stream, &g);
                    o.fetch_sub(1, SeqCst);
                });
            }
        });
        Scripted {
            addr,
            accepted,
            open,
            most_open,
            abandoned,
        }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

fn serve(stream: TcpStream, abandoned: &AtomicUsize) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut out = stream;
    loop {
        let mut length = 0usize;
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        loop {
            let mut h = String::new();
            reader.read_line(&mut h)?;
            if h.trim_end().is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                if k.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                }
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body)?;
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        if let Some(ms) = v.get("slow").and_then(|s| s.as_u64()) {
            thread::sleep(Duration::from_millis(ms));
        }
        match v.get("reply").and_then(|r| r.as_str()).unwrap_or("") {
            "chunked" => out.write_all(
                b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n\
                  5;ext=1\r\n{\"a\":\r\n9\r\n\"chunked\"\r\n1\r\n}\r\n0\r\nX-Trailer: t\r\n\r\n",
            )?,
            "big" => {
                let n = 3_000_000;
                out.write_all(format!("HTTP/1.1 200 OK\r\nContent-Length: {n}\r\n\r\n").as_bytes())?;
                let piece = vec![b'x'; 60_000];
                for _ in 0..n / piece.len() {
                    out.write_all(&piece)?;
                }
            }
            "huge" => {
                // 256 MiB: far more than the socket buffers between a client
                // that does not read and this backend can hold.
                let n: usize = 256 << 20;
                out.write_all(format!("HTTP/1.1 200 OK\r\nContent-Length: {n}\r\n\r\n").as_bytes())?;
                let piece = vec![b'x'; 1 << 20];
                for _ in 0..n / piece.len() {
                    out.write_all(&piece)?;
                }
            }
            "stall" => {
                // Half the body, then a long pause before the rest, watching
                // for the gateway closing the connection meanwhile.
                out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n{\"a\":")?;
                out.set_nonblocking(true)?;
                let start = Instant::now();
                while start.elapsed() < Duration::from_millis(2500) {
                    match out.peek(&mut [0u8; 1]) {
                        Ok(0) => {
                            abandoned.fetch_add(1, SeqCst);
                            return Ok(());
                        }
                        Err(e) if e.kind() != std::io::ErrorKind::WouldBlock => {
                            abandoned.fetch_add(1, SeqCst);
                            return Ok(());
                        }
                        _ => thread::sleep(Duration::from_millis(20)),
                    }
                }
                out.set_nonblocking(false)?;
                out.write_all(b"\"b\"}")?;
            }
            "close" => {
                out.write_all(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"until\":\"close\"}")?;
                return Ok(());
            }
            "continue" => out.write_all(
                b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 15\r\n\r\n{\"after\":\"100\"}",
            )?,
            "hop" => out.write_all(
                b"HTTP/1.1 200 OK\r\nConnection: keep-alive, X-Internal\r\nX-Internal: secret\r\n\
                  Keep-Alive: timeout=5\r\nX-Public: yes\r\nContent-Length: 2\r\n\r\n{}",
            )?,
            "smuggle" => {
                out.write_all(
                    b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
                )?;
                return Ok(());
            }
            "truncate" => {
                out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n{\"only\":")?;
                return Ok(());
            }
            "bye" => {
                // Keep-alive is promised, then the idle connection is closed.
                out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n\"bye\"")?;
                thread::sleep(Duration::from_millis(50));
                return Ok(());
            }
            _ => out.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n\"ok\"")?,
        }
    }
}

fn ask(gw: &Gateway, reply: &str) -> (u16, String) {
    post(
        &gw.url(),
        &format!(r#"{{"command":"getNodeInfo","reply":"{reply}"}}"#),
    )
}

#[test]
fn every_response_framing_arrives_intact_and_connections_are_reused() {
    let backend = Scripted::start();
    // One worker: each worker keeps its own idle connections, and the
    // client's separate connections could land on different workers.
    let gw = Gateway::start_with(&iri_config("", ""), &backend.url(), &["--threads", "1"]);
    assert_eq!(ask(&gw, "chunked"), (200, r#"{"a":"chunked"}"#.to_string()));
    assert_eq!(
        ask(&gw, "continue"),
        (200, r#"{"after":"100"}"#.to_string())
    );
    let (code, big) = ask(&gw, "big");
    assert_eq!(code, 200);
    assert_eq!(big.len(), 3_000_000);
    assert!(big.bytes().all(|b| b == b'x'));
    // Chunked, 100-continue and a long body all left the connection reusable.
    assert_eq!(backend.accepted.load(SeqCst), 1);
    let out = curl_output(&[
        "-s",
        "-D",
        "-",
        "-H",
        "X-IOTA-API-Version: 1",
        "--data-binary",
        r#"{"command":"getNodeInfo","reply":"hop"}"#,
        &gw.url(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout).to_lowercase();
    assert!(text.contains("x-public: yes"), "{text}");
    assert!(!text.contains("x-internal"), "{text}");
    assert!(!text.contains("keep-alive: timeout"), "{text}");
    assert!(!text.contains("x-trailer"), "{text}");
    // A body delimited by the backend closing is passed on whole; that
    // connection cannot be reused, so the next request opens another.
    assert_eq!(ask(&gw, "close"), (200, r#"{"until":"close"}"#.to_string()));
    assert_eq!(ask(&gw, ""), (200, "\"ok\"".to_string()));
    assert_eq!(backend.accepted.load(SeqCst), 2);
}

#[test]
fn invalid_backend_answers_become_502_and_do_not_poison_the_pool() {
    let backend = Scripted::start();
    let gw = Gateway::start(&iri_config("", ""), &backend.url());
    let (code, body) = ask(&gw, "smuggle");
    assert_eq!(code, 502, "{body}");
    assert!(body.contains("upstream_error"), "{body}");
    // A body cut short: the client must see an incomplete transfer, never a
    // short body passed off as complete.
    let out = curl_output(&[
        "-H",
        "X-IOTA-API-Version: 1",
        "--data-binary",
        r#"{"command":"getNodeInfo","reply":"truncate"}"#,
        &gw.url(),
    ]);
    assert_ne!(out.status.code(), Some(0), "curl accepted a truncated body");
    assert_eq!(ask(&gw, ""), (200, "\"ok\"".to_string()));
    assert_eq!(
        gw.metric("nodeward_rejections_total{reason=\"upstream_error\"}"),
        1.0
    );
}

#[test]
fn an_idle_connection_the_backend_closed_is_not_used() {
    let backend = Scripted::start();
    let gw = Gateway::start(&iri_config("", ""), &backend.url());
    for _ in 0..3 {
        assert_eq!(ask(&gw, "bye"), (200, "\"bye\"".to_string()));
        thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(backend.accepted.load(SeqCst), 3);
}

#[test]
fn connections_to_a_backend_are_bounded_and_requests_wait_their_turn() {
    let backend = Scripted::start();
    let template = IRI_TEMPLATE.replace(
        "timeout = \"5s\"",
        "timeout = \"5s\"\nmax_connections_per_backend = 2",
    );
    // One worker: with several, an idle connection of another worker is
    // closed to make room, and the node may briefly see both.
    let gw = Gateway::start_with(
        &template
            .replace("{extra_global}", "")
            .replace("{extra_route}", ""),
        &backend.url(),
        &["--threads", "1"],
    );
    let started = Instant::now();
    let url = gw.url();
    let clients: Vec<_> = (0..6)
        .map(|_| {
            let url = url.clone();
            thread::spawn(move || post(&url, r#"{"command":"getNodeInfo","slow":300}"#))
        })
        .collect();
    // While they wait, /status shows the two busy connections.
    thread::sleep(Duration::from_millis(150));
    let (_, status) = gw.admin("GET", "/status");
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    let b = &status["upstreams"][0]["backends"][0];
    assert_eq!(b["busy_connections"], 2, "{status}");
    for c in clients {
        assert_eq!(c.join().unwrap(), (200, "\"ok\"".to_string()));
    }
    assert!(started.elapsed() >= Duration::from_millis(850));
    assert_eq!(backend.most_open.load(SeqCst), 2);
    assert!(backend.open.load(SeqCst) <= 2);
}

/// Opens a connection, sends a request for `reply` and reads the head only.
fn request_and_read_head(gw: &Gateway, reply: &str) -> TcpStream {
    let body = format!(r#"{{"command":"getNodeInfo","reply":"{reply}"}}"#);
    let mut s = TcpStream::connect(gw.addr()).unwrap();
    write!(
        s,
        "POST / HTTP/1.1\r\nhost: x\r\nx-iota-api-version: 1\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let mut head = [0u8; 12];
    s.read_exact(&mut head).unwrap();
    assert_eq!(&head, b"HTTP/1.1 200");
    s
}

fn wait_for(what: &str, limit: Duration, done: impl Fn() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(
            start.elapsed() < limit,
            "{what} did not happen within {limit:?}"
        );
        thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn a_client_that_never_reads_is_cut_off_and_frees_the_node() {
    let backend = Scripted::start();
    let gw = Gateway::start(&iri_config("idle_timeout = \"1s\"", ""), &backend.url());
    let stalled = request_and_read_head(&gw, "huge");
    // The client reads nothing more; once the socket buffers are full the
    // gateway waits idle_timeout, cuts it off and closes the node's
    // connection instead of holding it (and its slot) open.
    wait_for(
        "the node's connection closing",
        Duration::from_secs(20),
        || backend.open.load(SeqCst) == 0,
    );
    // The cut-off is a reset, not a clean end of a short body.
    let mut stalled = stalled;
    stalled
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut sink = vec![0u8; 1 << 20];
    let outcome = loop {
        match stalled.read(&mut sink) {
            Ok(0) => break "clean end",
            Ok(_) => continue,
            Err(e) => {
                break if e.kind() == std::io::ErrorKind::ConnectionReset {
                    "reset"
                } else {
                    "error"
                }
            }
        }
    };
    assert_eq!(outcome, "reset");
    // Others are served meanwhile and after.
    assert_eq!(ask(&gw, ""), (200, "\"ok\"".to_string()));
}

#[test]
fn a_client_leaving_while_the_node_pauses_midway_ends_the_node_request() {
    let backend = Scripted::start();
    let gw = Gateway::start(&iri_config("", ""), &backend.url());
    let client = request_and_read_head(&gw, "stall");
    // The node is paused in the middle of the body; the client leaves.
    drop(client);
    // The gateway drops the half-read answer and closes the node's
    // connection at once, not when the node goes on 2.5 s later.
    wait_for(
        "the node's connection closing",
        Duration::from_millis(1500),
        || backend.abandoned.load(SeqCst) == 1,
    );
    assert_eq!(ask(&gw, ""), (200, "\"ok\"".to_string()));
}

#[test]
fn a_node_pausing_midway_longer_than_the_timeout_is_cut_off() {
    let backend = Scripted::start();
    let config = iri_config("", "").replace("timeout = \"5s\"", "timeout = \"1s\"");
    let gw = Gateway::start(&config, &backend.url());
    let started = Instant::now();
    let mut client = request_and_read_head(&gw, "stall");
    // The node pauses 2.5 s in the middle of its body; after 1 s (the
    // upstream timeout) the gateway closes the node's connection and ends
    // the client's answer with a reset, not with a clean short body.
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut rest = Vec::new();
    let ended = client.read_to_end(&mut rest);
    assert!(
        ended
            .as_ref()
            .is_err_and(|e| e.kind() == std::io::ErrorKind::ConnectionReset),
        "{ended:?} after {:?}: {}",
        started.elapsed(),
        String::from_utf8_lossy(&rest)
    );
    assert!(
        started.elapsed() < Duration::from_millis(2300),
        "{:?}",
        started.elapsed()
    );
    wait_for(
        "the node's connection closing",
        Duration::from_secs(2),
        || backend.abandoned.load(SeqCst) == 1,
    );
    assert_eq!(ask(&gw, ""), (200, "\"ok\"".to_string()));
}

#[test]
fn a_connection_bound_of_zero_is_refused_by_config_check() {
    let template = IRI_TEMPLATE.replace(
        "timeout = \"5s\"",
        "timeout = \"5s\"\nmax_connections_per_backend = 0",
    );
    let (code, err) = config_check(
        &template
            .replace("{extra_global}", "")
            .replace("{extra_route}", ""),
    );
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("upstream[0].max_connections_per_backend") && err.contains("at least 1"),
        "{err}"
    );
}
