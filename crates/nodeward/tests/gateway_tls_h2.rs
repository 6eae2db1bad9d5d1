//! End-to-end: TLS termination (rustls), HTTP/2 via ALPN and h2c, and
//! certificate reload on SIGHUP, checked with curl and openssl.

mod common_gateway;
use common_gateway::*;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

/// Creates a self-signed certificate for localhost/127.0.0.1 with `cn`.
fn make_cert(dir: &Path, name: &str, cn: &str) {
    let st = Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-days",
            "2",
        ])
        .arg("-keyout")
        .arg(dir.join(format!("{name}.key")))
        .arg("-out")
        .arg(dir.join(format!("{name}.pem")))
        .args([
            "-subj",
            &format!("/CN={cn}"),
            "-addext",
            "subjectAltName=DNS:localhost,IP:127.0.0.1",
        ])
        .output()
        .unwrap();
    assert!(
        st.status.success(),
        "{}",
        String::from_utf8_lossy(&st.stderr)
    );
}

const TLS_TEMPLATE: &str = r#"
[gateway]
state_dir = "{state}"
access_log = "off"

[[listener]]
bind = "127.0.0.1:{port}"
tls = { cert = "live.pem", key = "live.key" }

[admin]
bind = "127.0.0.1:{admin}"

[[upstream]]
name = "iri"
backends = ["{backend}"]

[[route]]
protocol = "iri"
upstream = "iri"
deny = ["addNeighbors"]
"#;

fn start_tls(backend: &Backend) -> (Gateway, tempfile::TempDir) {
    // Certificates live next to the config (relative paths resolve there),
    // so write them into a directory first and start from a config there.
    let certs = tempfile::tempdir().unwrap();
    make_cert(certs.path(), "a", "nodeward-test-a");
    make_cert(certs.path(), "b", "nodeward-test-b");
    let template = TLS_TEMPLATE
        .replace(
            "live.pem",
            &certs.path().join("live.pem").display().to_string(),
        )
        .replace(
            "live.key",
            &certs.path().join("live.key").display().to_string(),
        );
    std::fs::copy(certs.path().join("a.pem"), certs.path().join("live.pem")).unwrap();
    std::fs::copy(certs.path().join("a.key"), certs.path().join("live.key")).unwrap();
    (Gateway::start(&template, &backend.url()), certs)
}

fn https(gw: &Gateway, ca: &Path, extra: &[&str]) -> (u16, String, String) {
    let url = format!("https://localhost:{}/", gw.port);
    let resolve = format!("localhost:{}:127.0.0.1", gw.port);
    let ca = ca.display().to_string();
    let mut args = vec![
        "-s",
        "--max-time",
        "10",
        "--resolve",
        &resolve,
        "--cacert",
        &ca,
        "-H",
        "X-IOTA-API-Version: 1",
        "--data-binary",
        r#"{"command":"getNodeInfo"}"#,
        "-w",
        "\n%{http_code} %{http_version}",
    ];
    args.extend_from_slice(extra);
    args.push(&url);
    let out = Command::new("curl").args(&args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, tail) = text.rsplit_once('\n').unwrap_or(("", &text));
    let mut it = tail.split_whitespace();
    let code = it.next().unwrap_or("0").parse().unwrap_or(0);
    (code, it.next().unwrap_or("").to_string(), body.to_string())
}

fn served_cn(gw: &Gateway) -> String {
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl s_client -connect 127.0.0.1:{} -servername localhost </dev/null 2>/dev/null | openssl x509 -noout -subject",
            gw.port
        ))
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn tls_serves_http1_and_http2_by_alpn() {
    let backend = Backend::start();
    let (gw, certs) = start_tls(&backend);
    let ca = certs.path().join("a.pem");
    let (code, version, body) = https(&gw, &ca, &["--http1.1"]);
    assert_eq!((code, version.as_str()), (200, "1.1"), "{body}");
    let (code, version, body) = https(&gw, &ca, &["--http2"]);
    assert_eq!((code, version.as_str()), (200, "2"), "{body}");
    assert_eq!(backend.last().header("x-forwarded-proto"), Some("https"));
    // HTTP/2 has no Host header; the node still gets one.
    assert_eq!(
        backend.last().header("host"),
        Some(format!("localhost:{}", gw.port).as_str())
    );
    // Policy applies over HTTP/2 as well.
    let url = format!("https://localhost:{}/", gw.port);
    let resolve = format!("localhost:{}:127.0.0.1", gw.port);
    let (code, _) = curl(&[
        "--http2",
        "--resolve",
        &resolve,
        "--cacert",
        &ca.display().to_string(),
        "--data-binary",
        r#"{"command":"addNeighbors"}"#,
        &url,
    ]);
    assert_eq!(code, 403);
    // A TLS 1.1 client is refused.
    let out = Command::new("sh")
        .arg("-c")
        .arg(format!(
            "openssl s_client -connect 127.0.0.1:{} -tls1_1 </dev/null 2>&1",
            gw.port
        ))
        .output()
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains("Cipher is ECDHE"),
        "TLS 1.1 accepted"
    );
}

