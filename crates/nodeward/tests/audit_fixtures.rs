//! `nodeward audit --root` on the fixture trees: a hardened host passes every
//! check an offline audit can make, a weak host fails each of them, a fresh
//! Debian gets the known verdicts, and broken input becomes `error`/`skip`
//! findings without a panic.

mod common_audit;

use common_audit::*;

/// Checks that need a running system: `skip` on every offline tree.
const LIVE_ONLY: [(&str, &str); 9] = [
    ("FW-004", "skip"),
    ("FW-005", "skip"),
    ("TIME-001", "skip"),
    ("ACC-009", "skip"),
    ("RST-001", "skip"),
    // Only with --profile ilp (tests/audit_cases_ilp.rs runs them on these roots).
    ("ILP-001", "skip"),
    ("ILP-002", "skip"),
    ("ILP-003", "skip"),
    ("ILP-004", "skip"),
];

#[test]
fn hardened_host_passes_every_offline_check_and_scores_a_plus() {
    let root = fixture("hardened");
    let run = audit(&[
        "--root",
        root.to_str().unwrap(),
        "--profile",
        "hornet",
        "--format",
        "json",
        "--fail-on",
        "info",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let mut overrides = LIVE_ONLY.to_vec();
    // Hornet has no keys that belong offline (only the cardano profile does).
    overrides.push(("KEY-002", "skip"));
    assert_statuses(&run, "pass", &overrides);
    let v = run.json();
    assert_eq!(v["schema_version"], 1);
    assert_eq!(v["command"], "audit");
    assert_eq!(v["score"], 100);
    assert_eq!(v["grade"], "A+");
    assert_eq!(v["parts"]["host"]["mode"], "offline");
    assert_eq!(v["parts"]["host"]["profile"], "hornet");
    // Evidence names the file and line that decided.
    let ssh = run.finding("SSH-001");
    assert_eq!(
        ssh["evidence"],
        "/etc/ssh/sshd_config.d/10-nodeward.conf:5: PasswordAuthentication no"
    );
}

#[test]
fn weak_host_fails_each_offline_check() {
    let root = fixture("weak");
    let run = audit(&["--root", root.to_str().unwrap(), "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let mut overrides = LIVE_ONLY.to_vec();
    // An nftables ruleset is active (it just accepts everything: FW-002 fails);
    // the sshd_config is valid (its broken twin is the `broken` fixture).
    overrides.extend([("FW-001", "pass"), ("SSH-012", "pass")]);
    // The generic profile does not require MFA (reported, not scored) and names
    // no node key files: audit_cases_accounts covers those on case roots.
    overrides.extend([
        ("ACC-007", "warn"),
        ("KEY-001", "skip"),
        ("KEY-002", "skip"),
    ]);
    assert_statuses(&run, "fail", &overrides);
    let v = run.json();
    assert!(v["score"].as_i64().unwrap() < 20, "{}", v["score"]);
    assert_eq!(v["grade"], "F");
    // First value wins: the include after line 4 cannot turn passwords off.
    assert_eq!(
        run.finding("SSH-001")["evidence"],
        "/etc/ssh/sshd_config:4: PasswordAuthentication yes"
    );
    let m = run.finding("SSH-011")["evidence"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(m.contains("Match Address 10.0.0.0/8"), "{m}");
    let sudo = run.finding("ACC-008")["evidence"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        sudo.contains("/etc/sudoers.d/90-cloud-init-users:2"),
        "{sudo}"
    );
    let sec = run.finding("UPD-002")["evidence"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        sec.contains("openssh-server 1:9.2p1-2+deb12u3 -> 1:9.2p1-2+deb12u7"),
        "{sec}"
    );
    assert!(
        !sec.contains("bash"),
        "bash's upgrade is not from the security archive: {sec}"
    );
}

#[test]
fn fresh_debian_gets_the_known_verdicts() {
    let root = fixture("debian-default");
    let run = audit(&["--root", root.to_str().unwrap(), "--format", "json"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let s = run.statuses();
    for (id, want) in [
        ("SSH-001", "fail"), // PasswordAuthentication unset: default yes
        ("SSH-002", "warn"), // prohibit-password
        ("SSH-003", "pass"),
        ("SSH-004", "pass"),
        ("SSH-005", "fail"),
        ("SSH-007", "fail"), // Debian ships X11Forwarding yes
        ("SSH-009", "pass"),
        ("SSH-010", "warn"), // default MACs include hmac-sha1 and umac-64
        ("FW-001", "fail"),
        ("TIME-002", "pass"), // systemd-timesyncd enabled
        ("UPD-001", "fail"),
        ("UPD-002", "fail"),
        ("UPD-004", "pass"),
        ("ACC-001", "pass"),
        ("ACC-002", "pass"),
        ("ACC-005", "fail"),
        ("ACC-008", "pass"),
        ("ACC-010", "pass"),
        ("KRN-002", "pass"), // systemd's 50-default.conf sets rp_filter = 2
        ("KRN-005", "pass"),
        ("KRN-007", "fail"),
        ("MAN-001", "manual"),
    ] {
        assert_eq!(s[id], want, "{id}: {}", run.finding(id)["evidence"]);
    }
    let ev = run.finding("SSH-001")["evidence"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(ev.contains("OpenSSH default is yes"), "{ev}");
    // --fail-on decides the exit code: no critical check fails on a fresh Debian.
    let crit = audit(&[
        "--root",
        root.to_str().unwrap(),
        "--format",
        "json",
        "--fail-on",
        "critical",
    ]);
    assert_eq!(crit.code, 0);
}

#[test]
fn broken_input_becomes_error_and_skip_findings_never_a_panic() {
    let root = fixture("broken");
    let run = audit(&["--root", root.to_str().unwrap(), "--format", "json"]);
    assert!(
        run.code == 0 || run.code == 1,
        "code {} stderr {}",
        run.code,
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let s = run.statuses();
    for id in ["SSH-001", "SSH-005", "SSH-010"] {
        assert_eq!(s[id], "error", "{id}");
        let ev = run.finding(id)["evidence"].as_str().unwrap().to_string();
        assert!(ev.contains("Include loop"), "{ev}");
    }
    assert_eq!(s["SSH-012"], "fail");
    let ev = run.finding("SSH-012")["evidence"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(ev.contains("unterminated quote"), "{ev}");
    for (id, reason) in [
        ("ACC-001", "no valid entries"),
        ("ACC-002", "binary"),
        ("ACC-005", "dangling symlink"),
        ("ACC-008", "is a directory"),
        ("FS-001", "too many levels of symlinks"),
    ] {
        assert_eq!(s[id], "error", "{id}");
        let ev = run.finding(id)["evidence"].as_str().unwrap().to_string();
        assert!(ev.contains(reason), "{id}: {ev}");
    }
    assert_eq!(s["UPD-001"], "skip");
}

#[test]
fn huge_and_unreadable_files_are_reported() {
    let tree = copy_fixture("hardened");
    let root = tree.path().to_str().unwrap().to_string();
    // A 5 MiB login.defs is refused, not read.
    let f = std::fs::File::create(tree.path().join("etc/login.defs")).unwrap();
    f.set_len(5 * 1024 * 1024).unwrap();
    let run = audit(&["--root", &root, "--format", "json", "--only", "accounts"]);
    assert_eq!(run.statuses()["ACC-005"], "error");
    let ev = run.finding("ACC-005")["evidence"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(ev.contains("limit"), "{ev}");

    if !is_root() {
        return;
    }
    // As an unprivileged user, /etc/shadow (0640 root) cannot be read: skip.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(tree.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    std::fs::set_permissions(
        tree.path().join("etc/shadow"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    let run = Run::from(
        std::process::Command::new("setpriv")
            .args([
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                bin(),
                "audit",
            ])
            .args(["--root", &root, "--format", "json", "--only", "ACC-002"])
            .output()
            .unwrap(),
    );
    assert_eq!(run.statuses()["ACC-002"], "skip", "{}", run.stdout);
    let ev = run.finding("ACC-002")["evidence"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(ev.contains("permission denied"), "{ev}");
}

#[test]
fn missing_or_non_linux_root_exits_2_with_error_findings() {
    let run = audit(&[
        "--root",
        "/nonexistent/nodeward-audit-root",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("does not exist"), "{}", run.stderr);
    let s = run.statuses();
    assert!(
        s.iter()
            .all(|(id, st)| st == "error" || st == "skip" || id.starts_with("MAN-")),
        "{s:?}"
    );
    assert_eq!(s["SSH-001"], "error");

    let empty = tempfile::tempdir().unwrap();
    let run = audit(&["--root", empty.path().to_str().unwrap(), "--format", "json"]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("not a Linux root tree"),
        "{}",
        run.stderr
    );
}

#[test]
fn only_skip_and_unknown_selectors() {
    let root = fixture("weak");
    let root = root.to_str().unwrap();
    let run = audit(&[
        "--root",
        root,
        "--format",
        "json",
        "--only",
        "ssh,KRN-001",
        "--skip",
        "SSH-005",
    ]);
    let ids: Vec<String> = run.statuses().into_keys().collect();
    assert!(ids.contains(&"KRN-001".to_string()));
    assert!(ids.contains(&"SSH-001".to_string()));
    assert!(!ids.contains(&"SSH-005".to_string()));
    assert!(
        ids.iter().all(|i| i.starts_with("SSH-") || i == "KRN-001"),
        "{ids:?}"
    );

    let run = audit(&["--root", root, "--only", "SSH-999"]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("SSH-999"), "{}", run.stderr);
    let run = audit(&["--root", root, "--fail-on", "severe"]);
    assert_eq!(run.code, 2);
    let run = audit(&["--root", root, "--profile", "bitcoin"]);
    assert_eq!(run.code, 2);
}

#[test]
fn fail_on_thresholds_set_the_exit_code() {
    let weak = fixture("weak");
    let weak = weak.to_str().unwrap();
    // Only low-severity checks selected, all failing.
    let low = audit(&[
        "--root",
        weak,
        "--only",
        "SSH-005,SVC-002",
        "--fail-on",
        "medium",
    ]);
    assert_eq!(low.code, 0);
    let low = audit(&[
        "--root",
        weak,
        "--only",
        "SSH-005,SVC-002",
        "--fail-on",
        "low",
    ]);
    assert_eq!(low.code, 1);
    let crit = audit(&["--root", weak, "--only", "SSH-003", "--fail-on", "critical"]);
    assert_eq!(crit.code, 1);
}

#[test]
fn text_html_junit_and_output_file() {
    let weak = fixture("weak");
    let weak = weak.to_str().unwrap();
    let text = audit(&["--root", weak]);
    assert_eq!(text.code, 1);
    assert!(!text.stdout.contains('\x1b'), "no colour when not a TTY");
    let ssh = text.stdout.find("== ssh").expect("ssh area");
    let manual = text.stdout.find("== manual").expect("manual area");
    assert!(ssh < manual, "areas with failures first");
    let first_fail = text.stdout[ssh..].find("FAIL").unwrap();
    let first_pass = text.stdout[ssh..].find("PASS").unwrap_or(usize::MAX);
    assert!(first_fail < first_pass, "failures first within an area");
    assert!(
        text.stdout.contains("fix: Set `PasswordAuthentication no`"),
        "{}",
        text.stdout
    );

    let html = audit(&["--root", weak, "--format", "html"]);
    assert!(html.stdout.starts_with("<!DOCTYPE html>"));
    assert!(html.stdout.contains("<svg class=\"gauge\""));
    assert!(html.stdout.contains("class=\"bar\""));
    assert!(!html.stdout.contains("src=\"http"));

    let junit = audit(&["--root", weak, "--format", "junit"]);
    assert!(junit.stdout.starts_with("<?xml"));
    assert!(junit.stdout.contains("<testsuite name=\"ssh\""));
    assert!(junit.stdout.contains("<failure type=\"high\""));

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("report.html");
    let run = audit(&[
        "--root",
        weak,
        "--format",
        "html",
        "--output",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 1);
    assert!(run.stdout.is_empty());
    assert!(std::fs::read_to_string(&out).unwrap().contains("</html>"));
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&out).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the report is private to its owner");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "no temp file left"
    );
}

#[test]
fn config_sets_the_profile_and_bad_config_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("nodeward.toml");
    std::fs::write(
        &cfg,
        "[gateway]\nignored = true\n\n[audit]\nprofile = \"cardano\"\nallowed_ports = [6000, \"3002/udp\"]\nnode_processes = [\"cardano-node\"]\n",
    )
    .unwrap();
    let root = fixture("hardened");
    let run = audit(&[
        "--root",
        root.to_str().unwrap(),
        "--format",
        "json",
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert_eq!(run.json()["parts"]["host"]["profile"], "cardano");
    // --profile beats the config.
    let run = audit(&[
        "--root",
        root.to_str().unwrap(),
        "--format",
        "json",
        "--config",
        cfg.to_str().unwrap(),
        "--profile",
        "iota",
    ]);
    assert_eq!(run.json()["parts"]["host"]["profile"], "iota");

    std::fs::write(&cfg, "[audit]\nprofile = \"iota\"\nallowed_port = [1]\n").unwrap();
    let run = audit(&[
        "--root",
        root.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("nodeward.toml:3"), "{}", run.stderr);
    let run = audit(&[
        "--root",
        root.to_str().unwrap(),
        "--config",
        "/nonexistent/nodeward.toml",
    ]);
    assert_eq!(run.code, 2);
}

#[test]
fn list_checks_names_every_id() {
    let run = audit(&["--list-checks", "--format", "json"]);
    assert_eq!(run.code, 0);
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let ids: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap())
        .collect();
    assert!(ids.len() >= 50);
    // docs/checks.md documents every check.
    let docs =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/checks.md"))
            .unwrap();
    for id in ids {
        assert!(
            docs.contains(&format!("`{id}`")),
            "docs/checks.md lacks {id}"
        );
    }
}

#[test]
fn stale_baseline_and_signatures_fail() {
    let tree = copy_fixture("hardened");
    for f in [
        "var/lib/aide/aide.db",
        "var/lib/clamav/main.cvd",
        "var/lib/clamav/daily.cld",
    ] {
        let st = std::process::Command::new("touch")
            .args(["-d", "60 days ago"])
            .arg(tree.path().join(f))
            .status()
            .unwrap();
        assert!(st.success());
    }
    let run = audit(&[
        "--root",
        tree.path().to_str().unwrap(),
        "--format",
        "json",
        "--only",
        "integrity",
    ]);
    let s = run.statuses();
    assert_eq!(s["INT-001"], "fail");
    assert_eq!(s["INT-002"], "fail");
    assert_eq!(s["INT-003"], "pass");
    let ev = run.finding("INT-001")["evidence"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(ev.contains("60 days old"), "{ev}");
}

#[test]
fn ufw_and_iptables_persistent_firewalls_are_recognised_offline() {
    // ufw enabled with a drop policy and IPv6 on.
    let tree = copy_fixture("debian-default");
    std::fs::create_dir_all(tree.path().join("etc/ufw")).unwrap();
    std::fs::write(
        tree.path().join("etc/ufw/ufw.conf"),
        "# ufw\nENABLED=yes\nLOGLEVEL=low\n",
    )
    .unwrap();
    std::fs::create_dir_all(tree.path().join("etc/default")).unwrap();
    std::fs::write(
        tree.path().join("etc/default/ufw"),
        "IPV6=yes\nDEFAULT_INPUT_POLICY=\"DROP\"\nDEFAULT_OUTPUT_POLICY=\"ACCEPT\"\n",
    )
    .unwrap();
    let run = audit(&[
        "--root",
        tree.path().to_str().unwrap(),
        "--format",
        "json",
        "--only",
        "FW-001,FW-002,FW-003",
    ]);
    let s = run.statuses();
    for id in ["FW-001", "FW-002", "FW-003"] {
        assert_eq!(s[id], "pass", "{id}: {}", run.finding(id)["evidence"]);
    }

    // iptables-persistent: IPv4 drops, no rules.v6, so IPv6 fails.
    let tree = copy_fixture("debian-default");
    std::fs::create_dir_all(tree.path().join("etc/iptables")).unwrap();
    std::fs::write(
        tree.path().join("etc/iptables/rules.v4"),
        "*filter\n:INPUT DROP [0:0]\n:FORWARD DROP [0:0]\n:OUTPUT ACCEPT [0:0]\n-A INPUT -i lo -j ACCEPT\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n",
    )
    .unwrap();
    let wants = tree
        .path()
        .join("etc/systemd/system/multi-user.target.wants");
    std::os::unix::fs::symlink(
        "/lib/systemd/system/netfilter-persistent.service",
        wants.join("netfilter-persistent.service"),
    )
    .unwrap();
    let run = audit(&[
        "--root",
        tree.path().to_str().unwrap(),
        "--format",
        "json",
        "--only",
        "firewall",
    ]);
    let s = run.statuses();
    assert_eq!(s["FW-001"], "pass");
    assert_eq!(s["FW-002"], "pass");
    assert_eq!(s["FW-003"], "fail", "{}", run.finding("FW-003")["evidence"]);
}

#[test]
fn config_check_validates_the_audit_table() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("nodeward.toml");
    std::fs::write(
        &cfg,
        "[audit]\nprofile = \"iota\"\nallowed_ports = [\"80/sctp\"]\n",
    )
    .unwrap();
    let out = std::process::Command::new(bin())
        .args(["config", "check", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let run = Run::from(out);
    assert_eq!(run.code, 2, "{} {}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("audit.allowed_ports[0]"),
        "{}",
        run.stderr
    );
}
