//! Counters and latency histograms, rendered as Prometheus text on /metrics.
//!
//! Hot-path updates are relaxed atomic adds on pre-resolved handles; label
//! sets are bounded (commands the config or protocol names, plus "other"),
//! so an attacker inventing command names cannot grow memory.

use crate::refusal::Reason;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// A latency histogram with fixed buckets.
#[derive(Default, Debug)]
pub struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Histogram {
    /// Records one observation.
    pub fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|&b| secs <= b) {
            self.buckets[i].fetch_add(1, Relaxed);
        }
        self.count.fetch_add(1, Relaxed);
        self.sum_micros
            .fetch_add(u64::try_from(d.as_micros()).unwrap_or(u64::MAX), Relaxed);
    }

    /// The upper bound of the bucket holding the `q` quantile (0-1) of the
    /// observations, once there are at least `min_count` of them.
    pub fn quantile(&self, q: f64, min_count: u64) -> Option<Duration> {
        let count = self.count.load(Relaxed);
        if count < min_count.max(1) {
            return None;
        }
        let rank = ((count as f64) * q).ceil().max(1.0) as u64;
        let mut cumulative = 0;
        for (i, b) in BUCKETS.iter().enumerate() {
            cumulative += self.buckets[i].load(Relaxed);
            if cumulative >= rank {
                return Some(Duration::from_secs_f64(*b));
            }
        }
        None
    }

    /// Writes the histogram in the Prometheus text format.
    pub fn render(&self, out: &mut String, name: &str, labels: &str) {
        let mut cumulative = 0;
        for (i, b) in BUCKETS.iter().enumerate() {
            cumulative += self.buckets[i].load(Relaxed);
            let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{b}\"}} {cumulative}");
        }
        let count = self.count.load(Relaxed);
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {count}");
        let _ = writeln!(
            out,
            "{name}_sum{{{labels}}} {}",
            self.sum_micros.load(Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "{name}_count{{{labels}}} {count}");
    }
}

/// Per-command counters.
#[derive(Default)]
pub struct CommandStats {
    /// Requests by status class (1xx..5xx at index 0..4).
    by_class: [AtomicU64; 5],
    /// Refusals by reason.
    by_reason: [AtomicU64; Reason::ALL.len()],
    /// Requests of this command in flight now.
    pub inflight: AtomicI64,
    /// Total request latency.
    pub latency: Histogram,
    /// Upstream latency (forwarded requests only).
    pub upstream_latency: Histogram,
    /// Requests per minute over the last hour (the status page's chart).
    pub per_minute: crate::minutes::MinuteRing,
}

impl CommandStats {
    /// Counts one finished request.
    pub fn record(&self, status: u16, reason: Option<Reason>, total: Duration) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.by_class[class].fetch_add(1, Relaxed);
        if let Some(r) = reason {
            self.by_reason[r.index()].fetch_add(1, Relaxed);
        }
        self.latency.observe(total);
        self.per_minute.bump();
    }

    /// Whether any request was counted, or one is in flight.
    pub fn used(&self) -> bool {
        self.inflight.load(Relaxed) != 0 || self.by_class.iter().any(|c| c.load(Relaxed) != 0)
    }
}

/// All of the gateway's metrics. Lives for the whole process (reloads keep counters).
#[derive(Default)]
pub struct Metrics {
    commands: Mutex<BTreeMap<String, Arc<CommandStats>>>,
    rejections: [AtomicU64; Reason::ALL.len()],
    /// Client connections open now.
    pub connections_open: AtomicI64,
    /// Client connections accepted since start.
    pub connections_accepted: AtomicU64,
    /// Connections refused at accept time, by reason.
    connections_refused: [AtomicU64; Reason::ALL.len()],
    /// TLS handshakes that failed.
    pub tls_handshake_failures: AtomicU64,
    /// Access log lines dropped because the writer fell behind.
    pub access_log_dropped: Arc<AtomicU64>,
    /// Successful configuration reloads.
    pub reloads_ok: AtomicU64,
    /// Failed configuration reloads (old config kept).
    pub reloads_failed: AtomicU64,
}

/// The label used for commands that have no label of their own.
pub const OTHER: &str = "other";
/// The label used when no command could be read.
pub const NONE: &str = "none";

impl Metrics {
    /// The stats handle for a command label, created on first use. Only
    /// called while compiling a config, never with client input.
    pub fn command(&self, label: &str) -> Arc<CommandStats> {
        let mut map = self.commands.lock().unwrap_or_else(|p| p.into_inner());
        map.entry(label.to_string()).or_default().clone()
    }

    /// Counts a refusal.
    pub fn rejected(&self, reason: Reason) {
        self.rejections[reason.index()].fetch_add(1, Relaxed);
    }

    /// Counts a connection refused at accept time.
    pub fn connection_refused(&self, reason: Reason) {
        self.connections_refused[reason.index()].fetch_add(1, Relaxed);
        self.rejections[reason.index()].fetch_add(1, Relaxed);
    }

    /// Each command's requests per minute over the hour ending at `now`
    /// (minutes since the epoch), oldest first; commands with none are left out.
    pub fn last_hour(&self, now: u32) -> Vec<(String, [u64; crate::minutes::SLOTS])> {
        let commands = self
            .commands
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        commands
            .into_iter()
            .map(|(name, s)| (name, s.per_minute.last_hour(now)))
            .filter(|(_, h)| h.iter().any(|&v| v > 0))
            .collect()
    }

    /// How many refusals `reason` has had.
    pub fn rejections(&self, reason: Reason) -> u64 {
        self.rejections[reason.index()].load(Relaxed)
    }

