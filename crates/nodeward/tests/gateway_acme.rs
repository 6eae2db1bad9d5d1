//! End-to-end: ACME certificates from Debian's Pebble (a real ACME CA) on
//! loopback, the HTTP→HTTPS redirect listener, checked with curl, openssl
//! and `nodeward scan`.
//!
//! Pebble validates for real (`PEBBLE_VA_ALWAYS_VALID=0`): it resolves the
//! test domain through `pebble-challtestsrv`'s DNS (every name → 127.0.0.1,
//! its own challenge servers switched off) and connects to the gateway's
//! ports, set as Pebble's `httpPort` (HTTP-01) and `tlsPort` (TLS-ALPN-01).
//! - `tls_alpn_issue_renew_and_outage`: TLS-ALPN-01 issuance, curl 200 over
//!   the new certificate, renewal (15 s validity) swapping the certificate
//!   while an open connection keeps working, then Pebble stopped: the error
//!   shows in /status and /metrics and the old certificate keeps serving.
//! - `http01_issue_through_redirect_listener`: HTTP-01 answered by the
//!   port-80 style redirect listener, then curl 200.
//! - `redirect_listener_passes_scan`: 308 to HTTPS with curl, and
//!   `nodeward scan --only headers` reports the Observatory redirection test
//!   as passed.
//! - `acme_certificate_is_stapled`: Pebble writes a local OCSP URL into the
//!   certificate (it runs no responder itself); `openssl ocsp` answers for it
//!   with Pebble's intermediate key; the ACME certificate is then stapled.

mod common_gateway;
mod common_ocsp;
use common_gateway::*;
use std::io::Write;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

