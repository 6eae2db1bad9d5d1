//! Test servers and helpers for the `scan_*` and `check_*` end-to-end tests.
//! Every server listens on 127.0.0.1 on a port the OS picks and stops when dropped.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// The nodeward binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_nodeward"))
}

/// Runs nodeward with `args`, failing the test if it takes longer than `limit`.
pub fn run(args: &[&str], limit: Duration) -> Output {
    let start = Instant::now();
    let out = Command::new(bin())
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("run nodeward");
    let took = start.elapsed();
    assert!(
        took < limit,
        "nodeward {args:?} took {took:?} (limit {limit:?})"
    );
    out
}

/// Runs nodeward and parses its stdout as JSON.
pub fn run_json(args: &[&str], limit: Duration) -> (i32, serde_json::Value) {
    let out = run(args, limit);
    let text = String::from_utf8_lossy(&out.stdout);
    let v = serde_json::from_str(&text).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): stdout={text} stderr={}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), v)
}

/// The finding with `id` in a report.
pub fn finding<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|x| x["id"] == id))
        .unwrap_or_else(|| panic!("no finding {id} in {report:#}"))
}

/// A status line and exit code of `nodeward check ...`.
pub fn check(args: &[&str], limit: Duration) -> (i32, String) {
    let mut full = vec!["check"];
    full.extend_from_slice(args);
    let out = run(&full, limit);
    let line = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.code().unwrap_or(-1), line)
}

thread_local! {
    static TLS_BIND: std::cell::RefCell<&'static str> = const { std::cell::RefCell::new("127.0.0.1:0") };
}

/// Where the next [`TlsServer`] on this thread listens (default `127.0.0.1:0`).
pub fn set_tls_bind(addr: &'static str) {
    TLS_BIND.with(|b| *b.borrow_mut() = addr);
}

fn bind_addr() -> &'static str {
    TLS_BIND.with(|b| *b.borrow())
}

/// A free TCP port on 127.0.0.1 (bound then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

// ---------------------------------------------------------------------------
// Certificates

/// PEM files for one test certificate set.
pub struct CertFiles {
    pub dir: tempfile::TempDir,
}

impl CertFiles {
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
    pub fn read(&self, name: &str) -> String {
        std::fs::read_to_string(self.path(name)).unwrap()
    }
}

/// A certificate and key in PEM.
#[derive(Clone)]
pub struct Leaf {
    pub cert_pem: String,
    pub key_pem: String,
    pub chain_pem: String,
}

/// A test CA (ECDSA P-256) that issues leaves.
pub struct TestCa {
    key: rcgen::KeyPair,
    cert: rcgen::Certificate,
}

/// Midnight UTC `days` from today, as rcgen wants it.
fn ymd_from_now(days: i64) -> (i32, u8, u8) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64;
    // Civil date from days since the epoch (Howard Hinnant's algorithm).
    let z = now.div_euclid(86_400) + days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y as i32, m as u8, d as u8)
}

macro_rules! days_from_now {
    ($d:expr) => {{
        let (y, m, d) = ymd_from_now($d);
        rcgen::date_time_ymd(y, m, d)
    }};
}

impl TestCa {
    pub fn new() -> Self {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(rcgen::DnType::CommonName, "nodeward test CA");
        params.not_before = days_from_now!(-30);
        params.not_after = days_from_now!(3650);
        let cert = params.self_signed(&key).unwrap();
        TestCa { key, cert }
    }

    pub fn pem(&self) -> String {
        self.cert.pem()
    }

    /// A leaf for `names`, valid from `from_days` to `to_days` relative to now.
    pub fn leaf(&self, names: &[&str], from_days: i64, to_days: i64) -> Leaf {
        let key = rcgen::KeyPair::generate().unwrap();
        let mut params =
            rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
                .unwrap();
        params.distinguished_name.push(
            rcgen::DnType::CommonName,
            names.first().copied().unwrap_or("leaf"),
        );
        params.not_before = days_from_now!(from_days);
        params.not_after = days_from_now!(to_days);
        let cert = params.signed_by(&key, &self.cert, &self.key).unwrap();
        Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
            chain_pem: format!("{}{}", cert.pem(), self.cert.pem()),
        }
    }
}

/// A self-signed leaf for `names`.
pub fn self_signed(names: &[&str]) -> Leaf {
    let key = rcgen::KeyPair::generate().unwrap();
    let params =
        rcgen::CertificateParams::new(names.iter().map(|s| s.to_string()).collect::<Vec<_>>())
            .unwrap();
    let cert = params.self_signed(&key).unwrap();
    Leaf {
        cert_pem: cert.pem(),
        key_pem: key.serialize_pem(),
        chain_pem: cert.pem(),
    }
}

/// Writes `content` to `dir/name` and returns the path.
pub fn write(dir: &Path, name: &str, content: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, content).unwrap();
    p
}

