//! `nodeward scan --only tls` vulnerability probes (TLS-012 … TLS-019) against
//! real servers on 127.0.0.1, each verdict compared with testssl.sh's on the
//! same server: Debian's `openssl s_server` for what OpenSSL 3 can still show
//! (client-initiated renegotiation, a 192-bit ECDHE group, 1024-bit DH,
//! downgrade protection), and a deliberately weak server written here for what
//! no Debian package can (Heartbleed needs OpenSSL 1.0.1–1.0.1f; Debian's
//! OpenSSL 3 has neither SSLv3 nor zlib compression; every current library
//! sends renegotiation_info). That server speaks only as far as ServerHelloDone.

mod common_scan;

use common_scan::*;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(60);

fn scan_tls(port: u16) -> serde_json::Value {
    let target = format!("127.0.0.1:{port}");
    let (_, r) = run_json(
        &[
            "scan",
            &target,
            "--only",
            "tls",
            "--format",
            "json",
            "--timeout",
            "3s",
        ],
        LIMIT,
    );
    r
}

/// testssl.sh's findings (`id` → (`severity`, `finding`)) for `checks` on `port`.
fn testssl(port: u16, checks: &[&str]) -> Vec<(String, String, String)> {
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("testssl.json");
    let out = Command::new("testssl")
        .args([
            "--quiet",
            "--color",
            "0",
            "--warnings",
            "off",
            "--nodns",
            "none",
        ])
        .args(checks)
        .arg("--jsonfile")
        .arg(&json)
        .arg(format!("127.0.0.1:{port}"))
        .output()
        .expect("testssl (Debian package testssl.sh)");
    let text = std::fs::read_to_string(&json)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    let v: Vec<serde_json::Value> = serde_json::from_str(&text).unwrap();
    v.iter()
        .map(|f| {
            (
                f["id"].as_str().unwrap_or("").to_string(),
                f["severity"].as_str().unwrap_or("").to_string(),
                f["finding"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// testssl's (severity, finding) for `id`.
fn ts<'a>(found: &'a [(String, String, String)], id: &str) -> (&'a str, &'a str) {
    found
        .iter()
        .find(|f| f.0 == id)
        .map(|f| (f.1.as_str(), f.2.as_str()))
        .unwrap_or_else(|| panic!("testssl has no {id}: {found:?}"))
}

fn status<'a>(r: &'a serde_json::Value, id: &str) -> &'a str {
    finding(r, id)["status"].as_str().unwrap()
}

fn caps(r: &serde_json::Value) -> String {
    r["parts"]["tls"]["caps"].to_string()
}

const DH1024: &str = "-----BEGIN DH PARAMETERS-----
MIGHAoGBAJ5LQMe7r4o6vhaVD2XlxD3I1kqiEswv1my/tiGFoP9ROC8Yz5UlQ3/x
n/DYX+6SV0qX4RE0UqvPwZQ0t00D5cCR5SFEPjmIaMsT6OFX2OCAcKdUqX/4RiAo
KkCLOj9M6p3fa0w6NNUpgWtitCNyeM/ExwtEBtp1j/bVXCeiYRL3AgEC
-----END DH PARAMETERS-----
";

#[test]
fn weak_openssl_renegotiation_curves_and_dh_match_testssl() {
    let dir = tempfile::tempdir().unwrap();
    openssl_pki(dir.path(), "2048");
    let dh = write(dir.path(), "dh1024.pem", DH1024);
    let server = OpenSslServer::start(
        &dir.path().join("leaf.pem"),
        &dir.path().join("leaf.key"),
        &[
            "-min_protocol",
            "TLSv1",
            "-max_protocol",
            "TLSv1.2",
            "-client_renegotiation",
            "-groups",
            "P-192:P-256:X25519",
            "-dhparam",
            dh.to_str().unwrap(),
            "-cipher",
            "ECDHE:DHE:AES:@SECLEVEL=0",
        ],
    );
    let r = scan_tls(server.port);
    let v = &r["parts"]["tls"]["vulnerabilities"];
    assert_eq!(status(&r, "TLS-012"), "pass", "{r:#}");
    assert_eq!(
        status(&r, "TLS-013"),
        "warn",
        "renegotiated on request: {v}"
    );
    assert_eq!(status(&r, "TLS-014"), "pass");
    assert_eq!(status(&r, "TLS-015"), "pass");
    assert_eq!(status(&r, "TLS-016"), "pass");
    // TLS 1.1 with the SCSV while TLS 1.2 works: inappropriate_fallback.
    assert_eq!(status(&r, "TLS-017"), "pass", "{v}");
    assert_eq!(status(&r, "TLS-018"), "fail", "{v}");
    assert!(finding(&r, "TLS-018")["evidence"]
        .as_str()
        .unwrap()
        .contains("secp192r1"));
    assert_eq!(status(&r, "TLS-019"), "fail");
    assert!(caps(&r).contains("ECDHE group of 192 bits"), "{}", caps(&r));
    assert!(caps(&r).contains("weak DH parameters (1024 bits)"));

    let t = testssl(server.port, &["-R", "-C", "-H", "-Z"]);
    assert_eq!(ts(&t, "secure_renego").0, "OK", "{t:?}");
    assert!(
        ts(&t, "secure_client_renego").1.contains("VULNERABLE"),
        "{t:?}"
    );
    assert_eq!(ts(&t, "CRIME_TLS").0, "OK");
    assert_eq!(ts(&t, "heartbleed").0, "OK");
    assert_eq!(ts(&t, "fallback_SCSV").0, "OK", "{t:?}");
    // testssl's curve list (-f) takes minutes; a real client asks for each
    // group alone instead: `openssl s_client -groups G` completes or not.
    let ours: Vec<&str> = v["ec_groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g.as_str().unwrap())
        .collect();
    for (openssl_name, mine) in [
        ("P-192", "secp192r1"),
        ("P-256", "secp256r1"),
        ("X25519", "x25519"),
        ("P-384", "secp384r1"),
    ] {
        let out = Command::new("openssl")
            .args(["s_client", "-connect"])
            .arg(format!("127.0.0.1:{}", server.port))
            .args([
                "-tls1_2",
                "-groups",
                openssl_name,
                "-cipher",
                "ECDHE:@SECLEVEL=0",
            ])
            .stdin(std::process::Stdio::null())
            .output()
            .expect("openssl s_client");
        let text = String::from_utf8_lossy(&out.stdout);
        let completed =
            text.contains("Server Temp Key: ECDH") || text.contains("Server Temp Key: X25519");
        assert_eq!(
            completed,
            ours.contains(&mine),
            "{openssl_name}: s_client said {text}; ours {ours:?}"
        );
    }
}

#[test]
fn default_openssl_refuses_renegotiation_and_fallback_like_testssl() {
    let dir = tempfile::tempdir().unwrap();
    openssl_pki(dir.path(), "2048");
    // OpenSSL 3 defaults: TLS 1.2 and 1.3, no client-initiated renegotiation.
    let server = OpenSslServer::start(
        &dir.path().join("leaf.pem"),
        &dir.path().join("leaf.key"),
        &[],
    );
    let r = scan_tls(server.port);
    for id in [
        "TLS-012", "TLS-013", "TLS-014", "TLS-015", "TLS-016", "TLS-017", "TLS-018", "TLS-019",
    ] {
        assert_eq!(status(&r, id), "pass", "{id}: {r:#}");
    }
    let v = &r["parts"]["tls"]["vulnerabilities"];
    assert_eq!(v["client_renegotiation"], false);
    assert_eq!(v["fallback_scsv"], "supported");
    // OpenSSL 3's automatic DHE group is RFC 3526 group 14 (2048 bits): shared, but large.
    assert_eq!(v["dh_common_prime"], "RFC 2409/3526 MODP group", "{v}");
    assert!(finding(&r, "TLS-019")["evidence"]
        .as_str()
        .unwrap()
        .contains("2048 bits; a widely shared prime"));
    let t = testssl(server.port, &["-R", "-Z", "-J"]);
    assert_eq!(ts(&t, "secure_renego").0, "OK", "{t:?}");
    assert_eq!(ts(&t, "secure_client_renego").0, "OK", "{t:?}");
    assert_eq!(ts(&t, "fallback_SCSV").0, "OK", "{t:?}");
    assert!(
        ts(&t, "LOGJAM-common_primes").1.contains("RFC3526"),
        "{t:?}"
    );
    assert_eq!(ts(&t, "LOGJAM").0, "OK", "{t:?}");
}

// ---------------------------------------------------------------------------
// A deliberately weak TLS server: answers ClientHellos up to ServerHelloDone.

#[derive(Clone, Copy, Default)]
struct Weakness {
    /// Accept SSLv3 hellos (with TLS_RSA_WITH_AES_128_CBC_SHA).
    sslv3: bool,
    /// Pick DEFLATE when offered.
    deflate: bool,
    /// Leave renegotiation_info out of the ServerHello.
    no_reneg_info: bool,
    /// Offer heartbeats.
    heartbeat: bool,
    /// Answer a heartbeat with as many bytes as it claims (Heartbleed).
    bleed: bool,
}

struct WeakServer {
    port: u16,
    stop: Arc<AtomicBool>,
}

impl Drop for WeakServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port));
    }
}

