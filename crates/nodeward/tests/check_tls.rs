//! `nodeward check tls` as a monitoring plugin against rustls listeners with
//! test certificates: exit codes, status line and perfdata.

mod common_scan;

use common_scan::*;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(20);

struct Fixture {
    _dir: tempfile::TempDir,
    ca_file: String,
    server: TlsServer,
}

fn serve(names: &[&str], from: i64, to: i64) -> Fixture {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = write(dir.path(), "ca.pem", &ca.pem())
        .to_str()
        .unwrap()
        .to_string();
    let server = TlsServer::start(&ca.leaf(names, from, to), &[]);
    Fixture {
        _dir: dir,
        ca_file,
        server,
    }
}

fn check_tls(f: &Fixture, thresholds: &[&str]) -> (i32, String) {
    let port = f.server.port.to_string();
    let mut args = vec![
        "tls",
        "-H",
        "127.0.0.1",
        "-p",
        &port,
        "--servername",
        "localhost",
        "--ca",
        &f.ca_file,
    ];
    args.extend_from_slice(thresholds);
    check(&args, LIMIT)
}

#[test]
fn ok_warning_critical_by_days_left() {
    let f = serve(&["localhost"], -1, 20);
    let (code, line) = check_tls(&f, &["-w", "10", "-c", "5"]);
    assert_eq!(code, 0, "{line}");
    assert!(
        line.starts_with("TLS OK - localhost: certificate expires in 19 days")
            || line.starts_with("TLS OK - localhost: certificate expires in 20 days"),
        "{line}"
    );
    assert!(
        line.contains("| days=") && line.ends_with(";10:;5:"),
        "{line}"
    );
    let (code, line) = check_tls(&f, &["-w", "30", "-c", "5"]);
    assert_eq!(code, 1, "{line}");
    assert!(line.starts_with("TLS WARNING"), "{line}");
    let (code, line) = check_tls(&f, &["-w", "60", "-c", "30"]);
    assert_eq!(code, 2, "{line}");
    assert!(line.starts_with("TLS CRITICAL"), "{line}");
}

#[test]
fn expired_and_wrong_name_are_critical() {
    let f = serve(&["localhost"], -100, -2);
    let (code, line) = check_tls(&f, &["-w", "30", "-c", "14"]);
    assert_eq!(code, 2, "{line}");
    assert!(line.contains("expired"), "{line}");
    let f = serve(&["node.example"], -1, 100);
    let (code, line) = check_tls(&f, &["-w", "30", "-c", "14"]);
    assert_eq!(code, 2, "{line}");
    assert!(line.contains("does not match"), "{line}");
}

#[test]
fn untrusted_chain_is_critical() {
    let f = serve(&["localhost"], -1, 100);
    let port = f.server.port.to_string();
    // Without --ca the test CA is not trusted.
    let (code, line) = check(
        &[
            "tls",
            "-H",
            "127.0.0.1",
            "-p",
            &port,
            "--servername",
            "localhost",
        ],
        LIMIT,
    );
    assert_eq!(code, 2, "{line}");
    assert!(line.contains("not trusted"), "{line}");
}

#[test]
fn bad_thresholds_and_hosts_are_unknown() {
    let f = serve(&["localhost"], -1, 100);
    let (code, line) = check_tls(&f, &["-w", "20:10"]);
    assert_eq!(code, 3, "{line}");
    assert!(
        line.starts_with("TLS UNKNOWN - invalid threshold range \"20:10\""),
        "{line}"
    );
    let (code, line) = check(&["tls", "-H", "", "-p", "443"], LIMIT);
    assert_eq!(code, 3, "{line}");
    assert!(line.contains("empty host name"), "{line}");
}

#[test]
fn hanging_and_refusing_servers_end_in_time() {
    let hang = RawServer::start(Behaviour::Hang);
    let port = hang.port.to_string();
    let (code, line) = check(&["tls", "-H", "127.0.0.1", "-p", &port, "-t", "1s"], LIMIT);
    assert_eq!(code, 2, "{line}");
    assert!(line.contains("timed out"), "{line}");
    let closed = free_port().to_string();
    let (code, line) = check(
        &["tls", "-H", "127.0.0.1", "-p", &closed, "-t", "1s"],
        LIMIT,
    );
    assert_eq!(code, 2, "{line}");
    assert!(line.contains("refused"), "{line}");
}

#[test]
fn a_tls10_only_server_is_still_checked() {
    let dir = tempfile::tempdir().unwrap();
    openssl_pki(dir.path(), "2048");
    let server = OpenSslServer::start(
        &dir.path().join("leaf.pem"),
        &dir.path().join("leaf.key"),
        &["-tls1", "-cipher", "ALL:@SECLEVEL=0"],
    );
    let port = server.port.to_string();
    let ca = dir.path().join("ca.pem");
    // rustls cannot speak TLS 1.0; the certificate comes from the hand-built handshake.
    let (code, line) = check(
        &[
            "tls",
            "-H",
            "127.0.0.1",
            "-p",
            &port,
            "--servername",
            "localhost",
            "--ca",
            ca.to_str().unwrap(),
            "-w",
            "10",
            "-c",
            "5",
        ],
        LIMIT,
    );
    assert_eq!(code, 0, "{line}");
    assert!(
        line.starts_with("TLS OK - localhost: certificate expires in 19 days")
            || line.starts_with("TLS OK - localhost: certificate expires in 20 days"),
        "{line}"
    );
}

#[test]
fn unresolvable_host_is_unknown() {
    // Inside a fresh namespace (loopback only) no query can leave the machine.
    let ns = format!("nwchk-{}", std::process::id());
    let ok = std::process::Command::new("ip")
        .args(["netns", "add", &ns])
        .status()
        .unwrap();
    assert!(ok.success(), "ip netns add (the tests run as root in CI)");
    let run_in_ns = |args: &[&str]| {
        std::process::Command::new("ip")
            .args(["netns", "exec", &ns])
            .arg(bin())
            .args(args)
            .output()
            .unwrap()
    };
    let _ = std::process::Command::new("ip")
        .args(["netns", "exec", &ns, "ip", "link", "set", "lo", "up"])
        .status();
    let start = std::time::Instant::now();
    let out = run_in_ns(&["check", "tls", "-H", "node.nonexistent.invalid", "-t", "3s"]);
    let scan = run_in_ns(&[
        "scan",
        "node.nonexistent.invalid",
        "--only",
        "tls,ports",
        "--format",
        "json",
        "--timeout",
        "3s",
    ]);
    let _ = std::process::Command::new("ip")
        .args(["netns", "del", &ns])
        .status();
    let line = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{line}");
    assert!(
        line.starts_with("TLS UNKNOWN - ") && line.contains("node.nonexistent.invalid"),
        "{line}"
    );
    let r: serde_json::Value = serde_json::from_slice(&scan.stdout).unwrap();
    assert_eq!(finding(&r, "TLS-000")["status"], "error", "{r:#}");
    assert_eq!(finding(&r, "PORT-000")["status"], "error", "{r:#}");
    assert!(start.elapsed() < Duration::from_secs(20));
}
