//! Shared helpers of the firewall and ban end-to-end tests: network namespaces the
//! test creates (and always deletes), commands run inside them with a time bound,
//! and TCP reachability checks with real connections.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The nodeward binary under test.
pub fn nodeward() -> &'static str {
    env!("CARGO_BIN_EXE_nodeward")
}

static COUNTER: AtomicU32 = AtomicU32::new(0);

/// Runs `cmd` to completion within `limit`, killing it when it takes longer.
pub fn run_bounded(mut cmd: Command, limit: Duration) -> Output {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    let start = Instant::now();
    loop {
        if child.try_wait().expect("try_wait").is_some() {
            return child.wait_with_output().expect("wait");
        }
        if start.elapsed() > limit {
            let _ = child.kill();
            let out = child.wait_with_output().expect("wait");
            panic!(
                "{cmd:?} took longer than {limit:?}\nstdout: {}\nstderr: {}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// A set of network namespaces: one "server" and clients, each client joined to
/// the server by its own veth pair. Client `i` (1-based) is 10.213.i.2 and
/// fd00:213:i::2; the server is 10.213.i.1 and fd00:213:i::1 on that link.
/// Everything is removed on drop, also when the test fails.
pub struct Lab {
    /// Server namespace name.
    pub server: String,
    /// Client namespace names.
    pub clients: Vec<String>,
    /// Temporary directory for configs, keys, logs and state.
    pub dir: tempfile::TempDir,
    children: Vec<Child>,
}

impl Lab {
    /// Creates the namespaces and links.
    pub fn new(n_clients: usize) -> Lab {
        let id = format!(
            "{}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::SeqCst)
        );
        let mut lab = Lab {
            server: format!("nwfw-{id}-s"),
            clients: (1..=n_clients).map(|i| format!("nwfw-{id}-c{i}")).collect(),
            dir: tempfile::tempdir().expect("tempdir"),
            children: Vec::new(),
        };
        let mut created = Vec::new();
        for ns in std::iter::once(&lab.server).chain(lab.clients.iter()) {
            sh(&["ip", "netns", "add", ns]);
            created.push(ns.clone());
            sh(&["ip", "-n", ns, "link", "set", "lo", "up"]);
        }
        for (i, c) in lab.clients.clone().iter().enumerate() {
            let i = i + 1;
            let s_if = format!("s{i}");
            sh(&[
                "ip",
                "-n",
                &lab.server,
                "link",
                "add",
                &s_if,
                "type",
                "veth",
                "peer",
                "name",
                "eth0",
                "netns",
                c,
            ]);
            sh(&[
                "ip",
                "-n",
                &lab.server,
                "addr",
                "add",
                &format!("10.213.{i}.1/24"),
                "dev",
                &s_if,
            ]);
            sh(&[
                "ip",
                "-n",
                &lab.server,
                "addr",
                "add",
                &format!("fd00:213:{i}::1/64"),
                "dev",
                &s_if,
                "nodad",
            ]);
            sh(&["ip", "-n", &lab.server, "link", "set", &s_if, "up"]);
            sh(&[
                "ip",
                "-n",
                c,
                "addr",
                "add",
                &format!("10.213.{i}.2/24"),
                "dev",
                "eth0",
            ]);
            sh(&[
                "ip",
                "-n",
                c,
                "addr",
                "add",
                &format!("fd00:213:{i}::2/64"),
                "dev",
                "eth0",
                "nodad",
            ]);
            sh(&["ip", "-n", c, "link", "set", "eth0", "up"]);
        }
        lab.children.reserve(8);
        lab
    }

    /// Path inside the lab's temporary directory.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// The server's IPv4 address on client `i`'s link.
    pub fn server_v4(&self, i: usize) -> String {
        format!("10.213.{i}.1")
    }

    /// The server's IPv6 address on client `i`'s link.
    pub fn server_v6(&self, i: usize) -> String {
        format!("fd00:213:{i}::1")
    }

    /// A command run inside namespace `ns`.
    pub fn cmd(&self, ns: &str, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns, program]);
        c
    }

    /// The persisted ruleset of this lab (never the host's /etc/nodeward/firewall.nft).
    pub fn persist_file(&self) -> PathBuf {
        self.path("etc/firewall.nft")
    }

    /// A `nodeward` command inside the server namespace with the lab's state dir
    /// and persist file, and no SSH_CONNECTION.
    pub fn nodeward_cmd(&self) -> Command {
        let mut c = self.cmd(&self.server, nodeward());
        c.env("NODEWARD_STATE_DIR", self.path("state"))
            .env("NODEWARD_PERSIST_FILE", self.persist_file())
            .env_remove("SSH_CONNECTION");
        c
    }

    /// `nodeward ARGS` inside the server namespace, with the lab's state dir and persist file.
    pub fn nodeward(&self, args: &[&str]) -> Output {
        let mut c = self.nodeward_cmd();
        c.args(args);
        run_bounded(c, Duration::from_secs(20))
    }

    /// `nft ARGS` inside the server namespace; panics on failure.
    pub fn nft(&self, args: &[&str]) -> String {
        let mut c = self.cmd(&self.server, "nft");
        c.args(args);
        let out = run_bounded(c, Duration::from_secs(10));
        assert!(
            out.status.success(),
            "nft {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Starts a long-running process that is killed when the lab is dropped.
    pub fn spawn(&mut self, mut cmd: Command) -> usize {
        let child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
        self.children.push(child);
        self.children.len() - 1
    }

    /// The process started by [`Lab::spawn`] number `i`.
    pub fn child(&mut self, i: usize) -> &mut Child {
        &mut self.children[i]
    }

    /// Starts TCP listeners (v4 and v6) on `ports` in the server namespace and waits
    /// until they accept on loopback.
    pub fn listen(&mut self, ports: &[u16]) {
        let server = self.server.clone();
        self.listen_in(&server, ports);
    }

    /// Starts TCP listeners (v4 and v6) on `ports` in namespace `ns`.
    pub fn listen_in(&mut self, ns: &str, ports: &[u16]) {
        for &p in ports {
            let mut c = self.cmd(ns, "socat");
            c.arg(format!("TCP6-LISTEN:{p},ipv6only=0,fork,reuseaddr"))
                .arg("OPEN:/dev/null")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null());
            self.spawn(c);
        }
        for &p in ports {
            let ok = wait_until(Duration::from_secs(5), || self.connects(ns, "127.0.0.1", p));
            assert!(ok, "listener on port {p} did not come up");
        }
    }

    /// Whether a new TCP connection from namespace `ns` to `addr`:`port` is accepted
    /// within one second.
    pub fn connects(&self, ns: &str, addr: &str, port: u16) -> bool {
        run_bounded(self.connect_cmd(ns, addr, port), Duration::from_secs(10))
            .status
            .success()
    }

    /// The socat command [`Lab::connects`] runs.
    pub fn connect_cmd(&self, ns: &str, addr: &str, port: u16) -> Command {
        let target = if addr.contains(':') {
            format!("TCP6:[{addr}]:{port},connect-timeout=1")
        } else {
            format!("TCP4:{addr}:{port},connect-timeout=1")
        };
        let mut c = self.cmd(ns, "socat");
        c.args(["-u", "OPEN:/dev/null", &target])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        c
    }
}

/// Polls `f` every 100 ms until it is true or `limit` passes.
pub fn wait_until(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let start = Instant::now();
    loop {
        if f() {
            return true;
        }
        if start.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn sh(args: &[&str]) {
    let mut c = Command::new(args[0]);
    c.args(&args[1..]);
    let out = run_bounded(c, Duration::from_secs(10));
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        for ns in std::iter::once(&self.server).chain(self.clients.iter()) {
            // Processes this test started inside its own namespaces (e.g. a pending
            // roll-back worker, sshd children) are ended by pid before deletion.
            if let Ok(out) = Command::new("ip").args(["netns", "pids", ns]).output() {
                for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                    let _ = Command::new("kill").args(["-9", pid]).status();
                }
            }
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// Text of an output, for assertion messages.
pub fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Writes `text` to `path`.
pub fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
}
