//! `nodeward scan --only tls` against real TLS servers on 127.0.0.1: rustls
//! listeners with test certificates and Debian's `openssl s_server` accepting
//! old protocols and weak suites; plus servers that misbehave.

mod common_scan;

use common_scan::*;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn scan_tls(port: u16, extra: &[&str]) -> (i32, serde_json::Value) {
    let target = format!("127.0.0.1:{port}");
    let mut args = vec![
        "scan",
        &target,
        "--only",
        "tls",
        "--format",
        "json",
        "--timeout",
        "3s",
    ];
    args.extend_from_slice(extra);
    run_json(&args, LIMIT)
}

#[test]
fn good_certificate_with_hsts_grades_a_plus() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = write(dir.path(), "ca.pem", &ca.pem());
    let leaf = ca.leaf(&["localhost"], -1, 200);
    let server = TlsServer::start(&leaf, &[("Strict-Transport-Security", "max-age=31536000")]);
    let (code, r) = scan_tls(
        server.port,
        &[
            "--servername",
            "localhost",
            "--ca",
            ca_file.to_str().unwrap(),
        ],
    );
    let tls = &r["parts"]["tls"];
    assert_eq!(tls["grade"], "A+", "{r:#}");
    assert_eq!(tls["versions"], serde_json::json!(["TLS 1.2", "TLS 1.3"]));
    // rustls accepts only forward-secret AEAD suites.
    assert_eq!(
        tls["suites"]["TLS 1.3"].as_array().unwrap().len(),
        3,
        "{tls:#}"
    );
    assert!(tls["suites"]["TLS 1.2"]
        .as_array()
        .unwrap()
        .iter()
        .all(|s| s.as_str().unwrap().starts_with("TLS_ECDHE_")));
    for id in [
        "TLS-001", "TLS-002", "TLS-003", "TLS-004", "TLS-005", "TLS-006", "TLS-007", "TLS-009",
        "TLS-010", "TLS-012", "TLS-013", "TLS-014", "TLS-015", "TLS-016", "TLS-017", "TLS-018",
        "TLS-019",
    ] {
        assert_eq!(finding(&r, id)["status"], "pass", "{id}: {r:#}");
    }
    // rustls ignores TLS_FALLBACK_SCSV but marks a TLS 1.2 answer from a TLS 1.3
    // server with the RFC 8446 downgrade sentinel, which protects TLS 1.3 clients.
    assert_eq!(
        tls["vulnerabilities"]["fallback_scsv"],
        "downgrade sentinel (RFC 8446)"
    );
    assert_eq!(tls["vulnerabilities"]["client_renegotiation"], false);
    // The test server configures no ALPN, so none is chosen.
    assert!(tls["alpn"].is_null());
    assert_eq!(code, 0, "{r:#}");
}

#[test]
fn without_hsts_the_grade_is_a_not_a_plus() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = write(dir.path(), "ca.pem", &ca.pem());
    let server = TlsServer::start(&ca.leaf(&["localhost"], -1, 200), &[]);
    let (_, r) = scan_tls(
        server.port,
        &[
            "--servername",
            "localhost",
            "--ca",
            ca_file.to_str().unwrap(),
        ],
    );
    assert_eq!(r["parts"]["tls"]["grade"], "A", "{r:#}");
    assert_eq!(finding(&r, "TLS-009")["status"], "fail");
}

#[test]
fn expired_certificate_is_graded_t_and_fails() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = write(dir.path(), "ca.pem", &ca.pem());
    let server = TlsServer::start(&ca.leaf(&["localhost"], -400, -3), &[]);
    let (code, r) = scan_tls(
        server.port,
        &[
            "--servername",
            "localhost",
            "--ca",
            ca_file.to_str().unwrap(),
        ],
    );
    assert_eq!(r["parts"]["tls"]["grade"], "T", "{r:#}");
    assert_eq!(r["parts"]["tls"]["grade_if_trusted"], "A");
    assert_eq!(finding(&r, "TLS-004")["status"], "fail");
    assert_eq!(finding(&r, "TLS-006")["status"], "fail");
    assert!(
        r["parts"]["tls"]["certificate"]["days_left"]
            .as_i64()
            .unwrap()
            < 0
    );
    assert_eq!(code, 1);
}

