//! What `/status` and the metrics say about the cluster link, so that a lost
//! etcd is never silent.

use serde::Serialize;
use std::sync::Mutex;
use std::time::SystemTime;

/// The cluster link's state, shared between the session and the gateway.
#[derive(Debug, Default)]
pub struct Status {
    inner: Mutex<Snapshot>,
    /// Woken when what the instance registers (revision, health) changed.
    pub(crate) changed: tokio::sync::Notify,
}

/// The pushed config revision an instance runs.
#[derive(Debug, Clone, Default, Serialize, PartialEq, Eq)]
pub struct Running {
    /// Its number.
    pub revision: u64,
    /// The first 12 hex digits of its SHA-256.
    pub digest: String,
    /// Who pushed it.
    pub by: String,
    /// When it was pushed (seconds since the Unix epoch, the pusher's clock).
    pub pushed_at: u64,
}

/// A copy of the link's state.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Snapshot {
    /// This instance's name.
    pub instance: String,
    /// Whether the watch on etcd is live.
    pub connected: bool,
    /// The etcd revision the replicated tables are up to date with.
    pub revision: i64,
    /// This instance's lease id (hex), while registered.
    pub lease: Option<String>,
    /// The last error, when not connected.
    pub last_error: Option<String>,
    /// Seconds since the Unix epoch of the last change of `connected`.
    pub since: u64,
    /// Resyncs done (start-up included).
    pub resyncs: u64,
    /// Local changes waiting to be written to etcd.
    pub pending_writes: usize,
    /// Local changes dropped because the write queue was full.
    pub dropped_writes: u64,
    /// Changes read from etcd and refused (garbage written by hand, a ban
    /// for an address that does not parse, a corrupted revision).
    pub rejected_changes: u64,
    /// The pushed config revision running (`None`: the local file's config).
    pub policy: Option<Running>,
    /// Why the last pushed revision was not applied (cleared by the next success).
    pub policy_error: Option<String>,
    /// Pushed revisions not applied (unreadable, corrupted or invalid).
    pub policy_errors: u64,
    /// `ready`, `degraded` (a pool cannot serve) or `load error` (the last
    /// pushed revision was refused), as registered in etcd.
    pub health: String,
}

impl Snapshot {
    /// `load error` while the last pushed revision is refused, else the
    /// health the gateway set (`ready` until it set one).
    pub fn effective_health(&self) -> &str {
        match (&self.policy_error, self.health.as_str()) {
            (Some(_), _) => "load error",
            (None, "") => "ready",
            (None, h) => h,
        }
    }

    /// Appends the link's Prometheus series to `out`.
    pub fn render(&self, out: &mut String) {
        use std::fmt::Write;
        let series: [(&str, &str, &str, u64); 8] = [
            (
                "nodeward_cluster_connected",
                "gauge",
                "1 while the etcd watch is live",
                u64::from(self.connected),
            ),
            (
                "nodeward_cluster_revision",
                "gauge",
                "etcd revision the replicated tables are up to date with",
                self.revision.max(0) as u64,
            ),
            (
                "nodeward_cluster_resyncs_total",
                "counter",
                "snapshots taken from etcd (start-up and every lost watch)",
                self.resyncs,
            ),
            (
                "nodeward_cluster_pending_writes",
                "gauge",
                "local changes waiting to be written to etcd",
                self.pending_writes as u64,
            ),
            (
                "nodeward_cluster_dropped_writes_total",
                "counter",
                "local changes not written to etcd (queue full)",
                self.dropped_writes,
            ),
            (
                "nodeward_cluster_rejected_changes_total",
                "counter",
                "changes read from etcd and refused (logged with their key)",
                self.rejected_changes,
            ),
            (
                "nodeward_cluster_policy_revision",
                "gauge",
                "pushed config revision running (0: the local file's)",
                self.policy.as_ref().map_or(0, |p| p.revision),
            ),
            (
                "nodeward_cluster_policy_errors_total",
                "counter",
                "pushed config revisions refused (unreadable, corrupted or invalid)",
                self.policy_errors,
            ),
        ];
        for (name, kind, help, value) in series {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} {kind}\n{name} {value}"
            );
        }
    }
}

impl Status {
    /// A copy of the state now.
    pub fn snapshot(&self) -> Snapshot {
        self.lock().clone()
    }

    pub(crate) fn lock(&self) -> std::sync::MutexGuard<'_, Snapshot> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Records that revision `running` is now applied.
    pub fn policy_applied(&self, running: Running) {
        let mut s = self.lock();
        s.policy = Some(running);
        s.policy_error = None;
        drop(s);
        self.changed.notify_one();
    }

    /// Records that a pushed revision was refused, and why.
    pub fn policy_failed(&self, error: String) {
        let mut s = self.lock();
        s.policy_error = Some(error);
        s.policy_errors += 1;
        drop(s);
        self.changed.notify_one();
    }

    /// Sets the health this instance registers; republished only on change.
    pub fn set_health(&self, health: &str) {
        let mut s = self.lock();
        if s.health != health {
            s.health = health.to_string();
            drop(s);
            self.changed.notify_one();
        }
    }

    pub(crate) fn set_connected(&self, connected: bool, error: Option<String>) {
        let mut s = self.lock();
        if s.connected != connected {
            s.since = now();
        }
        s.connected = connected;
        if error.is_some() || connected {
            s.last_error = error;
        }
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
