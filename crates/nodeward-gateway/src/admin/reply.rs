//! The admin API's answers: JSON (or Prometheus text) that is never cached.

use crate::body::{full, Body};
use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};

/// A response with a body of `content_type`, never cached.
pub fn reply(
    status: StatusCode,
    content_type: &'static str,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut r = Response::new(full(body.into()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// A JSON error answer.
pub fn bad(status: StatusCode, msg: String) -> Response<Body> {
    reply(
        status,
        "application/json",
        serde_json::json!({ "ok": false, "error": msg }).to_string(),
    )
}
