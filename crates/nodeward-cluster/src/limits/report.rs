//! What `/metrics` and `/status` say about the cluster-wide limits: whether
//! Redis answers, and per rule what was admitted, refused and decided by
//! the fail mode.

use super::Limits;
use serde_json::{json, Value};
use std::fmt::Write;
use std::sync::atomic::Ordering;

fn label(v: &str) -> String {
    v.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

impl Limits {
    /// Appends the Prometheus series to `out`.
    pub fn render_metrics(&self, out: &mut String) {
        let _ = writeln!(
            out,
            "# HELP nodeward_cluster_redis_up 1 while Redis answers (limits shared)\n# TYPE nodeward_cluster_redis_up gauge\nnodeward_cluster_redis_up {}",
            u8::from(self.redis_up())
        );
        let _ = writeln!(
            out,
            "# HELP nodeward_cluster_limit_refills_total token batches taken from Redis\n# TYPE nodeward_cluster_limit_refills_total counter\nnodeward_cluster_limit_refills_total {}",
            self.link.refills.load(Ordering::Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP nodeward_cluster_limit_redis_errors_total Redis calls that failed or timed out\n# TYPE nodeward_cluster_limit_redis_errors_total counter\nnodeward_cluster_limit_redis_errors_total {}",
            self.link.errors.load(Ordering::Relaxed)
        );
        let map = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let series = [
            (
                "admitted",
                "requests a cluster-wide limit admitted while Redis answered",
            ),
            (
                "refused",
                "requests a cluster-wide limit refused while Redis answered",
            ),
        ];
        for (what, help) in series {
            let name = format!("nodeward_cluster_limit_{what}_total");
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (rule, c) in map.iter() {
                let v = if what == "admitted" {
                    &c.admitted
                } else {
                    &c.refused
                };
                let _ = writeln!(
                    out,
                    "{name}{{rule=\"{}\"}} {}",
                    label(rule),
                    v.load(Ordering::Relaxed)
                );
            }
        }
        let name = "nodeward_cluster_limit_fallback_total";
        let _ = writeln!(
            out,
            "# HELP {name} requests decided by a rule's fail mode while Redis was unreachable\n# TYPE {name} counter"
        );
        for (rule, c) in map.iter() {
            let mode = *c.mode.lock().unwrap_or_else(|p| p.into_inner());
            let _ = writeln!(
                out,
                "{name}{{rule=\"{}\",mode=\"{}\"}} {}",
                label(rule),
                mode.as_str(),
                c.fallback.load(Ordering::Relaxed)
            );
        }
    }

    /// The `/status` section.
    pub fn status(&self) -> Value {
        let state = self.link.state();
        let map = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let rules: Vec<Value> = map
            .iter()
            .map(|(rule, c)| {
                json!({
                    "rule": rule,
                    "fail_mode": c.mode.lock().unwrap_or_else(|p| p.into_inner()).as_str(),
                    "admitted": c.admitted.load(Ordering::Relaxed),
                    "refused": c.refused.load(Ordering::Relaxed),
                    "fallback": c.fallback.load(Ordering::Relaxed),
                })
            })
            .collect();
        json!({
            "redis_up": self.redis_up(),
            "mode": if self.redis_up() { "shared" } else { "fallback" },
            "since": state.since,
            "last_error": state.last_error,
            "instances": self.instances(),
            "refills": self.link.refills.load(Ordering::Relaxed),
            "rules": rules,
        })
    }
}
