//! Test support for end-to-end tests of the gateway's node pools: starts the
//! scriptable fake node `nodeward-testnode` as a real separate process on
//! 127.0.0.1 (so a test can kill -9 it, restart it on the same port, and make it
//! lag, lie, go slow or fail), and talks to its control port with a tiny
//! std-only HTTP/1.1 client.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::thread;
use std::time::{Duration, Instant};

/// How long a node may take to print its listening lines.
const START_DEADLINE: Duration = Duration::from_secs(10);
/// Connect, read and write timeout of [`http`].
const HTTP_TIMEOUT: Duration = Duration::from_secs(5);

/// The `nodeward-testnode` binary: next to the test's `deps/` directory
/// (`target/<profile>/nodeward-testnode`), else `$NODEWARD_TESTNODE_BIN`.
pub fn bin() -> PathBuf {
    let beside = std::env::current_exe()
        .ok()
        .and_then(|exe| exe.parent().map(|deps| deps.join("../nodeward-testnode")));
    if let Some(p) = beside.filter(|p| p.is_file()) {
        return p;
    }
    if let Some(p) = std::env::var_os("NODEWARD_TESTNODE_BIN").map(PathBuf::from) {
        if p.is_file() {
            return p;
        }
    }
    panic!(
        "nodeward-testnode binary not found next to the test binary nor in \
         $NODEWARD_TESTNODE_BIN; run `cargo build --release -p nodeward-testnode` \
         (and run the tests with --release), or set NODEWARD_TESTNODE_BIN"
    );
}

/// A reply read by [`http`].
#[derive(Debug, Clone)]
pub struct HttpReply {
    /// Status code.
    pub status: u16,
    /// Headers in order, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body bytes (by Content-Length, else up to EOF).
    pub body: Vec<u8>,
}

impl HttpReply {
    /// The first header called `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as (lossy) text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON; panics with the body if it is not JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!("reply {} is not JSON ({e}): {:?}", self.status, self.text())
        })
    }
}

/// One plain HTTP/1.1 request with `Connection: close`, read to EOF, 5 s
/// timeouts. `body` is sent with `Content-Type: application/json` when not empty.
pub fn http(addr: SocketAddr, method: &str, path: &str, body: &[u8]) -> std::io::Result<HttpReply> {
    let mut s = TcpStream::connect_timeout(&addr, HTTP_TIMEOUT)?;
    s.set_read_timeout(Some(HTTP_TIMEOUT))?;
    s.set_write_timeout(Some(HTTP_TIMEOUT))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if !body.is_empty() || method == "POST" {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    let mut out = req.into_bytes();
    out.extend_from_slice(body);
    s.write_all(&out)?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    parse_reply(&raw)
}

fn parse_reply(raw: &[u8]) -> std::io::Result<HttpReply> {
    let bad = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_string());
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad(&format!("no complete HTTP head in {} bytes", raw.len())))?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| bad("bad status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let len = headers
        .iter()
        .find(|(k, _)| k == "content-length")
        .and_then(|(_, v)| v.parse::<usize>().ok());
    if let Some(n) = len {
        body.truncate(n);
    }
    Ok(HttpReply {
        status,
        headers,
        body,
    })
}

/// A running `nodeward-testnode` process; killed when dropped.
pub struct TestNode {
    /// The node API address (plain HTTP, or HTTPS for [`TestNode::start_tls`]).
    pub addr: SocketAddr,
    /// The plain-HTTP control address (`/_control`, `/_stats` only).
    pub control_addr: SocketAddr,
    /// The node's name (its `x-testnode` header).
    pub name: String,
    child: Child,
    tls: Option<(PathBuf, PathBuf, Option<PathBuf>)>,
}

impl TestNode {
    /// A plain-HTTP node on 127.0.0.1 on a port the OS picks.
    pub fn start(name: &str) -> TestNode {
        Self::start_on(name, 0)
    }

    /// A plain-HTTP node on 127.0.0.1:`port` (0 = any), e.g. to take over the
    /// address of a node that was killed.
    pub fn start_on(name: &str, port: u16) -> TestNode {
        Self::spawn(name, port, None)
    }

    /// An HTTPS node on 127.0.0.1 (any port) with `cert`/`key`; with `client_ca`
    /// it refuses handshakes without a client certificate signed by that CA.
    pub fn start_tls(name: &str, cert: &Path, key: &Path, client_ca: Option<&Path>) -> TestNode {
        let tls = (
            cert.to_path_buf(),
            key.to_path_buf(),
            client_ca.map(Path::to_path_buf),
        );
        Self::spawn(name, 0, Some(tls))
    }

