//! Support for the node-pool end-to-end tests (`gateway_pools.rs`): a gateway
//! started from a pool config, a keep-alive HTTP/1.1 client for many requests,
//! `/status` polling with deadlines, and Prometheus text parsing.
#![allow(dead_code)]

use crate::common_gateway::{free_port, Gateway};
use crate::common_pool::{self, TestNode};
use serde_json::Value;
use std::io::{BufReader, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

/// Fast health timing used by most tests.
pub const FAST: &str = "interval = \"200ms\"\ntimeout = \"150ms\"\nrise = 2\nfall = 2\n";

/// The IRI route on `/` to pool `iri`.
pub const IRI_ROUTE: &str = "[[route]]\nprotocol = \"iri\"\nupstream = \"iri\"\n";

/// A JSON-RPC route on `/rpc` to pool `iri`.
pub const RPC_ROUTE: &str =
    "[[route]]\npath = \"/rpc\"\nprotocol = \"jsonrpc\"\nupstream = \"iri\"\n";

/// Starts `n` test nodes called `prefix-0`, `prefix-1`, ...
pub fn nodes(prefix: &str, n: usize) -> Vec<TestNode> {
    (0..n)
        .map(|i| TestNode::start(&format!("{prefix}-{i}")))
        .collect()
}

/// The backend id of a node given in the short form.
pub fn id(node: &TestNode) -> String {
    format!("127.0.0.1:{}", node.addr.port())
}

/// `backends = [...]` for the short form.
pub fn backends(nodes: &[TestNode]) -> String {
    let list: Vec<String> = nodes.iter().map(|n| format!("\"{}\"", n.url())).collect();
    format!("backends = [{}]\n", list.join(", "))
}

/// An `[upstream.health]` table: kind, timing lines and extra keys.
pub fn health(kind: &str, timing: &str, extra: &str) -> String {
    format!("[upstream.health]\nkind = \"{kind}\"\n{timing}{extra}\n")
}

/// A whole gateway config with one pool `iri`: `upstream` holds the pool's
/// keys and subtables, `routes` the route tables. Placeholders `@PORT@`,
/// `@ADMIN@`, `@STATE@` are filled by [`start_gw`].
pub fn config(upstream: &str, routes: &str) -> String {
    format!(
        "[gateway]\nstate_dir = \"@STATE@\"\naccess_log = \"stdout\"\n\n\
         [[listener]]\nbind = \"127.0.0.1:@PORT@\"\n\n\
         [admin]\nbind = \"127.0.0.1:@ADMIN@\"\n\n\
         [[upstream]]\nname = \"iri\"\n{upstream}\n\n{routes}\n"
    )
}

/// Starts the gateway with `template` (see [`config`]); unlike
/// `Gateway::start` it leaves `{port}`, `{host}`... alone (exec check args).
pub fn start_gw(template: &str) -> Gateway {
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
    let text = template
        .replace("@PORT@", &port.to_string())
        .replace("@ADMIN@", &admin_port.to_string())
        .replace("@STATE@", &dir.path().display().to_string());
    std::fs::write(&config, text).unwrap();
    let child = Command::new(crate::common_gateway::bin())
        .arg("gateway")
        .arg("--config")
        .arg(&config)
        .env("NODEWARD_LOG", "debug")
        .stdout(std::fs::File::create(dir.path().join("access.log")).unwrap())
        .stderr(std::fs::File::create(dir.path().join("stderr.log")).unwrap())
        .spawn()
        .unwrap();
    let mut gw = Gateway {
        child: Some(child),
        port,
        admin_port,
        dir,
        config,
    };
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if TcpStream::connect(("127.0.0.1", port)).is_ok()
            && TcpStream::connect(("127.0.0.1", admin_port)).is_ok()
        {
            return gw;
        }
        if let Some(st) = gw.child.as_mut().unwrap().try_wait().unwrap() {
            panic!(
                "gateway exited ({st}) before listening; stderr:\n{}",
                gw.stderr()
            );
        }
        assert!(
            Instant::now() < deadline,
            "gateway did not listen on {port}; stderr:\n{}",
            gw.stderr()
        );
        thread::sleep(Duration::from_millis(20));
    }
}

