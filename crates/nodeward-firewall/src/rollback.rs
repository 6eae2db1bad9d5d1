//! Saving the ruleset before an apply and restoring it when nobody confirms.
//!
//! Before loading, `apply` saves `nft -j list ruleset` to `previous.json` and
//! writes `pending.json` (a token and a deadline). A detached nodeward process
//! (`firewall rollback-worker`, in its own process group so a dropped SSH session
//! does not kill it) waits for the deadline. Whoever first renames
//! `pending.json` away wins: `confirm` (the rules stay) or the worker (the
//! previous nodeward table is restored, no other table is touched).

use crate::error::{Error, Result};
use crate::nft;
use crate::state::{read_json, unix_now, write_json};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A roll-back waiting for its deadline.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Pending {
    /// Identifies this apply.
    pub token: String,
    /// When the rules were loaded (Unix seconds).
    pub applied_at: u64,
    /// When the worker restores the previous ruleset (Unix milliseconds).
    pub deadline_ms: u64,
    /// The worker's process id (0 until it is started).
    pub worker_pid: u32,
}

/// What happened to the last apply.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LastOutcome {
    /// `confirmed`, `rolled back`, `removed` or `applied without roll-back`.
    pub outcome: String,
    /// When (Unix seconds).
    pub at: u64,
    /// Extra detail (an error during roll-back, ...).
    #[serde(default)]
    pub detail: String,
}

/// The firewall's files inside the state directory.
#[derive(Debug, Clone)]
pub struct FirewallState {
    dir: PathBuf,
}

impl FirewallState {
    /// The firewall state under `state_dir`.
    pub fn new(state_dir: &Path) -> Self {
        FirewallState {
            dir: state_dir.join("firewall"),
        }
    }

    /// `previous.json`: the ruleset before the pending apply.
    pub fn previous_path(&self) -> PathBuf {
        self.dir.join("previous.json")
    }

    /// `pending.nft`: what `confirm` persists for boot (the pending ruleset without bans).
    pub fn pending_script_path(&self) -> PathBuf {
        self.dir.join("pending.nft")
    }

    /// Forgets the script of a pending apply (after a roll-back or a remove).
    pub fn drop_pending_script(&self) {
        let _ = std::fs::remove_file(self.pending_script_path());
    }

    /// `pending.json`.
    pub fn pending_path(&self) -> PathBuf {
        self.dir.join("pending.json")
    }

    /// `last.json`.
    pub fn last_path(&self) -> PathBuf {
        self.dir.join("last.json")
    }

    /// The worker's log.
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("rollback.log")
    }

    /// The pending roll-back, if any.
    pub fn pending(&self) -> Result<Option<Pending>> {
        read_json(&self.pending_path())
    }

    /// The last outcome, if any.
    pub fn last(&self) -> Result<Option<LastOutcome>> {
        read_json(&self.last_path())
    }

    /// Records an outcome.
    pub fn record(&self, outcome: &str, detail: &str) -> Result<()> {
        write_json(
            &self.last_path(),
            &LastOutcome {
                outcome: outcome.into(),
                at: unix_now(),
                detail: detail.into(),
            },
        )
    }

    /// Takes the pending roll-back away atomically; `None` when someone else did first.
    pub fn claim(&self, who: &str) -> Result<Option<Pending>> {
        let claimed = self
            .dir
            .join(format!("claimed-{who}-{}.json", std::process::id()));
        match std::fs::rename(self.pending_path(), &claimed) {
            Ok(()) => {
                let p = read_json(&claimed);
                let _ = std::fs::remove_file(&claimed);
                p
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(self.pending_path(), e)),
        }
    }
}

/// Whether process `pid` still exists.
pub fn process_alive(pid: u32) -> bool {
    pid != 0 && Path::new(&format!("/proc/{pid}")).exists()
}

fn is_nodeward_object(obj: &Value) -> bool {
    let Some((kind, body)) = obj.as_object().and_then(|o| o.iter().next()) else {
        return false;
    };
    if body.get("family").and_then(Value::as_str) != Some("inet") {
        return false;
    }
    let table = if kind == "table" {
        body.get("name")
    } else {
        body.get("table")
    };
    table.and_then(Value::as_str) == Some("nodeward")
}

