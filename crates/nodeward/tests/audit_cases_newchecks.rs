//! `nodeward audit` on the case roots of tests/fixtures/audit/parts/newchecks.py,
//! where one subtle setting decides each of the logging, core dump, auditd,
//! SSH (SSH-013 … SSH-019) and separate-/var checks; permission checks on a
//! copied tree whose modes the test sets (git keeps no group/world bits); and
//! RST-001 on this machine against a real process whose binary the test deletes.

mod common_audit;

use common_audit::*;
use std::os::unix::fs::PermissionsExt;
use std::process::{Command, Stdio};

fn case(name: &str) -> String {
    fixture(&format!("cases/{name}"))
        .to_str()
        .unwrap()
        .to_string()
}

/// Audits `root` (profile hornet) for `only`.
fn run(root: &str, only: &str) -> Run {
    let r = audit(&[
        "--root",
        root,
        "--profile",
        "hornet",
        "--format",
        "json",
        "--only",
        only,
    ]);
    assert!(r.code == 0 || r.code == 1, "code {}: {}", r.code, r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    r
}

fn evidence(r: &Run, id: &str) -> String {
    r.finding(id)["evidence"].as_str().unwrap().to_string()
}

/// Asserts each `(id, status, evidence fragment)`.
fn expect(r: &Run, want: &[(&str, &str, &str)]) {
    let s = r.statuses();
    for (id, status, fragment) in want {
        let ev = evidence(r, id);
        assert_eq!(s[*id], *status, "{id}: {ev}");
        assert!(ev.contains(fragment), "{id}: {ev:?} lacks {fragment:?}");
    }
}

#[test]
fn journald_storage_decides_when_no_syslog_runs() {
    // journald.conf says persistent; a later drop-in says volatile and wins.
    let r = run(&case("log-dropin-volatile"), "LOG-001");
    expect(
        &r,
        &[(
            "LOG-001",
            "fail",
            "/etc/systemd/journald.conf.d/90-ram.conf:2: Storage=volatile",
        )],
    );
    // Storage unset (auto) persists only when /var/log/journal exists.
    let r = run(&case("log-auto-with-dir"), "LOG-001");
    expect(&r, &[("LOG-001", "pass", "/var/log/journal exists")]);
    let r = run(&case("log-auto-without-dir"), "LOG-001");
    expect(
        &r,
        &[("LOG-001", "fail", "/var/log/journal does not exist")],
    );
    // rsyslog enabled is enough on its own.
    let r = run(fixture("hardened").to_str().unwrap(), "LOG-001");
    expect(&r, &[("LOG-001", "pass", "rsyslog.service enabled")]);
}

#[test]
fn later_files_undo_core_dump_settings() {
    let r = run(&case("core-subtle-wrong"), "coredumps");
    expect(
        &r,
        &[
            ("CORE-001", "fail", "/etc/sysctl.d/99-debug.conf:1"),
            (
                "CORE-002",
                "fail",
                "/etc/systemd/coredump.conf.d/90-debug.conf:2: Storage=external",
            ),
            (
                "CORE-003",
                "fail",
                "/etc/security/limits.d/90-debug.conf:1: * hard core unlimited",
            ),
        ],
    );
    // ProcessSizeMax=0 alone discards dumps; `-` sets the hard limit too.
    let r = run(&case("core-subtle-right"), "coredumps");
    expect(
        &r,
        &[
            ("CORE-001", "pass", "fs.suid_dumpable = 0"),
            ("CORE-002", "pass", "ProcessSizeMax=0"),
            ("CORE-003", "pass", "* - core 0"),
        ],
    );
    // A group line raises the limit for its members; a file pattern writes dumps.
    let r = run(&case("core-group-raises"), "coredumps");
    expect(
        &r,
        &[
            ("CORE-002", "fail", "/var/crash/core.%e.%p"),
            ("CORE-003", "fail", "@developers hard core unlimited"),
        ],
    );
}

#[test]
fn ssh_settings_that_look_right_but_are_not() {
    let r = run(&case("ssh-subtle-wrong"), "ssh");
    expect(
        &r,
        &[
            // Only inside `Match User deploy`: everyone else gets the default.
            (
                "SSH-013",
                "fail",
                "AllowTcpForwarding not set in /etc/ssh/sshd_config or its includes; OpenSSH default is yes",
            ),
            // Global no, but a Match block turns it back on for one user.
            ("SSH-014", "warn", "AllowAgentForwarding yes (under"),
            ("SSH-015", "fail", "05-node.conf:3: MaxSessions 3"),
            ("SSH-016", "fail", "05-node.conf:4: LogLevel INFO"),
            ("SSH-017", "fail", "only inside Match blocks"),
            ("SSH-018", "fail", "ClientAliveCountMax 0 never drops"),
            ("SSH-019", "fail", "LoginGraceTime 2m: 120s is over 60s"),
        ],
    );
    let r = run(&case("ssh-subtle-right"), "ssh");
    expect(
        &r,
        &[
            ("SSH-013", "pass", "05-node.conf:2: AllowTcpForwarding no"),
            ("SSH-014", "pass", "AllowAgentForwarding no"),
            ("SSH-015", "pass", "MaxSessions 1"),
            ("SSH-016", "pass", "violates users' privacy"),
            ("SSH-017", "pass", "AllowUsers admin"),
            ("SSH-018", "pass", "dropped after 180s"),
            ("SSH-019", "pass", "LoginGraceTime 1m (60s)"),
        ],
    );
    // Values sshd refuses are errors, not passes or panics.
    let r = run(&case("ssh-bad-values"), "ssh");
    for id in ["SSH-013", "SSH-015", "SSH-016", "SSH-018", "SSH-019"] {
        assert_eq!(r.statuses()[id], "error", "{id}: {}", evidence(&r, id));
        assert!(evidence(&r, id).contains("sshd refuses to start"), "{id}");
    }
}

#[test]
fn auditd_must_be_enabled_and_have_real_rules() {
    let r = run(&case("aud-subtle-wrong"), "auditd");
    expect(
        &r,
        &[
            (
                "AUD-001",
                "fail",
                "installed but auditd.service is not enabled",
            ),
            ("AUD-002", "fail", "only control lines"),
        ],
    );
    let r = run(fixture("hardened").to_str().unwrap(), "auditd");
    expect(
        &r,
        &[
            ("AUD-001", "pass", "auditd installed and enabled"),
            ("AUD-002", "pass", "60-nodeward.rules: 5 rule(s)"),
        ],
    );
}

#[test]
fn separate_var_counts_whole_path_components_only() {
    let r = run(&case("fs-sibling-mount"), "FS-004");
    expect(&r, &[("FS-004", "fail", "neither /var, /var/log")]);
    let r = run(&case("fs-var-log"), "FS-004");
    expect(
        &r,
        &[(
            "FS-004",
            "pass",
            "/var/log is its own file system (/etc/fstab:5",
        )],
    );
}

#[test]
fn broken_files_are_errors_never_passes() {
    let r = run(
        fixture("broken").to_str().unwrap(),
        "LOG-001,CORE-003,AUD-002,PERM-001,SSH-019",
    );
    expect(
        &r,
        &[
            ("LOG-001", "error", "binary content"),
            ("CORE-003", "error", "is a directory"),
            ("AUD-002", "error", "dangling symlink"),
            ("PERM-001", "error", "no valid entries"),
            ("SSH-019", "error", "Include loop"),
        ],
    );
}

#[test]
fn fresh_debian_gets_the_known_verdicts() {
    let r = run(
        fixture("debian-default").to_str().unwrap(),
        "logging,coredumps,auditd,FS-004,SSH-013,SSH-014,SSH-015,SSH-016,SSH-017,SSH-018,SSH-019",
    );
    expect(
        &r,
        &[
            // Debian 12 ships /var/log/journal, so the default Storage=auto persists.
            ("LOG-001", "pass", "/var/log/journal exists"),
            ("CORE-001", "pass", "Linux default"),
            ("CORE-002", "fail", "kernel.core_pattern = core"),
            ("CORE-003", "fail", "no `* hard core 0`"),
            ("AUD-001", "fail", "not installed"),
            ("AUD-002", "fail", "no audit rules"),
            ("FS-004", "fail", "in /etc/fstab"),
            ("SSH-013", "fail", "OpenSSH default is yes"),
            ("SSH-014", "fail", "OpenSSH default is yes"),
            ("SSH-015", "fail", "OpenSSH default is 10"),
            ("SSH-016", "fail", "OpenSSH default is INFO"),
            ("SSH-017", "fail", "neither AllowUsers nor AllowGroups"),
            ("SSH-018", "fail", "interval 0 sends no keep-alive probes"),
            (
                "SSH-019",
                "fail",
                "OpenSSH default is 120: 120s is over 60s",
            ),
        ],
    );
}

fn chmod(path: &std::path::Path, mode: u32) {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

#[test]
fn writable_homes_ssh_dirs_and_node_data_fail() {
    let tree = copy_fixture("hardened");
    let root = tree.path().to_str().unwrap().to_string();
    let p = |rel: &str| tree.path().join(rel);
    // The committed modes pass.
    chmod(&p("home/admin"), 0o750);
    chmod(&p("home/admin/.ssh"), 0o700);
    chmod(&p("home/admin/.ssh/authorized_keys"), 0o600);
    chmod(&p("var/lib/hornet"), 0o750);
    let r = run(&root, "permissions");
    expect(
        &r,
        &[
            ("PERM-001", "pass", "/home/admin 0750"),
            ("PERM-002", "pass", "/home/admin/.ssh 0700"),
            ("PERM-003", "pass", "/var/lib/hornet 0750"),
        ],
    );
    // Group-writable home, world-writable authorized_keys, a world-writable
    // file inside the node's data directory.
    chmod(&p("home/admin"), 0o770);
    chmod(&p("home/admin/.ssh/authorized_keys"), 0o646);
    chmod(&p("var/lib/hornet/config.json"), 0o666);
    let r = run(&root, "permissions");
    expect(
        &r,
        &[
            ("PERM-001", "fail", "/home/admin 0770 is writable"),
            ("PERM-002", "fail", "/home/admin/.ssh/authorized_keys 0646"),
            ("PERM-003", "fail", "/var/lib/hornet/config.json 0666"),
        ],
    );
    // A world-writable .ssh (sticky or not) and data directory fail too.
    chmod(&p("home/admin/.ssh"), 0o1777);
    chmod(&p("var/lib/hornet"), 0o777);
    let r = run(&root, "PERM-002,PERM-003");
    expect(
        &r,
        &[
            ("PERM-002", "fail", "/home/admin/.ssh 1777"),
            ("PERM-003", "fail", "/var/lib/hornet 0777 is writable"),
        ],
    );
    // The weak tree's private key is readable by everyone.
    let r = run(fixture("weak").to_str().unwrap(), "PERM-002");
    expect(
        &r,
        &[(
            "PERM-002",
            "fail",
            "/home/node/.ssh/id_ed25519 0644 (a private key)",
        )],
    );
}

/// A process killed and reaped on drop.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn live_audit_names_a_process_whose_binary_was_deleted() {
    // Not under /tmp or /var/tmp: deleted files there count as scratch space,
    // and a checkout (hence CARGO_TARGET_TMPDIR) may itself live under /tmp.
    let scratch = |p: &str| {
        ["/tmp/", "/var/tmp/", "/dev/shm/"]
            .iter()
            .any(|s| p.starts_with(s))
    };
    let base = ["/var/lib", env!("CARGO_TARGET_TMPDIR")]
        .into_iter()
        .find(|b| {
            !scratch(&format!("{b}/"))
                && tempfile::Builder::new()
                    .prefix("nodeward-rst-probe")
                    .tempdir_in(b)
                    .is_ok()
        });
    let Some(base) = base else {
        eprintln!("no writable directory outside scratch space (run as root): skipped");
        return;
    };
    let dir = tempfile::Builder::new()
        .prefix("nodeward-rst-test")
        .tempdir_in(base)
        .unwrap();
    let stale = dir.path().join("nodeward-stale-sleep");
    let kept = dir.path().join("nodeward-kept-sleep");
    let sleep = ["/bin/sleep", "/usr/bin/sleep"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists())
        .expect("sleep");
    std::fs::copy(sleep, &stale).unwrap();
    std::fs::copy(sleep, &kept).unwrap();
    let start = |bin: &std::path::Path| {
        Child(
            Command::new(bin)
                .arg("300")
                .stdin(Stdio::null())
                .spawn()
                .unwrap(),
        )
    };
    let replaced = start(&stale);
    let current = start(&kept);
    std::fs::remove_file(&stale).unwrap();
    let r = audit(&["--format", "json", "--only", "RST-001"]);
    assert!(r.code == 0 || r.code == 1, "{}", r.stderr);
    let f = r.finding("RST-001");
    let ev = f["evidence"].as_str().unwrap();
    assert_eq!(f["status"], "fail", "{ev}");
    let pid = replaced.0.id();
    assert!(
        ev.contains(&format!("pid {pid}")),
        "pid {pid} missing: {ev}"
    );
    assert!(ev.contains(stale.to_str().unwrap()), "{ev}");
    assert!(
        !ev.contains(&format!("pid {},", current.0.id()))
            && !ev.contains(&format!("pid {})", current.0.id())),
        "the process whose binary still exists is not stale: {ev}"
    );
    drop(replaced);
    drop(current);
}

#[test]
fn restarts_check_is_skipped_offline() {
    let r = run(fixture("hardened").to_str().unwrap(), "RST-001");
    expect(&r, &[("RST-001", "skip", "offline root")]);
}
