//! `nodeward audit` on services, updates and small faults (issue 13, part 4):
//! live, services are judged by what runs — checked against what `pgrep`
//! shows on this machine, and inside a private PID (and network) namespace
//! where the test starts exactly the processes and listeners it wants —;
//! offline, the case roots under tests/fixtures/audit/cases/ that fail before
//! the fix and their correct twins that pass.

mod common_audit;

use common_audit::*;
use std::path::Path;
use std::process::Command;

/// The live tests run one at a time: a process one starts in its private PID
/// namespace is still visible from the parent namespace, where another
/// compares the live audit with pgrep.
static LIVE: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn live_lock() -> std::sync::MutexGuard<'static, ()> {
    LIVE.lock().unwrap_or_else(|e| e.into_inner())
}

/// The NTP daemons' names as `/proc/PID/comm` shows them.
const NTP_COMMS: &str = "chronyd|systemd-timesyn|ntpd";

/// Runs `nodeward audit --format json ARGS` inside fresh PID and mount
/// namespaces (and a fresh network namespace when `net`), after starting
/// `helper` (program and arguments) in the background there. Nothing started
/// outlives the namespace: its init is the shell, and the audit is exec'd.
fn audit_in_private_pids(net: bool, helper: Option<&[&str]>, args: &[&str]) -> Run {
    let mut cmd = Command::new("unshare");
    cmd.args(["--pid", "--fork", "--mount-proc"]);
    if net {
        cmd.arg("--net");
    }
    // $1: the audit binary, $2..: audit args; the helper comes from the
    // environment as separate words, never as a built shell string.
    let script = match helper {
        Some(_) => {
            r#"bin="$1"; shift; "$HELPER" "$HELPER_ARG1" "$HELPER_ARG2" & sleep 2; exec "$bin" audit --format json "$@""#
        }
        None => r#"bin="$1"; shift; exec "$bin" audit --format json "$@""#,
    };
    cmd.args(["sh", "-c", script, "sh", bin()]).args(args);
    if let Some(h) = helper {
        cmd.env("HELPER", h[0])
            .env("HELPER_ARG1", h.get(1).copied().unwrap_or(""))
            .env("HELPER_ARG2", h.get(2).copied().unwrap_or(""));
    }
    cmd.env("NO_COLOR", "1");
    Run::from(cmd.output().expect("run unshare"))
}

/// A copy of `sleep` named `name` in a temp dir, so its comm is `name`.
fn fake_daemon(dir: &Path, name: &str) -> String {
    let path = dir.join(name);
    std::fs::copy("/bin/sleep", &path).unwrap();
    path.to_str().unwrap().to_string()
}

fn enabled_ntp_units() -> Vec<String> {
    [
        "chrony.service",
        "chronyd.service",
        "ntp.service",
        "ntpsec.service",
        "systemd-timesyncd.service",
    ]
    .iter()
    .filter(|u| {
        ["multi-user.target.wants", "sysinit.target.wants"]
            .iter()
            .any(|w| Path::new(&format!("/etc/systemd/system/{w}/{u}")).exists())
    })
    .map(|u| u.to_string())
    .collect()
}

#[test]
fn live_time_002_agrees_with_pgrep_on_this_machine() {
    let _live = live_lock();
    let run = audit(&["--only", "TIME-002", "--format", "json"]);
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    let f = run.finding("TIME-002");
    let (status, evidence) = (
        f["status"].as_str().unwrap(),
        f["evidence"].as_str().unwrap(),
    );
    let pg = Command::new("pgrep")
        .args(["-x", NTP_COMMS])
        .output()
        .unwrap();
    let pids: Vec<String> = String::from_utf8_lossy(&pg.stdout)
        .split_whitespace()
        .map(String::from)
        .collect();
    if pids.is_empty() {
        assert_eq!(status, "fail", "no time daemon runs, yet: {evidence}");
        assert!(!evidence.contains("running (pid"), "{evidence}");
        for unit in enabled_ntp_units() {
            assert!(
                evidence.contains(&format!("{unit} enabled ("))
                    && evidence.contains("but not running"),
                "{unit} is enabled here and must be named as not running: {evidence}"
            );
        }
    } else {
        assert_eq!(status, "pass", "{evidence}");
        assert!(
            pids.iter()
                .any(|p| evidence.contains(&format!("(pid {p})"))),
            "pgrep shows {pids:?}: {evidence}"
        );
    }
}

