//! Test support for end-to-end tests against a REAL Interledger connector:
//! ilp-connector from npm (pinned in `scripts/ilp-node.sh`, installed by
//! `scripts/test.sh` into `target/ilp-node/`), run with `node` on free
//! 127.0.0.1 ports, configured the way operators do it (`CONNECTOR_*`
//! environment variables), killed when dropped. Its accounts are
//! ilp-plugin-btp links: `alice` listens on 127.0.0.1, `bob` connects to
//! alice (so both are connected), and an optional `carol` dials a closed
//! port (so she stays disconnected).
#![allow(dead_code)]

use serde_json::{json, Value};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long the connector may take to connect its accounts (~1 s alone).
const READY_DEADLINE: Duration = Duration::from_secs(30);

/// The connector's entry script. Panics (the test FAILS) when it is missing,
/// saying how to install it.
pub fn connector_entry() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/ilp-node/node_modules/ilp-connector/dist/index.js");
    if p.is_file() {
        return p;
    }
    panic!(
        "ilp-connector (the real connector these tests drive) is not installed at {}: run \
         scripts/test.sh (it installs it), or `scripts/ilp-node.sh install` (needs node + npm)",
        p.display()
    );
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The pm2 executable (same install as the connector). Panics (the test
/// FAILS) when it is missing, saying how to install it.
pub fn pm2_bin() -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/ilp-node/node_modules/.bin/pm2");
    if p.is_file() {
        return p;
    }
    panic!(
        "pm2 is not installed at {}: run scripts/test.sh or `scripts/ilp-node.sh install`",
        p.display()
    );
}

/// A real PM2 daemon ("PM2 vX: God Daemon") with its own PM2_HOME, started
/// as `uid` (0 or an unprivileged user), stopped on drop.
pub struct Pm2 {
    home: tempfile::TempDir,
    uid: u32,
}

impl Pm2 {
    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new("setpriv");
        let id = self.uid.to_string();
        c.args(["--reuid", &id, "--regid", &id, "--clear-groups", "--"])
            .arg(pm2_bin())
            .args(args)
            .env("PM2_HOME", self.home.path())
            .env("HOME", self.home.path())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        c
    }

    /// Starts the daemon (`pm2 ping` spawns it) as `uid`.
    pub fn start(uid: u32) -> Pm2 {
        let home = tempfile::tempdir().unwrap();
        std::os::unix::fs::chown(home.path(), Some(uid), Some(uid)).unwrap();
        let p = Pm2 { home, uid };
        let out = p.command(&["ping"]).output().expect("run pm2 ping");
        assert!(
            out.status.success(),
            "pm2 ping as uid {uid}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        p
    }

    /// Its PM2_HOME.
    pub fn home_path(&self) -> String {
        self.home.path().display().to_string()
    }

    /// The daemon's pid (from PM2_HOME/pm2.pid).
    pub fn pid(&self) -> u32 {
        std::fs::read_to_string(self.home.path().join("pm2.pid"))
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .expect("pm2.pid")
    }
}

impl Drop for Pm2 {
    fn drop(&mut self) {
        let pid = self.pid();
        let _ = self.command(&["kill"]).output();
        // Make sure the daemon this test started is gone.
        let _ = Command::new("kill").arg(pid.to_string()).status();
    }
}

/// How the test connector is set up.
pub struct Setup {
    /// Admin API bind host (`CONNECTOR_ADMIN_API_HOST`).
    pub admin_host: &'static str,
    /// Add `carol`, who never connects.
    pub with_carol: bool,
    /// Run inside this network namespace (the test creates it); the admin
    /// API is then polled with `ip netns exec NS curl`.
    pub netns: Option<String>,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            admin_host: "127.0.0.1",
            with_carol: false,
            netns: None,
        }
    }
}

/// One running connector.
pub struct Connector {
    pub admin_port: u16,
    netns: Option<String>,
    child: Option<Child>,
    log: tempfile::NamedTempFile,
}

fn btp_account(relation: &str, options: Value, balance: bool) -> Value {
    let mut a = json!({
        "relation": relation,
        "assetCode": "XRP",
        "assetScale": 9,
        "plugin": "ilp-plugin-btp",
        "options": options,
    });
    if balance {
        a["balance"] = json!({"minimum": "-1000", "maximum": "1000"});
    }
    a
}

impl Connector {
    /// Starts a connector and waits until alice and bob are connected.
    pub fn start(setup: Setup) -> Connector {
        Self::start_with(setup, |_| {})
    }

