//! INT-001 on `nodeward fim` state: the fixture roots written by
//! tests/fixtures/audit/parts/fim.py (a baseline and the record of the last
//! `fim check`, fresh, old, failed, missing or damaged, at the default path or
//! where `[fim] database` says), a root whose baseline and record the real
//! `nodeward fim init` and `fim check` wrote, and the live audit of this host
//! with a private mount of /var/lib/nodeward holding a real baseline.

mod common_audit;

use common_audit::*;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, SystemTime};

const DB: &str = "var/lib/nodeward/fim/baseline.nwfim";

/// Sets a file's modification time to `days` days ago.
fn age(path: &Path, days: u64) {
    let t = SystemTime::now() - Duration::from_secs(days * 86400 + 60);
    let f = fs::File::options().write(true).open(path).unwrap();
    f.set_times(fs::FileTimes::new().set_modified(t).set_accessed(t))
        .unwrap();
}

/// A copy of the case root with the baseline `baseline_days` and its check
/// record `check_days` old (git does not keep modification times).
fn case(name: &str, db: &str, baseline_days: u64, check_days: u64) -> tempfile::TempDir {
    let dir = copy_fixture(&format!("cases/{name}"));
    let base = dir.path().join(db);
    if base.is_file() {
        age(&base, baseline_days);
    }
    let record = dir.path().join(format!("{db}.last-check"));
    if record.is_file() {
        age(&record, check_days);
    }
    dir
}

fn int001(root: &Path) -> (String, String, String) {
    let run = audit(&[
        "--root",
        root.to_str().unwrap(),
        "--only",
        "INT-001",
        "--format",
        "json",
    ]);
    let f = run.finding("INT-001");
    (
        f["status"].as_str().unwrap().to_string(),
        f["evidence"].as_str().unwrap().to_string(),
        f["remediation"].as_str().unwrap_or_default().to_string(),
    )
}

#[test]
fn fresh_baseline_and_passing_check_pass() {
    let dir = case("fim-good", DB, 0, 0);
    let (status, evidence, _) = int001(dir.path());
    assert_eq!(status, "pass", "{evidence}");
    assert_eq!(
        evidence,
        "nodeward baseline /var/lib/nodeward/fim/baseline.nwfim is 0 days old; the last `nodeward fim check` (0 days ago) passed"
    );
}

#[test]
fn old_baseline_fails_and_old_check_warns() {
    let dir = case("fim-good", DB, 31, 0);
    let (status, evidence, fix) = int001(dir.path());
    assert_eq!(status, "fail", "{evidence}");
    assert!(evidence.contains("is 31 days old (> 30)"), "{evidence}");
    assert!(fix.contains("nodeward fim update"), "{fix}");

    let dir = case("fim-good", DB, 5, 3);
    let (status, evidence, fix) = int001(dir.path());
    assert_eq!(status, "warn", "{evidence}");
    assert!(
        evidence.contains("is 5 days old, but the last `nodeward fim check` ran 3 days ago (> 2)"),
        "{evidence}"
    );
    assert!(fix.contains("nodeward-fim-check.timer"), "{fix}");
}

#[test]
fn failed_check_fails_naming_the_changes() {
    let dir = case("fim-failed", DB, 1, 0);
    let (status, evidence, _) = int001(dir.path());
    assert_eq!(status, "fail", "{evidence}");
    assert_eq!(
        evidence,
        "the last `nodeward fim check` (0 days ago) failed: 3 changes since the baseline /var/lib/nodeward/fim/baseline.nwfim"
    );
}

#[test]
fn no_check_recorded_warns() {
    let dir = case("fim-unchecked", DB, 0, 0);
    let (status, evidence, fix) = int001(dir.path());
    assert_eq!(status, "warn", "{evidence}");
    assert!(
        evidence.contains("no `nodeward fim check` has been recorded"),
        "{evidence}"
    );
    assert!(fix.contains("systemctl enable --now nodeward-fim-check.timer"));
}

#[test]
fn damaged_baseline_and_record_are_named() {
    let dir = case("fim-damaged", DB, 0, 0);
    let (status, evidence, _) = int001(dir.path());
    assert_eq!(status, "fail", "{evidence}");
    assert!(
        evidence
            .contains("is not a nodeward baseline (10 bytes, shorter than any sealed baseline)"),
        "{evidence}"
    );

    let dir = case("fim-bad-record", DB, 0, 0);
    let (status, evidence, _) = int001(dir.path());
    assert_eq!(status, "warn", "{evidence}");
    assert!(
        evidence.contains("baseline.nwfim.last-check: not a nodeward check record"),
        "{evidence}"
    );
}