const DOMAIN: &str = "acme.nodeward.test";

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and a certificate for 127.0.0.1 signed by it (Pebble's own HTTPS).
fn pebble_https_cert(dir: &Path) {
    let p = |n: &str| dir.join(n);
    run(Command::new("openssl")
        .args([
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-days", "2", "-subj", "/CN=pebble test ca"])
        .args(["-addext", "basicConstraints=critical,CA:TRUE"])
        .arg("-keyout")
        .arg(p("ca.key"))
        .arg("-out")
        .arg(p("ca.pem")));
    run(Command::new("openssl")
        .args([
            "req",
            "-new",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])
        .args(["-nodes", "-subj", "/CN=127.0.0.1"])
        .arg("-keyout")
        .arg(p("https.key"))
        .arg("-out")
        .arg(p("https.csr")));
    std::fs::write(
        p("ext.cnf"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n",
    )
    .unwrap();
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "2"])
        .arg("-in")
        .arg(p("https.csr"))
        .arg("-CA")
        .arg(p("ca.pem"))
        .arg("-CAkey")
        .arg(p("ca.key"))
        .arg("-CAcreateserial")
        .arg("-extfile")
        .arg(p("ext.cnf"))
        .arg("-out")
        .arg(p("https.pem")));
}

/// Pebble and its DNS (pebble-challtestsrv), killed on drop.
struct Pebble {
    children: Vec<Child>,
    dir: tempfile::TempDir,
    port: u16,
    mgmt: u16,
}

impl Pebble {
    fn start(http_port: u16, tls_port: u16, validity_s: u64) -> Pebble {
        Self::start_with_ocsp(http_port, tls_port, validity_s, "")
    }

    /// Pebble writing `ocsp_url` into the certificates' AIA (it runs no responder).
    fn start_with_ocsp(http_port: u16, tls_port: u16, validity_s: u64, ocsp_url: &str) -> Pebble {
        let dir = tempfile::tempdir().unwrap();
        pebble_https_cert(dir.path());
        let (port, mgmt, dns, dns_mgmt) = (free_port(), free_port(), free_port(), free_port());
        let dns_srv = Command::new("pebble-challtestsrv")
            .args(["-dns01", &format!("127.0.0.1:{dns}")])
            .args(["-http01", "", "-https01", "", "-tlsalpn01", ""])
            .args(["-management", &format!("127.0.0.1:{dns_mgmt}")])
            .args(["-defaultIPv4", "127.0.0.1", "-defaultIPv6", ""])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("dns.log")).unwrap())
            .spawn()
            .expect("pebble-challtestsrv (Debian package pebble) is installed");
        let config = serde_json::json!({
            "pebble": {
                "listenAddress": format!("127.0.0.1:{port}"),
                "managementListenAddress": format!("127.0.0.1:{mgmt}"),
                "certificate": dir.path().join("https.pem"),
                "privateKey": dir.path().join("https.key"),
                "httpPort": http_port,
                "tlsPort": tls_port,
                "ocspResponderURL": ocsp_url,
                "externalAccountBindingRequired": false,
                "certificateValidityPeriod": validity_s,
            }
        });
        let cfg = dir.path().join("pebble.json");
        std::fs::write(&cfg, config.to_string()).unwrap();
        let pebble = Command::new("pebble")
            .arg("-config")
            .arg(&cfg)
            .args(["-dnsserver", &format!("127.0.0.1:{dns}")])
            .env("PEBBLE_VA_NOSLEEP", "1")
            .env("PEBBLE_VA_ALWAYS_VALID", "0")
            .env("PEBBLE_WFE_NONCEREJECT", "0")
            .env("PEBBLE_AUTHZREUSE", "0")
            .stdout(std::fs::File::create(dir.path().join("pebble.log")).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .expect("pebble (Debian package pebble) is installed");
        let p = Pebble {
            children: vec![dns_srv, pebble],
            dir,
            port,
            mgmt,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", mgmt)).is_err()
            || TcpStream::connect(("127.0.0.1", port)).is_err()
        {
            assert!(
                Instant::now() < deadline,
                "pebble did not start: {}",
                p.log()
            );
            thread::sleep(Duration::from_millis(50));
        }
        p
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("pebble.log")).unwrap_or_default()
    }

    fn https_ca(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }

    fn directory(&self) -> String {
        format!("https://127.0.0.1:{}/dir", self.port)
    }

    /// Pebble's issuing root, from its management API.
    fn issuing_root(&self, into: &Path) -> PathBuf {
        self.management(into, "roots/0", "pebble-root.pem")
    }

    /// A PEM object from Pebble's management API (`roots/0`,
    /// `intermediates/0`, `intermediate-keys/0`), written to `into/name`.
    fn management(&self, into: &Path, what: &str, name: &str) -> PathBuf {
        let path = into.join(name);
        let (code, body) = curl(&[
            "--cacert",
            &self.https_ca().display().to_string(),
            &format!("https://127.0.0.1:{}/{what}", self.mgmt),
        ]);
        assert_eq!(code, 200, "{body}");
        std::fs::write(&path, body).unwrap();
        path
    }

    fn kill(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for Pebble {
    fn drop(&mut self) {
        self.kill();
    }
}

fn acme_config(pebble: &Pebble, challenge: &str, extra_listener: &str) -> String {
    format!(
        r#"
[gateway]
state_dir = "{{state}}"
access_log = "off"

[[listener]]
bind = "127.0.0.1:ACME_PORT"
tls = {{ acme = {{ domains = ["{DOMAIN}"], contact = "mailto:ops@nodeward.test", directory = "{}", ca = "{}", challenge = "{challenge}" }} }}
{extra_listener}
# Plain listener on the port the test harness waits for.
[[listener]]
bind = "127.0.0.1:{{port}}"

[admin]
bind = "127.0.0.1:{{admin}}"

[[upstream]]
name = "iri"
backends = ["{{backend}}"]

[[route]]
protocol = "iri"
upstream = "iri"
"#,
        pebble.directory(),
        pebble.https_ca().display()
    )
}

/// The ACME entry of /status.
fn acme_status(gw: &Gateway) -> serde_json::Value {
    let (code, body) = gw.admin("GET", "/status");
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["acme"][0].clone()
}

fn wait_for(
    gw: &Gateway,
    what: &str,
    limit: Duration,
    ok: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + limit;
    loop {
        let s = acme_status(gw);
        if ok(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "timed out waiting for {what}; status {s}\nstderr:\n{}",
            gw.stderr()
        );
        thread::sleep(Duration::from_millis(100));
    }
}

/// POSTs getNodeInfo over HTTPS to the ACME domain, trusting `root`.
fn https_post(port: u16, root: &Path) -> (u16, String) {
    post_with(&[
        "--resolve",
        &format!("{DOMAIN}:{port}:127.0.0.1"),
        "--cacert",
        &root.display().to_string(),
        &format!("https://{DOMAIN}:{port}/"),
    ])
}

fn post_with(args: &[&str]) -> (u16, String) {
    let mut all = vec![
        "-H",
        "X-IOTA-API-Version: 1",
        "--data-binary",
        r#"{"command":"getNodeInfo"}"#,
    ];
    all.extend_from_slice(args);
    curl(&all)
}

/// The leaf certificate the listener serves now (PEM text).
fn served_leaf(port: u16) -> String {
    let out = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(["-servername", DOMAIN])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let start = text
        .find("-----BEGIN CERTIFICATE-----")
        .expect("a certificate");
    let end = text.find("-----END CERTIFICATE-----").unwrap();
    text[start..end].to_string()
}

/// A kept-open TLS connection (rustls client) to send requests on later.
struct OpenConn {
    tls: rustls::StreamOwned<rustls::ClientConnection, TcpStream>,
}

impl OpenConn {
    fn open(port: u16, root: &Path) -> OpenConn {
        let mut roots = rustls::RootCertStore::empty();
        let pem = std::fs::read(root).unwrap();
        for c in rustls_pemfile::certs(&mut &pem[..]) {
            roots.add(c.unwrap()).unwrap();
        }
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let config = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let name = rustls::pki_types::ServerName::try_from(DOMAIN).unwrap();
        let conn = rustls::ClientConnection::new(std::sync::Arc::new(config), name).unwrap();
        let tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        OpenConn {
            tls: rustls::StreamOwned::new(conn, tcp),
        }
    }

    /// Sends one keep-alive request; returns the status line (or the error).
    fn request(&mut self) -> String {
        use std::io::Read;
        let body = r#"{"command":"getNodeInfo"}"#;
        let req = format!(
            "POST / HTTP/1.1\r\nHost: {DOMAIN}\r\nX-IOTA-API-Version: 1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        if let Err(e) = self
            .tls
            .write_all(req.as_bytes())
            .and_then(|_| self.tls.flush())
        {
            return format!("write: {e}");
        }
        // Read the head, then exactly Content-Length body bytes.
        let mut buf = Vec::new();
        let mut byte = [0u8; 1];
        while !buf.ends_with(b"\r\n\r\n") {
            match self.tls.read(&mut byte) {
                Ok(1) => buf.push(byte[0]),
                Ok(_) => return format!("closed after {:?}", String::from_utf8_lossy(&buf)),
                Err(e) => return format!("read: {e}"),
            }
        }
        let head = String::from_utf8_lossy(&buf).into_owned();
        let len: usize = head
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                k.eq_ignore_ascii_case("content-length")
                    .then(|| v.trim().parse().ok())?
            })
            .unwrap_or(0);
        let mut body = vec![0u8; len];
        if let Err(e) = self.tls.read_exact(&mut body) {
            return format!("body: {e}");
        }
        head.lines().next().unwrap_or("").to_string()
    }
}

fn start_gateway(config: &str, backend: &Backend, port: u16) -> Gateway {
    // `Gateway::start` picks its own port for `{port}`; pebble must know the
    // ACME listener's port in advance, so it is chosen here.
    let rendered = config.replace("ACME_PORT", &port.to_string());
    Gateway::start(&rendered, &backend.url())
}

#[test]
fn tls_alpn_issue_renew_and_outage() {
    let backend = Backend::start();
    let port = free_port();
    let mut pebble = Pebble::start(free_port(), port, 15);
    let gw = start_gateway(&acme_config(&pebble, "tls-alpn-01", ""), &backend, port);
    let first = wait_for(&gw, "the first certificate", Duration::from_secs(20), |s| {
        s["certificate"] == true
    });
    assert_eq!(first["challenge"], "tls-alpn-01");
    assert!(first["last_error"].is_null(), "{first}");
    let root = pebble.issuing_root(gw.dir.path());
    let (code, body) = https_post(port, &root);
    assert_eq!(code, 200, "{body}");
    // OCSP stapling looks at the new certificate: Pebble names no responder,
    // so nothing is fetched or stapled (tests/gateway_ocsp.rs staples).
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, body) = gw.admin("GET", "/status");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        if v["ocsp"][0]["state"] == "no responder" {
            assert_eq!(v["ocsp"][0]["stapled"], false, "{v}");
            break;
        }
        assert!(Instant::now() < deadline, "ocsp status: {}", v["ocsp"]);
        thread::sleep(Duration::from_millis(100));
    }
    // State: account and certificate bundle, 0600.
    use std::os::unix::fs::PermissionsExt;
    for f in [format!("{DOMAIN}.account.json"), format!("{DOMAIN}.pem")] {
        let meta = std::fs::metadata(gw.dir.path().join("acme").join(&f)).unwrap();
        assert_eq!(meta.permissions().mode() & 0o777, 0o600, "{f}");
    }
    let before = served_leaf(port);
    let mut conn = OpenConn::open(port, &root);
    assert!(conn.request().contains(" 200 "));
    // 15 s validity: renewal when 5 s are left. The connection stays busy
    // (one request a second, so no idle timeout closes it) across the swap.
    let deadline = Instant::now() + Duration::from_secs(20);
    let renewed = loop {
        let s = acme_status(&gw);
        if s["renewals"].as_u64() >= Some(2) {
            break s;
        }
        assert!(
            Instant::now() < deadline,
            "no renewal: {s}\n{}",
            gw.stderr()
        );
        let status = conn.request();
        assert!(
            status.contains(" 200 "),
            "the open connection works: {status}"
        );
        thread::sleep(Duration::from_secs(1));
    };
    assert_ne!(renewed["not_after"], first["not_after"]);
    assert_ne!(
        served_leaf(port),
        before,
        "the renewed certificate is served"
    );
    assert!(
        conn.request().contains(" 200 "),
        "the open connection survived"
    );
    assert!(gw.metric("nodeward_acme_renewals_total{listener=") >= 0.0);
    // The CA goes away: the next renewal fails, the old certificate serves.
    pebble.kill();
    let failed = wait_for(&gw, "the failed renewal", Duration::from_secs(15), |s| {
        !s["last_error"].is_null()
    });
    assert!(failed["failures"].as_u64() >= Some(1), "{failed}");
    let (code, body) = https_post(port, &root);
    assert_eq!(code, 200, "old certificate still serves: {body}");
    let metrics = gw.metrics();
    assert!(
        metrics.contains(&format!(
            "nodeward_acme_last_renewal_failed{{listener=\"127.0.0.1:{port}\"}} 1"
        )),
        "{metrics}"
    );
    assert!(gw.stderr().contains("ACME order failed"));
}

