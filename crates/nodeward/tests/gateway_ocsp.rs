//! End-to-end: OCSP stapling on a TLS listener with certificate files,
//! against Debian's `openssl ocsp` as a real responder on loopback.
//!
//! The test builds a small PKI with `openssl` (a CA, a delegated OCSP
//! signing certificate, a server certificate whose Authority Information
//! Access names the local responder) and checks with `openssl s_client
//! -status` what the gateway staples.
//! - `staple_good_then_revoked`: the staple is served (`Cert Status:
//!   good`); the certificate is revoked in the responder's index → after the
//!   next refresh no staple is served and /status and /metrics say revoked,
//!   while the listener keeps serving.
//! - `responder_down_then_up`: no responder → no staple, the error in
//!   /status, requests still served; the responder comes up → stapled.

mod common_gateway;
mod common_ocsp;
use common_gateway::*;
use common_ocsp::*;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

/// Serial of the server certificate (hex), as the index names it.
const SERIAL: &str = "1001";

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The PKI of one test: files in `dir`, responder URL on `ocsp_port`.
struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn p(&self, name: &str) -> PathBuf {
        self.dir.join(name)
    }

    fn new(dir: &Path, ocsp_port: u16) -> Pki {
        let pki = Pki {
            dir: dir.to_path_buf(),
        };
        let p = |n: &str| pki.p(n);
        let ec = [
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
        ];
        run(Command::new("openssl")
            .args(["req", "-x509"])
            .args(ec)
            .args(["-days", "2", "-subj", "/CN=nodeward ocsp test ca"])
            .args(["-addext", "basicConstraints=critical,CA:TRUE"])
            .args(["-addext", "keyUsage=critical,keyCertSign,cRLSign"])
            .arg("-keyout")
            .arg(p("ca.key"))
            .arg("-out")
            .arg(p("ca.pem")));
        let sign = |name: &str, subj: &str, serial: &str, ext: &str| {
            run(Command::new("openssl")
                .args(["req", "-new"])
                .args(ec)
                .args(["-subj", subj])
                .arg("-keyout")
                .arg(p(&format!("{name}.key")))
                .arg("-out")
                .arg(p(&format!("{name}.csr"))));
            std::fs::write(p(&format!("{name}.ext")), ext).unwrap();
            run(Command::new("openssl")
                .args(["x509", "-req", "-days", "2", "-set_serial", serial])
                .arg("-in")
                .arg(p(&format!("{name}.csr")))
                .arg("-CA")
                .arg(p("ca.pem"))
                .arg("-CAkey")
                .arg(p("ca.key"))
                .arg("-extfile")
                .arg(p(&format!("{name}.ext")))
                .arg("-out")
                .arg(p(&format!("{name}.pem"))));
        };
        sign(
            "responder",
            "/CN=nodeward ocsp responder",
            "0x2002",
            "basicConstraints=CA:FALSE\nextendedKeyUsage=OCSPSigning\n",
        );
        sign(
            "server",
            "/CN=localhost",
            &format!("0x{SERIAL}"),
            &format!(
                "basicConstraints=CA:FALSE\nsubjectAltName=DNS:localhost,IP:127.0.0.1\n\
                 authorityInfoAccess=OCSP;URI:http://127.0.0.1:{ocsp_port}/\n"
            ),
        );
        // The served chain: leaf, then its issuer.
        let chain = [
            std::fs::read_to_string(p("server.pem")).unwrap(),
            std::fs::read_to_string(p("ca.pem")).unwrap(),
        ]
        .concat();
        std::fs::write(p("chain.pem"), chain).unwrap();
        pki.set_index(false);
        pki
    }

    fn set_index(&self, revoked: bool) {
        write_index(&self.p("index.txt"), SERIAL, revoked);
    }

    /// Debian's `openssl ocsp` answering on `port`, signing with the delegated certificate.
    fn responder(&self, port: u16) -> Responder {
        responder(
            port,
            &self.p("index.txt"),
            &self.p("ca.pem"),
            &self.p("responder.pem"),
            &self.p("responder.key"),
        )
    }
}

const CONFIG: &str = r#"
[gateway]
state_dir = "{state}"
access_log = "off"

[[listener]]
bind = "127.0.0.1:{port}"
tls = { cert = "CERT", key = "KEY", ocsp_refresh = "2s" }

[admin]
bind = "127.0.0.1:{admin}"
public_read = true

[[upstream]]
name = "iri"
backends = ["{backend}"]

[[route]]
protocol = "iri"
upstream = "iri"
"#;

