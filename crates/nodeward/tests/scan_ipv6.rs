//! IPv6: `scan` and `check` against servers the test starts on [::1].

mod common_scan;

use common_scan::*;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(30);

/// Whether this machine has IPv6 loopback. Where it does not (some containers),
/// the tests check that an IPv6 target fails with a clear message instead.
fn ipv6_loopback() -> bool {
    std::net::TcpListener::bind("[::1]:0").is_ok()
}

fn assert_clear_ipv6_failure() {
    let (code, line) = check(&["http", "--url", "http://[::1]:9/", "-t", "2s"], LIMIT);
    assert_eq!(code, 2, "{line}");
    assert!(line.contains("connect to [::1]:9"), "{line}");
}

#[test]
fn tls_scan_and_check_on_ipv6_loopback_with_an_ip_certificate() {
    if !ipv6_loopback() {
        return assert_clear_ipv6_failure();
    }
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = write(dir.path(), "ca.pem", &ca.pem());
    set_tls_bind("[::1]:0");
    // A certificate for the IP address itself (subjectAltName iPAddress ::1).
    let server = TlsServer::start(&ca.leaf(&["::1"], -1, 60), &[]);
    let target = format!("[::1]:{}", server.port);
    let ca_arg = ca_file.to_str().unwrap();
    let (_, r) = run_json(
        &[
            "scan", &target, "--only", "tls", "--ca", ca_arg, "--format", "json",
        ],
        LIMIT,
    );
    assert_eq!(r["parts"]["tls"]["grade"], "A", "{r:#}");
    assert_eq!(finding(&r, "TLS-005")["status"], "pass");
    let port = server.port.to_string();
    let (code, line) = check(
        &[
            "tls", "-H", "::1", "-p", &port, "--ca", ca_arg, "-w", "30", "-c", "7",
        ],
        LIMIT,
    );
    assert_eq!(code, 0, "{line}");
}

#[test]
fn http_check_and_port_scan_on_ipv6_loopback() {
    if !ipv6_loopback() {
        return assert_clear_ipv6_failure();
    }
    let server = RawServer::start_on(
        "[::1]:0",
        Behaviour::Respond(http_response("200 OK", &[], "v6")),
    );
    let url = format!("http://[::1]:{}/", server.port);
    let (code, line) = check(&["http", "--url", &url, "--body-regex", "^v6$"], LIMIT);
    assert_eq!(code, 0, "{line}");
    let port = server.port.to_string();
    let (code, r) = run_json(
        &[
            "scan", "::1", "--only", "ports", "-p", &port, "--expect", &port, "--format", "json",
        ],
        LIMIT,
    );
    assert_eq!(
        r["parts"]["ports"]["open"],
        serde_json::json!([server.port]),
        "{r:#}"
    );
    assert_eq!(code, 0);
}
