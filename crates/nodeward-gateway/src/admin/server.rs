//! Serving the admin endpoints.

use super::reply::{bad, reply};
use super::token;
use crate::body::Body;
use crate::state::Shared;
use http::{header, HeaderValue, Method, Request, Response, StatusCode};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::watch;

/// Serves the admin API on `listener` until `shutdown` flips.
pub async fn serve_admin(
    shared: Arc<Shared>,
    listener: TcpListener,
    public_read: bool,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let (stream, peer) = tokio::select! {
            _ = shutdown.changed() => return,
            a = listener.accept() => match a {
                Ok(x) => x,
                Err(_) => { tokio::time::sleep(Duration::from_millis(50)).await; continue; }
            },
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let shared = shared.clone();
                async move {
                    Ok::<_, std::convert::Infallible>(
                        handle(&shared, peer.ip(), public_read, req).await,
                    )
                }
            });
            let _ = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(Duration::from_secs(10))
                .serve_connection(TokioIo::new(stream), svc)
                .await;
        });
    }
}

fn authorized(req: &Request<Incoming>, token: &str) -> bool {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        .is_some_and(|presented| token::matches(presented, token.as_bytes()))
}

async fn handle(
    shared: &Shared,
    peer: std::net::IpAddr,
    public_read: bool,
    req: Request<Incoming>,
) -> Response<Body> {
    // The status page has its own login (a session cookie), never the bearer token.
    if super::ui::owns(req.uri().path()) {
        return super::ui::handle(shared, peer, req).await;
    }
    let token = shared.admin_token.load_full();
    let token = token.as_str();
    let read_only = req.method() == Method::GET;
    if !(authorized(&req, token) || (public_read && read_only)) {
        let mut r = reply(
            StatusCode::UNAUTHORIZED,
            "application/json",
            r#"{"error":"a valid 'Authorization: Bearer <token>' is required","reason":"auth_failed"}"#,
        );
        r.headers_mut()
            .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        return r;
    }
    if req.uri().path() == "/upstreams" || req.uri().path().starts_with("/upstreams/") {
        return super::upstreams::handle(shared, req).await;
    }
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/metrics") => {
            let mut text = shared.metrics.render();
            crate::acme::manager::render_metrics(&shared.acme, &mut text);
            crate::ocsp::stapler::render_metrics(&shared.ocsp, &mut text);
            super::pool_metrics::render(&shared.registry.pools(), &mut text);
            if let Some(c) = shared.cluster.get() {
                c.status().render(&mut text);
            }
            if let Some(l) = crate::request::policy::cluster_rate::engine() {
                l.render_metrics(&mut text);
            }
            crate::request::cache::report::render_metrics(&shared.runtime.load().routes, &mut text);
            reply(StatusCode::OK, "text/plain; version=0.0.4", text)
        }
        (&Method::GET, "/ready") => match super::pools::readiness(shared) {
            Ok(()) => reply(StatusCode::OK, "application/json", r#"{"ready":true}"#),
            Err(problems) => reply(
                StatusCode::SERVICE_UNAVAILABLE,
                "application/json",
                serde_json::json!({
                    "ready": false,
                    "pools": problems.into_iter().collect::<std::collections::BTreeMap<_, _>>(),
                })
                .to_string(),
            ),
        },
        (&Method::GET, "/status") => reply(
            StatusCode::OK,
            "application/json",
            super::status::status(shared).to_string(),
        ),
        (&Method::POST, "/reload") => match shared.reload() {
            Ok(msg) => reply(
                StatusCode::OK,
                "application/json",
                serde_json::json!({"ok": true, "message": msg}).to_string(),
            ),
            Err(e) => reply(
                StatusCode::UNPROCESSABLE_ENTITY,
                "application/json",
                serde_json::json!({"ok": false, "error": e}).to_string(),
            ),
        },
        (&Method::GET, "/bans") => reply(StatusCode::OK, "application/json", list_bans(shared)),
        (&Method::POST, "/bans") => add_ban(shared, req.uri().query()),
        (&Method::DELETE, "/bans") => remove_ban(shared, req.uri().query()),
        (&Method::POST, "/cache/purge") => purge_cache(shared, req.uri().query()),
        (_, "/metrics" | "/status" | "/reload" | "/bans" | "/ready" | "/cache/purge") => reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "application/json",
            r#"{"error":"method not allowed"}"#,
        ),
        _ => reply(
            StatusCode::NOT_FOUND,
            "application/json",
            r#"{"error":"not found; try /ui (the status page), /metrics, /status, /ready, /bans, /upstreams or POST /reload"}"#,
        ),
    }
}

