//! Test support for the gateway's end-to-end tests: a real recording HTTP
//! backend on 127.0.0.1, the real `nodeward gateway` process, and real
//! clients (curl, raw TCP).
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// The nodeward binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_nodeward")
}

/// A port free on 127.0.0.1 right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One request as the backend received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: HashMap<String, Vec<String>>,
    pub body: Vec<u8>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .and_then(|v| v.first())
            .map(String::as_str)
    }
    pub fn body_str(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A small HTTP/1.1 backend that records what it receives. A body that
/// contains `"slow"` (e.g. `{"command":"getTransactionsToApprove","slow":1500}`)
/// makes it wait that many milliseconds before answering; it notices when
/// the client (the gateway) goes away while it waits.
pub struct Backend {
    pub addr: SocketAddr,
    pub received: Arc<Mutex<Vec<Received>>>,
    /// Requests abandoned by the peer while the backend was still waiting.
    pub abandoned: Arc<AtomicUsize>,
    /// Connections open now.
    pub open: Arc<AtomicUsize>,
    /// Connections accepted so far.
    pub accepted: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl Backend {
    pub fn start() -> Backend {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let received = Arc::new(Mutex::new(Vec::new()));
        let abandoned = Arc::new(AtomicUsize::new(0));
        let open = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let accepted = Arc::new(AtomicUsize::new(0));
        let acc = accepted.clone();
        let (r, a, o, s) = (
            received.clone(),
            abandoned.clone(),
            open.clone(),
            stop.clone(),
        );
        thread::spawn(move || {
            for stream in listener.incoming() {
                if s.load(Ordering::Relaxed) {
                    return;
                }
                let Ok(stream) = stream else { continue };
                let (r, a, o) = (r.clone(), a.clone(), o.clone());
                acc.fetch_add(1, Ordering::SeqCst);
                o.fetch_add(1, Ordering::SeqCst);
                thread::spawn(move || {
                    let _ = serve_backend_conn(stream, &r, &a);
                    o.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        Backend {
            addr,
            received,
            abandoned,
            open,
            accepted,
            stop,
        }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn count(&self) -> usize {
        self.received.lock().unwrap().len()
    }

    pub fn bodies(&self) -> Vec<String> {
        self.received
            .lock()
            .unwrap()
            .iter()
            .map(Received::body_str)
            .collect()
    }

    pub fn last(&self) -> Received {
        self.received
            .lock()
            .unwrap()
            .last()
            .cloned()
            .expect("backend received nothing")
    }
}

impl Drop for Backend {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

fn serve_backend_conn(
    stream: TcpStream,
    received: &Mutex<Vec<Received>>,
    abandoned: &AtomicUsize,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut writer = stream;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or_default().to_string();
        let path = parts.next().unwrap_or_default().to_string();
        let mut headers: HashMap<String, Vec<String>> = HashMap::new();
        loop {
            let mut h = String::new();
            reader.read_line(&mut h)?;
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers
                    .entry(k.trim().to_ascii_lowercase())
                    .or_default()
                    .push(v.trim().to_string());
            }
        }
        let mut body = Vec::new();
        if let Some(len) = headers
            .get("content-length")
            .and_then(|v| v[0].parse::<usize>().ok())
        {
            body.resize(len, 0);
            reader.read_exact(&mut body)?;
        } else if headers
            .get("transfer-encoding")
            .is_some_and(|v| v[0].eq_ignore_ascii_case("chunked"))
        {
            loop {
                let mut size = String::new();
                reader.read_line(&mut size)?;
                let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
                let mut chunk = vec![0; n + 2];
                reader.read_exact(&mut chunk)?;
                if n == 0 {
                    break;
                }
                body.extend_from_slice(&chunk[..n]);
            }
        }
        let rec = Received {
            method,
            path,
            headers,
            body,
        };
        let text = rec.body_str();
        received.lock().unwrap().push(rec);
        if let Some(ms) = slow_ms(&text) {
            // Wait, watching for the peer to give up (EOF) meanwhile.
            writer.set_read_timeout(Some(Duration::from_millis(20)))?;
            let until = Instant::now() + Duration::from_millis(ms);
            let mut probe = [0u8; 1];
            let mut gone = false;
            while Instant::now() < until {
                match reader.get_mut().read(&mut probe) {
                    Ok(0) => {
                        gone = true;
                        break;
                    }
                    Ok(_) => {}
                    Err(_) => {}
                }
            }
            writer.set_read_timeout(None)?;
            if gone {
                abandoned.fetch_add(1, Ordering::SeqCst);
                return Ok(());
            }
        }
        let out = format!(
            r#"{{"appName":"test-backend","received":{}}}"#,
            serde_json::to_string(&text).unwrap()
        );
        let resp = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: keep-alive\r\nkeep-alive: timeout=5\r\n\r\n{out}",
            out.len()
        );
        writer.write_all(resp.as_bytes())?;
    }
}

fn slow_ms(body: &str) -> Option<u64> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    v.get("slow")?.as_u64()
}

/// A running `nodeward gateway`, stopped (SIGTERM, then SIGKILL) on drop.
pub struct Gateway {
    pub child: Option<Child>,
    pub port: u16,
    pub admin_port: u16,
    pub dir: tempfile::TempDir,
    pub config: PathBuf,
}

/// Builds a config: `{port}`, `{admin}`, `{backend}` and `{state}` are replaced.
pub fn render(template: &str, port: u16, admin: u16, backend: &str, state: &Path) -> String {
    template
        .replace("{port}", &port.to_string())
        .replace("{admin}", &admin.to_string())
        .replace("{backend}", backend)
        .replace("{state}", &state.display().to_string())
}

impl Gateway {
    /// Starts the gateway with `template` (see [`render`]) and waits until it listens.
    pub fn start(template: &str, backend: &str) -> Gateway {
        Self::start_with(template, backend, &[])
    }

    pub fn start_with(template: &str, backend: &str, extra_args: &[&str]) -> Gateway {
        Self::start_with_env(template, backend, extra_args, &[])
    }

    /// [`Gateway::start_with`] with extra environment variables.
    pub fn start_with_env(
        template: &str,
        backend: &str,
        extra_args: &[&str],
        env: &[(&str, &std::ffi::OsStr)],
    ) -> Gateway {
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        // The kernel may hand out the port just released again.
        let admin_port = loop {
            let p = free_port();
            if p != port {
                break p;
            }
        };
        let config = dir.path().join("gw.toml");
        std::fs::write(
            &config,
            render(template, port, admin_port, backend, dir.path()),
        )
        .unwrap();
        let child = Command::new(bin())
            .arg("gateway")
            .arg("--config")
            .arg(&config)
            .args(extra_args)
            .envs(env.iter().copied())
            .env("NODEWARD_LOG", "debug")
            .stdout(std::fs::File::create(dir.path().join("access.log")).unwrap())
            .stderr(std::fs::File::create(dir.path().join("stderr.log")).unwrap())
            .spawn()
            .unwrap();
        let gw = Gateway {
            child: Some(child),
            port,
            admin_port,
            dir,
            config,
        };
        gw.wait_listening(port);
        gw
    }

    fn wait_listening(&self, port: u16) {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return;
            }
            thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "gateway did not listen on {port}; stderr:\n{}",
            self.stderr()
        );
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/", self.port)
    }

    pub fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }

    pub fn access_log(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.dir.path().join("access.log"))
            .unwrap_or_default()
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }

    /// Waits until the access log has at least `n` lines (it is written asynchronously).
    pub fn wait_log_lines(&self, n: usize) -> Vec<serde_json::Value> {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let lines = self.access_log();
            if lines.len() >= n || Instant::now() > deadline {
                return lines;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }

    pub fn token(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("admin.token"))
            .unwrap()
            .trim()
            .to_string()
    }

    /// GET or POST on the admin listener with the token; returns (status, body).
    pub fn admin(&self, method: &str, path: &str) -> (u16, String) {
        let auth = format!("Authorization: Bearer {}", self.token());
        curl(&[
            "-X",
            method,
            "-H",
            &auth,
            &format!("http://127.0.0.1:{}{path}", self.admin_port),
        ])
    }

    pub fn metrics(&self) -> String {
        self.admin("GET", "/metrics").1
    }

    /// The value of one metrics line (exact series text before the value).
    pub fn metric(&self, series: &str) -> f64 {
        self.metrics()
            .lines()
            .find_map(|l| l.strip_prefix(series).and_then(|v| v.trim().parse().ok()))
            .unwrap_or(0.0)
    }

    pub fn signal(&self, sig: &str) {
        let pid = self.child.as_ref().unwrap().id().to_string();
        let ok = Command::new("kill")
            .args(["-s", sig, &pid])
            .status()
            .unwrap()
            .success();
        assert!(ok, "kill -s {sig} failed");
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn stop(&mut self) -> std::process::ExitStatus {
        self.signal("TERM");
        let mut child = self.child.take().unwrap();
        let deadline = Instant::now() + Duration::from_secs(40);
        loop {
            if let Some(st) = child.try_wait().unwrap() {
                return st;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("gateway did not exit after SIGTERM");
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs curl with `args` (adds -s and prints status after the body); returns (status, body).
pub fn curl(args: &[&str]) -> (u16, String) {
    let out = curl_output(args);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, status) = text.rsplit_once('\n').unwrap_or(("", &text));
    (status.trim().parse().unwrap_or(0), body.to_string())
}

pub fn curl_output(args: &[&str]) -> Output {
    Command::new("curl")
        .args(["-s", "--max-time", "20", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl is installed")
}

/// POSTs `body` to the gateway with the IOTA API header; returns (status, body).
pub fn post(url: &str, body: &str) -> (u16, String) {
    curl(&[
        "-H",
        "X-IOTA-API-Version: 1",
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        body,
        url,
    ])
}

/// Sends raw bytes on a new connection and reads until the peer closes or
/// `timeout` passes; returns what was read.
pub fn raw_exchange(addr: SocketAddr, bytes: &[u8], timeout: Duration) -> String {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(timeout)).unwrap();
    s.write_all(bytes).unwrap();
    let _ = s.shutdown(Shutdown::Write);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Waits until `s` is closed by the peer; returns what it sent and how long it took.
pub fn read_until_closed(s: &mut TcpStream, limit: Duration) -> (String, Duration) {
    let t = Instant::now();
    s.set_read_timeout(Some(limit)).unwrap();
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    (String::from_utf8_lossy(&out).into_owned(), t.elapsed())
}

/// Status codes of every HTTP response in `raw`, in order.
pub fn statuses(raw: &str) -> Vec<u16> {
    raw.match_indices("HTTP/1.1 ")
        .filter_map(|(i, _)| raw[i + 9..].get(..3)?.parse().ok())
        .collect()
}

/// The minimal IRI gateway config used by most tests; `{extra_route}` is
/// appended to the route table and `{extra_global}` to [gateway].
pub const IRI_TEMPLATE: &str = r#"
[gateway]
state_dir = "{state}"
access_log = "stdout"
{extra_global}

[[listener]]
bind = "127.0.0.1:{port}"

[admin]
bind = "127.0.0.1:{admin}"

[[upstream]]
name = "iri"
backends = ["{backend}"]
timeout = "5s"

[[route]]
protocol = "iri"
upstream = "iri"
deny = ["addNeighbors", "removeNeighbors", "getNeighbors", "attachToTangle", "interruptAttachingToTangle"]
max_body = "64KiB"
{extra_route}
"#;

/// [`IRI_TEMPLATE`] with the two placeholders filled.
pub fn iri_config(extra_global: &str, extra_route: &str) -> String {
    IRI_TEMPLATE
        .replace("{extra_global}", extra_global)
        .replace("{extra_route}", extra_route)
}

/// Renders `template` (see [`render`]) into a temp dir and runs
/// `nodeward config check` on it; returns the exit code and stderr.
pub fn config_check(template: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    let text = render(template, 14265, 9901, "http://127.0.0.1:1", dir.path());
    std::fs::write(&path, text).unwrap();
    let out = Command::new(bin())
        .args(["config", "check", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