#[test]
fn http01_issue_through_redirect_listener() {
    let backend = Backend::start();
    let (port, http_port) = (free_port(), free_port());
    let pebble = Pebble::start(http_port, free_port(), 3600);
    let extra =
        format!("\n[[listener]]\nbind = \"127.0.0.1:{http_port}\"\nredirect_https = true\n");
    let gw = start_gateway(&acme_config(&pebble, "http-01", &extra), &backend, port);
    let s = wait_for(&gw, "the certificate", Duration::from_secs(20), |s| {
        s["certificate"] == true
    });
    assert_eq!(s["challenge"], "http-01");
    let root = pebble.issuing_root(gw.dir.path());
    let (code, body) = https_post(port, &root);
    assert_eq!(code, 200, "{body}");
    // The challenge path is not an open door once the order is done.
    let (code, _) = curl(&[&format!(
        "http://127.0.0.1:{http_port}/.well-known/acme-challenge/x"
    )]);
    assert_eq!(code, 404);
}

const REDIRECT_CONFIG: &str = r#"
[gateway]
state_dir = "{state}"
access_log = "off"

[[listener]]
bind = "127.0.0.1:{port}"
tls = { cert = "CERT", key = "KEY" }

[[listener]]
bind = "127.0.0.1:HTTP_PORT"
redirect_https = true

