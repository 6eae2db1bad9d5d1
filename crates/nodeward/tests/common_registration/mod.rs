//! Test support for the end-to-end tests of live backend registration
//! (`gateway_registration.rs`): a gateway config builder for one IRI pool, a
//! small std-only HTTP/1.1 client (one-shot and keep-alive, with bodies, for
//! the admin API's PUT/DELETE), `/status` helpers, polling with deadlines and
//! restarting a stopped gateway on the same config and state directory.
#![allow(dead_code)]

use crate::common_gateway::{self, render, Gateway};
use crate::common_pool::{self, TestNode};
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::time::{Duration, Instant};

/// An HTTP answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    /// Lower-cased names.
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// The body as JSON, or `Null` when it is not JSON.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The test node that answered (from the IRI answer's `"node"`).
    pub fn node(&self) -> Option<String> {
        self.json()["node"].as_str().map(str::to_string)
    }
}

/// Reads one HTTP/1.1 answer (Content-Length, chunked, or up to EOF).
pub fn read_reply(r: &mut impl BufRead) -> std::io::Result<Reply> {
    let (status, headers, body) = common_pool::read_answer(r)?;
    Ok(Reply {
        status,
        headers,
        body,
    })
}

fn request_bytes(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    close: bool,
) -> Vec<u8> {
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\n");
    if close {
        req.push_str("Connection: close\r\n");
    }
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || matches!(method, "POST" | "PUT") {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    let mut out = req.into_bytes();
    out.extend_from_slice(body);
    out
}

/// One request on a new connection (`Connection: close`).
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
    timeout: Duration,
) -> std::io::Result<Reply> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(timeout))?;
    s.set_write_timeout(Some(timeout))?;
    s.write_all(&request_bytes(addr, method, path, headers, body, true))?;
    read_reply(&mut BufReader::new(s))
}

/// A keep-alive connection that reconnects when the server closed it.
pub struct KeepAlive {
    addr: SocketAddr,
    conn: Option<BufReader<TcpStream>>,
    /// Connections opened so far.
    pub opened: usize,
}

impl KeepAlive {
    pub fn new(addr: SocketAddr) -> KeepAlive {
        KeepAlive {
            addr,
            conn: None,
            opened: 0,
        }
    }

    fn connect(&mut self) -> std::io::Result<&mut BufReader<TcpStream>> {
        if self.conn.is_none() {
            let s = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5))?;
            s.set_read_timeout(Some(Duration::from_secs(10)))?;
            s.set_write_timeout(Some(Duration::from_secs(10)))?;
            self.opened += 1;
            self.conn = Some(BufReader::new(s));
        }
        Ok(self.conn.as_mut().unwrap())
    }

    /// Sends one request; on a connection the server had closed before it
    /// answered anything, sends it once more on a new one (only idempotent
    /// methods go through here in these tests).
    pub fn send(
        &mut self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<Reply> {
        let bytes = request_bytes(self.addr, method, path, headers, body, false);
        for attempt in 0..2 {
            let reused = self.conn.is_some();
            let conn = self.connect()?;
            let sent = conn.get_mut().write_all(&bytes);
            let got = sent.and_then(|()| read_reply(conn));
            match got {
                Ok(r) => {
                    if r.header("connection")
                        .is_some_and(|v| v.eq_ignore_ascii_case("close"))
                    {
                        self.conn = None;
                    }
                    return Ok(r);
                }
                Err(e) => {
                    self.conn = None;
                    if !(reused && attempt == 0) {
                        return Err(e);
                    }
                }
            }
        }
        unreachable!()
    }
}

/// `Authorization: Bearer TOKEN` for `gw`.
pub fn bearer(gw: &Gateway) -> String {
    format!("Bearer {}", gw.token())
}

pub fn admin_addr(gw: &Gateway) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], gw.admin_port))
}

/// A request on the admin listener with the token; `(status, JSON body)`.
pub fn admin(gw: &Gateway, method: &str, path: &str, body: Option<&str>) -> (u16, Value) {
    let auth = bearer(gw);
    let r = request(
        admin_addr(gw),
        method,
        path,
        &[("Authorization", &auth)],
        body.unwrap_or("").as_bytes(),
        Duration::from_secs(10),
    )
    .unwrap_or_else(|e| panic!("{method} {path} on the admin API: {e}"));
    let v = r.json();
    (r.status, if v.is_null() { json!(r.text()) } else { v })
}