    /// Like [`Connector::start`], letting the caller adjust the command
    /// (to run it in a network namespace, say).
    pub fn start_with(setup: Setup, adjust: impl FnOnce(&mut Command)) -> Connector {
        let entry = connector_entry();
        let admin_port = free_port();
        let btp_port = free_port();
        let mut accounts = json!({
            "alice": btp_account(
                "child",
                json!({"listener": {"port": btp_port, "secret": "alice-secret",
                                    "wsOpts": {"host": "127.0.0.1", "port": btp_port}}}),
                true,
            ),
            "bob": btp_account(
                "peer",
                json!({"server": format!("btp+ws://:alice-secret@127.0.0.1:{btp_port}")}),
                true,
            ),
        });
        if setup.with_carol {
            accounts["carol"] = btp_account(
                "peer",
                json!({"server": format!("btp+ws://:x@127.0.0.1:{}", free_port())}),
                false,
            );
        }
        let log = tempfile::NamedTempFile::new().unwrap();
        let mut cmd = match &setup.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns, "node"]);
                c
            }
            None => Command::new("node"),
        };
        cmd.arg(&entry)
            .env("CONNECTOR_ILP_ADDRESS", "test.nodeward")
            .env("CONNECTOR_BACKEND", "one-to-one")
            .env("CONNECTOR_STORE", "memory")
            .env("CONNECTOR_ADMIN_API", "true")
            .env("CONNECTOR_ADMIN_API_HOST", setup.admin_host)
            .env("CONNECTOR_ADMIN_API_PORT", admin_port.to_string())
            .env("CONNECTOR_INITIAL_CONNECT_TIMEOUT", "2000")
            .env("CONNECTOR_ACCOUNTS", accounts.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::from(log.reopen().unwrap()))
            .stderr(Stdio::from(log.reopen().unwrap()));
        adjust(&mut cmd);
        let child = cmd.spawn().expect("spawn node (is Node.js installed?)");
        let mut c = Connector {
            admin_port,
            netns: setup.netns.clone(),
            child: Some(child),
            log,
        };
        c.wait_ready();
        c
    }

    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.admin_port)
    }

    fn wait_ready(&mut self) {
        let start = Instant::now();
        loop {
            if let Some(Ok(Some(status))) = self.child.as_mut().map(|c| c.try_wait()) {
                panic!("ilp-connector exited ({status}): {}", self.log_text());
            }
            if let Some(body) = self.get_accounts() {
                let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
                let up = |id: &str| v["accounts"][id]["connected"] == json!(true);
                if up("alice") && up("bob") {
                    return;
                }
            }
            if start.elapsed() > READY_DEADLINE {
                panic!(
                    "ilp-connector not ready in {READY_DEADLINE:?}: {}",
                    self.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The `/accounts` answer, when the admin API gives one.
    fn get_accounts(&self) -> Option<String> {
        match &self.netns {
            None => match self.request("GET", "/accounts", "") {
                Ok((200, body)) => Some(body),
                _ => None,
            },
            Some(ns) => {
                let out = Command::new("ip")
                    .args(["netns", "exec", ns, "curl", "-sf", "-m", "2"])
                    .arg(format!("http://127.0.0.1:{}/accounts", self.admin_port))
                    .output()
                    .expect("run ip netns exec curl");
                out.status
                    .success()
                    .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
            }
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(self.log.path()).unwrap_or_default()
    }

    /// One HTTP/1.1 request to the admin API: (status, body).
    pub fn request(&self, method: &str, path: &str, body: &str) -> std::io::Result<(u16, String)> {
        let mut s = TcpStream::connect(("127.0.0.1", self.admin_port))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        write!(
            s,
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        let status = out
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = out.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        Ok((status, body.to_string()))
    }

    /// Changes an account's balance through the admin API (`POST /balance`).
    pub fn add_balance(&self, account: &str, diff: i64) {
        let body = json!({"accountId": account, "amountDiff": diff.to_string()}).to_string();
        let (status, answer) = self.request("POST", "/balance", &body).unwrap();
        assert_eq!(status, 204, "POST /balance: {answer}");
    }
}

impl Drop for Connector {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// A real moneyd-gui (npm 0.1.2) serving `PORT` for an admin API, inside a
/// network namespace the test created; killed on drop.
pub struct Gui {
    pub port: u16,
    child: Child,
}

impl Gui {
    pub fn start(netns: &str, admin_port: u16) -> Gui {
        let entry = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../target/ilp-node/node_modules/moneyd-gui/index.js");
        assert!(
            entry.is_file(),
            "moneyd-gui is not installed at {}: run scripts/test.sh or `scripts/ilp-node.sh install`",
            entry.display()
        );
        let port = free_port();
        let child = Command::new("ip")
            .args(["netns", "exec", netns, "node"])
            .arg(&entry)
            .env("PORT", port.to_string())
            .env("ADMIN_API_PORT", admin_port.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn moneyd-gui");
        let g = Gui { port, child };
        let start = Instant::now();
        loop {
            let out = Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    netns,
                    "curl",
                    "-s",
                    "-o",
                    "/dev/null",
                    "-m",
                    "2",
                ])
                .arg(format!("http://127.0.0.1:{port}/"))
                .status()
                .unwrap();
            if out.success() {
                return g;
            }
            assert!(
                start.elapsed() < READY_DEADLINE,
                "moneyd-gui did not answer on {port} in {READY_DEADLINE:?}"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Gui {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