[admin]
bind = "127.0.0.1:{admin}"

[[upstream]]
name = "iri"
backends = ["{backend}"]

[[route]]
protocol = "iri"
upstream = "iri"
"#;

#[test]
fn redirect_listener_passes_scan() {
    let backend = Backend::start();
    let certs = tempfile::tempdir().unwrap();
    pebble_https_cert(certs.path());
    let (cert, key) = (
        certs.path().join("https.pem"),
        certs.path().join("https.key"),
    );
    let ca = certs.path().join("ca.pem");
    let http_port = free_port();
    let config = REDIRECT_CONFIG
        .replace("CERT", &cert.display().to_string())
        .replace("KEY", &key.display().to_string())
        .replace("HTTP_PORT", &http_port.to_string());
    let gw = Gateway::start(&config, &backend.url());
    let out = curl_output(&[
        "-o",
        "/dev/null",
        "-D",
        "-",
        &format!("http://localhost:{http_port}/some/path?q=1"),
    ]);
    let head = String::from_utf8_lossy(&out.stdout).to_lowercase();
    assert!(head.starts_with("http/1.1 308"), "{head}");
    assert!(
        head.contains(&format!(
            "location: https://localhost:{}/some/path?q=1",
            gw.port
        )),
        "{head}"
    );
    // A forged Host is refused, not reflected.
    let (code, _) = curl(&["-H", "Host: a b", &format!("http://127.0.0.1:{http_port}/")]);
    assert_eq!(code, 400);
    // curl follows the redirect to the TLS listener.
    let (code, body) = post_with(&[
        "-L",
        "--post301",
        "--cacert",
        &ca.display().to_string(),
        &format!("http://localhost:{http_port}/"),
    ]);
    assert_eq!(code, 200, "{body}");
    // nodeward scan's Observatory redirection test passes.
    let out = Command::new(bin())
        .args(["scan", &format!("https://localhost:{}/", gw.port)])
        .args(["--only", "headers", "--format", "json", "--ca"])
        .arg(&ca)
        .args(["--http-port", &http_port.to_string()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let report: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{e}: {text}\n{}", String::from_utf8_lossy(&out.stderr)));
    let found = report.to_string();
    assert!(found.contains("redirection-to-https"), "{found}");
    assert!(!found.contains("redirection-missing"), "{found}");
}

#[test]
fn acme_certificate_is_stapled() {
    let backend = Backend::start();
    let port = free_port();
    let ocsp_port = free_port();
    let pebble = Pebble::start_with_ocsp(
        free_port(),
        port,
        3600,
        &format!("http://127.0.0.1:{ocsp_port}/"),
    );
    let config = acme_config(&pebble, "tls-alpn-01", "").replace(
        r#"challenge = "tls-alpn-01" } }"#,
        r#"challenge = "tls-alpn-01" }, ocsp_refresh = "2s" }"#,
    );
    assert!(config.contains("ocsp_refresh"));
    let gw = start_gateway(&config, &backend, port);
    wait_for(&gw, "the certificate", Duration::from_secs(20), |s| {
        s["certificate"] == true
    });
    // No responder yet: the certificate is served without a staple.
    let dir = gw.dir.path();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let (_, body) = gw.admin("GET", "/status");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        if v["ocsp"][0]["last_error"].is_string() {
            assert_eq!(v["ocsp"][0]["stapled"], false, "{v}");
            break;
        }
        assert!(Instant::now() < deadline, "ocsp status: {}", v["ocsp"]);
        thread::sleep(Duration::from_millis(100));
    }
    // A real responder for Pebble's intermediate (its key from Pebble's
    // management API), answering for the issued certificate's serial.
    let int = pebble.management(dir, "intermediates/0", "int.pem");
    let int_key = pebble.management(dir, "intermediate-keys/0", "int.key");
    let leaf = dir.join("leaf.pem");
    std::fs::write(
        &leaf,
        format!("{}-----END CERTIFICATE-----\n", served_leaf(port)),
    )
    .unwrap();
    let out = Command::new("openssl")
        .args(["x509", "-noout", "-serial", "-in"])
        .arg(&leaf)
        .output()
        .unwrap();
    let serial = String::from_utf8_lossy(&out.stdout)
        .trim()
        .trim_start_matches("serial=")
        .to_string();
    assert!(!serial.is_empty(), "{out:?}");
    let index = dir.join("index.txt");
    common_ocsp::write_index(&index, &serial, false);
    let _responder = common_ocsp::responder(ocsp_port, &index, &int, &int, &int_key);
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        let (_, body) = gw.admin("GET", "/status");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        if v["ocsp"][0]["stapled"] == true {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "ocsp status: {}; stderr:\n{}",
            v["ocsp"],
            gw.stderr()
        );
        thread::sleep(Duration::from_millis(200));
    }
    let root = pebble.issuing_root(dir);
    let out = common_ocsp::s_client_status(port, DOMAIN, &root);
    assert!(out.contains("OCSP Response Status: successful"), "{out}");
    assert!(out.contains("Cert Status: good"), "{out}");
}