/// `PUT /upstreams/iri/backends/{id}` with `body`.
pub fn put(gw: &Gateway, id: &str, body: &Value) -> (u16, Value) {
    admin(
        gw,
        "PUT",
        &format!("/upstreams/iri/backends/{id}"),
        Some(&body.to_string()),
    )
}

/// Registers `node` as `id`; panics unless 201.
pub fn register(gw: &Gateway, id: &str, node: &TestNode) {
    let (st, v) = put(gw, id, &json!({"address": node.url()}));
    assert_eq!(st, 201, "registering {id}: {v}");
}

/// The error text of an admin answer.
pub fn error_of(v: &Value) -> String {
    v["error"]
        .as_str()
        .map_or_else(|| v.to_string(), str::to_string)
}

/// One IRI call through the gateway's client listener.
pub fn iri(gw: &Gateway, command: &str) -> Reply {
    let body = json!({ "command": command }).to_string();
    request(
        gw.addr(),
        "POST",
        "/",
        &[("X-IOTA-API-Version", "1")],
        body.as_bytes(),
        Duration::from_secs(15),
    )
    .unwrap_or_else(|e| panic!("{command} through the gateway: {e}"))
}

/// `n` sequential `getTips` calls; panics on any non-200; returns who answered.
pub fn serve_n(gw: &Gateway, n: usize) -> Vec<String> {
    (0..n)
        .map(|i| {
            let r = iri(gw, "getTips");
            assert_eq!(r.status, 200, "request {i}: {}", r.text());
            r.node()
                .unwrap_or_else(|| panic!("no node in {}", r.text()))
        })
        .collect()
}

/// The `iri` pool (`GET /upstreams/iri`).
pub fn pool(gw: &Gateway) -> Value {
    let (st, v) = admin(gw, "GET", "/upstreams/iri", None);
    assert_eq!(st, 200, "GET /upstreams/iri: {v}");
    v
}

/// The ids of the `iri` pool's backends.
pub fn ids(gw: &Gateway) -> Vec<String> {
    pool(gw)["backends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap().to_string())
        .collect()
}

/// One backend of the `iri` pool as `/status` shows it.
pub fn backend(gw: &Gateway, id: &str) -> Option<Value> {
    let (st, v) = admin(gw, "GET", "/status", None);
    assert_eq!(st, 200, "GET /status: {v}");
    v["upstreams"]
        .as_array()?
        .iter()
        .find(|p| p["name"] == "iri")?["backends"]
        .as_array()?
        .iter()
        .find(|b| b["id"] == id)
        .cloned()
}

/// Polls `f` every 25 ms until it returns `Some`, or panics after `limit`.
pub fn eventually<T>(what: &str, limit: Duration, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

/// Waits until backend `id` satisfies `pred`; returns its `/status` entry.
pub fn wait_backend(
    gw: &Gateway,
    id: &str,
    what: &str,
    limit: Duration,
    pred: impl Fn(&Value) -> bool,
) -> Value {
    let mut last = None;
    let deadline = Instant::now() + limit;
    loop {
        let b = backend(gw, id);
        if let Some(b) = &b {
            if pred(b) {
                return b.clone();
            }
        }
        last = b.or(last);
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for backend {id} to be {what}; last seen: {last:?}\ngateway stderr (tail):\n{}",
            tail(&gw.stderr(), 30)
        );
        std::thread::sleep(Duration::from_millis(25));
    }
}

pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// A counter of the node's `/_stats` by command.
pub fn calls(node: &TestNode, command: &str) -> u64 {
    node.stats()["by_command"][command].as_u64().unwrap_or(0)
}

/// A `/_stats` number.
pub fn stat(node: &TestNode, key: &str) -> u64 {
    node.stats()[key].as_u64().unwrap_or(0)
}

/// A gateway config with one IRI pool `iri` and one IRI route; renders to a
/// [`common_gateway::render`] template.
#[derive(Clone, Default)]
pub struct Cfg {
    pub backends: Vec<String>,
    /// Lines appended to the `[[upstream]]` table.
    pub upstream: String,
    /// Sub-tables of the upstream (`[upstream.health]`, `[[upstream.backend]]`, ...).
    pub sections: String,
    /// Lines appended to the `[[route]]` table.
    pub route: String,
}

impl Cfg {
    pub fn new(backends: &[String]) -> Cfg {
        Cfg {
            backends: backends.to_vec(),
            ..Cfg::default()
        }
    }

    pub fn upstream(mut self, lines: &str) -> Cfg {
        self.upstream.push_str(lines);
        self.upstream.push('\n');
        self
    }

    pub fn section(mut self, text: &str) -> Cfg {
        self.sections.push_str(text);
        self.sections.push('\n');
        self
    }

    pub fn route(mut self, lines: &str) -> Cfg {
        self.route.push_str(lines);
        self.route.push('\n');
        self
    }

    /// The template (`{port}`, `{admin}`, `{state}` left in).
    pub fn template(&self) -> String {
        let list: Vec<String> = self.backends.iter().map(|b| format!("{b:?}")).collect();
        format!(
            r#"
[gateway]
state_dir = "{{state}}"
access_log = "stdout"

[[listener]]
bind = "127.0.0.1:{{port}}"

[admin]
bind = "127.0.0.1:{{admin}}"

[[upstream]]
name = "iri"
backends = [{}]
timeout = "10s"
{}
{}

[[route]]
protocol = "iri"
upstream = "iri"
max_body = "64KiB"
{}
"#,
            list.join(", "),
            self.upstream,
            self.sections,
            self.route
        )
    }

    pub fn start(&self) -> Gateway {
        let gw = Gateway::start(&self.template(), "");
        wait_port(gw.admin_port);
        gw
    }

    /// Writes this config over `gw`'s config file (same ports and state dir).
    pub fn write_to(&self, gw: &Gateway) {
        let text = render(&self.template(), gw.port, gw.admin_port, "", gw.dir.path());
        let tmp = gw.config.with_extension("toml.tmp");
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, &gw.config).unwrap();
    }
}