/// `POST /cache/purge[?route=/path][&command=name]`: drops cached answers.
fn purge_cache(shared: &Shared, query: Option<&str>) -> Response<Body> {
    let rt = shared.runtime.load();
    let route = query_param(query, "route");
    let command = query_param(query, "command");
    match crate::request::cache::report::purge(&rt.routes, route, command) {
        Ok(n) => reply(
            StatusCode::OK,
            "application/json",
            serde_json::json!({"purged": n}).to_string(),
        ),
        Err(e) => bad(StatusCode::NOT_FOUND, e),
    }
}

/// `GET /bans`: the bans in force.
fn list_bans(shared: &Shared) -> String {
    let now = std::time::SystemTime::now();
    let bans: Vec<serde_json::Value> = shared
        .bans
        .list()
        .into_iter()
        .map(|(source, b)| {
            serde_json::json!({
                "source": source.to_string(),
                "until": humantime::format_rfc3339_seconds(b.until).to_string(),
                "remaining_s": b.until.duration_since(now).map_or(0, |d| d.as_secs()),
                "offences": b.offences,
                "manual": b.manual,
            })
        })
        .collect();
    serde_json::json!({ "bans": bans }).to_string()
}

/// The value of `name` in a query string (no percent-decoding: addresses and durations need none).
fn query_param<'a>(query: Option<&'a str>, name: &str) -> Option<&'a str> {
    query?
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn source_param(query: Option<&str>) -> Result<std::net::IpAddr, String> {
    let text = query_param(query, "source").ok_or("give the address as ?source=IP")?;
    text.parse::<std::net::IpAddr>()
        .map(crate::addr::canonical)
        .map_err(|_| format!("{text:?} is not an IP address"))
}

/// `POST /bans?source=IP&for=DURATION`.
fn add_ban(shared: &Shared, query: Option<&str>) -> Response<Body> {
    let ip = match source_param(query) {
        Ok(ip) => ip,
        Err(msg) => return bad(StatusCode::BAD_REQUEST, msg),
    };
    let rt = shared.runtime.load();
    let autoban = rt.global.autoban.as_ref();
    let length = match query_param(query, "for") {
        None => autoban.map_or(Duration::from_secs(3600), |a| a.ban_for),
        Some(text) => match humantime::parse_duration(text) {
            Ok(d) if !d.is_zero() && d <= Duration::from_secs(10 * 365 * 86_400) => d,
            _ => {
                return bad(
                    StatusCode::BAD_REQUEST,
                    format!("{text:?} is not a duration between 1s and 10 years (e.g. \"1h\")"),
                )
            }
        },
    };
    let trusted = rt.global.trusted.contains(ip);
    match shared.bans.add(ip, length, autoban, trusted) {
        Ok(()) => {
            shared.bans.save_if_dirty();
            tracing::warn!(source = %ip, seconds = length.as_secs(), "source banned through the admin API");
            reply(
                StatusCode::OK,
                "application/json",
                serde_json::json!({"ok": true, "source": ip.to_string(), "seconds": length.as_secs()})
                    .to_string(),
            )
        }
        Err(e) => bad(StatusCode::UNPROCESSABLE_ENTITY, e.to_string()),
    }
}

/// `DELETE /bans?source=IP`.
fn remove_ban(shared: &Shared, query: Option<&str>) -> Response<Body> {
    let ip = match source_param(query) {
        Ok(ip) => ip,
        Err(msg) => return bad(StatusCode::BAD_REQUEST, msg),
    };
    let removed = shared.bans.remove(ip);
    shared.bans.save_if_dirty();
    if removed {
        tracing::info!(source = %ip, "ban lifted through the admin API");
        reply(
            StatusCode::OK,
            "application/json",
            serde_json::json!({"ok": true, "removed": ip.to_string()}).to_string(),
        )
    } else {
        bad(StatusCode::NOT_FOUND, format!("{ip} is not banned"))
    }
}