#[test]
fn live_time_002_fails_when_only_enabled_and_passes_when_a_daemon_runs() {
    let _live = live_lock();
    if !is_root() {
        eprintln!("needs root for unshare --pid");
        return;
    }
    // Nothing but the audit runs in this PID namespace.
    let run = audit_in_private_pids(false, None, &["--only", "TIME-002"]);
    let f = run.finding("TIME-002");
    assert_eq!(f["status"], "fail", "{f}\n{}", run.stderr);
    let ev = f["evidence"].as_str().unwrap();
    if enabled_ntp_units().is_empty() {
        assert!(ev.contains("no chrony"), "{ev}");
    } else {
        assert!(
            ev.starts_with("no NTP daemon runs: ") && ev.contains("but not running"),
            "{ev}"
        );
    }

    // A process named chronyd runs (`sleep 30 30` under that name): it is
    // judged by what runs.
    let dir = tempfile::tempdir().unwrap();
    let chronyd = fake_daemon(dir.path(), "chronyd");
    let run = audit_in_private_pids(
        false,
        Some(&[&chronyd, "30", "30"]),
        &["--only", "TIME-002"],
    );
    let f = run.finding("TIME-002");
    assert_eq!(f["status"], "pass", "{f}\n{}", run.stderr);
    assert!(
        f["evidence"]
            .as_str()
            .unwrap()
            .starts_with("chronyd running (pid "),
        "{f}"
    );
}

#[test]
fn live_svc_001_sees_a_listener_on_an_unneeded_service_port() {
    let _live = live_lock();
    if !is_root() {
        eprintln!("needs root for unshare --net --pid");
        return;
    }
    // In a fresh network namespace nothing listens: SVC-001 has only what is
    // enabled on this machine's /etc to go by (which this test does not
    // control: a machine may have avahi enabled), and sees no listener.
    let clean = audit_in_private_pids(true, None, &["--only", "SVC-001"]);
    let f = clean.finding("SVC-001");
    let clean_ev = f["evidence"].as_str().unwrap();
    assert!(!clean_ev.contains("listening"), "{f}\n{}", clean.stderr);
    // A listener on 631/tcp (the cups port) is an unneeded service running.
    let run = audit_in_private_pids(
        true,
        Some(&["socat", "TCP4-LISTEN:631,bind=127.0.0.1", "STDOUT"]),
        &["--only", "SVC-001"],
    );
    let f = run.finding("SVC-001");
    assert_eq!(f["status"], "fail", "{f}\n{}", run.stderr);
    let ev = f["evidence"].as_str().unwrap();
    assert!(
        ev.contains("631/tcp listening on 127.0.0.1 (") && ev.contains("for cups.service"),
        "{ev}"
    );
}

