//! `nodeward audit --root` on the accounts and key-file case roots
//! (tests/fixtures/audit/cases/acc-*, written by parts/accounts.py): each false
//! pass of ACC-005 … ACC-010 and each key-file problem fails with evidence
//! naming the file and line or path, and its correct counterpart passes.

mod common_audit;

use common_audit::*;

/// Audits a case root with `profile`, only the accounts and keys areas.
fn case(name: &str, profile: &str) -> Run {
    let root = fixture(&format!("cases/{name}"));
    let run = audit(&[
        "--root",
        root.to_str().unwrap(),
        "--profile",
        profile,
        "--only",
        "accounts,keys",
        "--format",
        "json",
    ]);
    assert!(run.code == 0 || run.code == 1, "{name}: {}", run.stderr);
    run
}

fn status(run: &Run, id: &str) -> String {
    run.finding(id)["status"].as_str().unwrap().to_string()
}

fn evidence(run: &Run, id: &str) -> String {
    run.finding(id)["evidence"].as_str().unwrap().to_string()
}

/// Asserts `id` has `want` and its evidence contains every one of `parts`.
fn expect(run: &Run, id: &str, want: &str, parts: &[&str]) {
    let ev = evidence(run, id);
    assert_eq!(status(run, id), want, "{id}: {ev}");
    for p in parts {
        assert!(ev.contains(p), "{id} evidence lacks {p:?}: {ev}");
    }
}

#[test]
fn mfa_needs_sshd_to_ask_and_pam_to_enforce() {
    // cardano requires MFA: ACC-007 is scored (high) there.
    let good = case("acc-mfa-good", "cardano");
    expect(
        &good,
        "ACC-007",
        "pass",
        &[
            "/etc/pam.d/sshd:5: auth required pam_google_authenticator.so",
            "20-mfa.conf:2: KbdInteractiveAuthentication yes",
            "AuthenticationMethods publickey,keyboard-interactive",
            "UsePAM yes",
        ],
    );
    assert_eq!(good.finding("ACC-007")["severity"], "high");
    let sub = case("acc-mfa-substack-good", "cardano");
    expect(&sub, "ACC-007", "pass", &["/etc/pam.d/sshd-mfa:2"]);

    for (name, parts) in [
        ("acc-mfa-nullok", &["/etc/pam.d/sshd:5", "nullok"][..]),
        (
            "acc-mfa-kbd-off",
            &[
                "20-mfa.conf:1: KbdInteractiveAuthentication no",
                "never asks",
            ][..],
        ),
        ("acc-mfa-usepam-no", &["05-nopam.conf:1: UsePAM no"][..]),
        (
            "acc-mfa-keys-suffice",
            &["AuthenticationMethods not set", "a key alone"][..],
        ),
        (
            "acc-mfa-match-weakens",
            &["90-office.conf:2", "Match Address 10.0.0.0/8"][..],
        ),
        (
            "acc-mfa-password-first",
            &[
                "/etc/pam.d/sshd:5: auth sufficient pam_unix.so",
                "before the code",
            ][..],
        ),
        (
            "acc-mfa-sufficient",
            &["/etc/pam.d/sshd-mfa:1", "sufficient"][..],
        ),
    ] {
        let run = case(name, "cardano");
        expect(&run, "ACC-007", "fail", parts);
        assert_eq!(run.code, 1, "{name}: a high failure fails the run");
    }
    let lp = case("acc-mfa-pam-loop", "cardano");
    expect(&lp, "ACC-007", "error", &["PAM include loop"]);
}

