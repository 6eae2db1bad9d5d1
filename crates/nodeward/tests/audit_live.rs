//! `nodeward audit` on a live system with known settings, isolated from the
//! machine running the tests: each scenario creates its own network namespace
//! (a veth pair with IPv4 and global IPv6 addresses), loads nftables
//! rules only inside it, starts a real sshd inside it with a test
//! sshd_config, and runs the audit inside it under `unshare --mount` with the
//! test's directory bind-mounted over /etc/ssh. The host's firewall, sshd and
//! /etc/ssh are never changed; namespaces and processes are removed on drop.

mod common_audit;

use common_audit::*;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

static SEQ: AtomicUsize = AtomicUsize::new(0);

/// Processes are shared across namespaces, so scenarios run one at a time:
/// otherwise one scenario's root-owned listener shows up in another's ACC-009.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn wrapper() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/common_audit/with-ssh-dir.sh")
}

fn run_ok(cmd: &mut Command) {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A network namespace with sshd, an optional node-API listener and nftables
/// rules, all removed on drop.
struct Scenario {
    ns: String,
    ssh_dir: tempfile::TempDir,
    children: Vec<Child>,
}

impl Scenario {
    fn new(sshd_config: &str) -> Scenario {
        let ns = format!(
            "nwaudit-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::SeqCst)
        );
        run_ok(Command::new("ip").args(["netns", "add", &ns]));
        let s = Scenario {
            ns,
            ssh_dir: tempfile::tempdir().unwrap(),
            children: Vec::new(),
        };
        for args in [
            &["link", "set", "lo", "up"][..],
            &[
                "link", "add", "nwd0", "type", "veth", "peer", "name", "nwd1",
            ],
            &["link", "set", "nwd1", "up"],
            &["addr", "add", "10.203.0.1/24", "dev", "nwd0"],
            &["addr", "add", "fd00:203::1/64", "dev", "nwd0", "nodad"],
            &["link", "set", "nwd0", "up"],
        ] {
            run_ok(Command::new("ip").arg("-n").arg(&s.ns).args(args));
        }
        let key = s.ssh_dir.path().join("ssh_host_ed25519_key");
        run_ok(
            Command::new("ssh-keygen")
                .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                .arg(&key),
        );
        std::fs::write(s.ssh_dir.path().join("sshd_config"), sshd_config).unwrap();
        s
    }

    /// `ip netns exec NS` + `unshare --mount` + the /etc/ssh bind wrapper.
    fn inside(&self, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args([
            "netns",
            "exec",
            &self.ns,
            "unshare",
            "--mount",
            "--propagation",
            "private",
            "sh",
        ])
        .arg(wrapper())
        .arg(self.ssh_dir.path())
        .arg(program);
        c
    }

    fn nft(&self, rules: &str) {
        let file = self.ssh_dir.path().join("rules.nft");
        std::fs::write(&file, rules).unwrap();
        run_ok(
            Command::new("ip")
                .args(["netns", "exec", &self.ns, "nft", "-f"])
                .arg(&file),
        );
    }

    fn start_sshd(&mut self, port: u16) {
        let child = self
            .inside("/usr/sbin/sshd")
            .args(["-D", "-e"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start sshd");
        self.children.push(child);
        self.wait_listening(port);
    }

    /// The process name of this scenario's stand-in node (unique per run, so
    /// no other process on the machine is mistaken for it).
    fn node_name(&self) -> String {
        let n = self.ns.trim_start_matches("nwaudit-").replace('-', "");
        format!("nwn{}", &n[n.len().saturating_sub(11)..])
    }

    /// A stand-in node API: a copy of `openssl` named [`Self::node_name`]
    /// running `s_server` on ADDR:PORT, as root or nobody.
    fn start_listener(&mut self, addr: &str, port: u16, as_nobody: bool) {
        use std::os::unix::fs::PermissionsExt;
        let exe = self.ssh_dir.path().join(self.node_name());
        std::fs::copy("/usr/bin/openssl", &exe).unwrap();
        std::fs::set_permissions(self.ssh_dir.path(), std::fs::Permissions::from_mode(0o755))
            .unwrap();
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns]);
        if as_nobody {
            c.args([
                "setpriv",
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
            ]);
        }
        c.arg(&exe)
            .args(["s_server", "-nocert", "-quiet", "-accept"])
            .arg(format!("{addr}:{port}"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        self.children
            .push(c.spawn().expect("start openssl s_server"));
        self.wait_listening(port);
    }

    fn wait_listening(&self, port: u16) {
        let needle = format!(":{port:04X} ");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let out = Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &self.ns,
                    "cat",
                    "/proc/net/tcp",
                    "/proc/net/tcp6",
                ])
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            if text
                .lines()
                .any(|l| l.contains(&needle) && l.split_whitespace().nth(3) == Some("0A"))
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "nothing listens on {port} in {}",
                self.ns
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Runs the audit with a private /tmp mounted with `tmp_opts`. The binary
    /// is copied into the test's /etc/ssh first: the build may live under /tmp,
    /// which the private mount hides.
    fn audit_env(&self, args: &[&str], tmp_opts: &str) -> Run {
        let copy = self.ssh_dir.path().join("nodeward");
        if !copy.exists() {
            std::fs::copy(bin(), &copy).unwrap();
        }
        let out = self
            .inside("/etc/ssh/nodeward")
            .arg("audit")
            .args(["--format", "json"])
            .args(args)
            .env("NO_COLOR", "1")
            .env("NW_TMP_OPTS", tmp_opts)
            .output()
            .unwrap();
        Run::from(out)
    }

    fn audit(&self, args: &[&str]) -> Run {
        let out = self
            .inside(bin())
            .arg("audit")
            .args(["--format", "json"])
            .args(args)
            .env("NO_COLOR", "1")
            .output()
            .unwrap();
        Run::from(out)
    }
}

impl Drop for Scenario {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("ip").args(["netns", "del", &self.ns]).status();
    }
}

fn tools_present() -> bool {
    is_root()
        && [
            "/usr/sbin/sshd",
            "/usr/sbin/nft",
            "/usr/bin/openssl",
            "/usr/bin/ssh-keygen",
        ]
        .iter()
        .all(|p| Path::new(p).exists())
}

const HARDENED_SSHD: &str = "Port 2222\nHostKey /etc/ssh/ssh_host_ed25519_key\nUsePAM no\n\
PermitRootLogin no\nPasswordAuthentication no\nPermitEmptyPasswords no\nPubkeyAuthentication yes\n\
MaxAuthTries 3\nX11Forwarding no\n\
KexAlgorithms curve25519-sha256,curve25519-sha256@libssh.org\n\
Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com\n\
MACs hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com\n";

const WEAK_SSHD: &str = "Port 22\nHostKey /etc/ssh/ssh_host_ed25519_key\nUsePAM no\n\
PermitRootLogin yes\nPasswordAuthentication yes\nPermitEmptyPasswords yes\nPubkeyAuthentication no\n\
MaxAuthTries 10\nX11Forwarding yes\n\
KexAlgorithms +diffie-hellman-group14-sha1\nCiphers +aes128-cbc\nMACs +hmac-md5\n\
Match Address 10.0.0.0/8\n  PasswordAuthentication yes\n";

const DROP_RULES: &str = "table inet filter {\n chain input {\n  type filter hook input priority 0; policy drop;\n  ct state established,related accept\n  iif lo accept\n  tcp dport 2222 accept\n }\n}\n";

const ACCEPT_RULES_V4_ONLY: &str = "table ip filter {\n chain input {\n  type filter hook input priority 0; policy accept;\n }\n}\n";

fn config(s: &Scenario) -> PathBuf {
    let p = s.ssh_dir.path().join("nodeward.toml");
    std::fs::write(
        &p,
        format!(
            "[audit]\nprofile = \"iota\"\nnode_processes = [\"{}\"]\n",
            s.node_name()
        ),
    )
    .unwrap();
    p
}

#[test]
fn hardened_live_host_passes() {
    let _one_at_a_time = serial();
    if !tools_present() {
        eprintln!("live audit test needs root, sshd, nft, openssl, ssh-keygen (CI has them)");
        return;
    }
    let mut s = Scenario::new(HARDENED_SSHD);
    s.nft(DROP_RULES);
    s.start_sshd(2222);
    s.start_listener("127.0.0.1", 14265, true);
    let cfg = config(&s);
    let run = s.audit(&[
        "--config",
        cfg.to_str().unwrap(),
        "--only",
        "ssh,firewall,ACC-009",
    ]);
    assert!(
        run.stderr.is_empty() || !run.stderr.contains("panicked"),
        "{}",
        run.stderr
    );
    let st = run.statuses();
    for id in [
        "SSH-001", "SSH-002", "SSH-003", "SSH-004", "SSH-005", "SSH-006", "SSH-007", "SSH-008",
        "SSH-009", "SSH-010", "SSH-011", "SSH-012", "FW-001", "FW-002", "FW-003", "FW-004",
        "FW-005", "ACC-009",
    ] {
        assert_eq!(st[id], "pass", "{id}: {}", run.finding(id)["evidence"]);
    }
    // The live path asked sshd itself.
    let ev = run.finding("SSH-001")["evidence"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(ev.starts_with("sshd -T: passwordauthentication no"), "{ev}");
    assert!(ev.contains("/etc/ssh/sshd_config:5"), "{ev}");
    let ev = run.finding("FW-002")["evidence"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        ev.contains("nft list ruleset") && ev.contains("policy drop"),
        "{ev}"
    );
    let ev = run.finding("FW-004")["evidence"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(ev.contains("2222/tcp") && ev.contains("sshd pid"), "{ev}");
    let ev = run.finding("ACC-009")["evidence"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        ev.contains(&format!("{} pid", s.node_name())) && ev.contains("uid 65534"),
        "{ev}"
    );
    assert_eq!(run.json()["parts"]["host"]["mode"], "live");
}

#[test]
fn weak_live_host_fails() {
    let _one_at_a_time = serial();
    if !tools_present() {
        eprintln!("live audit test needs root, sshd, nft, openssl, ssh-keygen (CI has them)");
        return;
    }
    let mut s = Scenario::new(WEAK_SSHD);
    s.nft(ACCEPT_RULES_V4_ONLY);
    s.start_sshd(22);
    s.start_listener("0.0.0.0", 14265, false);
    let cfg = config(&s);
    let run = s.audit(&[
        "--config",
        cfg.to_str().unwrap(),
        "--only",
        "ssh,firewall,ACC-009",
    ]);
    let st = run.statuses();
    for id in [
        "SSH-001", "SSH-002", "SSH-003", "SSH-004", "SSH-005", "SSH-006", "SSH-007", "SSH-008",
        "SSH-009", "SSH-010", "SSH-011", "FW-002", "FW-003", "FW-004", "FW-005", "ACC-009",
    ] {
        assert_eq!(st[id], "fail", "{id}: {}", run.finding(id)["evidence"]);
    }
    assert_eq!(
        st["FW-001"], "pass",
        "an accept-all ruleset is still an active firewall"
    );
    assert_eq!(run.code, 1);
    let ev = run.finding("FW-005")["evidence"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        ev.contains(&format!("14265/tcp on 0.0.0.0 ({} pid", s.node_name())),
        "{ev}"
    );
    let ev = run.finding("FW-003")["evidence"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        ev.contains("nwd0"),
        "IPv6 is up on the dummy interface: {ev}"
    );
    let ev = run.finding("ACC-009")["evidence"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(ev.contains("runs as root"), "{ev}");
    let ev = run.finding("SSH-009")["evidence"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(ev.contains("aes128-cbc"), "{ev}");
}

#[test]
fn live_host_without_firewall_fails_fw_001() {
    let _one_at_a_time = serial();
    if !tools_present() {
        eprintln!("live audit test needs root, sshd, nft, openssl, ssh-keygen (CI has them)");
        return;
    }
    let s = Scenario::new(HARDENED_SSHD);
    let run = s.audit(&["--only", "FW-001,FW-002,FW-004"]);
    let st = run.statuses();
    assert_eq!(
        st["FW-001"],
        "fail",
        "{}",
        run.finding("FW-001")["evidence"]
    );
    assert_eq!(st["FW-002"], "fail");
    // Nothing listens in the fresh namespace.
    assert_eq!(
        st["FW-004"],
        "pass",
        "{}",
        run.finding("FW-004")["evidence"]
    );
}

impl Scenario {
    /// Sets a kernel parameter inside the namespace only (net.* are per-namespace).
    fn sysctl(&self, key_value: &str) {
        run_ok(
            Command::new("ip").args(["netns", "exec", &self.ns, "sysctl", "-q", "-w", key_value]),
        );
    }
}

#[test]
fn live_kernel_parameters_and_mount_options_are_read_from_the_running_system() {
    let _one_at_a_time = serial();
    if !tools_present() {
        eprintln!("live audit test needs root, sshd, nft, openssl, ssh-keygen (CI has them)");
        return;
    }
    let s = Scenario::new(HARDENED_SSHD);
    // Per-namespace sysctls: good values first.
    for kv in [
        "net.ipv4.tcp_syncookies=1",
        "net.ipv4.conf.all.accept_redirects=0",
        "net.ipv4.conf.default.accept_redirects=0",
        "net.ipv6.conf.all.accept_redirects=0",
        "net.ipv6.conf.default.accept_redirects=0",
    ] {
        s.sysctl(kv);
    }
    let good = s.audit_env(
        &["--only", "KRN-001,KRN-003,FS-001"],
        "rw,nodev,nosuid,noexec,size=16m",
    );
    let st = good.statuses();
    assert_eq!(
        st["KRN-001"],
        "pass",
        "{}",
        good.finding("KRN-001")["evidence"]
    );
    assert_eq!(
        st["KRN-003"],
        "pass",
        "{}",
        good.finding("KRN-003")["evidence"]
    );
    assert_eq!(
        st["FS-001"],
        "pass",
        "{}",
        good.finding("FS-001")["evidence"]
    );
    let ev = good.finding("FS-001")["evidence"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(ev.starts_with("/proc/self/mountinfo:"), "{ev}");
    let ev = good.finding("KRN-001")["evidence"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(ev.contains("/proc/sys/net/ipv4/tcp_syncookies"), "{ev}");

    // Then bad ones.
    s.sysctl("net.ipv4.tcp_syncookies=0");
    s.sysctl("net.ipv6.conf.all.accept_redirects=1");
    let bad = s.audit_env(&["--only", "KRN-001,KRN-003,FS-001"], "rw,nosuid,size=16m");
    let st = bad.statuses();
    assert_eq!(st["KRN-001"], "fail");
    assert_eq!(st["KRN-003"], "fail");
    let ev = bad.finding("KRN-003")["evidence"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        ev.contains("net.ipv6.conf.all.accept_redirects = 1"),
        "{ev}"
    );
    assert_eq!(st["FS-001"], "fail");
    let ev = bad.finding("FS-001")["evidence"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(ev.contains("missing nodev,noexec"), "{ev}");
}