#[test]
fn allowed_port_ranges_are_checked_and_honoured_by_fw_004_live() {
    let _live = live_lock();
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("nodeward.toml");
    // A reversed range is refused, naming the entry and what is wrong.
    std::fs::write(
        &cfg,
        "[audit]\nprofile = \"ilp\"\nallowed_ports = [22, \"3999-3000/tcp\"]\n",
    )
    .unwrap();
    let out = Command::new(bin())
        .args(["config", "check", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    let run = Run::from(out);
    assert_eq!(run.code, 2, "{} {}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("audit.allowed_ports[1]") && run.stderr.contains("above its end"),
        "{}",
        run.stderr
    );
    if !is_root() {
        eprintln!("needs root for unshare --net --pid");
        return;
    }
    // A public listener on 3456/tcp, as the ILP guide's 3000-3999 range opens.
    let helper = ["socat", "TCP4-LISTEN:3456", "STDOUT"];
    let cfg_arg = cfg.to_str().unwrap();
    std::fs::write(&cfg, "[audit]\nprofile = \"ilp\"\n").unwrap();
    let run = audit_in_private_pids(
        true,
        Some(&helper),
        &["--config", cfg_arg, "--only", "FW-004"],
    );
    let f = run.finding("FW-004");
    assert_eq!(f["status"], "fail", "{f}\n{}", run.stderr);
    assert!(
        f["evidence"]
            .as_str()
            .unwrap()
            .contains("3456/tcp on 0.0.0.0"),
        "{f}"
    );

    std::fs::write(
        &cfg,
        "[audit]\nprofile = \"ilp\"\nallowed_ports = [\"3000-3999/tcp\"]\n",
    )
    .unwrap();
    let run = audit_in_private_pids(
        true,
        Some(&helper),
        &["--config", cfg_arg, "--only", "FW-004"],
    );
    let f = run.finding("FW-004");
    assert_eq!(f["status"], "pass", "{f}\n{}", run.stderr);
    assert!(
        f["evidence"]
            .as_str()
            .unwrap()
            .contains("3456/tcp on 0.0.0.0"),
        "{f}"
    );
    // The range ends at 3999: 4000 is not in it.
    let helper = ["socat", "TCP4-LISTEN:4000", "STDOUT"];
    let run = audit_in_private_pids(
        true,
        Some(&helper),
        &["--config", cfg_arg, "--only", "FW-004"],
    );
    let f = run.finding("FW-004");
    assert_eq!(f["status"], "fail", "{f}\n{}", run.stderr);
    assert!(
        f["evidence"].as_str().unwrap().contains("3000-3999/tcp"),
        "{f}"
    );
}

/// `nodeward audit --root cases/NAME --only ONLY --format json`.
fn audit_case(name: &str, only: &str) -> Run {
    let root = fixture(&format!("cases/{name}"));
    audit(&[
        "--root",
        root.to_str().unwrap(),
        "--only",
        only,
        "--format",
        "json",
    ])
}

#[test]
fn rhel9_with_a_pending_security_advisory_fails_upd_001_and_002() {
    let run = audit_case("rhel9-pending-security", "updates");
    assert_eq!(run.code, 1, "{}", run.stderr);
    let s = run.statuses();
    assert_eq!(s["UPD-001"], "fail");
    assert_eq!(s["UPD-002"], "fail");
    let sec = run.finding("UPD-002");
    let ev = sec["evidence"].as_str().unwrap();
    assert!(
        ev.starts_with("2 pending security upgrades: ")
            && ev.contains("openssl.x86_64 [RHSA-2024:2447] 1:3.0.7-24.el9 -> 1:3.0.7-27.el9")
            && ev.contains("openssl-libs.x86_64 [RHSA-2024:2447]"),
        "{ev}"
    );
    // The enhancement (tzdata) is pending but is not a security fix.
    assert!(!ev.contains("tzdata"), "{ev}");
    assert!(sec["remediation"]
        .as_str()
        .unwrap()
        .contains("dnf upgrade --security"));
    let all = run.finding("UPD-001")["evidence"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        all.starts_with("3 pending upgrades: ")
            && all.contains("tzdata.noarch 2024a-1.el9 -> 2024b-2.el9"),
        "{all}"
    );
    // bash is current, the i686 and src builds are not what is installed, the
    // newest installed kernel is what BaseOS offers.
    for absent in ["bash", "i686", "src", "kernel"] {
        assert!(!all.contains(absent), "{absent}: {all}");
    }
    // Offline, the running kernel is unknown.
    assert_eq!(s["UPD-004"], "skip");
    assert!(run.finding("UPD-004")["evidence"]
        .as_str()
        .unwrap()
        .contains("offline the running kernel is unknown"));
}

#[test]
fn rhel9_up_to_date_passes_and_without_updateinfo_security_is_a_warning() {
    let run = audit_case("rhel9-up-to-date", "updates");
    let s = run.statuses();
    assert_eq!(s["UPD-001"], "pass", "{}", run.stdout);
    assert_eq!(s["UPD-002"], "pass", "{}", run.stdout);
    assert!(run.finding("UPD-002")["evidence"]
        .as_str()
        .unwrap()
        .starts_with("no pending security upgrades in the cached metadata of 2 repositories"));

    // The pending host, with its repositories' updateinfo gone: an update is
    // pending, and whether it is a security fix cannot be told — never a pass.
    let tree = copy_fixture("cases/rhel9-pending-security");
    let cache = tree.path().join("var/cache/dnf");
    for repo in std::fs::read_dir(&cache).unwrap().flatten() {
        let rd = repo.path().join("repodata");
        for f in std::fs::read_dir(&rd).into_iter().flatten().flatten() {
            if f.file_name().to_string_lossy().contains("updateinfo") {
                std::fs::remove_file(f.path()).unwrap();
            }
        }
    }
    let run = audit(&[
        "--root",
        tree.path().to_str().unwrap(),
        "--only",
        "UPD-002",
        "--format",
        "json",
    ]);
    let f = run.finding("UPD-002");
    assert_eq!(f["status"], "warn", "{f}");
    assert!(
        f["evidence"]
            .as_str()
            .unwrap()
            .contains("3 pending update(s) come from repositories without updateinfo"),
        "{f}"
    );
}

#[test]
fn rhel9_bad_metadata_and_rpmdb_are_errors_naming_the_file() {
    let tree = copy_fixture("cases/rhel9-up-to-date");
    let primary = tree.path().join(
        "var/cache/dnf/rhel-9-for-x86_64-appstream-rpms-0f1e2d3c4b5a6978/repodata/5e6f-primary.xml.gz",
    );
    std::fs::write(&primary, b"\x1f\x8b\x08\0garbage").unwrap();
    let run = audit(&[
        "--root",
        tree.path().to_str().unwrap(),
        "--only",
        "UPD-001",
        "--format",
        "json",
    ]);
    let f = run.finding("UPD-001");
    assert_eq!(f["status"], "error", "{f}");
    assert!(
        f["evidence"]
            .as_str()
            .unwrap()
            .contains("5e6f-primary.xml.gz"),
        "{f}"
    );

    std::fs::write(tree.path().join("var/lib/rpm/rpmdb.sqlite"), b"not sqlite").unwrap();
    let run = audit(&[
        "--root",
        tree.path().to_str().unwrap(),
        "--only",
        "UPD-001",
        "--format",
        "json",
    ]);
    let f = run.finding("UPD-001");
    assert_eq!(f["status"], "error", "{f}");
    assert_eq!(
        f["evidence"],
        "/var/lib/rpm/rpmdb.sqlite: not a SQLite database"
    );
}

#[test]
fn centos7_berkeleydb_and_yum_sqlite_metadata_give_pending_updates() {
    // A real BerkeleyDB hash database (written by BerkeleyDB 5.3's db_load, headers
    // on overflow pages) and yum's primary_db.sqlite; CentOS ships no advisories.
    let run = audit_case("centos7-berkeleydb", "UPD-001,UPD-002");
    let f = run.finding("UPD-001");
    assert_eq!(f["status"], "fail", "{f}");
    let ev = f["evidence"].as_str().unwrap();
    assert!(
        ev.contains("openssl.x86_64 1:3.0.7-24.el9 -> 1:3.0.7-27.el9"),
        "{ev}"
    );
    let f = run.finding("UPD-002");
    assert_eq!(f["status"], "warn", "{f}");
    assert!(
        f["evidence"]
            .as_str()
            .unwrap()
            .contains("from base, which has no updateinfo"),
        "{f}"
    );
}

#[test]
fn centos8_berkeleydb_with_dnf_advisories_fails_security() {
    let run = audit_case("centos8-berkeleydb", "UPD-001,UPD-002");
    let f = run.finding("UPD-002");
    assert_eq!(f["status"], "fail", "{f}");
    assert!(
        f["evidence"]
            .as_str()
            .unwrap()
            .contains("openssl.x86_64 [RHSA-2024:2447] 1:3.0.7-24.el9 -> 1:3.0.7-27.el9"),
        "{f}"
    );
}

#[test]
fn offline_time_002_says_enabled_cannot_tell_whether_it_runs() {
    let run = audit_case("rhel9-up-to-date", "TIME-002");
    let f = run.finding("TIME-002");
    assert_eq!(f["status"], "pass", "{f}");
    assert_eq!(
        f["evidence"],
        "chronyd.service enabled (/etc/systemd/system/multi-user.target.wants/chronyd.service) (offline: cannot tell whether it runs)"
    );
}

#[test]
fn debian_aide_without_aide_common_fails_int_001_naming_it() {
    let run = audit_case("debian-aide-without-common", "INT-001");
    let f = run.finding("INT-001");
    assert_eq!(f["status"], "fail", "{f}");
    assert!(
        f["evidence"]
            .as_str()
            .unwrap()
            .contains("without aide-common"),
        "{f}"
    );
    let fix = f["remediation"].as_str().unwrap();
    assert!(
        fix.contains("apt install aide-common") && fix.contains("aideinit"),
        "{fix}"
    );
    assert!(!fix.contains("nodeward fim"), "{fix}");
}
