//! Prometheus metrics of the node pools, per pool and per backend. Label
//! values are pool names and backend ids, both limited to characters that
//! need no escaping, and bounded by each pool's `max_backends`.

use crate::upstream::UpstreamPool;
use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
}

/// Appends the pools' metrics to `out`.
pub fn render(pools: &[Arc<UpstreamPool>], out: &mut String) {
    family(
        out,
        "nodeward_pool_ready",
        "gauge",
        "1 when the pool has a serving backend and is not stalled.",
    );
    for p in pools {
        let _ = writeln!(
            out,
            "nodeward_pool_ready{{pool=\"{}\"}} {}",
            p.name(),
            u8::from(super::pools::not_ready(p).is_none())
        );
    }
    family(
        out,
        "nodeward_pool_stalled",
        "gauge",
        "1 when every node lags for the same reason or the pool's head stopped moving.",
    );
    for p in pools {
        let _ = writeln!(
            out,
            "nodeward_pool_stalled{{pool=\"{}\"}} {}",
            p.name(),
            u8::from(super::pools::stalled(p).is_some())
        );
    }
    family(
        out,
        "nodeward_pool_head",
        "gauge",
        "The chain head a quorum of the pool's nodes reach.",
    );
    family(
        out,
        "nodeward_pool_head_age_seconds",
        "gauge",
        "Time since the pool's head last moved.",
    );
    for p in pools {
        if let Some(h) = p.balance.health.head() {
            let _ = writeln!(out, "nodeward_pool_head{{pool=\"{}\"}} {h}", p.name());
        }
        if let Some(age) = p.balance.health.head_age(p.balance.clock()) {
            let _ = writeln!(
                out,
                "nodeward_pool_head_age_seconds{{pool=\"{}\"}} {:.3}",
                p.name(),
                age.as_secs_f64()
            );
        }
    }
    for (name, help, pick) in [
        (
            "nodeward_pool_retries_total",
            "Requests retried on another backend.",
            0,
        ),
        (
            "nodeward_pool_retries_refused_total",
            "Retries not made because the retry budget was spent.",
            1,
        ),
        (
            "nodeward_pool_hedges_total",
            "Hedged attempts sent to a second backend.",
            2,
        ),
        (
            "nodeward_pool_hedge_wins_total",
            "Hedged attempts that answered first.",
            3,
        ),
        (
            "nodeward_pool_no_backend_total",
            "Requests that found no backend to send to.",
            4,
        ),
    ] {
        family(out, name, "counter", help);
        for p in pools {
            let s = &p.stats;
            let v = [
                &s.retries,
                &s.retries_refused,
                &s.hedges,
                &s.hedge_wins,
                &s.no_backend,
            ][pick]
                .load(Relaxed);
            let _ = writeln!(out, "{name}{{pool=\"{}\"}} {v}", p.name());
        }
    }
    family(
        out,
        "nodeward_backend_up",
        "gauge",
        "1 when the backend takes requests (healthy or warning, not ejected or draining).",
    );
    family(
        out,
        "nodeward_backend_check_level",
        "gauge",
        "Last health check: 2 pass, 1 warn, 0 critical.",
    );
    family(
        out,
        "nodeward_backend_checks_total",
        "counter",
        "Health checks by result.",
    );
    family(
        out,
        "nodeward_backend_inflight",
        "gauge",
        "Requests sent to the backend and not yet answered.",
    );
    family(
        out,
        "nodeward_backend_requests_total",
        "counter",
        "Answers from the backend by status class.",
    );
    family(
        out,
        "nodeward_backend_errors_total",
        "counter",
        "Attempts without an answer (unreachable, TLS, timeout, invalid).",
    );
    family(
        out,
        "nodeward_backend_ejections_total",
        "counter",
        "Passive ejections (consecutive failures).",
    );
    family(
        out,
        "nodeward_backend_head",
        "gauge",
        "The chain head the backend last reported.",
    );
    for p in pools {
        let now = p.balance.clock().now();
        for m in p.balance.members().iter() {
            let c = &m.core;
            let labels = format!("pool=\"{}\",backend=\"{}\"", p.name(), c.spec.id);
            let _ = writeln!(
                out,
                "nodeward_backend_up{{{labels}}} {}",
                u8::from(!c.is_out(now))
            );
            if let Some(r) = c.health.report() {
                let _ = writeln!(
                    out,
                    "nodeward_backend_check_level{{{labels}}} {}",
                    super::pools::level_value(r.level)
                );
            }
            let [pass, warn, critical] = c.health.counts();
            for (result, v) in [("pass", pass), ("warn", warn), ("critical", critical)] {
                if v > 0 {
                    let _ = writeln!(
                        out,
                        "nodeward_backend_checks_total{{{labels},result=\"{result}\"}} {v}"
                    );
                }
            }
            let _ = writeln!(
                out,
                "nodeward_backend_inflight{{{labels}}} {}",
                c.inflight()
            );
            for (i, class) in ["1xx", "2xx", "3xx", "4xx", "5xx"].iter().enumerate() {
                let v = m.endpoint.stats.by_class[i].load(Relaxed);
                if v > 0 {
                    let _ = writeln!(
                        out,
                        "nodeward_backend_requests_total{{{labels},class=\"{class}\"}} {v}"
                    );
                }
            }
            let _ = writeln!(
                out,
                "nodeward_backend_errors_total{{{labels}}} {}",
                m.endpoint.stats.errors.load(Relaxed)
            );
            let _ = writeln!(
                out,
                "nodeward_backend_ejections_total{{{labels}}} {}",
                c.breaker.ejections()
            );
            if let Some(h) = c.head() {
                let _ = writeln!(out, "nodeward_backend_head{{{labels}}} {h}");
            }
        }
    }
    family(
        out,
        "nodeward_backend_duration_seconds",
        "histogram",
        "Time from sending to the backend's response head.",
    );
    for p in pools {
        for m in p.balance.members().iter() {
            let labels = format!("pool=\"{}\",backend=\"{}\"", p.name(), m.core.spec.id);
            m.endpoint
                .stats
                .latency
                .render(out, "nodeward_backend_duration_seconds", &labels);
        }
    }
}