/// The JSON batch that puts table `inet nodeward` back exactly as it was in
/// `previous` (a saved `nft -j list ruleset`), or deletes it when it did not exist.
/// Other tables are not part of the batch.
pub fn restore_batch(previous: &Value) -> Result<Value> {
    let items = previous
        .get("nftables")
        .and_then(Value::as_array)
        .ok_or_else(|| Error::Policy("saved ruleset has no \"nftables\" array".into()))?;
    let table = json!({"family": "inet", "name": "nodeward"});
    let mut batch = vec![
        json!({"add": {"table": table}}),
        json!({"delete": {"table": table}}),
    ];
    for obj in items.iter().filter(|o| is_nodeward_object(o)) {
        let mut obj = obj.clone();
        // Elements of dynamic sets are runtime meter state, not configuration.
        if let Some(set) = obj.get_mut("set").and_then(Value::as_object_mut) {
            let dynamic = set
                .get("flags")
                .and_then(Value::as_array)
                .is_some_and(|f| f.iter().any(|x| x == "dynamic"));
            if dynamic {
                set.remove("elem");
            }
        }
        batch.push(json!({ "add": obj }));
    }
    Ok(json!({ "nftables": batch }))
}

/// Restores the saved previous ruleset now (the table nodeward replaced).
pub fn restore_previous(state: &FirewallState) -> Result<()> {
    let previous: Value = read_json(&state.previous_path())?.ok_or_else(|| {
        Error::Usage(format!(
            "{}: no saved ruleset to roll back to",
            state.previous_path().display()
        ))
    })?;
    nft::load_json(&restore_batch(&previous)?)
}

/// Starts the detached worker that rolls back at `pending.deadline_ms`; returns its pid.
pub fn spawn_worker(state_dir: &Path, state: &FirewallState, pending: &Pending) -> Result<u32> {
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().map_err(|e| Error::io("/proc/self/exe", e))?;
    let log = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(state.log_path())
        .map_err(|e| Error::io(state.log_path(), e))?;
    let child = std::process::Command::new(exe)
        .arg("firewall")
        .arg("rollback-worker")
        .arg("--state-dir")
        .arg(state_dir)
        .arg("--token")
        .arg(&pending.token)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(log)
        .process_group(0)
        .spawn()
        .map_err(|e| Error::io("rollback worker", e))?;
    Ok(child.id())
}

/// The worker's body: waits for the deadline of the pending apply `token`, then
/// restores the previous ruleset unless the apply was confirmed (or replaced) first.
pub fn run_worker(state_dir: &Path, token: &str) -> Result<u8> {
    let state = FirewallState::new(state_dir);
    loop {
        let Some(p) = state.pending()? else {
            return Ok(0); // confirmed, removed or rolled back by hand
        };
        if p.token != token {
            return Ok(0);
        }
        let now_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0);
        if now_ms >= p.deadline_ms {
            break;
        }
        std::thread::sleep(Duration::from_millis((p.deadline_ms - now_ms).min(100)));
    }
    let Some(p) = state.claim("worker")? else {
        return Ok(0);
    };
    if p.token != token {
        // Not ours (cannot happen while apply refuses to stack); put it back.
        write_json(&state.pending_path(), &p)?;
        return Ok(0);
    }
    state.drop_pending_script();
    match restore_previous(&state) {
        Ok(()) => {
            let reloaded = crate::ban::reload_active_bans(state_dir);
            let detail = match reloaded {
                Ok(n) if n > 0 => format!("{n} active bans reloaded"),
                Ok(_) => String::new(),
                Err(e) => format!("restoring bans failed: {e}"),
            };
            state.record("rolled back", &detail)?;
            eprintln!("nodeward: rolled back the unconfirmed apply {token}");
            Ok(0)
        }
        Err(e) => {
            state.record("roll-back failed", &e.to_string())?;
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn restore_batch_keeps_only_nodeward() {
        let prev = json!({"nftables": [
            {"metainfo": {"version": "1.0.6"}},
            {"table": {"family": "inet", "name": "nodeward", "handle": 1}},
            {"set": {"family": "inet", "table": "nodeward", "name": "rate4", "flags": ["dynamic", "timeout"], "elem": [1]}},
            {"chain": {"family": "inet", "table": "nodeward", "name": "input"}},
            {"table": {"family": "ip", "name": "other"}},
            {"chain": {"family": "ip", "table": "other", "name": "c"}},
            {"table": {"family": "ip", "name": "nodeward"}}
        ]});
        let b = restore_batch(&prev).unwrap();
        let items = b["nftables"].as_array().unwrap();
        assert_eq!(items.len(), 5, "{b}");
        assert!(items[4]["add"]["chain"]["name"] == "input");
        assert!(items[3]["add"]["set"].get("elem").is_none());
        let empty = restore_batch(&json!({"nftables": []})).unwrap();
        assert_eq!(empty["nftables"].as_array().unwrap().len(), 2);
        assert!(restore_batch(&json!({})).is_err());
    }
}