/// Runs openssl with `args` in `dir`, panicking with its stderr on failure.
pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA and an RSA leaf of `bits` made with openssl, for openssl s_server.
pub fn openssl_pki(dir: &std::path::Path, bits: &str) {
    let d = |a: &[&str]| openssl(dir, a);
    d(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "30",
        "-subj",
        "/CN=nodeward test RSA CA",
    ]);
    d(&[
        "req",
        "-newkey",
        &format!("rsa:{bits}"),
        "-nodes",
        "-keyout",
        "leaf.key",
        "-out",
        "leaf.csr",
        "-subj",
        "/CN=localhost",
    ]);
    write(
        dir,
        "ext.cnf",
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n",
    );
    d(&[
        "x509",
        "-req",
        "-in",
        "leaf.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "leaf.pem",
        "-days",
        "20",
        "-extfile",
        "ext.cnf",
    ]);
}

// ---------------------------------------------------------------------------
// A rustls HTTPS server that answers every request with fixed headers.

pub struct TlsServer {
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl TlsServer {
    /// Serves `leaf` (TLS 1.2 and 1.3, rustls defaults) and answers `200` with `headers`.
    pub fn start(leaf: &Leaf, headers: &[(&str, &str)]) -> Self {
        Self::start_with(leaf, headers, "ok", Vec::new(), Vec::new())
    }

    /// Like [`TlsServer::start`], also stapling `ocsp` (when not empty) and offering `alpn`.
    pub fn start_with(
        leaf: &Leaf,
        headers: &[(&str, &str)],
        body: &str,
        ocsp: Vec<u8>,
        alpn: Vec<Vec<u8>>,
    ) -> Self {
        let certs: Vec<rustls::pki_types::CertificateDer<'static>> =
            rustls_pemfile::certs(&mut leaf.chain_pem.as_bytes())
                .collect::<Result<_, _>>()
                .unwrap();
        let key = rustls_pemfile::private_key(&mut leaf.key_pem.as_bytes())
            .unwrap()
            .unwrap();
        let config = rustls::ServerConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert_with_ocsp(certs, key, ocsp)
        .unwrap();
        let mut config = config;
        config.alpn_protocols = alpn;
        let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
        let mut response = format!(
            "HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n",
            body.len()
        );
        for (n, v) in headers {
            response.push_str(&format!("{n}: {v}\r\n"));
        }
        response.push_str("\r\n");
        response.push_str(body);
        let listener = TcpListener::bind(bind_addr()).unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener).unwrap();
                while !stop2.load(Ordering::Relaxed) {
                    let accepted =
                        tokio::time::timeout(Duration::from_millis(100), listener.accept()).await;
                    let Ok(Ok((tcp, _))) = accepted else { continue };
                    let acceptor = acceptor.clone();
                    let response = response.clone();
                    tokio::spawn(async move {
                        use tokio::io::{AsyncReadExt, AsyncWriteExt};
                        let Ok(Ok(mut tls)) =
                            tokio::time::timeout(Duration::from_secs(5), acceptor.accept(tcp))
                                .await
                        else {
                            return;
                        };
                        let mut buf = vec![0u8; 4096];
                        let _ =
                            tokio::time::timeout(Duration::from_secs(2), tls.read(&mut buf)).await;
                        let _ = tls.write_all(response.as_bytes()).await;
                        let _ = tls.shutdown().await;
                    });
                }
            });
        });
        TlsServer {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for TlsServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------
// A plain TCP server with a chosen behaviour.

/// What a [`RawServer`] does with each connection.
#[derive(Clone)]
pub enum Behaviour {
    /// Read the request, write these bytes, close.
    Respond(Vec<u8>),
    /// Read the request, wait, then respond.
    SlowRespond(Duration, Vec<u8>),
    /// Accept and never send anything (until the test ends).
    Hang,
    /// Send bytes that are not the expected protocol, then close.
    Garbage,
    /// Send an HTTP status line, then header lines forever.
    EndlessHeader,
    /// Read a little of the request, then close without a word.
    CloseAfterRead,
    /// Answer `Respond` for requests whose first line contains the key, else the default.
    Route(Vec<(String, Vec<u8>)>, Vec<u8>),
}

pub struct RawServer {
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// An HTTP/1.1 response with headers and body.
pub fn http_response(status: &str, headers: &[(&str, &str)], body: &str) -> Vec<u8> {
    let mut r = format!(
        "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (n, v) in headers {
        r.push_str(&format!("{n}: {v}\r\n"));
    }
    r.push_str("\r\n");
    r.push_str(body);
    r.into_bytes()
}

fn read_request(s: &mut TcpStream) -> String {
    let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while let Ok(n) = s.read(&mut chunk) {
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let text = String::from_utf8_lossy(&buf).to_string();
            let cl = text
                .lines()
                .find_map(|l| {
                    l.to_ascii_lowercase()
                        .strip_prefix("content-length:")
                        .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                })
                .unwrap_or(0);
            if buf.len() >= end + 4 + cl {
                break;
            }
        }
        if buf.len() > 1 << 20 {
            break;
        }
    }
    String::from_utf8_lossy(&buf).to_string()
}

impl RawServer {
    pub fn start(behaviour: Behaviour) -> Self {
        Self::start_on("127.0.0.1:0", behaviour)
    }

    /// Like [`RawServer::start`] on another local address (`[::1]:0`).
    pub fn start_on(addr: &str, behaviour: Behaviour) -> Self {
        let listener = TcpListener::bind(addr).unwrap();
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut workers = Vec::new();
            while !stop2.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut s, _)) => {
                        let _ = s.set_nonblocking(false);
                        let b = behaviour.clone();
                        let stop3 = stop2.clone();
                        workers.push(std::thread::spawn(move || serve(&mut s, b, stop3)));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(10)),
                }
            }
            for w in workers {
                let _ = w.join();
            }
        });
        RawServer {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

fn serve(s: &mut TcpStream, b: Behaviour, stop: Arc<AtomicBool>) {
    match b {
        Behaviour::Respond(bytes) => {
            read_request(s);
            let _ = s.write_all(&bytes);
        }
        Behaviour::SlowRespond(d, bytes) => {
            read_request(s);
            std::thread::sleep(d);
            let _ = s.write_all(&bytes);
        }
        Behaviour::Hang => {
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        Behaviour::Garbage => {
            let _ = s.write_all(b"\x00\xffgarbage that is neither TLS nor HTTP\r\n\x01\x02");
        }
        Behaviour::EndlessHeader => {
            read_request(s);
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\n");
            let line =
                b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n";
            while !stop.load(Ordering::Relaxed) {
                if s.write_all(line).is_err() {
                    break;
                }
            }
        }
        Behaviour::CloseAfterRead => {
            let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
            let mut b = [0u8; 16];
            let _ = s.read(&mut b);
        }
        Behaviour::Route(routes, default) => {
            let req = read_request(s);
            let body = routes
                .iter()
                .find(|(k, _)| req.contains(k.as_str()))
                .map(|(_, v)| v.clone())
                .unwrap_or(default);
            let _ = s.write_all(&body);
        }
    }
}

impl Drop for RawServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

// ---------------------------------------------------------------------------
// openssl s_server

pub struct OpenSslServer {
    pub port: u16,
    child: Child,
}

impl OpenSslServer {
    /// Starts `openssl s_server -www` with extra args (protocol and cipher options).
    pub fn start(cert: &Path, key: &Path, extra: &[&str]) -> Self {
        for _ in 0..5 {
            let port = free_port();
            let accept = format!("127.0.0.1:{port}");
            let mut cmd = Command::new("openssl");
            cmd.args(["s_server", "-quiet", "-www", "-accept", &accept, "-cert"])
                .arg(cert)
                .arg("-key")
                .arg(key)
                .args(extra)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            let mut child = cmd.spawn().expect("openssl s_server");
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(5) {
                if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                    return OpenSslServer { port, child };
                }
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("openssl s_server did not start");
    }
}

impl Drop for OpenSslServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------
// A test SNTP responder.

/// How the SNTP responder answers.
#[derive(Clone, Copy)]
pub enum NtpMode {
    /// A proper server reply whose clock is `offset` seconds ahead.
    Offset(f64),
    /// A reply that does not echo our transmit time.
    WrongOrigin,
    /// Never reply.
    Silent,
}

pub struct NtpServer {
    pub port: u16,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl NtpServer {
    pub fn start(mode: NtpMode) -> Self {
        let sock = UdpSocket::bind("127.0.0.1:0").unwrap();
        sock.set_read_timeout(Some(Duration::from_millis(50)))
            .unwrap();
        let port = sock.local_addr().unwrap().port();
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let thread = std::thread::spawn(move || {
            let mut buf = [0u8; 512];
            while !stop2.load(Ordering::Relaxed) {
                let Ok((n, peer)) = sock.recv_from(&mut buf) else {
                    continue;
                };
                if n < 48 {
                    continue;
                }
                let now = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .unwrap()
                    .as_secs_f64()
                    + 2_208_988_800.0;
                let mut reply = [0u8; 48];
                reply[0] = 0b00_100_100; // LI 0, v4, mode 4
                reply[1] = 2;
                reply[12..16].copy_from_slice(b"TEST");
                match mode {
                    NtpMode::Silent => continue,
                    NtpMode::WrongOrigin => reply[24..32].copy_from_slice(&[9; 8]),
                    NtpMode::Offset(_) => reply[24..32].copy_from_slice(&buf[40..48]),
                }
                let off = if let NtpMode::Offset(o) = mode {
                    o
                } else {
                    0.0
                };
                let ts = |t: f64| {
                    let mut b = [0u8; 8];
                    b[..4].copy_from_slice(&(t.trunc() as u32).to_be_bytes());
                    b[4..].copy_from_slice(&((t.fract() * 4_294_967_296.0) as u32).to_be_bytes());
                    b
                };
                reply[32..40].copy_from_slice(&ts(now + off));
                reply[40..48].copy_from_slice(&ts(now + off));
                let _ = sock.send_to(&reply, peer);
            }
        });
        NtpServer {
            port,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for NtpServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
