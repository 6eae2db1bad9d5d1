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
    if !is_root() {
        eprintln!("needs root for unshare --net --pid");
        return;
    }
    // In a fresh network namespace nothing listens: SVC-001 has only what is
    // enabled on this machine's /etc to go by (none of the unneeded units).
    let clean = audit_in_private_pids(true, None, &["--only", "SVC-001"]);
    let f = clean.finding("SVC-001");
    assert_eq!(f["status"], "pass", "{f}\n{}", clean.stderr);
    // A listener on 631/tcp (the cups port) is an unneeded service running.
    let dir = tempfile::tempdir().unwrap();
    let listener = dir.path().join("listen.py");
    std::fs::write(
        &listener,
        "import socket, sys, time\ns = socket.socket()\ns.bind(('127.0.0.1', int(sys.argv[1])))\ns.listen()\ntime.sleep(30)\n",
    )
    .unwrap();
    let run = audit_in_private_pids(
        true,
        Some(&["python3", listener.to_str().unwrap(), "631"]),
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
    let listener = dir.path().join("listen.py");
    std::fs::write(
        &listener,
        "import socket, sys, time\ns = socket.socket()\ns.bind(('0.0.0.0', int(sys.argv[1])))\ns.listen()\ntime.sleep(30)\n",
    )
    .unwrap();
    let helper = ["python3", listener.to_str().unwrap(), "3456"];
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
    let helper = ["python3", listener.to_str().unwrap(), "4000"];
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
