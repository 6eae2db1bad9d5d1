//! The last saved audit (`<state_dir>/audit/latest.json`, written by
//! `nodeward audit --save`), read at page load; a missing, oversized or
//! corrupt file is reported, never fatal.

use nodeward_report::{Report, Status};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The largest report read.
const MAX_SIZE: u64 = 16 * 1024 * 1024;

/// What the status page shows about the last audit.
pub enum LastAudit {
    /// No report saved yet.
    Missing(PathBuf),
    /// The file exists but cannot be used.
    Unreadable(PathBuf, String),
    /// The report, and when it was saved.
    Found(Box<Report>, Option<SystemTime>),
}

/// Where `nodeward audit --save` writes, under `state_dir`.
pub fn latest_path(state_dir: &Path) -> PathBuf {
    state_dir.join("audit").join("latest.json")
}

/// Reads the last audit under `state_dir`.
pub fn load(state_dir: &Path) -> LastAudit {
    let path = latest_path(state_dir);
    let meta = match std::fs::metadata(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return LastAudit::Missing(path),
        Err(e) => return LastAudit::Unreadable(path, e.to_string()),
        Ok(m) => m,
    };
    if meta.len() > MAX_SIZE {
        return LastAudit::Unreadable(path, "larger than 16 MiB".into());
    }
    let text = match std::fs::read(&path) {
        Ok(t) => t,
        Err(e) => return LastAudit::Unreadable(path, e.to_string()),
    };
    match serde_json::from_slice::<Report>(&text) {
        Ok(r) if r.command != "audit" => {
            let what = format!("a report of `{}`, not of `audit`", r.command);
            LastAudit::Unreadable(path, what)
        }
        Ok(r) => LastAudit::Found(Box::new(r), meta.modified().ok()),
        Err(e) => LastAudit::Unreadable(path, format!("not a nodeward JSON report: {e}")),
    }
}

/// Whether a finding counts as failing on the status page.
pub fn failing(status: Status) -> bool {
    matches!(status, Status::Fail | Status::Error)
}