/// Short active checks of `kind` for `[upstream.health]`.
pub fn health(kind: &str, extra: &str) -> String {
    health_every(kind, "200ms", "1s", extra)
}

/// `[upstream.health]` of `kind` with this interval and timeout.
pub fn health_every(kind: &str, interval: &str, timeout: &str, extra: &str) -> String {
    format!("[upstream.health]\nkind = {kind:?}\ninterval = {interval:?}\ntimeout = {timeout:?}\nrise = 2\nfall = 2\n{extra}\n")
}

/// Waits until something accepts connections on 127.0.0.1:`port`.
pub fn wait_port(port: u16) {
    eventually(
        &format!("127.0.0.1:{port} to listen"),
        Duration::from_secs(10),
        || TcpStream::connect(("127.0.0.1", port)).ok().map(|_| ()),
    );
}

/// Starts a new gateway process for a stopped `gw` (after [`Gateway::stop`]):
/// same config file, ports and state directory; logs appended.
pub fn respawn(gw: &mut Gateway) {
    assert!(gw.child.is_none(), "stop the gateway first");
    let open = |name: &str| {
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(gw.dir.path().join(name))
            .unwrap()
    };
    let child = Command::new(common_gateway::bin())
        .arg("gateway")
        .arg("--config")
        .arg(&gw.config)
        .env("NODEWARD_LOG", "debug")
        .stdout(open("access.log"))
        .stderr(open("stderr.log"))
        .spawn()
        .unwrap();
    gw.child = Some(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while TcpStream::connect(("127.0.0.1", gw.port)).is_err() {
        if Instant::now() > deadline {
            panic!(
                "restarted gateway did not listen; stderr:\n{}",
                tail(&gw.stderr(), 40)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    wait_port(gw.admin_port);
}

/// The gateway process's resident set size in KiB.
pub fn rss_kib(gw: &Gateway) -> u64 {
    let pid = gw.child.as_ref().unwrap().id();
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status")
}

/// Runs `nodeward gateway --config <gw's config> ARGS...`; (exit code, stdout, stderr).
pub fn cli(gw: &Gateway, args: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(common_gateway::bin())
        .arg("gateway")
        .arg("--config")
        .arg(&gw.config)
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}