fn start_gateway(pki: &Pki, backend: &Backend) -> Gateway {
    let config = CONFIG
        .replace("CERT", &pki.p("chain.pem").display().to_string())
        .replace("KEY", &pki.p("server.key").display().to_string());
    Gateway::start(&config, &backend.url())
}

fn s_client(port: u16, ca: &Path) -> String {
    s_client_status(port, "localhost", ca)
}

fn ocsp_status(gw: &Gateway) -> serde_json::Value {
    let (code, body) = gw.admin("GET", "/status");
    assert_eq!(code, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["ocsp"][0].clone()
}

/// Polls /status until `ok` holds for the OCSP entry (60 s, for loaded machines).
fn wait_ocsp(
    gw: &Gateway,
    what: &str,
    ok: impl Fn(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let s = ocsp_status(gw);
        if ok(&s) {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "waiting for {what}; ocsp status {s}; stderr:\n{}",
            gw.stderr()
        );
        thread::sleep(Duration::from_millis(200));
    }
}

fn https_ok(port: u16, ca: &Path) {
    let (code, body) = curl(&[
        "-H",
        "X-IOTA-API-Version: 1",
        "--data-binary",
        r#"{"command":"getNodeInfo"}"#,
        "--cacert",
        &ca.display().to_string(),
        &format!("https://localhost:{port}/"),
    ]);
    assert_eq!(code, 200, "{body}");
}

#[test]
fn staple_good_then_revoked() {
    let backend = Backend::start();
    let dir = tempfile::tempdir().unwrap();
    let ocsp_port = free_port();
    let pki = Pki::new(dir.path(), ocsp_port);
    let _responder = pki.responder(ocsp_port);
    let gw = start_gateway(&pki, &backend);
    let s = wait_ocsp(&gw, "a good staple", |s| s["state"] == "good");
    assert_eq!(s["stapled"], true);
    assert_eq!(s["responder"], format!("http://127.0.0.1:{ocsp_port}/"));
    assert!(s["next_update"].is_string(), "{s}");
    let out = s_client(gw.port, &pki.p("ca.pem"));
    assert!(out.contains("OCSP Response Status: successful"), "{out}");
    assert!(out.contains("Cert Status: good"), "{out}");
    assert_eq!(
        gw.metric(
            "nodeward_ocsp_stapled{listener=\"127.0.0.1:PORT\"}"
                .replace("PORT", &gw.port.to_string())
                .as_str()
        ),
        1.0
    );
    https_ok(gw.port, &pki.p("ca.pem"));

    pki.set_index(true);
    let s = wait_ocsp(&gw, "revoked", |s| s["state"] == "revoked");
    assert_eq!(s["stapled"], false);
    assert!(s["revoked_at"].is_string(), "{s}");
    let out = s_client(gw.port, &pki.p("ca.pem"));
    assert!(out.contains("OCSP response: no response sent"), "{out}");
    assert!(!out.contains("Cert Status"), "{out}");
    let metrics = gw.metrics();
    assert!(
        metrics.contains(&format!(
            "nodeward_ocsp_certificate_revoked{{listener=\"127.0.0.1:{}\"}} 1",
            gw.port
        )),
        "{metrics}"
    );
    assert!(gw.stderr().contains("REVOKED"), "{}", gw.stderr());
    // The listener keeps serving.
    https_ok(gw.port, &pki.p("ca.pem"));
}

#[test]
fn responder_down_then_up() {
    let backend = Backend::start();
    let dir = tempfile::tempdir().unwrap();
    let ocsp_port = free_port();
    let pki = Pki::new(dir.path(), ocsp_port);
    let gw = start_gateway(&pki, &backend);
    let s = wait_ocsp(&gw, "a fetch error", |s| s["last_error"].is_string());
    assert_eq!(s["stapled"], false);
    assert_eq!(s["state"], "error");
    let err = s["last_error"].as_str().unwrap();
    assert!(
        err.contains(&format!("127.0.0.1:{ocsp_port}")) && err.contains("connect"),
        "{err}"
    );
    let out = s_client(gw.port, &pki.p("ca.pem"));
    assert!(out.contains("OCSP response: no response sent"), "{out}");
    https_ok(gw.port, &pki.p("ca.pem"));

    // The responder comes up: the retry (capped at ocsp_refresh) staples.
    let _responder = pki.responder(ocsp_port);
    wait_ocsp(&gw, "a good staple", |s| s["state"] == "good");
    let out = s_client(gw.port, &pki.p("ca.pem"));
    assert!(out.contains("Cert Status: good"), "{out}");
}