/// One HTTP answer.
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    pub elapsed: Duration,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("answer {} is not JSON ({e}): {:?}", self.status, self.body))
    }

    /// The test node that answered: its `x-testnode` header, else `"node"` in the body.
    pub fn node(&self) -> Option<String> {
        if let Some(h) = self.header("x-testnode") {
            return Some(h.to_string());
        }
        serde_json::from_str::<Value>(&self.body)
            .ok()?
            .get("node")?
            .as_str()
            .map(str::to_string)
    }
}

fn read_reply(r: &mut BufReader<TcpStream>, started: Instant) -> std::io::Result<Reply> {
    let (status, headers, body) = common_pool::read_answer(r)?;
    Ok(Reply {
        status,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
        elapsed: started.elapsed(),
    })
}

/// A keep-alive HTTP/1.1 client to one address (reconnects when the server
/// closed the connection with `connection: close`).
pub struct Client {
    addr: SocketAddr,
    conn: Option<BufReader<TcpStream>>,
    /// Read timeout per answer.
    pub timeout: Duration,
}

impl Client {
    pub fn new(addr: SocketAddr) -> Client {
        Client {
            addr,
            conn: None,
            timeout: Duration::from_secs(10),
        }
    }

    /// POSTs `body` to `path` (JSON, with the IOTA API header).
    pub fn post(&mut self, path: &str, body: &str) -> std::io::Result<Reply> {
        let started = Instant::now();
        if self.conn.is_none() {
            let s = TcpStream::connect_timeout(&self.addr, Duration::from_secs(5))?;
            s.set_nodelay(true)?;
            s.set_read_timeout(Some(self.timeout))?;
            s.set_write_timeout(Some(Duration::from_secs(5)))?;
            self.conn = Some(BufReader::new(s));
        }
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
             X-IOTA-API-Version: 1\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        );
        let conn = self.conn.as_mut().unwrap();
        let result = conn
            .get_mut()
            .write_all(req.as_bytes())
            .and_then(|_| read_reply(conn, started));
        match &result {
            Ok(r)
                if r.header("connection")
                    .is_some_and(|v| v.eq_ignore_ascii_case("close")) =>
            {
                self.conn = None
            }
            Ok(_) => {}
            Err(_) => self.conn = None,
        }
        result
    }

    /// An IRI command on `/`; panics on transport errors.
    pub fn iri(&mut self, command: &str) -> Reply {
        let body = format!("{{\"command\":\"{command}\"}}");
        self.post("/", &body)
            .unwrap_or_else(|e| panic!("{command} through the gateway: {e}"))
    }
}

/// One request on a new connection (Connection: close).
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> std::io::Result<Reply> {
    let started = Instant::now();
    let s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut req = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    if !body.is_empty() || method == "POST" || method == "PUT" {
        req.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    req.push_str("\r\n");
    req.push_str(body);
    let mut r = BufReader::new(s);
    r.get_mut().write_all(req.as_bytes())?;
    read_reply(&mut r, started)
}

/// A GET on the admin listener with the token (no curl: fast enough to poll).
pub fn admin_get(gw: &Gateway, path: &str) -> Reply {
    let auth = format!("Bearer {}", gw.token());
    let addr = SocketAddr::from(([127, 0, 0, 1], gw.admin_port));
    request(addr, "GET", path, &[("Authorization", &auth)], "")
        .unwrap_or_else(|e| panic!("admin GET {path}: {e}; stderr:\n{}", gw.stderr()))
}

/// `/status` of pool `iri`.
pub fn pool(gw: &Gateway) -> Value {
    let r = admin_get(gw, "/status");
    assert_eq!(r.status, 200, "/status: {}", r.body);
    let v = r.json();
    v["upstreams"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["name"] == "iri").cloned())
        .unwrap_or_else(|| panic!("no pool iri in /status: {v}"))
}

/// One backend's `/status` entry in `pool`.
pub fn backend_in(pool: &Value, id: &str) -> Value {
    pool["backends"]
        .as_array()
        .and_then(|a| a.iter().find(|b| b["id"] == id).cloned())
        .unwrap_or_else(|| panic!("no backend {id} in {pool}"))
}

/// One backend's `/status` entry.
pub fn backend(gw: &Gateway, id: &str) -> Value {
    backend_in(&pool(gw), id)
}