impl WeakServer {
    fn start(w: Weakness) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let key = rcgen::KeyPair::generate().unwrap();
        let cert = rcgen::CertificateParams::new(vec!["localhost".to_string()])
            .unwrap()
            .self_signed(&key)
            .unwrap()
            .der()
            .to_vec();
        let flag = stop.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if flag.load(Ordering::SeqCst) {
                    break;
                }
                if let Ok(c) = conn {
                    let cert = cert.clone();
                    std::thread::spawn(move || serve(c, w, &cert));
                }
            }
        });
        WeakServer { port, stop }
    }
}

fn read_record(c: &mut TcpStream) -> Option<(u8, [u8; 2], Vec<u8>)> {
    let mut head = [0u8; 5];
    c.read_exact(&mut head).ok()?;
    let len = u16::from_be_bytes([head[3], head[4]]) as usize;
    if len > 18432 {
        return None;
    }
    let mut body = vec![0u8; len];
    c.read_exact(&mut body).ok()?;
    Some((head[0], [head[1], head[2]], body))
}

fn rec(ctype: u8, version: u16, body: &[u8]) -> Vec<u8> {
    let mut r = vec![ctype];
    r.extend_from_slice(&version.to_be_bytes());
    r.extend_from_slice(&(body.len() as u16).to_be_bytes());
    r.extend_from_slice(body);
    r
}

