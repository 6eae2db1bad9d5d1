//! What `/status` and the metrics say about the cluster link, so that a lost
//! etcd is never silent.

use serde::Serialize;
use std::sync::Mutex;
use std::time::SystemTime;

/// The cluster link's state, shared between the session and the gateway.
#[derive(Debug, Default)]
pub struct Status {
    inner: Mutex<Snapshot>,
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
}

impl Snapshot {
    /// Appends the link's Prometheus series to `out`.
    pub fn render(&self, out: &mut String) {
        use std::fmt::Write;
        let series: [(&str, &str, &str, u64); 5] = [
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