    fn spawn(name: &str, port: u16, tls: Option<(PathBuf, PathBuf, Option<PathBuf>)>) -> TestNode {
        let (child, addr, control_addr) = launch(name, port, 0, tls.as_ref());
        TestNode {
            addr,
            control_addr,
            name: name.to_string(),
            child,
            tls,
        }
    }

    /// The node's base URL: `http://127.0.0.1:PORT`, or `https://localhost:PORT`
    /// for a TLS node (its certificate names localhost).
    pub fn url(&self) -> String {
        match self.tls {
            None => format!("http://127.0.0.1:{}", self.addr.port()),
            Some(_) => format!("https://localhost:{}", self.addr.port()),
        }
    }

    /// Merges `patch` into the node's state (`POST /_control`) and returns the
    /// whole new state. Panics if the node refuses it.
    pub fn control(&self, patch: serde_json::Value) -> serde_json::Value {
        let r = http(
            self.control_addr,
            "POST",
            "/_control",
            patch.to_string().as_bytes(),
        )
        .unwrap_or_else(|e| panic!("POST /_control to {}: {e}", self.name));
        assert_eq!(
            r.status,
            200,
            "POST /_control {patch} to {}: {}",
            self.name,
            r.text()
        );
        r.json()
    }

    /// The node's counters (`GET /_stats`): total, by_command, inflight,
    /// abandoned, connections.
    pub fn stats(&self) -> serde_json::Value {
        let r = http(self.control_addr, "GET", "/_stats", b"")
            .unwrap_or_else(|e| panic!("GET /_stats from {}: {e}", self.name));
        assert_eq!(
            r.status,
            200,
            "GET /_stats from {}: {}",
            self.name,
            r.text()
        );
        r.json()
    }

    /// Zeroes the node's counters (`POST /_stats/reset`).
    pub fn reset_stats(&self) {
        let r = http(self.control_addr, "POST", "/_stats/reset", b"")
            .unwrap_or_else(|e| panic!("POST /_stats/reset to {}: {e}", self.name));
        assert_eq!(
            r.status,
            200,
            "POST /_stats/reset to {}: {}",
            self.name,
            r.text()
        );
    }

    /// A plain-HTTP `POST /` of `body` straight to the node (not for TLS nodes).
    pub fn post(&self, body: &serde_json::Value) -> HttpReply {
        assert!(self.tls.is_none(), "TestNode::post is plain HTTP only");
        http(self.addr, "POST", "/", body.to_string().as_bytes())
            .unwrap_or_else(|e| panic!("POST / to {}: {e}", self.name))
    }

    /// Whether the process is still running.
    pub fn is_alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGKILLs the process and reaps it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Kills the node if it is alive and starts it again on the same ports,
    /// with the same name and TLS files (state and counters start fresh).
    pub fn restart(&mut self) {
        self.kill();
        let (child, addr, control_addr) = launch(
            &self.name,
            self.addr.port(),
            self.control_addr.port(),
            self.tls.as_ref(),
        );
        assert_eq!(
            (addr, control_addr),
            (self.addr, self.control_addr),
            "restarted node moved"
        );
        self.child = child;
    }
}

impl Drop for TestNode {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Starts the node process on the given ports (0 = any) and waits (at most
/// 10 s) for its two stdout lines; retries while it exits early, as it does
/// when a just-freed port is not yet free again.
fn launch(
    name: &str,
    port: u16,
    control_port: u16,
    tls: Option<&(PathBuf, PathBuf, Option<PathBuf>)>,
) -> (Child, SocketAddr, SocketAddr) {
    let bin = bin();
    let deadline = Instant::now() + START_DEADLINE;
    loop {
        let mut cmd = Command::new(&bin);
        cmd.arg("--listen")
            .arg(format!("127.0.0.1:{port}"))
            .arg("--name")
            .arg(name)
            .arg("--control-listen")
            .arg(format!("127.0.0.1:{control_port}"));
        if let Some((cert, key, ca)) = tls {
            cmd.arg("--tls-cert").arg(cert).arg("--tls-key").arg(key);
            if let Some(ca) = ca {
                cmd.arg("--client-ca").arg(ca);
            }
        }
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
        let lines = read_lines(&mut child);
        let first = expect_line(&mut child, &lines, deadline, name, "listening on ");
        let Some(addr) = first else {
            // It exited before listening (a just-freed port still busy?):
            // try again until the deadline.
            let status = child.wait().ok();
            if (port == 0 && control_port == 0) || Instant::now() >= deadline {
                panic!("nodeward-testnode {name} exited before listening ({status:?}); see its stderr above");
            }
            thread::sleep(Duration::from_millis(100));
            continue;
        };
        let control_addr = expect_line(&mut child, &lines, deadline, name, "control on ")
            .unwrap_or_else(|| {
                panic!("nodeward-testnode {name} exited before printing `control on`")
            });
        return (child, addr, control_addr);
    }
}

/// Spawns a thread that forwards the child's stdout lines and keeps draining it
/// afterwards, so the node never blocks on a full pipe.
fn read_lines(child: &mut Child) -> mpsc::Receiver<String> {
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line);
        }
    });
    rx
}

