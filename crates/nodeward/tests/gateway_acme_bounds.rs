//! End-to-end: an ACME server that answers with a huge body or with
//! malformed JSON. The gateway's ACME client bounds every answer (1 MiB for
//! JSON): the order fails with a clear error in the log and /status, and the
//! certificate already stored keeps serving.
//!
//! The "ACME server" is Debian's `openssl s_server -WWW` serving two files
//! over HTTPS on loopback (a directory URL is just a GET): `huge.json`
//! (3 MiB) and `bad.json` (not JSON). The stored certificate is made with
//! rcgen, valid but two thirds through its life, so an order is due at once.

mod common_gateway;
mod common_ocsp;
use common_gateway::*;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

const DOMAIN: &str = "bounds.nodeward.test";

/// The "ACME server": openssl s_server serving `www` over HTTPS (killed on drop).
struct FileServer(Child);

impl Drop for FileServer {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A CA (ca.pem) and a server certificate for 127.0.0.1 (srv.pem, srv.key).
fn https_pki(dir: &Path) {
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.distinguished_name
        .push(rcgen::DnType::CommonName, "bounds test ca");
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let srv = rcgen::CertificateParams::new(vec!["127.0.0.1".to_string()]).unwrap();
    let srv_key = rcgen::KeyPair::generate().unwrap();
    let srv_cert = srv.signed_by(&srv_key, &ca_cert, &ca_key).unwrap();
    std::fs::write(dir.join("ca.pem"), ca_cert.pem()).unwrap();
    std::fs::write(dir.join("srv.pem"), srv_cert.pem()).unwrap();
    std::fs::write(dir.join("srv.key"), srv_key.serialize_pem()).unwrap();
}

fn file_server(dir: &Path, port: u16) -> FileServer {
    let www = dir.join("www");
    std::fs::create_dir_all(&www).unwrap();
    std::fs::write(www.join("huge.json"), vec![b' '; 3 * 1024 * 1024]).unwrap();
    std::fs::write(www.join("bad.json"), b"{\"newNonce\": \"https://x/\", oops").unwrap();
    let log = dir.join("s_server.log");
    let child = Command::new("openssl")
        .args(["s_server", "-WWW", "-accept", &port.to_string()])
        .arg("-cert")
        .arg(dir.join("srv.pem"))
        .arg("-key")
        .arg(dir.join("srv.key"))
        .current_dir(&www)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    common_ocsp::wait_for_log(&log, "ACCEPT", "openssl s_server");
    FileServer(child)
}

/// Stores a valid certificate for DOMAIN, two thirds through its life (a
/// renewal is due now), where the gateway keeps its ACME bundle; returns its PEM.
fn store_old_certificate(state: &Path) -> String {
    let mut p = rcgen::CertificateParams::new(vec![DOMAIN.to_string()]).unwrap();
    let now = SystemTime::now();
    p.not_before = (now - Duration::from_secs(2 * 86400)).into();
    p.not_after = (now + Duration::from_secs(86400)).into();
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = p.self_signed(&key).unwrap();
    let dir = state.join("acme");
    std::fs::create_dir_all(&dir).unwrap();
    let bundle = dir.join(format!("{DOMAIN}.pem"));
    std::fs::write(&bundle, format!("{}{}", cert.pem(), key.serialize_pem())).unwrap();
    cert.pem()
}

/// The leaf the listener serves (PEM body between the markers).
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
    text[start..end].replace(['\r', '\n'], "")
}

/// Starts a gateway whose ACME directory is `file` on the file server,
/// waits for the order to fail, and returns the error /status shows.
fn failed_order(dir: &Path, server_port: u16, file: &str) -> String {
    let backend = Backend::start();
    let state = tempfile::tempdir().unwrap();
    let old = store_old_certificate(state.path());
    let config = format!(
        r#"
[gateway]
state_dir = "{}"
access_log = "off"

[[listener]]
bind = "127.0.0.1:{{port}}"
tls = {{ acme = {{ domains = ["{DOMAIN}"], directory = "https://127.0.0.1:{server_port}/{file}", ca = "{}" }} }}

[admin]
bind = "127.0.0.1:{{admin}}"
public_read = true

[[upstream]]
name = "iri"
backends = ["{{backend}}"]

[[route]]
protocol = "iri"
upstream = "iri"
"#,
        state.path().display(),
        dir.join("ca.pem").display()
    );
    let gw = Gateway::start(&config, &backend.url());
    let deadline = Instant::now() + Duration::from_secs(60);
    let error = loop {
        let (code, body) = curl(&[&format!("http://127.0.0.1:{}/status", gw.admin_port)]);
        assert_eq!(code, 200, "{body}");
        let v: serde_json::Value = serde_json::from_str(&body).unwrap();
        if let Some(e) = v["acme"][0]["last_error"].as_str() {
            assert_eq!(v["acme"][0]["certificate"], true, "{v}");
            break e.to_string();
        }
        assert!(
            Instant::now() < deadline,
            "no ACME error in /status: {v}; stderr:\n{}",
            gw.stderr()
        );
        thread::sleep(Duration::from_millis(200));
    };
    assert!(gw.stderr().contains("ACME order failed"), "{}", gw.stderr());
    // The stored certificate keeps serving, and the gateway keeps running.
    let old_body = old
        .trim()
        .trim_start_matches("-----BEGIN CERTIFICATE-----")
        .trim_end_matches("-----END CERTIFICATE-----")
        .replace(['\r', '\n'], "");
    let served = served_leaf(gw.port);
    assert!(
        served.contains(&old_body),
        "served {served}\nstored {old_body}"
    );
    error
}

#[test]
fn huge_and_malformed_answers_fail_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    https_pki(dir.path());
    let port = free_port();
    let _server = file_server(dir.path(), port);

    let e = failed_order(dir.path(), port, "huge.json");
    eprintln!("huge answer: {e}");
    assert!(
        e.contains("larger than 1048576 bytes") && e.contains("huge.json"),
        "{e}"
    );
    let e = failed_order(dir.path(), port, "bad.json");
    eprintln!("malformed answer: {e}");
    assert!(e.to_lowercase().contains("json"), "{e}");
}
