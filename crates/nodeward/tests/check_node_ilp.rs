//! `nodeward check node --kind ilp` against a REAL ilp-connector (npm,
//! `scripts/ilp-node.sh`) on 127.0.0.1: accounts connected, balances against
//! `--balance-warn`/`--balance-crit` (changed through the connector's own
//! `POST /balance`), and broken admin APIs (garbage, wrong JSON, closed port,
//! a server that never answers) from raw servers the test opens.

mod common_ilp;
mod common_scan;

use common_ilp::{Connector, Setup};
use common_scan::{check, http_response, Behaviour, RawServer};
use std::time::{Duration, Instant};

const LIMIT: Duration = Duration::from_secs(20);

fn ilp(url: &str, extra: &[&str]) -> (i32, String) {
    let mut args = vec!["node", "--kind", "ilp", "--url", url];
    args.extend_from_slice(extra);
    check(&args, LIMIT)
}

#[test]
fn real_connector_ok_then_balance_warning_then_critical() {
    let c = Connector::start(Setup::default());
    let url = c.url();
    let ranges = ["--balance-warn", "-400:400", "--balance-crit", "-900:900"];
    let (code, line) = ilp(&url, &ranges);
    assert_eq!(code, 0, "{line}");
    assert!(
        line.starts_with(
            "NODE OK - test.nodeward: 2/2 accounts connected; balances alice 0, bob 0"
        ),
        "{line}"
    );
    assert!(
        line.ends_with(
            "| connected=2;;;0;2 accounts=2;;;0 balance_alice=0;-400:400;-900:900;-1000;1000 balance_bob=0;-400:400;-900:900;-1000;1000"
        ),
        "{line}"
    );

    c.add_balance("alice", 500);
    let (code, line) = ilp(&url, &ranges);
    assert_eq!(code, 1, "{line}");
    assert!(
        line.contains("balance out of range: alice 500 (WARNING)"),
        "{line}"
    );
    assert!(line.contains("balance_alice=500;"), "{line}");

    c.add_balance("bob", -950);
    let (code, line) = ilp(&url, &ranges);
    assert_eq!(code, 2, "{line}");
    assert!(
        line.contains("alice 500 (WARNING), bob -950 (CRITICAL)"),
        "{line}"
    );
    // An ignored account does not count.
    let mut with_ignore = ranges.to_vec();
    with_ignore.extend(["--ignore-account", "bob"]);
    let (code, line) = ilp(&url, &with_ignore);
    assert_eq!(code, 1, "{line}");
    // Without thresholds the balances are only reported.
    let (code, line) = ilp(&url, &[]);
    assert_eq!(code, 0, "{line}");
    assert!(line.contains("balance_bob=-950;;;-1000;1000"), "{line}");
    // A bad range is UNKNOWN with the reason, before any request.
    let (code, line) = ilp(&url, &["--balance-warn", "abc"]);
    assert_eq!(code, 3, "{line}");
    assert!(line.contains("balance range"), "{line}");
}

#[test]
fn real_connector_with_a_disconnected_peer_is_critical() {
    let c = Connector::start(Setup {
        with_carol: true,
        ..Setup::default()
    });
    let (code, line) = ilp(&c.url(), &[]);
    assert_eq!(code, 2, "{line}");
    assert!(
        line.contains("2/3 accounts connected; disconnected: carol (peer)"),
        "{line}"
    );
    assert!(line.contains("connected=2;;;0;3 accounts=3;;;0"), "{line}");
    // Accounts allowed to be offline are left out; --min-peers still counts.
    let (code, line) = ilp(&c.url(), &["--ignore-account", "carol"]);
    assert_eq!(code, 0, "{line}");
    let (code, line) = ilp(&c.url(), &["--ignore-account", "carol", "--min-peers", "3"]);
    assert_eq!(code, 2, "{line}");
    assert!(line.contains("fewer than 3 connected"), "{line}");
    // carol has no balance configured: thresholds judge the others.
    let (code, line) = ilp(
        &c.url(),
        &["--ignore-account", "carol", "--balance-crit", "-10:10"],
    );
    assert_eq!(code, 0, "{line}");
    assert!(!line.contains("balance_carol"), "{line}");
}

