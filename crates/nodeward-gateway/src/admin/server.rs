//! Serving the admin endpoints.

use super::token;
use crate::request::body::{full, Body};
use crate::state::Shared;
use bytes::Bytes;
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
    token: Arc<String>,
    public_read: bool,
    mut shutdown: watch::Receiver<bool>,
) {
    loop {
        let (stream, _) = tokio::select! {
            _ = shutdown.changed() => return,
            a = listener.accept() => match a {
                Ok(x) => x,
                Err(_) => { tokio::time::sleep(Duration::from_millis(50)).await; continue; }
            },
        };
        let shared = shared.clone();
        let token = token.clone();
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let shared = shared.clone();
                let token = token.clone();
                async move {
                    Ok::<_, std::convert::Infallible>(handle(&shared, &token, public_read, req))
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

fn reply(status: StatusCode, content_type: &'static str, body: impl Into<Bytes>) -> Response<Body> {
    let mut r = Response::new(full(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn authorized(req: &Request<Incoming>, token: &str) -> bool {
    req.headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.as_bytes().strip_prefix(b"Bearer "))
        .is_some_and(|presented| token::matches(presented, token.as_bytes()))
}

fn handle(
    shared: &Shared,
    token: &str,
    public_read: bool,
    req: Request<Incoming>,
) -> Response<Body> {
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
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/metrics") => reply(
            StatusCode::OK,
            "text/plain; version=0.0.4",
            shared.metrics.render(),
        ),
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
        (_, "/metrics" | "/status" | "/reload") => reply(
            StatusCode::METHOD_NOT_ALLOWED,
            "application/json",
            r#"{"error":"method not allowed"}"#,
        ),
        _ => reply(
            StatusCode::NOT_FOUND,
            "application/json",
            r#"{"error":"not found; try /metrics, /status or POST /reload"}"#,
        ),
    }
}