fn hs(mtype: u8, body: &[u8]) -> Vec<u8> {
    let mut m = vec![mtype];
    m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    m.extend_from_slice(body);
    m
}

/// (client version, suites, compression methods, extension types) of a ClientHello.
type Hello = (u16, Vec<u16>, Vec<u8>, Vec<u16>);

/// Parses a ClientHello body (after the handshake header).
fn parse_hello(b: &[u8]) -> Option<Hello> {
    let version = u16::from_be_bytes([*b.first()?, *b.get(1)?]);
    let mut p = 34;
    p += 1 + *b.get(p)? as usize;
    let sl = u16::from_be_bytes([*b.get(p)?, *b.get(p + 1)?]) as usize;
    let suites = b
        .get(p + 2..p + 2 + sl)?
        .chunks(2)
        .map(|c| u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]))
        .collect();
    p += 2 + sl;
    let cl = *b.get(p)? as usize;
    let comp = b.get(p + 1..p + 1 + cl)?.to_vec();
    p += 1 + cl;
    let mut exts = Vec::new();
    if let (Some(x), Some(y)) = (b.get(p), b.get(p + 1)) {
        let el = u16::from_be_bytes([*x, *y]) as usize;
        let list = b.get(p + 2..p + 2 + el)?;
        let mut q = 0;
        while q + 4 <= list.len() {
            exts.push(u16::from_be_bytes([list[q], list[q + 1]]));
            q += 4 + u16::from_be_bytes([list[q + 2], list[q + 3]]) as usize;
        }
    }
    Some((version, suites, comp, exts))
}