    /// Renders everything in the Prometheus text format.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        out.push_str("# HELP nodeward_requests_total Requests by command and status class.\n");
        out.push_str("# TYPE nodeward_requests_total counter\n");
        let mut commands = self
            .commands
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        for (name, s) in &commands {
            for (i, c) in s.by_class.iter().enumerate() {
                let v = c.load(Relaxed);
                if v > 0 {
                    let _ = writeln!(
                        out,
                        "nodeward_requests_total{{command=\"{name}\",class=\"{}xx\"}} {v}",
                        i + 1
                    );
                }
            }
        }
        out.push_str(
            "# HELP nodeward_command_rejections_total Refused requests by command and reason.\n",
        );
        out.push_str("# TYPE nodeward_command_rejections_total counter\n");
        for (name, s) in &commands {
            for r in Reason::ALL {
                let v = s.by_reason[r.index()].load(Relaxed);
                if v > 0 {
                    let _ = writeln!(
                        out,
                        "nodeward_command_rejections_total{{command=\"{name}\",reason=\"{}\"}} {v}",
                        r.code()
                    );
                }
            }
        }
        out.push_str(
            "# HELP nodeward_rejections_total Refused requests and connections by reason.\n",
        );
        out.push_str("# TYPE nodeward_rejections_total counter\n");
        for r in Reason::ALL {
            let _ = writeln!(
                out,
                "nodeward_rejections_total{{reason=\"{}\"}} {}",
                r.code(),
                self.rejections[r.index()].load(Relaxed)
            );
        }
        out.push_str("# HELP nodeward_inflight_requests Requests in flight by command.\n");
        out.push_str("# TYPE nodeward_inflight_requests gauge\n");
        // JSON-RPC namespace labels (`debug_*`) exist on every JSON-RPC
        // route; they show once used.
        commands.retain(|name, s| !name.ends_with("_*") || s.used());
        for (name, s) in &commands {
            let _ = writeln!(
                out,
                "nodeward_inflight_requests{{command=\"{name}\"}} {}",
                s.inflight.load(Relaxed)
            );
        }
        out.push_str(
            "# HELP nodeward_request_duration_seconds Time from request head to response head.\n",
        );
        out.push_str("# TYPE nodeward_request_duration_seconds histogram\n");
        for (name, s) in &commands {
            s.latency.render(
                &mut out,
                "nodeward_request_duration_seconds",
                &format!("command=\"{name}\""),
            );
        }
        out.push_str(
            "# HELP nodeward_upstream_duration_seconds Time the backend took to answer.\n",
        );
        out.push_str("# TYPE nodeward_upstream_duration_seconds histogram\n");
        for (name, s) in &commands {
            s.upstream_latency.render(
                &mut out,
                "nodeward_upstream_duration_seconds",
                &format!("command=\"{name}\""),
            );
        }
        out.push_str("# HELP nodeward_connections_open Client connections open now.\n");
        out.push_str("# TYPE nodeward_connections_open gauge\n");
        let _ = writeln!(
            out,
            "nodeward_connections_open {}",
            self.connections_open.load(Relaxed)
        );
        out.push_str("# HELP nodeward_connections_accepted_total Client connections accepted.\n");
        out.push_str("# TYPE nodeward_connections_accepted_total counter\n");
        let _ = writeln!(
            out,
            "nodeward_connections_accepted_total {}",
            self.connections_accepted.load(Relaxed)
        );
        out.push_str(
            "# HELP nodeward_connections_refused_total Connections refused at accept time.\n",
        );
        out.push_str("# TYPE nodeward_connections_refused_total counter\n");
        for r in [Reason::TooManyConnections, Reason::IpDenied, Reason::Banned] {
            let _ = writeln!(
                out,
                "nodeward_connections_refused_total{{reason=\"{}\"}} {}",
                r.code(),
                self.connections_refused[r.index()].load(Relaxed)
            );
        }
        for (name, help, v) in [
            (
                "nodeward_tls_handshake_failures_total",
                "TLS handshakes that failed.",
                &self.tls_handshake_failures,
            ),
            (
                "nodeward_access_log_dropped_total",
                "Access log lines dropped (writer behind).",
                &*self.access_log_dropped,
            ),
            (
                "nodeward_reloads_total",
                "Successful configuration reloads.",
                &self.reloads_ok,
            ),
            (
                "nodeward_reload_failures_total",
                "Failed configuration reloads.",
                &self.reloads_failed,
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {}",
                v.load(Relaxed)
            );
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_histograms() {
        let m = Metrics::default();
        let s = m.command("getnodeinfo");
        s.record(200, None, Duration::from_millis(2));
        s.record(403, Some(Reason::DeniedCommand), Duration::from_micros(100));
        m.rejected(Reason::DeniedCommand);
        let text = m.render();
        assert!(text.contains("nodeward_requests_total{command=\"getnodeinfo\",class=\"2xx\"} 1"));
        assert!(text.contains("nodeward_rejections_total{reason=\"denied_command\"} 1"));
        assert!(text.contains("nodeward_request_duration_seconds_count{command=\"getnodeinfo\"} 2"));
        assert!(text.contains("le=\"+Inf\"} 2"));
        assert_eq!(
            s.latency.quantile(0.5, 2),
            Some(Duration::from_secs_f64(0.0005))
        );
        assert_eq!(
            s.latency.quantile(0.9, 2),
            Some(Duration::from_secs_f64(0.0025))
        );
        assert_eq!(s.latency.quantile(0.9, 3), None);
    }
}