fn json_server(accounts: &str, balance: &str) -> RawServer {
    RawServer::start(Behaviour::Route(
        vec![
            (
                "GET /accounts ".into(),
                http_response("200 OK", &[("Content-Type", "application/json")], accounts),
            ),
            (
                "GET /balance ".into(),
                http_response("200 OK", &[("Content-Type", "application/json")], balance),
            ),
        ],
        http_response("404 Not Found", &[], "Not Found"),
    ))
}

#[test]
fn broken_admin_apis_end_clearly_and_in_time() {
    // Not JSON at all: the API is broken (CRITICAL, as for the other kinds).
    let s = RawServer::start(Behaviour::Respond(http_response(
        "200 OK",
        &[],
        "<html>oops",
    )));
    let (code, line) = ilp(&format!("http://127.0.0.1:{}", s.port), &[]);
    assert_eq!(code, 2, "{line}");
    assert!(line.contains("invalid JSON"), "{line}");
    // JSON, but not what the connector writes: probably not an ILP admin API.
    let s = json_server(r#"{"accounts":{"a":{"connected":"yes"}}}"#, "{}");
    let (code, line) = ilp(&format!("http://127.0.0.1:{}", s.port), &[]);
    assert_eq!(code, 3, "{line}");
    assert!(line.starts_with("NODE UNKNOWN - "), "{line}");
    assert!(
        line.contains("\"connected\" is missing or not true/false"),
        "{line}"
    );
    let s = json_server(r#"{"address":"x","accounts":{}}"#, r#"{"accounts":[]}"#);
    let (code, line) = ilp(&format!("http://127.0.0.1:{}", s.port), &[]);
    assert_eq!(code, 3, "{line}");
    // Thresholds without any tracked balance cannot be judged.
    let s = json_server(r#"{"accounts":{"a":{"connected":true}}}"#, "{}");
    let (code, line) = ilp(
        &format!("http://127.0.0.1:{}", s.port),
        &["--balance-warn", "100"],
    );
    assert_eq!(code, 3, "{line}");
    assert!(line.contains("balance middleware is off"), "{line}");
    // An error status.
    let s = RawServer::start(Behaviour::Respond(http_response(
        "500 Internal",
        &[],
        "Error: x",
    )));
    let (code, line) = ilp(&format!("http://127.0.0.1:{}", s.port), &[]);
    assert_eq!(code, 2, "{line}");
    assert!(line.contains("answered 500"), "{line}");
    // Nothing listens.
    let port = common_scan::free_port();
    let (code, line) = ilp(&format!("http://127.0.0.1:{port}"), &[]);
    assert_eq!(code, 2, "{line}");
    // A server that accepts and never answers: the deadline ends it.
    let s = RawServer::start(Behaviour::Hang);
    let start = Instant::now();
    let (code, line) = ilp(&format!("http://127.0.0.1:{}", s.port), &["-t", "1s"]);
    assert_eq!(code, 2, "{line}");
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "{:?}",
        start.elapsed()
    );
    // A bad URL is UNKNOWN.
    let (code, line) = ilp("ftp://x", &[]);
    assert_eq!(code, 3, "{line}");
}

#[test]
fn scan_node_part_lists_what_the_real_admin_api_answers() {
    // `nodeward scan --node ilp` asks the admin API's GET routes; the real
    // connector answers them all (it has no authentication), so NODE-001 fails.
    let c = Connector::start(Setup::default());
    let out = common_scan::run(
        &[
            "scan",
            &format!("{}/", c.url()),
            "--only",
            "node",
            "--node",
            "ilp",
            "--format",
            "json",
        ],
        LIMIT,
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let f = common_scan::finding(&v, "NODE-001");
    assert_eq!(f["status"], "fail", "{v:#}");
    let ev = f["evidence"].as_str().unwrap();
    for route in [
        "/accounts (200)",
        "/balance (200)",
        "/status (200)",
        "/routing (200)",
    ] {
        assert!(ev.contains(route), "{route}: {ev}");
    }
}