/// The address on the next stdout line, which must start with `prefix`; `None`
/// if the process closed stdout (exited) first. Panics at the deadline.
fn expect_line(
    child: &mut Child,
    lines: &mpsc::Receiver<String>,
    deadline: Instant,
    name: &str,
    prefix: &str,
) -> Option<SocketAddr> {
    let left = deadline.saturating_duration_since(Instant::now());
    match lines.recv_timeout(left) {
        Ok(line) => {
            let addr = line
                .strip_prefix(prefix)
                .and_then(|a| a.trim().parse().ok());
            if addr.is_none() {
                let _ = child.kill();
                let _ = child.wait();
                panic!("nodeward-testnode {name}: expected `{prefix}IP:PORT`, got {line:?}");
            }
            addr
        }
        Err(RecvTimeoutError::Disconnected) => None,
        Err(RecvTimeoutError::Timeout) => {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "nodeward-testnode {name} did not print `{prefix}IP:PORT` within {}s",
                START_DEADLINE.as_secs()
            );
        }
    }
}

/// Runs the openssl CLI in `dir` (arguments as a list, no shell).
pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A CA (`ca.pem`), a server certificate for localhost (`server.pem`/`.key`),
/// a client certificate (`client.pem`/`.key`) and an unrelated CA
/// (`other-ca.pem`), in `dir`.
pub fn make_pki(dir: &Path) {
    std::fs::write(
        dir.join("x509.cnf"),
        "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = placeholder\n\
         [ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n\
         subjectKeyIdentifier = hash\n\
         [server]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n\
         extendedKeyUsage = serverAuth\nsubjectAltName = DNS:localhost\n\
         [client]\nbasicConstraints = critical,CA:FALSE\nkeyUsage = critical,digitalSignature\n\
         extendedKeyUsage = clientAuth\n",
    )
    .unwrap();
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    for (name, cn) in [
        ("ca", "/CN=nodeward-test-ca"),
        ("other-ca", "/CN=another-ca"),
    ] {
        let (key, pem) = (format!("{name}.key"), format!("{name}.pem"));
        let mut ca = vec!["req", "-x509", "-config", "x509.cnf", "-extensions", "ca"];
        ca.extend(ec);
        ca.extend(["-keyout", &key, "-out", &pem, "-days", "2", "-subj", cn]);
        openssl(dir, &ca);
    }
    for (who, cn, serial) in [
        ("server", "/CN=localhost", "2"),
        ("client", "/CN=pool-client", "3"),
    ] {
        let (key, csr, pem) = (
            format!("{who}.key"),
            format!("{who}.csr"),
            format!("{who}.pem"),
        );
        let mut req = vec!["req", "-new", "-config", "x509.cnf"];
        req.extend(ec);
        req.extend(["-keyout", &key, "-out", &csr, "-subj", cn]);
        openssl(dir, &req);
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &csr,
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-set_serial",
                serial,
                "-days",
                "2",
                "-extfile",
                "x509.cnf",
                "-extensions",
                who,
                "-out",
                &pem,
            ],
        );
    }
}

fn bad_data(m: String) -> std::io::Error {
    std::io::Error::new(std::io::ErrorKind::InvalidData, m)
}

/// Reads one HTTP/1.1 answer from `r`: status, headers (names lower-cased)
/// and body (by Content-Length, chunked, or up to EOF).
#[allow(clippy::type_complexity)]
pub fn read_answer(r: &mut impl BufRead) -> std::io::Result<(u16, Vec<(String, String)>, Vec<u8>)> {
    let mut line = String::new();
    if r.read_line(&mut line)? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "connection closed before an answer",
        ));
    }
    let status: u16 = line
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .ok_or_else(|| bad_data(format!("bad status line {line:?}")))?;
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 {
            return Err(bad_data("EOF in the answer's head".into()));
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
        }
    }
    let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let mut body = Vec::new();
    if let Some(n) = get("content-length").and_then(|v| v.parse::<usize>().ok()) {
        body.resize(n, 0);
        r.read_exact(&mut body)?;
    } else if get("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            let mut size = String::new();
            r.read_line(&mut size)?;
            let n = usize::from_str_radix(size.trim().split(';').next().unwrap_or(""), 16)
                .map_err(|_| bad_data(format!("bad chunk size {size:?}")))?;
            let mut chunk = vec![0; n + 2];
            r.read_exact(&mut chunk)?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else if !(status == 204 || status == 304 || (100..200).contains(&status)) {
        r.read_to_end(&mut body)?;
    }
    Ok((status, headers, body))
}