#[test]
fn certificates_reload_on_sighup_and_a_bad_one_is_refused() {
    let backend = Backend::start();
    let (gw, certs) = start_tls(&backend);
    assert!(
        served_cn(&gw).contains("nodeward-test-a"),
        "{}",
        served_cn(&gw)
    );
    std::fs::copy(certs.path().join("b.pem"), certs.path().join("live.pem")).unwrap();
    std::fs::copy(certs.path().join("b.key"), certs.path().join("live.key")).unwrap();
    gw.signal("HUP");
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !served_cn(&gw).contains("nodeward-test-b") && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(served_cn(&gw).contains("nodeward-test-b"));
    let (code, _, _) = https(&gw, &certs.path().join("b.pem"), &[]);
    assert_eq!(code, 200);
    // A broken certificate file: the reload is refused and B keeps being served.
    std::fs::write(
        certs.path().join("live.pem"),
        "-----BEGIN CERTIFICATE-----\nnot base64\n",
    )
    .unwrap();
    gw.signal("HUP");
    std::thread::sleep(Duration::from_millis(500));
    assert!(served_cn(&gw).contains("nodeward-test-b"));
    let status: serde_json::Value = serde_json::from_str(&gw.admin("GET", "/status").1).unwrap();
    assert_eq!(status["last_reload"]["ok"], false, "{status}");
    assert!(
        status["last_reload"]["message"]
            .as_str()
            .unwrap()
            .contains("live.pem"),
        "{status}"
    );
}

#[test]
fn h2c_prior_knowledge_only_when_enabled() {
    let backend = Backend::start();
    let on = Gateway::start(&iri_config("h2c = true", ""), &backend.url());
    let out = curl_output(&[
        "--http2-prior-knowledge",
        "-H",
        "X-IOTA-API-Version: 1",
        "--data-binary",
        r#"{"command":"getNodeInfo"}"#,
        "-o",
        "/dev/null",
        "-w",
        "%{http_version}",
        &on.url(),
    ]);
    assert!(
        String::from_utf8_lossy(&out.stdout).starts_with('2'),
        "{:?}",
        out
    );
    let off = Gateway::start(&iri_config("", ""), &backend.url());
    let (code, _) = curl(&[
        "--http2-prior-knowledge",
        "--data-binary",
        r#"{"command":"getNodeInfo"}"#,
        &off.url(),
    ]);
    assert_ne!(code, 200, "h2c must be off by default");
    assert_eq!(post(&off.url(), r#"{"command":"getNodeInfo"}"#).0, 200);
}

/// One `openssl s_client` exchange (an HTTP/1.0 GET, read to the server's
/// close, so the session tickets that follow the handshake arrive), saving
/// or resuming a session through `sess`; returns s_client's output.
fn s_client(gw: &Gateway, sess_flag: &str, sess: &Path) -> String {
    use std::io::Write;
    let mut child = Command::new("openssl")
        .args(["s_client", "-connect"])
        .arg(format!("127.0.0.1:{}", gw.port))
        .args(["-servername", "localhost", "-ign_eof", sess_flag])
        .arg(sess)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"GET / HTTP/1.0\r\nHost: localhost\r\n\r\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn tls_sessions_resume_after_more_clients_than_a_session_cache_holds() {
    let backend = Backend::start();
    let (gw, certs) = start_tls(&backend);
    let first = certs.path().join("first.sess");
    let out = s_client(&gw, "-sess_out", &first);
    assert!(out.contains("New, TLSv1.3"), "{out}");
    // 300 other clients' full handshakes, two tickets each: rustls' default
    // in-memory store (256 tickets) would have forgotten the first client.
    for i in 0..300 {
        let out = s_client(
            &gw,
            "-sess_out",
            &certs.path().join(format!("{}.sess", i % 2)),
        );
        assert!(out.contains("New, TLSv1.3"), "{out}");
    }
    let out = s_client(&gw, "-sess_in", &first);
    assert!(out.contains("Reused, TLSv1.3"), "{out}");
    assert!(out.contains("405"), "{out}");
}
