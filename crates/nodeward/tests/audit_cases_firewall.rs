//! `nodeward audit` on the firewall and brute-force case roots
//! (tests/fixtures/audit/cases/, written by parts/firewall.py): each bad root,
//! which used to pass or passed with empty evidence, now gets the verdict it
//! deserves, and its good counterpart passes. Plus the live side: nodeward's
//! own table loaded in a network namespace the test creates, with and without
//! its persistence (bind-mounted over /etc/nodeward and /etc/systemd/system in
//! a private mount namespace), a real `nodeward ban watch`, and a public
//! listener with no jail.

mod common_audit;

use common_audit::*;

/// Audits a case root with the hornet profile, firewall and bruteforce checks only.
fn case(name: &str) -> Run {
    let root = fixture(&format!("cases/{name}"));
    assert!(root.is_dir(), "missing case root {}", root.display());
    let run = audit(&[
        "--root",
        root.to_str().unwrap(),
        "--profile",
        "hornet",
        "--format",
        "json",
        "--only",
        "firewall,bruteforce",
    ]);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run
}

/// Asserts `id` has `status` and its evidence contains each of `needles`.
fn expect(run: &Run, id: &str, status: &str, needles: &[&str]) {
    let f = run.finding(id);
    let ev = f["evidence"].as_str().unwrap();
    assert_eq!(f["status"], status, "{id}: {ev}");
    for n in needles {
        assert!(ev.contains(n), "{id}: {n:?} not in {ev}");
    }
}

#[test]
fn fw_001_persisted_file_without_boot_unit_warns() {
    let bad = case("fw-001-unit-not-enabled-bad");
    expect(
        &bad,
        "FW-001",
        "warn",
        &[
            "not loaded at boot",
            "/etc/nodeward/firewall.nft holds table inet nodeward",
            "nodeward-firewall.service is not enabled",
        ],
    );
    let fix = bad.finding("FW-001")["remediation"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        fix.contains("nodeward firewall confirm") && fix.contains("nodeward-firewall.service"),
        "{fix}"
    );
    // Nothing else loads at boot, so input is not denied either.
    expect(&bad, "FW-002", "fail", &[]);

    let good = case("fw-001-unit-not-enabled-good");
    expect(
        &good,
        "FW-003",
        "pass",
        &["IPv6 input denied by default: table inet nodeward chain"],
    );
    for id in ["FW-001", "FW-002"] {
        expect(
            &good,
            id,
            "pass",
            &["loaded at boot by nodeward-firewall.service"],
        );
    }
    expect(
        &good,
        "FW-002",
        "pass",
        &["table inet nodeward chain input: hook input, policy drop"],
    );
}

#[test]
fn fw_001_remediation_names_the_persistence_step() {
    let run = case("bf-002-gateway-no-jail-good");
    let fix = run.finding("FW-001")["remediation"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        fix.contains("nodeward firewall confirm")
            && fix.contains("systemctl enable nodeward-firewall.service"),
        "{fix}"
    );
}

