//! End-to-end: the expensive-call DoS. A capped command answers 503 fast
//! while others keep flowing; slow backends time out with 504; a client that
//! gives up cancels the upstream request (no CLOSE_WAIT pile-up).

mod common_gateway;
use common_gateway::*;
use std::thread;
use std::time::{Duration, Instant};

const GTTA: &str = r#"
[[route.command]]
name = "getTransactionsToApprove"
max_inflight = 2
timeout = "3s"
"#;

#[test]
fn capped_command_gets_503_fast_while_other_commands_flow() {
    let backend = Backend::start();
    let gw = Gateway::start(&iri_config("", GTTA), &backend.url());
    let slow = r#"{"command":"getTransactionsToApprove","depth":3,"slow":2000}"#;
    let url = gw.url();
    let holders: Vec<_> = (0..2)
        .map(|_| {
            let url = url.clone();
            thread::spawn(move || post(&url, slow).0)
        })
        .collect();
    thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    let (status, reply) = post(&url, slow);
    assert_eq!(status, 503, "{reply}");
    assert!(reply.contains("inflight_cap"), "{reply}");
    assert!(
        t.elapsed() < Duration::from_millis(500),
        "the refusal must be fast"
    );
    for _ in 0..20 {
        let t = Instant::now();
        assert_eq!(post(&url, r#"{"command":"getNodeInfo"}"#).0, 200);
        assert!(t.elapsed() < Duration::from_millis(500));
    }
    for h in holders {
        assert_eq!(h.join().unwrap(), 200);
    }
    // The cap frees up again once they finished.
    assert_eq!(
        post(&url, r#"{"command":"getTransactionsToApprove"}"#).0,
        200
    );
    assert!(gw.metric("nodeward_rejections_total{reason=\"inflight_cap\"}") >= 1.0);
}

#[test]
fn slow_backend_gets_504_after_the_command_timeout() {
    let backend = Backend::start();
    let gw = Gateway::start(&iri_config("", GTTA), &backend.url());
    let t = Instant::now();
    let (status, reply) = post(
        &gw.url(),
        r#"{"command":"getTransactionsToApprove","slow":8000}"#,
    );
    assert_eq!(status, 504, "{reply}");
    assert!(reply.contains("upstream_timeout"));
    let took = t.elapsed();
    assert!(
        took >= Duration::from_millis(2900) && took < Duration::from_secs(6),
        "{took:?}"
    );
    // The gateway gave up on the backend connection as well.
    let deadline = Instant::now() + Duration::from_secs(3);
    while backend.abandoned.load(std::sync::atomic::Ordering::SeqCst) == 0
        && Instant::now() < deadline
    {
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        backend.abandoned.load(std::sync::atomic::Ordering::SeqCst),
        1
    );
}

#[test]
fn client_disconnect_cancels_the_upstream_request() {
    let backend = Backend::start();
    let gw = Gateway::start(&iri_config("", ""), &backend.url());
    // curl gives up after 0.5 s on a call the backend would answer after 5 s.
    let (status, _) = curl(&[
        "--max-time",
        "0.5",
        "-H",
        "X-IOTA-API-Version: 1",
        "--data-binary",
        r#"{"command":"getTrytes","slow":5000}"#,
        &gw.url(),
    ]);
    assert_eq!(status, 0);
    let deadline = Instant::now() + Duration::from_secs(3);
    while backend.abandoned.load(std::sync::atomic::Ordering::SeqCst) == 0
        && Instant::now() < deadline
    {
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        backend.abandoned.load(std::sync::atomic::Ordering::SeqCst),
        1,
        "the backend request must be cancelled when the client leaves"
    );
    // No upstream connection is left hanging.
    let deadline = Instant::now() + Duration::from_secs(3);
    while backend.open.load(std::sync::atomic::Ordering::SeqCst) > 0 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(backend.open.load(std::sync::atomic::Ordering::SeqCst), 0);
}

#[test]
fn unreachable_backend_gets_503_no_healthy_backend() {
    let dead = format!("http://127.0.0.1:{}", free_port());
    let gw = Gateway::start(&iri_config("", ""), &dead);
    let (status, reply) = post(&gw.url(), r#"{"command":"getNodeInfo"}"#);
    assert_eq!(status, 503, "{reply}");
    assert!(reply.contains("no_healthy_backend"), "{reply}");
}
