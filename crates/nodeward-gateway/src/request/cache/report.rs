//! The read cache's figures for `/metrics` and `/status`, and the admin
//! purge, per route.

use crate::request::policy::RoutePolicy;
use serde_json::{json, Value};
use std::fmt::Write;
use std::sync::atomic::Ordering::Relaxed;

/// Appends the cache series of every caching route to a Prometheus text.
pub fn render_metrics(routes: &[RoutePolicy], out: &mut String) {
    let caching: Vec<_> = routes
        .iter()
        .filter_map(|r| Some((r.path.as_str(), r.cache.as_ref()?)))
        .collect();
    if caching.is_empty() {
        return;
    }
    type Get = fn(&super::RouteCache) -> u64;
    let series: [(&str, &str, &str, Get); 10] = [
        (
            "hits_total",
            "counter",
            "Calls answered from the read cache.",
            |c| c.stats().hits.load(Relaxed),
        ),
        (
            "misses_total",
            "counter",
            "Cache lookups that found no live entry.",
            |c| c.stats().misses.load(Relaxed),
        ),
        (
            "coalesced_total",
            "counter",
            "Requests answered by another request's node call.",
            |c| c.stats().coalesced.load(Relaxed),
        ),
        (
            "evictions_total",
            "counter",
            "Entries dropped by the bounds, expiry or purge.",
            |c| c.stats().evictions.load(Relaxed),
        ),
        (
            "stores_total",
            "counter",
            "Answers written to the cache.",
            |c| c.stats().stores.load(Relaxed),
        ),
        (
            "too_large_total",
            "counter",
            "Answers larger than max_entry, not stored.",
            |c| c.stats().too_large.load(Relaxed),
        ),
        (
            "not_current_total",
            "counter",
            "Answers not stored: the node was behind the pool head, or answered about another block than the pinned one.",
            |c| c.stats().not_current.load(Relaxed),
        ),
        (
            "negative_stores_total",
            "counter",
            "Node error objects stored by a command's negative_cache.",
            |c| c.stats().negative.load(Relaxed),
        ),
        ("entries", "gauge", "Entries held.", |c| c.size().0 as u64),
        ("bytes", "gauge", "Bytes held.", |c| c.size().1),
    ];
    for (name, kind, help, get) in series {
        let _ = writeln!(out, "# HELP nodeward_cache_{name} {help}");
        let _ = writeln!(out, "# TYPE nodeward_cache_{name} {kind}");
        for (path, cache) in &caching {
            let path = path.replace('\\', "\\\\").replace('"', "\\\"");
            let _ = writeln!(
                out,
                "nodeward_cache_{name}{{route=\"{path}\"}} {}",
                get(cache)
            );
        }
    }
}

/// The `/status` object of one route's cache (null when it caches nothing).
pub fn status(route: &RoutePolicy) -> Value {
    let Some(c) = &route.cache else {
        return Value::Null;
    };
    let s = c.stats();
    let (entries, bytes) = c.size();
    json!({
        "hits": s.hits.load(Relaxed),
        "misses": s.misses.load(Relaxed),
        "coalesced": s.coalesced.load(Relaxed),
        "evictions": s.evictions.load(Relaxed),
        "stores": s.stores.load(Relaxed),
        "not_current": s.not_current.load(Relaxed),
        "negative_stores": s.negative.load(Relaxed),
        "entries": entries,
        "bytes": bytes,
    })
}

/// Purges the caches of `routes` (only the one at `path`, when given), all
/// entries or those of `command`. Returns the entries dropped, or an error
/// when `path` names no caching route.
pub fn purge(
    routes: &[RoutePolicy],
    path: Option<&str>,
    command: Option<&str>,
) -> Result<usize, String> {
    let mut dropped = 0;
    let mut matched = false;
    for r in routes {
        if path.is_some_and(|p| p != r.path) {
            continue;
        }
        if let Some(c) = &r.cache {
            matched = true;
            dropped += c.purge(command);
        }
    }
    match (matched, path) {
        (false, Some(p)) => Err(format!("no route at {p:?} caches anything")),
        _ => Ok(dropped),
    }
}
