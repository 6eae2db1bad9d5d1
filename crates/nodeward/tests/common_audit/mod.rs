//! Helpers for the `nodeward audit` end-to-end tests: run the real binary and
//! read its JSON report.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The nodeward binary under test.
pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_nodeward")
}

/// tests/fixtures/audit/NAME in the workspace, with the modes and owners its
/// `.modes` file lists applied (git keeps neither).
pub fn fixture(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/audit")
        .join(name);
    apply_modes(&root);
    root
}

/// Applies ROOT/.modes ("MODE UID PATH" lines, UID `-` for unchanged) to the
/// regular files and directories of a fixture root (never through a symlink);
/// owners only take when the tests run as root.
pub fn apply_modes(root: &Path) {
    use std::os::unix::fs::PermissionsExt;
    let Ok(text) = std::fs::read_to_string(root.join(".modes")) else {
        return;
    };
    for line in text.lines() {
        let mut f = line.splitn(3, ' ');
        let (Some(mode), Some(uid), Some(path)) = (f.next(), f.next(), f.next()) else {
            continue;
        };
        let full = root.join(path.trim_start_matches('/'));
        // Never follow a symlink out of the fixture tree.
        if !std::fs::symlink_metadata(&full).is_ok_and(|m| m.is_file() || m.is_dir()) {
            continue;
        }
        if let Ok(m) = u32::from_str_radix(mode, 8) {
            let _ = std::fs::set_permissions(&full, std::fs::Permissions::from_mode(m));
        }
        if let Ok(uid) = uid.parse::<u32>() {
            let _ = std::os::unix::fs::chown(&full, Some(uid), Some(uid));
        }
    }
}

/// The result of one `nodeward audit` run.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\nstderr: {}", self.stdout, self.stderr))
    }

    /// Check ID -> status.
    pub fn statuses(&self) -> BTreeMap<String, String> {
        self.json()["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| {
                (
                    f["id"].as_str().unwrap().to_string(),
                    f["status"].as_str().unwrap().to_string(),
                )
            })
            .collect()
    }

    /// The finding with `id`.
    pub fn finding(&self, id: &str) -> serde_json::Value {
        self.json()["findings"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == id)
            .cloned()
            .unwrap_or_else(|| panic!("no finding {id}"))
    }
}

/// Runs `nodeward audit ARGS` with no config file.
pub fn audit(args: &[&str]) -> Run {
    audit_cmd(args, |_| {})
}

/// Runs `nodeward audit ARGS`, letting `adjust` change the command first.
pub fn audit_cmd(args: &[&str], adjust: impl FnOnce(&mut Command)) -> Run {
    let mut cmd = Command::new(bin());
    cmd.arg("audit").args(args).env("NO_COLOR", "1");
    adjust(&mut cmd);
    Run::from(cmd.output().expect("run nodeward"))
}

/// Whether this process runs as root.
pub fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

/// Copies a fixture tree (with its symlinks) into a fresh temp dir.
pub fn copy_fixture(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let st = Command::new("cp")
        .arg("-a")
        .arg(format!("{}/.", fixture(name).display()))
        .arg(dir.path())
        .status()
        .unwrap();
    assert!(st.success());
    dir
}

/// Asserts `statuses` has exactly `expected` for every check, where checks
/// not named in `overrides` have `default`.
pub fn assert_statuses(run: &Run, default: &str, overrides: &[(&str, &str)]) {
    let statuses = run.statuses();
    assert!(statuses.len() >= 50, "only {} findings", statuses.len());
    let mut wrong = Vec::new();
    for (id, status) in &statuses {
        let want = overrides
            .iter()
            .find(|(i, _)| i == id)
            .map(|(_, s)| *s)
            .unwrap_or(if id.starts_with("MAN-") {
                "manual"
            } else {
                default
            });
        if status != want {
            wrong.push(format!(
                "{id}: got {status}, want {want} ({})",
                run.finding(id)["evidence"]
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "unexpected statuses:\n{}",
        wrong.join("\n")
    );
}
