//! The `/status` document: what runs, with which config, and how it is doing.

use crate::state::Shared;
use serde_json::{json, Value};
use std::sync::atomic::Ordering::Relaxed;

/// Builds the status document.
pub fn status(shared: &Shared) -> Value {
    let rt = shared.runtime.load();
    let upstreams: Vec<Value> = shared
        .registry
        .pools()
        .iter()
        .map(|p| super::pools::pool_status(p))
        .collect();
    let routes: Vec<Value> = rt
        .routes
        .iter()
        .map(|r| {
            json!({
                "path": r.path,
                "protocol": format!("{:?}", r.protocol).to_lowercase(),
                "upstream": rt.upstreams[r.upstream].name(),
                "max_body": r.max_body,
                "cache": crate::request::cache::report::status(r),
            })
        })
        .collect();
    let reload = shared
        .last_reload
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .clone()
        .map(|r| {
            json!({
                "at": humantime::format_rfc3339_seconds(r.at).to_string(),
                "ok": r.ok,
                "message": r.message,
            })
        });
    json!({
        "version": env!("CARGO_PKG_VERSION"),
        "uptime_seconds": shared.started.elapsed().as_secs(),
        "config": shared.config_path.display().to_string(),
        "listeners": shared.listeners.iter().map(|l| json!({
            "bind": l.bind.to_string(),
            "tls": l.terminates_tls(),
            "redirect_https": l.redirect_https,
        })).collect::<Vec<_>>(),
        "acme": shared.acme.iter().map(|a| a.status()).collect::<Vec<_>>(),
        "ocsp": shared.ocsp.iter().map(|o| o.status()).collect::<Vec<_>>(),
        "connections": {
            "open": shared.guard.open(),
            "accepted": shared.metrics.connections_accepted.load(Relaxed),
            "max": rt.global.max_connections,
            "max_per_ip": rt.global.max_connections_per_ip,
        },
        "ready": super::pools::readiness(shared).is_ok(),
        "upstreams": upstreams,
        "routes": routes,
        "last_reload": reload,
        "bans": {
            "autoban": rt.global.autoban.is_some(),
            "active": shared.bans.list().len(),
            "tracked_sources": shared.bans.tracked(),
        },
        "cluster": shared.cluster.get().map(|c| c.status()),
        "cluster_limits": crate::request::policy::cluster_rate::engine().map(|l| l.status()),
    })
}
