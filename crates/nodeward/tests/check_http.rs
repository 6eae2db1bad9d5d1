//! `nodeward check http`: status, body regex and response time thresholds,
//! against small test servers on 127.0.0.1.

mod common_scan;

use common_scan::*;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(20);

fn version_server() -> RawServer {
    let version = http_response(
        "200 OK",
        &[("Content-Type", "text/plain")],
        "IRI 1.8.6-RELEASE",
    );
    RawServer::start(Behaviour::Route(
        vec![("GET /version ".into(), version)],
        http_response("404 Not Found", &[], "nope"),
    ))
}

#[test]
fn version_endpoint_ok_with_perfdata() {
    let s = version_server();
    let url = format!("http://127.0.0.1:{}/version", s.port);
    let (code, line) = check(
        &[
            "http",
            "--url",
            &url,
            "--expect-status",
            "200",
            "--body-regex",
            r"1\.8\.\d+",
            "-w",
            "1",
            "-c",
            "2",
        ],
        LIMIT,
    );
    assert_eq!(code, 0, "{line}");
    assert!(line.starts_with("HTTP OK - "), "{line}");
    let perf = line.split(" | ").nth(1).unwrap();
    assert!(
        perf.starts_with("time=") && perf.contains("s;1;2;0 size=17B;;;0"),
        "{perf}"
    );
}

#[test]
fn wrong_status_or_body_is_critical() {
    let s = version_server();
    let url = format!("http://127.0.0.1:{}/missing", s.port);
    let (code, line) = check(&["http", "--url", &url, "--expect-status", "200"], LIMIT);
    assert_eq!(code, 2, "{line}");
    assert!(line.contains("unexpected status 404"), "{line}");
    let url = format!("http://127.0.0.1:{}/version", s.port);
    let (code, line) = check(&["http", "--url", &url, "--body-regex", "Hornet"], LIMIT);
    assert_eq!(code, 2, "{line}");
    assert!(line.contains("body does not match"), "{line}");
}

#[test]
fn slow_response_is_a_warning() {
    let s = RawServer::start(Behaviour::SlowRespond(
        Duration::from_millis(400),
        http_response("200 OK", &[], "ok"),
    ));
    let url = format!("http://127.0.0.1:{}/", s.port);
    let (code, line) = check(&["http", "--url", &url, "-w", "0.2", "-c", "5"], LIMIT);
    assert_eq!(code, 1, "{line}");
    assert!(line.starts_with("HTTP WARNING"), "{line}");
}

#[test]
fn misbehaving_servers_end_critical_within_the_deadline() {
    for (b, expect) in [
        (Behaviour::Hang, "timed out"),
        (Behaviour::Garbage, "invalid HTTP response header"),
        (Behaviour::EndlessHeader, "header"),
        (Behaviour::CloseAfterRead, "closed before any response"),
    ] {
        let s = RawServer::start(b);
        let url = format!("http://127.0.0.1:{}/", s.port);
        let start = std::time::Instant::now();
        let (code, line) = check(&["http", "--url", &url, "-t", "1s"], LIMIT);
        assert_eq!(code, 2, "{line}");
        assert!(line.contains(expect), "want {expect:?}: {line}");
        assert!(start.elapsed() < Duration::from_secs(5), "{line}");
    }
}

#[test]
fn huge_body_is_truncated_not_buffered() {
    let s = RawServer::start(Behaviour::Respond(http_response(
        "200 OK",
        &[],
        &"y".repeat(4 * 1024 * 1024),
    )));
    let url = format!("http://127.0.0.1:{}/", s.port);
    let (code, line) = check(&["http", "--url", &url, "--max-body", "64KiB"], LIMIT);
    assert_eq!(code, 0, "{line}");
    assert!(line.contains("65536 bytes (truncated)"), "{line}");
}

#[test]
fn bad_arguments_are_unknown() {
    for args in [
        vec!["http", "--url", "ftp://x/"],
        vec!["http", "--url", "http://127.0.0.1:1/", "-w", "abc"],
        vec!["http", "--url", "http://127.0.0.1:1/", "--body-regex", "("],
        vec!["http", "--url", "http://127.0.0.1:1/", "-t", "soon"],
    ] {
        let (code, line) = check(&args, LIMIT);
        assert_eq!(code, 3, "{args:?}: {line}");
        assert!(line.starts_with("HTTP UNKNOWN - "), "{line}");
    }
}