#[test]
fn mfa_is_reported_but_not_scored_where_not_required() {
    // hornet does not require MFA: the nullok setup is a warn of severity info.
    let run = case("acc-mfa-nullok", "hornet");
    expect(&run, "ACC-007", "warn", &["nullok", "not scored"]);
    assert_eq!(run.finding("ACC-007")["severity"], "info");
    // ... and [audit] require_mfa = true makes it a scored failure.
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("n.toml");
    std::fs::write(&cfg, "[audit]\nrequire_mfa = true\n").unwrap();
    let root = fixture("cases/acc-mfa-nullok");
    let run = audit(&[
        "--root",
        root.to_str().unwrap(),
        "--profile",
        "hornet",
        "--config",
        cfg.to_str().unwrap(),
        "--only",
        "ACC-007",
        "--format",
        "json",
    ]);
    expect(&run, "ACC-007", "fail", &["nullok"]);
    assert_eq!(run.finding("ACC-007")["severity"], "high");
    assert_eq!(run.code, 1);
    // A mistyped value is a config error naming the file and line.
    std::fs::write(&cfg, "[audit]\nrequire_mfa = \"yes\"\n").unwrap();
    let run = audit(&[
        "--root",
        root.to_str().unwrap(),
        "--config",
        cfg.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("n.toml:2"), "{}", run.stderr);
}

#[test]
fn node_account_with_an_ordinary_uid_is_found_from_its_unit() {
    let bad = case("acc-cardano-login", "cardano");
    expect(
        &bad,
        "ACC-010",
        "fail",
        &[
            "node account cardano (uid 1001",
            "User= at /etc/systemd/system/cnode.service:5",
            "ExecStart runs cardano-node",
            "login shell /bin/bash",
            "password not locked (/etc/shadow:12)",
            "/home/cardano/.ssh/authorized_keys has 1 key",
        ],
    );
    let good = case("acc-cardano-good", "cardano");
    expect(
        &good,
        "ACC-010",
        "pass",
        &[
            "node account cardano (uid 1001; User= at /etc/systemd/system/cnode.service:5",
            "shell /usr/sbin/nologin, password locked, no SSH keys",
        ],
    );
}

#[test]
fn live_node_account_is_the_owner_of_the_running_node_process() {
    if !is_root() {
        // Starting the node process as another user needs root.
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
    // A "node" whose /proc/PID/comm is nwaccnode, run as nobody (UID 65534).
    let prog = dir.path().join("nwaccnode");
    std::fs::copy("/bin/sleep", &prog).unwrap();
    let mut child = std::process::Command::new("setpriv")
        .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
        .arg(&prog)
        .arg("30")
        .spawn()
        .unwrap();
    let pid = child.id();
    let comm = format!("/proc/{pid}/comm");
    for _ in 0..200 {
        if std::fs::read_to_string(&comm).is_ok_and(|c| c.trim() == "nwaccnode") {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let cfg = dir.path().join("n.toml");
    std::fs::write(&cfg, "[audit]\nnode_processes = [\"nwaccnode\"]\n").unwrap();
    let run = audit(&[
        "--config",
        cfg.to_str().unwrap(),
        "--only",
        "ACC-010",
        "--format",
        "json",
    ]);
    let _ = child.kill();
    let _ = child.wait();
    let ev = evidence(&run, "ACC-010");
    let nobody_locked = std::fs::read_to_string("/etc/shadow")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("nobody:*") || l.starts_with("nobody:!"));
    assert!(
        ev.contains(&format!(
            "node account nobody (uid 65534; runs nwaccnode (pid {pid}))"
        )),
        "{ev}"
    );
    if nobody_locked {
        assert!(
            ev.contains("shell /usr/sbin/nologin, password locked, no SSH keys"),
            "{ev}"
        );
    }
}

#[test]
fn sudo_splits_service_and_access_accounts() {
    let run = case("acc-cardano-sudo", "cardano");
    expect(
        &run,
        "ACC-008",
        "fail",
        &["/etc/sudoers.d/cardano:2", "node account cardano", "ALL"],
    );
    let run = case("acc-sudo-alias-nopasswd", "cardano");
    expect(
        &run,
        "ACC-008",
        "fail",
        &[
            "/etc/sudoers.d/ops:3",
            "access account admin (via OPS)",
            "SHELLS",
            "NOPASSWD",
        ],
    );
    let run = case("acc-sudo-no-authenticate", "cardano");
    expect(
        &run,
        "ACC-008",
        "fail",
        &[
            "admin (via %sudo)",
            "Defaults !authenticate at /etc/sudoers.d/ops:1",
        ],
    );
    let good = case("acc-sudo-good", "cardano");
    expect(
        &good,
        "ACC-008",
        "pass",
        &[
            "admin (via %sudo)",
            "cardano: /usr/bin/systemctl restart cnode",
            "cardano: /usr/bin/systemctl status cnode",
        ],
    );
}

#[test]
fn existing_accounts_ageing_comes_from_shadow() {
    let run = case("acc-shadow-never-expires", "hornet");
    expect(
        &run,
        "ACC-005",
        "fail",
        &[
            "/etc/shadow:1: root has maximum age 99999",
            "/etc/shadow:11: admin",
        ],
    );
    expect(
        &run,
        "ACC-006",
        "fail",
        &["/etc/shadow:1: root has warning days 7"],
    );
    let good = case("acc-mfa-good", "hornet");
    expect(
        &good,
        "ACC-005",
        "pass",
        &["PASS_MAX_DAYS 90", "root 90, admin 90"],
    );
    expect(
        &good,
        "ACC-006",
        "pass",
        &["PASS_WARN_AGE 21", "root 21, admin 21"],
    );
}

#[test]
fn unreadable_shadow_is_a_skip_not_a_pass() {
    if !is_root() {
        return;
    }
    let tree = copy_fixture("cases/acc-mfa-good");
    let root = tree.path().to_str().unwrap().to_string();
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
            .args([
                "--root",
                &root,
                "--format",
                "json",
                "--only",
                "ACC-005,ACC-006",
            ])
            .output()
            .unwrap(),
    );
    for id in ["ACC-005", "ACC-006"] {
        expect(
            &run,
            id,
            "skip",
            &["existing accounts not checked", "permission denied"],
        );
    }
}

#[test]
fn key_files_owner_mode_and_cold_keys() {
    if !is_root() {
        // Owners in the case roots can only be set by root.
        return;
    }
    let good = case("acc-cardano-good", "cardano");
    expect(
        &good,
        "KEY-001",
        "pass",
        &["/opt/cardano/cnode/priv/pool/POOL1/hot.skey owner cardano (1001) mode 0600"],
    );
    expect(&good, "KEY-002", "pass", &["looked in /opt/cardano"]);

    let bad = case("acc-keys-world-readable", "cardano");
    expect(
        &bad,
        "KEY-001",
        "fail",
        &[
            "hot.skey owner cardano (1001) mode 0644: group or others can read",
            "vrf.skey owner admin (1000) mode 0600: owned by neither",
        ],
    );
    let cold = case("acc-keys-cold-on-hot", "cardano");
    expect(
        &cold,
        "KEY-002",
        "fail",
        &[
            "/home/cardano/cold-keys/cold.skey",
            "/home/cardano/cold-keys/node.counter",
            "/home/cardano/cold-keys/payment.skey",
            "/home/cardano/cold-keys/stake.skey",
        ],
    );
    assert_eq!(cold.finding("KEY-002")["severity"], "critical");

    let mn = case("acc-masternode-wallet", "masternode");
    expect(
        &mn,
        "KEY-001",
        "fail",
        &["/home/dash/.dashcore/wallet.dat owner dash (997) mode 0644"],
    );
    assert!(!evidence(&mn, "KEY-001").contains("dash.conf owner dash (997) mode 0600:"));
    let ilp = case("acc-ilp-env", "ilp");
    expect(
        &ilp,
        "KEY-001",
        "fail",
        &["/etc/ilp-connector/.env owner root (0) mode 0644"],
    );

    // Hornet's identity key on the hardened root.
    let run = audit(&[
        "--root",
        fixture("hardened").to_str().unwrap(),
        "--profile",
        "hornet",
        "--only",
        "keys",
        "--format",
        "json",
    ]);
    expect(
        &run,
        "KEY-001",
        "pass",
        &["/var/lib/hornet/p2pstore/identity.key owner hornet (999) mode 0600"],
    );
    expect(
        &run,
        "KEY-003",
        "pass",
        &["/etc/nodeward/nodeward.toml owner root (0) mode 0600"],
    );
}

#[test]
fn no_key_files_is_a_skip_naming_where_it_looked() {
    let run = case("acc-mfa-good", "cardano");
    expect(&run, "KEY-001", "skip", &["no key files", "/opt/cardano"]);
    expect(&run, "KEY-002", "skip", &["no node key files found"]);
    let weak = audit(&[
        "--root",
        fixture("weak").to_str().unwrap(),
        "--only",
        "keys",
        "--format",
        "json",
    ]);
    expect(
        &weak,
        "KEY-001",
        "skip",
        &["profile generic names no node key files"],
    );
    expect(
        &weak,
        "KEY-003",
        "fail",
        &[
            "/etc/nodeward/nodeward.toml owner",
            "mode 0644: others can read",
        ],
    );
}