fn serve(mut c: TcpStream, w: Weakness, cert: &[u8]) {
    let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
    let Some((22, _, body)) = read_record(&mut c) else {
        return;
    };
    let Some((client_version, suites, comp, exts)) = body
        .get(4..)
        .filter(|_| body.first() == Some(&1))
        .and_then(parse_hello)
    else {
        return;
    };
    let version = match client_version {
        0x0300 if w.sslv3 => 0x0300,
        v if v >= 0x0303 => 0x0303,
        _ => {
            let _ = c.write_all(&rec(21, 0x0301, &[2, 70]));
            return;
        }
    };
    let want: &[u16] = if version == 0x0300 {
        &[0x002F]
    } else {
        &[0x009C, 0x002F]
    };
    let Some(suite) = want.iter().copied().find(|s| suites.contains(s)) else {
        let _ = c.write_all(&rec(21, version, &[2, 40]));
        return;
    };
    let mut sh = version.to_be_bytes().to_vec();
    sh.extend_from_slice(&[0x42; 32]);
    sh.push(0);
    sh.extend_from_slice(&suite.to_be_bytes());
    sh.push(if w.deflate && comp.contains(&1) { 1 } else { 0 });
    let mut ext = Vec::new();
    if !w.no_reneg_info && (suites.contains(&0x00FF) || exts.contains(&0xff01)) {
        ext.extend_from_slice(&[0xff, 0x01, 0, 1, 0]);
    }
    if w.heartbeat && exts.contains(&0x000f) {
        ext.extend_from_slice(&[0, 0x0f, 0, 1, 1]);
    }
    if version != 0x0300 {
        sh.extend_from_slice(&(ext.len() as u16).to_be_bytes());
        sh.extend_from_slice(&ext);
    }
    let mut certs = Vec::new();
    certs.extend_from_slice(&(cert.len() as u32).to_be_bytes()[1..]);
    certs.extend_from_slice(cert);
    let mut cm = (certs.len() as u32).to_be_bytes()[1..].to_vec();
    cm.extend_from_slice(&certs);
    let mut flight = hs(2, &sh);
    flight.extend(hs(11, &cm));
    flight.extend(hs(14, &[]));
    if c.write_all(&rec(22, version, &flight)).is_err() {
        return;
    }
    // After the flight: only heartbeats get an answer; anything else ends it.
    while let Some((ctype, _, body)) = read_record(&mut c) {
        if ctype != 24 || !w.heartbeat {
            return;
        }
        let claimed = u16::from_be_bytes([*body.get(1).unwrap_or(&0), *body.get(2).unwrap_or(&0)]);
        if !w.bleed {
            continue; // RFC 6520: silently discard a heartbeat whose length is wrong
        }
        let mut answer = vec![2];
        answer.extend_from_slice(&claimed.to_be_bytes());
        // "Process memory": what a real server would leak.
        answer.extend(std::iter::repeat_n(0x5a, claimed.min(16000) as usize + 16));
        if c.write_all(&rec(24, version, &answer)).is_err() {
            return;
        }
    }
}

#[test]
fn heartbleed_is_found_like_testssl_and_fails_the_grade() {
    let vulnerable = WeakServer::start(Weakness {
        heartbeat: true,
        bleed: true,
        ..Default::default()
    });
    let r = scan_tls(vulnerable.port);
    let f = finding(&r, "TLS-015");
    assert_eq!(f["status"], "fail", "{r:#}");
    assert_eq!(f["severity"], "critical");
    assert!(
        caps(&r).contains("F: vulnerable to Heartbleed"),
        "{}",
        caps(&r)
    );
    assert_eq!(r["parts"]["tls"]["grade_if_trusted"], "F");
    let t = testssl(vulnerable.port, &["-H"]);
    assert!(ts(&t, "heartbleed").1.contains("VULNERABLE"), "{t:?}");
}

#[test]
fn a_heartbeat_server_that_drops_the_overlong_request_passes_like_testssl() {
    // Heartbeats on but the over-long request dropped: not vulnerable, for both.
    let patched = WeakServer::start(Weakness {
        heartbeat: true,
        ..Default::default()
    });
    let start = std::time::Instant::now();
    let r = scan_tls(patched.port);
    assert_eq!(status(&r, "TLS-015"), "pass", "{r:#}");
    assert_eq!(
        r["parts"]["tls"]["vulnerabilities"]["heartbleed"],
        "not vulnerable"
    );
    assert!(start.elapsed() < Duration::from_secs(30));
    let t = testssl(patched.port, &["-H"]);
    assert_eq!(ts(&t, "heartbleed").0, "OK", "{t:?}");
}

#[test]
fn compression_missing_renegotiation_info_and_sslv3_cbc_match_testssl() {
    let server = WeakServer::start(Weakness {
        sslv3: true,
        deflate: true,
        no_reneg_info: true,
        ..Default::default()
    });
    let r = scan_tls(server.port);
    assert_eq!(status(&r, "TLS-012"), "fail", "{r:#}");
    assert_eq!(status(&r, "TLS-014"), "fail");
    let poodle = finding(&r, "TLS-016");
    assert_eq!(poodle["status"], "fail");
    assert!(poodle["evidence"]
        .as_str()
        .unwrap()
        .contains("TLS_RSA_WITH_AES_128_CBC_SHA"));
    let c = caps(&r);
    assert!(c.contains("C: TLS compression enabled (CRIME)"), "{c}");
    assert!(
        c.contains("C: SSLv3 accepted with CBC suites (POODLE)"),
        "{c}"
    );
    assert!(c.contains("A-: secure renegotiation"), "{c}");
    let t = testssl(server.port, &["-C", "-O"]);
    assert!(ts(&t, "CRIME_TLS").1.contains("VULNERABLE"), "{t:?}");
    assert!(ts(&t, "POODLE_SSL").1.contains("VULNERABLE"), "{t:?}");
}