#[test]
fn database_from_the_config_and_no_baseline_at_all() {
    let dir = case("fim-config", "srv/integrity/node.nwfim", 2, 1);
    let (status, evidence, _) = int001(dir.path());
    assert_eq!(status, "pass", "{evidence}");
    assert_eq!(
        evidence,
        "nodeward baseline /srv/integrity/node.nwfim is 2 days old; the last `nodeward fim check` (1 days ago) passed (2 changes below its --fail-on)"
    );

    let (status, evidence, fix) = int001(&fixture("cases/fim-none"));
    assert_eq!(status, "fail", "{evidence}");
    assert!(
        evidence.contains("no nodeward baseline (/var/lib/nodeward/fim/baseline.nwfim)"),
        "{evidence}"
    );
    assert!(fix.contains("nodeward fim init"), "{fix}");
}

/// Runs `nodeward fim ARGS`; returns the exit code.
fn fim(args: &[&str]) -> i32 {
    let out = Command::new(bin())
        .arg("fim")
        .args(args)
        .output()
        .expect("run nodeward fim");
    assert!(
        out.status.code() != Some(2),
        "fim {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.status.code().unwrap_or(-1)
}

/// A small watched tree and a config whose baseline lives at `database`.
fn watched(dir: &Path, database: &Path) -> std::path::PathBuf {
    let tree = dir.join("tree");
    fs::create_dir_all(tree.join("etc")).unwrap();
    fs::write(tree.join("etc/node.conf"), "port = 14265\n").unwrap();
    let config = dir.join("fim.toml");
    fs::write(
        &config,
        format!(
            "[fim]\ndefaults = false\npaths = [{:?}]\ndatabase = {:?}\nkey = {:?}\n",
            tree.display().to_string(),
            database.display().to_string(),
            dir.join("fim.key").display().to_string()
        ),
    )
    .unwrap();
    config
}

#[test]
fn state_written_by_the_real_fim_commands() {
    let root = copy_fixture("cases/fim-none");
    let work = tempfile::tempdir().unwrap();
    let database = root.path().join(DB);
    let config = watched(work.path(), &database);
    let c = config.to_str().unwrap();
    assert_eq!(fim(&["init", "-c", c]), 0);
    // A baseline but no check yet.
    assert_eq!(int001(root.path()).0, "warn");
    assert_eq!(fim(&["check", "-c", c]), 0);
    let (status, evidence, _) = int001(root.path());
    assert_eq!(status, "pass", "{evidence}");
    // A changed config file under /etc: medium, so the check fails, and so does INT-001.
    fs::write(work.path().join("tree/etc/node.conf"), "port = 1\n").unwrap();
    assert_eq!(fim(&["check", "-c", c]), 1);
    let (status, evidence, _) = int001(root.path());
    assert_eq!(status, "fail", "{evidence}");
    assert!(evidence.contains("failed: 1 changes"), "{evidence}");
}

#[test]
fn live_audit_sees_a_real_baseline_in_a_private_mount() {
    if !is_root() || !Path::new("/usr/bin/unshare").exists() {
        eprintln!("live INT-001 test needs root and unshare (CI has them)");
        return;
    }
    if Path::new("/etc/nodeward/nodeward.toml").exists() {
        eprintln!("this host has /etc/nodeward/nodeward.toml; its [fim] database would be audited, not the test's");
        return;
    }
    fs::create_dir_all("/var/lib/nodeward").unwrap();
    let state = tempfile::tempdir().unwrap();
    let work = tempfile::tempdir().unwrap();
    // Written where the live audit will see it once `state` is mounted on /var/lib/nodeward.
    let database = state.path().join("fim/baseline.nwfim");
    let config = watched(work.path(), &database);
    assert_eq!(fim(&["init", "-c", config.to_str().unwrap()]), 0);
    assert_eq!(fim(&["check", "-c", config.to_str().unwrap()]), 0);
    // unshare makes the mount private: the host's /var/lib/nodeward is untouched.
    let out = Command::new("unshare")
        .args(["--mount", "--", "sh", "-c"])
        .arg("mount --bind \"$1\" /var/lib/nodeward && shift && exec \"$@\"")
        .arg("sh")
        .arg(state.path())
        .arg(bin())
        .args(["audit", "--only", "INT-001", "--format", "json"])
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    let run = Run::from(out);
    let f = run.finding("INT-001");
    assert_eq!(f["status"], "pass", "{f}\n{}", run.stderr);
    assert!(
        f["evidence"]
            .as_str()
            .unwrap()
            .starts_with("nodeward baseline /var/lib/nodeward/fim/baseline.nwfim is 0 days old"),
        "{f}"
    );
}