#[test]
fn fw_003_ufw_evidence_says_what_was_found() {
    let unset = case("fw-003-ufw-ipv6-unset-bad");
    expect(
        &unset,
        "FW-003",
        "warn",
        &[
            "could not be determined",
            "/etc/default/ufw does not set IPV6",
        ],
    );
    expect(&unset, "FW-001", "pass", &["IPV6=unset"]);
    let no = case("fw-003-ufw-ipv6-no-bad");
    expect(
        &no,
        "FW-003",
        "fail",
        &["ufw: IPV6=no in /etc/default/ufw, so ufw filters IPv4 only"],
    );
    let good = case("fw-003-ufw-ipv6-good");
    expect(
        &good,
        "FW-003",
        "pass",
        &["IPv6 input denied by default: ufw: IPV6=yes, DEFAULT_INPUT_POLICY=DROP in /etc/default/ufw"],
    );
    for run in [&unset, &no, &good] {
        let ev = run.finding("FW-003")["evidence"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(!ev.trim_end().ends_with(':'), "empty evidence tail: {ev}");
    }
}

#[test]
fn fw_003_csf_and_firewalld_evidence_says_what_was_found() {
    let bad = case("fw-003-csf-ipv6-bad");
    expect(
        &bad,
        "FW-001",
        "pass",
        &["csf: TESTING = \"0\", csf.service enabled"],
    );
    expect(
        &bad,
        "FW-003",
        "fail",
        &["csf: IPV6 = \"0\" in /etc/csf/csf.conf, so csf filters IPv4 only"],
    );
    let good = case("fw-003-csf-ipv6-good");
    expect(
        &good,
        "FW-003",
        "pass",
        &["IPv6 input denied by default: csf: IPV6 = \"1\" in /etc/csf/csf.conf"],
    );
    let firewalld = case("fw-003-firewalld-good");
    expect(
        &firewalld,
        "FW-003",
        "pass",
        &["IPv6 input denied by default: firewalld: default zone public rejects IPv4 and IPv6 input"],
    );
}

#[test]
fn bf_002_gateway_listener_without_jail_fails() {
    let bad = case("bf-002-gateway-no-jail-bad");
    // An SSH jail alone used to pass.
    expect(
        &bad,
        "BF-002",
        "fail",
        &[
            "no jail for",
            "8443/tcp (gateway [[listener]])",
            "80/tcp (profile hornet)",
            "2222/tcp (SSH (sshd_config Port)): fail2ban [sshd]",
            "out of scope: TCP 15600: peering ports",
        ],
    );
    let ev = bad.finding("BF-002")["evidence"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        !ev.contains("9000"),
        "a loopback listener is not exposed: {ev}"
    );
    let fix = bad.finding("BF-002")["remediation"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(fix.contains("8443/tcp"), "{fix}");

    let good = case("bf-002-gateway-no-jail-good");
    expect(
        &good,
        "BF-002",
        "pass",
        &[
            "every exposed port has a jail",
            "8443/tcp (gateway [[listener]]): nodeward ban (gateway: ban.gateway_logs follows /var/log/nodeward/violations.jsonl)",
            "2222/tcp (SSH (sshd_config Port)): fail2ban [sshd]",
        ],
    );
}

#[test]
fn bf_002_fail2ban_port_lists_and_service_names() {
    let bad = case("bf-002-fail2ban-web-jail-bad");
    expect(
        &bad,
        "BF-002",
        "fail",
        &["no jail for 80/tcp (profile hornet), 443/tcp (profile hornet)"],
    );
    let good = case("bf-002-fail2ban-web-jail-good");
    // `port = http,\n https` (a continuation line) resolved through /etc/services.
    expect(
        &good,
        "BF-002",
        "pass",
        &[
            "80/tcp (profile hornet): fail2ban [nginx-http-auth] (/etc/fail2ban/jail.d/web.local:3)",
            "443/tcp (profile hornet): fail2ban [nginx-http-auth]",
        ],
    );
}

#[test]
fn bf_001_recognises_nodeward_ban() {
    let good = case("bf-001-nodeward-ban-good");
    expect(
        &good,
        "BF-001",
        "pass",
        &[
            "nodeward ban: nodeward-ban.service enabled",
            "sshd source /var/log/auth.log (/etc/nodeward/nodeward.toml)",
        ],
    );
    let ev = good.finding("BF-001")["evidence"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        !ev.contains("fail2ban"),
        "fail2ban is off in this root: {ev}"
    );
    expect(
        &good,
        "BF-002",
        "pass",
        &["2222/tcp (SSH (sshd_config Port)): nodeward ban (sshd)"],
    );

    let no_sshd = case("bf-001-nodeward-ban-no-sshd-bad");
    expect(
        &no_sshd,
        "BF-001",
        "fail",
        &["follows no sshd log", "ban.journald = \"off\""],
    );
    expect(&no_sshd, "BF-002", "fail", &["no jail for 2222/tcp"]);

    // A broken config is a finding naming the file and line, not an audit failure.
    let broken = case("bf-001-nodeward-ban-broken-config-bad");
    assert_eq!(
        broken.code, 0,
        "BF-001 is medium, below --fail-on high: {}",
        broken.stderr
    );
    expect(
        &broken,
        "BF-001",
        "fail",
        &["/etc/nodeward/nodeward.toml:20: duplicate key `logs`"],
    );
}

#[test]
fn hardened_root_jails_every_exposed_port() {
    let root = fixture("hardened");
    let run = audit(&[
        "--root",
        root.to_str().unwrap(),
        "--profile",
        "hornet",
        "--format",
        "json",
        "--only",
        "firewall,bruteforce",
    ]);
    expect(
        &run,
        "BF-002",
        "pass",
        &[
            "80/tcp (gateway [[listener]])",
            "443/tcp (gateway [[listener]])",
            "2222/tcp (SSH (sshd_config Port)): fail2ban [sshd]",
        ],
    );
    let weak = audit(&[
        "--root",
        fixture("weak").to_str().unwrap(),
        "--format",
        "json",
        "--only",
        "bruteforce",
    ]);
    expect(&weak, "BF-001", "fail", &["nodeward ban"]);
    expect(&weak, "BF-002", "fail", &[]);
}

mod live {
    //! Live: a network namespace per scenario, nodeward's own ruleset loaded
    //! into it with `nft -f` (what `nodeward firewall plan` prints), and the
    //! audit run inside it with a private /etc overlay holding (or not) the
    //! persisted ruleset and the boot unit's link.

    use super::common_audit::*;
    use std::path::{Path, PathBuf};
    use std::process::{Child, Command, Stdio};
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::{Duration, Instant};

    static SEQ: AtomicUsize = AtomicUsize::new(0);

    fn run_ok(cmd: &mut Command) -> String {
        let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
        assert!(
            out.status.success(),
            "{cmd:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn overlay_script() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support_firewall/with-etc-overlay.sh")
    }

    /// Root, nft, ip, unshare, openssl, and no nodeward firewall persisted on
    /// the machine itself (its /etc shows through the overlay).
    fn usable() -> bool {
        let tools = is_root()
            && ["/usr/sbin/nft", "/usr/bin/unshare", "/usr/bin/openssl"]
                .iter()
                .all(|p| Path::new(p).exists());
        let host_clean = !Path::new("/etc/nodeward/firewall.nft").exists()
            && !Path::new("/etc/systemd/system/sysinit.target.wants/nodeward-firewall.service")
                .exists();
        if !tools || !host_clean {
            eprintln!(
                "live firewall audit test needs root, nft, unshare, openssl and a machine without /etc/nodeward/firewall.nft (CI has them)"
            );
        }
        tools && host_clean
    }

    /// A network namespace with an /etc overlay directory, removed on drop.
    struct Ns {
        name: String,
        dir: tempfile::TempDir,
        children: Vec<Child>,
    }

    impl Ns {
        fn new() -> Ns {
            let name = format!(
                "nwfwaud-{}-{}",
                std::process::id(),
                SEQ.fetch_add(1, Ordering::SeqCst)
            );
            run_ok(Command::new("ip").args(["netns", "add", &name]));
            let ns = Ns {
                name,
                dir: tempfile::tempdir().unwrap(),
                children: Vec::new(),
            };
            run_ok(Command::new("ip").args(["-n", &ns.name, "link", "set", "lo", "up"]));
            for d in ["upper", "work"] {
                std::fs::create_dir(ns.dir.path().join(d)).unwrap();
            }
            ns
        }

        fn path(&self, rel: &str) -> PathBuf {
            self.dir.path().join(rel)
        }

        /// Writes `rel` under the /etc overlay.
        fn etc_write(&self, rel: &str, text: &str) {
            let p = self.path("upper").join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }

        /// Loads what `nodeward firewall plan` prints for `config` into the namespace.
        fn load_nodeward_ruleset(&self, config: &Path) -> String {
            let script = run_ok(
                Command::new(bin())
                    .args(["firewall", "plan", "--config"])
                    .arg(config),
            );
            let file = self.path("plan.nft");
            std::fs::write(&file, &script).unwrap();
            run_ok(
                Command::new("ip")
                    .args(["netns", "exec", &self.name, "nft", "-f"])
                    .arg(&file),
            );
            script
        }

        fn audit(&self, only: &str) -> Run {
            let out = Command::new("ip")
                .args([
                    "netns",
                    "exec",
                    &self.name,
                    "unshare",
                    "--mount",
                    "--propagation",
                    "private",
                    "sh",
                ])
                .arg(overlay_script())
                .arg(self.path("upper"))
                .arg(self.path("work"))
                .arg(bin())
                .args(["audit", "--format", "json", "--only", only])
                .env("NO_COLOR", "1")
                .output()
                .unwrap();
            let run = Run::from(out);
            assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
            run
        }

        fn spawn(&mut self, program: &Path, args: &[&str]) -> u32 {
            let child = Command::new("ip")
                .args(["netns", "exec", &self.name])
                .arg(program)
                .args(args)
                .stdin(Stdio::piped())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn");
            let pid = child.id();
            self.children.push(child);
            pid
        }

        /// Waits until `pred` holds for the namespace's `nft list ruleset` or
        /// /proc/net/tcp output.
        fn wait_for(&self, what: &[&str], pred: impl Fn(&str) -> bool) {
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                let out = Command::new("ip")
                    .args(["netns", "exec", &self.name])
                    .args(what)
                    .output()
                    .unwrap();
                if pred(&String::from_utf8_lossy(&out.stdout)) {
                    return;
                }
                assert!(
                    Instant::now() < deadline,
                    "timed out waiting for {what:?} in {}",
                    self.name
                );
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    impl Drop for Ns {
        fn drop(&mut self) {
            for c in &mut self.children {
                let _ = c.kill();
                let _ = c.wait();
            }
            let _ = Command::new("ip")
                .args(["netns", "del", &self.name])
                .status();
        }
    }

    #[test]
    fn live_nodeward_table_warns_until_persisted() {
        if !usable() {
            return;
        }
        let ns = Ns::new();
        let cfg = ns.path("fw.toml");
        std::fs::write(
            &cfg,
            "[firewall]\nssh_port = 2222\nprofiles = [\"hornet\"]\n",
        )
        .unwrap();
        let script = ns.load_nodeward_ruleset(&cfg);

        // Loaded by hand, nothing persisted: it will not survive a reboot.
        let run = ns.audit("FW-001,FW-002");
        let f = run.finding("FW-001");
        let ev = f["evidence"].as_str().unwrap();
        assert_eq!(f["status"], "warn", "{ev}");
        assert!(
            ev.contains("table inet nodeward is loaded but will not survive a reboot"),
            "{ev}"
        );
        assert!(
            ev.contains("/etc/nodeward/firewall.nft does not exist"),
            "{ev}"
        );
        let fix = f["remediation"].as_str().unwrap();
        assert!(fix.contains("nodeward firewall confirm"), "{fix}");
        assert!(
            fix.contains("systemctl enable nodeward-firewall.service"),
            "{fix}"
        );
        assert_eq!(
            run.statuses()["FW-002"],
            "pass",
            "{}",
            run.finding("FW-002")["evidence"]
        );

        // The file alone is still not loaded at boot.
        ns.etc_write("nodeward/firewall.nft", &script);
        let run = ns.audit("FW-001");
        let ev = run.finding("FW-001")["evidence"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(run.statuses()["FW-001"], "warn", "{ev}");
        assert!(
            ev.contains("nodeward-firewall.service is not enabled"),
            "{ev}"
        );

        // File and boot unit: pass.
        let wants = ns.path("upper").join("systemd/system/sysinit.target.wants");
        std::fs::create_dir_all(&wants).unwrap();
        std::os::unix::fs::symlink(
            "/lib/systemd/system/nodeward-firewall.service",
            wants.join("nodeward-firewall.service"),
        )
        .unwrap();
        let run = ns.audit("FW-001");
        let ev = run.finding("FW-001")["evidence"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(run.statuses()["FW-001"], "pass", "{ev}");
        assert!(ev.contains("table inet nodeward loaded"), "{ev}");
        assert!(
            ev.contains("loaded at boot by nodeward-firewall.service"),
            "{ev}"
        );
    }

    #[test]
    fn live_nodeward_ban_watch_and_an_unjailed_listener() {
        if !usable() {
            return;
        }
        let mut ns = Ns::new();
        let log = ns.path("auth.log");
        std::fs::write(&log, "").unwrap();
        std::fs::create_dir(ns.path("state")).unwrap();
        let cfg = ns.path("ban.toml");
        std::fs::write(
            &cfg,
            format!(
                "[firewall]\nstate_dir = \"{}\"\n[ban]\nlogs = [\"{}\"]\njournald = \"off\"\n",
                ns.path("state").display(),
                log.display()
            ),
        )
        .unwrap();
        let cfg_arg = cfg.to_str().unwrap().to_string();
        let pid = ns.spawn(Path::new(bin()), &["ban", "watch", "--config", &cfg_arg]);
        // ban watch loads its ban sets (table inet nodeward, chain ban_input) by itself.
        ns.wait_for(&["nft", "list", "ruleset"], |t| {
            t.contains("chain ban_input")
        });
        ns.spawn(
            Path::new("/usr/bin/openssl"),
            &["s_server", "-nocert", "-quiet", "-accept", "0.0.0.0:18443"],
        );
        let needle = format!(":{:04X} ", 18443);
        ns.wait_for(&["cat", "/proc/net/tcp"], |t| {
            t.lines()
                .any(|l| l.contains(&needle) && l.split_whitespace().nth(3) == Some("0A"))
        });

        let run = ns.audit("FW-001,BF-001,BF-002");
        let st = run.statuses();
        // The ban sets alone are not nodeward's firewall: no persistence warning.
        let ev = run.finding("FW-001")["evidence"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(!ev.contains("will not survive a reboot"), "{ev}");
        let ev = run.finding("BF-001")["evidence"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(st["BF-001"], "pass", "{ev}");
        assert!(
            ev.contains(&format!("`nodeward ban watch` running (pid {pid})")),
            "{ev}"
        );
        assert!(
            ev.contains(&format!("sshd source {} ({cfg_arg})", log.display())),
            "{ev}"
        );
        let ev = run.finding("BF-002")["evidence"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(st["BF-002"], "fail", "{ev}");
        assert!(ev.contains("no jail for 18443/tcp (openssl pid"), "{ev}");
    }
}