#[test]
fn wrong_host_name_is_graded_m() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = write(dir.path(), "ca.pem", &ca.pem());
    let server = TlsServer::start(&ca.leaf(&["other.example"], -1, 200), &[]);
    let (code, r) = scan_tls(
        server.port,
        &[
            "--servername",
            "localhost",
            "--ca",
            ca_file.to_str().unwrap(),
        ],
    );
    assert_eq!(r["parts"]["tls"]["grade"], "M", "{r:#}");
    assert_eq!(finding(&r, "TLS-005")["status"], "fail");
    assert!(finding(&r, "TLS-005")["evidence"]
        .as_str()
        .unwrap()
        .contains("other.example"));
    assert_eq!(code, 1);
}

#[test]
fn self_signed_certificate_is_untrusted() {
    let leaf = self_signed(&["localhost"]);
    let server = TlsServer::start(&leaf, &[]);
    let (_, r) = scan_tls(server.port, &["--servername", "localhost"]);
    assert_eq!(r["parts"]["tls"]["grade"], "T", "{r:#}");
    let f = finding(&r, "TLS-004");
    assert_eq!(f["status"], "fail");
    assert!(
        f["evidence"].as_str().unwrap().contains("not trusted"),
        "{f}"
    );
}

#[test]
fn openssl_with_tls10_tls11_and_weak_suites_is_capped_and_matches_nmap() {
    let dir = tempfile::tempdir().unwrap();
    openssl_pki(dir.path(), "2048");
    let server = OpenSslServer::start(
        &dir.path().join("leaf.pem"),
        &dir.path().join("leaf.key"),
        &[
            "-min_protocol",
            "TLSv1",
            "-max_protocol",
            "TLSv1.2",
            "-cipher",
            "ALL:@SECLEVEL=0",
        ],
    );
    let ca = dir.path().join("ca.pem");
    let (code, r) = scan_tls(
        server.port,
        &["--servername", "localhost", "--ca", ca.to_str().unwrap()],
    );
    let tls = &r["parts"]["tls"];
    let versions: Vec<&str> = tls["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert!(
        versions.contains(&"TLS 1.0")
            && versions.contains(&"TLS 1.1")
            && versions.contains(&"TLS 1.2"),
        "{versions:?}"
    );
    assert!(!versions.contains(&"TLS 1.3"));
    // Debian's OpenSSL 3 has no SSLv3; the hand-built SSLv3 hello must be refused.
    assert!(!versions.contains(&"SSLv3"));
    assert_eq!(finding(&r, "TLS-001")["status"], "fail");
    assert_eq!(finding(&r, "TLS-004")["status"], "pass", "{r:#}");
    // Static-RSA suites are accepted (TLS-003 warns); anonymous suites are too (F).
    let suites: Vec<&str> = tls["suites"]["TLS 1.2"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect();
    assert!(
        suites.contains(&"TLS_RSA_WITH_AES_128_CBC_SHA"),
        "{suites:?}"
    );
    let grade = tls["grade"].as_str().unwrap();
    assert!(
        ["B", "C", "F"].contains(&grade),
        "TLS 1.0/1.1 must cap at B or lower, got {grade}: {r:#}"
    );
    assert!(tls["caps"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c.as_str().unwrap().contains("TLS 1.0 or TLS 1.1")));
    assert_eq!(code, 1);

    // nmap's ssl-enum-ciphers on the same server must see the same versions.
    let out = std::process::Command::new("nmap")
        .args([
            "-Pn",
            "-n",
            "-sT",
            "--script",
            "ssl-enum-ciphers",
            "-p",
            &server.port.to_string(),
            "127.0.0.1",
        ])
        .output()
        .expect("nmap");
    let text = String::from_utf8_lossy(&out.stdout);
    for (nmap_name, ours) in [
        ("TLSv1.0", "TLS 1.0"),
        ("TLSv1.1", "TLS 1.1"),
        ("TLSv1.2", "TLS 1.2"),
        ("TLSv1.3", "TLS 1.3"),
    ] {
        assert_eq!(
            text.contains(&format!("{nmap_name}:")),
            versions.contains(&ours),
            "{nmap_name}: nmap said\n{text}"
        );
    }
    // Every suite nmap lists for TLS 1.2 we found too.
    let tls12 = text.split("TLSv1.2:").nth(1).unwrap_or("");
    for line in tls12.lines().take_while(|l| !l.contains("compressors")) {
        if let Some(name) = line.split_whitespace().find(|w| w.starts_with("TLS_")) {
            assert!(
                suites.contains(&name),
                "nmap saw {name} that we missed; ours: {suites:?}"
            );
        }
    }
}

#[test]
fn short_rsa_key_fails_and_caps_the_grade() {
    let dir = tempfile::tempdir().unwrap();
    openssl_pki(dir.path(), "1024");
    let server = OpenSslServer::start(
        &dir.path().join("leaf.pem"),
        &dir.path().join("leaf.key"),
        &["-tls1_2", "-cipher", "ECDHE+AESGCM:@SECLEVEL=0"],
    );
    let ca = dir.path().join("ca.pem");
    let (_, r) = scan_tls(
        server.port,
        &["--servername", "localhost", "--ca", ca.to_str().unwrap()],
    );
    let f = finding(&r, "TLS-007");
    assert_eq!(f["status"], "fail", "{r:#}");
    assert!(f["evidence"].as_str().unwrap().contains("1024"));
    assert_eq!(r["parts"]["tls"]["grade"], "B", "{r:#}");
}

const DH1024: &str = "-----BEGIN DH PARAMETERS-----
MIGHAoGBAJ5LQMe7r4o6vhaVD2XlxD3I1kqiEswv1my/tiGFoP9ROC8Yz5UlQ3/x
n/DYX+6SV0qX4RE0UqvPwZQ0t00D5cCR5SFEPjmIaMsT6OFX2OCAcKdUqX/4RiAo
KkCLOj9M6p3fa0w6NNUpgWtitCNyeM/ExwtEBtp1j/bVXCeiYRL3AgEC
-----END DH PARAMETERS-----
";

#[test]
fn weak_dh_parameters_lower_the_key_exchange_score() {
    let dir = tempfile::tempdir().unwrap();
    openssl_pki(dir.path(), "2048");
    // A fixed 1024-bit DH group (generated once with `openssl dhparam 1024`).
    let dh = write(dir.path(), "dh1024.pem", DH1024);
    let server = OpenSslServer::start(
        &dir.path().join("leaf.pem"),
        &dir.path().join("leaf.key"),
        &[
            "-tls1_2",
            "-dhparam",
            dh.to_str().unwrap(),
            "-cipher",
            "DHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0",
        ],
    );
    let ca = dir.path().join("ca.pem");
    let (_, r) = scan_tls(
        server.port,
        &["--servername", "localhost", "--ca", ca.to_str().unwrap()],
    );
    let tls = &r["parts"]["tls"];
    // Key exchange: min(RSA 2048, DH 1024) = 1024 bits -> 80; cap B for weak DH.
    assert_eq!(tls["key_exchange_score"], 80, "{r:#}");
    assert_eq!(tls["grade"], "B");
    let f = finding(&r, "TLS-007");
    assert_eq!(f["status"], "fail");
    assert!(
        f["evidence"]
            .as_str()
            .unwrap()
            .contains("DHE parameters 1024 bits"),
        "{f}"
    );
}

fn assert_tls_error(behaviour: Behaviour, expect: &str) {
    let server = RawServer::start(behaviour);
    let target = format!("127.0.0.1:{}", server.port);
    let start = std::time::Instant::now();
    let (code, r) = run_json(
        &[
            "scan",
            &target,
            "--only",
            "tls",
            "--format",
            "json",
            "--timeout",
            "1s",
        ],
        Duration::from_secs(20),
    );
    let f = finding(&r, "TLS-000");
    assert_eq!(f["status"], "error", "{r:#}");
    assert!(
        f["evidence"].as_str().unwrap().contains(expect),
        "want {expect:?} in {f}"
    );
    assert_eq!(code, 0, "an error finding is not a failure");
    assert!(start.elapsed() < Duration::from_secs(20));
}

#[test]
fn a_server_that_hangs_ends_with_a_timeout_finding() {
    assert_tls_error(Behaviour::Hang, "timed out");
}

#[test]
fn a_server_that_sends_garbage_is_reported() {
    assert_tls_error(Behaviour::Garbage, "not a TLS record");
}

#[test]
fn a_server_that_closes_mid_handshake_is_reported() {
    assert_tls_error(Behaviour::CloseAfterRead, "no protocol version accepted");
    assert_tls_error(Behaviour::CloseAfterRead, "closed");
}

#[test]
fn plain_http_on_the_tls_port_is_named() {
    assert_tls_error(
        Behaviour::Respond(http_response("400 Bad Request", &[], "")),
        "plain HTTP",
    );
}

#[test]
fn protocol_support_matches_testssl() {
    let dir = tempfile::tempdir().unwrap();
    openssl_pki(dir.path(), "2048");
    let server = OpenSslServer::start(
        &dir.path().join("leaf.pem"),
        &dir.path().join("leaf.key"),
        &[
            "-min_protocol",
            "TLSv1.1",
            "-max_protocol",
            "TLSv1.2",
            "-cipher",
            "ECDHE:AES:@SECLEVEL=0",
        ],
    );
    let ca = dir.path().join("ca.pem");
    let (_, r) = scan_tls(
        server.port,
        &["--servername", "localhost", "--ca", ca.to_str().unwrap()],
    );
    let ours: Vec<String> = r["parts"]["tls"]["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    let json = dir.path().join("testssl.json");
    let target = format!("127.0.0.1:{}", server.port);
    let out = std::process::Command::new("testssl")
        .args([
            "--quiet",
            "--color",
            "0",
            "--nodns",
            "none",
            "--sneaky",
            "-p",
            "--jsonfile",
        ])
        .arg(&json)
        .arg(&target)
        .output()
        .expect("testssl (Debian package testssl.sh)");
    let text = std::fs::read_to_string(&json)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    let findings: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    for (id, name) in [
        ("SSLv3", "SSLv3"),
        ("TLS1", "TLS 1.0"),
        ("TLS1_1", "TLS 1.1"),
        ("TLS1_2", "TLS 1.2"),
        ("TLS1_3", "TLS 1.3"),
    ] {
        let f = findings
            .iter()
            .find(|f| f["id"] == id)
            .unwrap_or_else(|| panic!("testssl has no {id}: {text}"));
        let offered = f["finding"].as_str().unwrap().starts_with("offered");
        assert_eq!(
            offered,
            ours.iter().any(|v| v == name),
            "{id}: testssl says {}, we found {ours:?}",
            f["finding"]
        );
    }
}

#[test]
fn stapled_ocsp_and_alpn_are_reported() {
    let ca = TestCa::new();
    let dir = tempfile::tempdir().unwrap();
    let ca_file = write(dir.path(), "ca.pem", &ca.pem());
    // rustls staples whatever bytes it is given; the probe reports that a response came.
    let server = TlsServer::start_with(
        &ca.leaf(&["localhost"], -1, 200),
        &[],
        "ok",
        b"\x30\x03\x0a\x01\x00".to_vec(),
        vec![b"h2".to_vec(), b"http/1.1".to_vec()],
    );
    let (_, r) = scan_tls(
        server.port,
        &[
            "--servername",
            "localhost",
            "--ca",
            ca_file.to_str().unwrap(),
        ],
    );
    assert_eq!(r["parts"]["tls"]["ocsp_stapled"], true, "{r:#}");
    assert_eq!(finding(&r, "TLS-008")["status"], "pass");
    assert_eq!(r["parts"]["tls"]["alpn"], "h2");
}