/// The state of backend `id` in `pool`.
pub fn state_in(pool: &Value, id: &str) -> String {
    backend_in(pool, id)["state"]
        .as_str()
        .unwrap_or("?")
        .to_string()
}

/// Polls pool `iri`'s `/status` until `ok` holds or `secs` pass; returns
/// the pool document that satisfied it; panics naming `what`.
pub fn wait_pool(gw: &Gateway, what: &str, secs: f64, mut ok: impl FnMut(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs_f64(secs);
    loop {
        let p = pool(gw);
        if ok(&p) {
            return p;
        }
        if Instant::now() > deadline {
            panic!(
                "timed out after {secs} s waiting for {what}; pool status:\n{}\nstderr (tail):\n{}",
                serde_json::to_string_pretty(&p).unwrap(),
                tail(&gw.stderr(), 3000)
            );
        }
        thread::sleep(Duration::from_millis(25));
    }
}

/// Waits until backend `id` is in `state`; returns the backend entry and
/// how long it took.
pub fn wait_state(gw: &Gateway, id: &str, state: &str, secs: f64) -> (Value, Duration) {
    let t = Instant::now();
    let p = wait_pool(gw, &format!("backend {id} to be {state}"), secs, |p| {
        state_in(p, id) == state
    });
    (backend_in(&p, id), t.elapsed())
}

/// Waits until every backend in `ids` is `state`.
pub fn wait_all(gw: &Gateway, ids: &[String], state: &str, secs: f64) -> Value {
    wait_pool(gw, &format!("{ids:?} all {state}"), secs, |p| {
        ids.iter().all(|id| state_in(p, id) == state)
    })
}

/// The last characters of `s`.
pub fn tail(s: &str, n: usize) -> &str {
    let mut start = s.len().saturating_sub(n);
    while !s.is_char_boundary(start) {
        start += 1;
    }
    &s[start..]
}

/// The exclusion with `reason` in a backend's last check.
pub fn exclusion(b: &Value, reason: &str) -> Option<Value> {
    b["last_check"]["exclusions"]
        .as_array()?
        .iter()
        .find(|x| x["reason"] == reason)
        .cloned()
}

/// How many of `command` each node has answered (its `/_stats`).
pub fn counts(nodes: &[TestNode], command: &str) -> Vec<u64> {
    nodes
        .iter()
        .map(|n| n.stats()["by_command"][command].as_u64().unwrap_or(0))
        .collect()
}

pub fn reset_all(nodes: &[TestNode]) {
    for n in nodes {
        n.reset_stats();
    }
}

/// The value of the series `name` whose labels include all of `labels`
/// (other labels may be present), from Prometheus text.
pub fn metric_value(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    text.lines().filter(|l| !l.starts_with('#')).find_map(|l| {
        let (series, value) = l.rsplit_once(' ')?;
        let (n, rest) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.trim_end_matches('}')),
            None => (series, ""),
        };
        if n != name {
            return None;
        }
        let have: Vec<(String, String)> = split_labels(rest);
        labels
            .iter()
            .all(|(k, v)| have.iter().any(|(hk, hv)| hk == k && hv == v))
            .then(|| value.trim().parse().ok())
            .flatten()
    })
}

fn split_labels(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some((k, after)) = rest.split_once("=\"") {
        let mut val = String::new();
        let mut chars = after.char_indices();
        let mut end = after.len();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        val.push(n);
                    }
                }
                '"' => {
                    end = i + 1;
                    break;
                }
                c => val.push(c),
            }
        }
        out.push((k.trim_start_matches(',').trim().to_string(), val));
        rest = &after[end..];
    }
    out
}

#[test]
fn metric_labels_parse() {
    let text =
        "# HELP x\nx{pool=\"iri\",backend=\"127.0.0.1:5\",class=\"2xx\"} 7\nx{pool=\"iri\"} 3\n";
    assert_eq!(
        metric_value(text, "x", &[("class", "2xx"), ("backend", "127.0.0.1:5")]),
        Some(7.0)
    );
    assert_eq!(metric_value(text, "x", &[("pool", "iri")]), Some(7.0));
    assert_eq!(metric_value(text, "y", &[]), None);
}
