//! Sending an admitted request to a backend and streaming its answer back.

use super::body::ResponseBody;
use super::pool::{UpstreamError, UpstreamPool};
use crate::body::Body;
use crate::refusal::{Reason, Reject};
use bytes::Bytes;
use http::{HeaderMap, Method, Response};
use http_body_util::BodyExt;
use std::time::{Duration, Instant};
use tokio::sync::OwnedSemaphorePermit;

/// A backend's answer, ready to send to the client.
pub struct Forwarded {
    /// The response (body streams from the backend).
    pub response: Response<Body>,
    /// Which backend answered (index into the pool).
    pub backend: usize,
    /// Time from sending to the backend's response head.
    pub upstream_time: Duration,
}

/// A failure to get an answer, with the backend tried last.
pub struct ForwardError {
    /// Why.
    pub reject: Reject,
    /// The backend that failed, when one was tried.
    pub backend: Option<usize>,
}

/// Sends the request to a healthy backend of `pool`, moving on to the next
/// backend only when a connection could not be made (the request was never
/// sent), and waiting at most `timeout` for the response head and at most
/// `timeout` for each further piece of a streamed body. `permits` are held
/// until the response body has been fully sent or dropped.
pub async fn forward(
    pool: &UpstreamPool,
    method: Method,
    path_and_query: http::uri::PathAndQuery,
    headers: HeaderMap,
    body: Bytes,
    timeout: Duration,
    permits: Vec<OwnedSemaphorePermit>,
) -> Result<Forwarded, ForwardError> {
    let deadline = tokio::time::Instant::now() + timeout;
    let attempts = pool.backends.len().min(2);
    let mut last = None;
    let mut headers = headers;
    let client_sent_host = headers.contains_key(http::header::HOST);
    let target = path_and_query.as_str();
    for _ in 0..attempts {
        let Some(i) = pool.selection.pick() else {
            break;
        };
        last = Some(i);
        if !client_sent_host {
            // HTTP/2 clients send no Host header; HTTP/1.1 backends require
            // one: this backend's own (replacing a tried backend's).
            if let Ok(v) = http::HeaderValue::from_str(&pool.backends[i].authority) {
                headers.insert(http::header::HOST, v);
            }
        }
        let started = Instant::now();
        let sent = pool.send(i, &method, target, &headers, &body);
        match tokio::time::timeout_at(deadline, sent).await {
            Err(_) => {
                return Err(ForwardError {
                    reject: Reject::new(Reason::UpstreamTimeout, "the node did not answer in time"),
                    backend: Some(i),
                })
            }
            Ok(Err(UpstreamError::Connect(e))) => {
                tracing::warn!(upstream = %pool.name, backend = %pool.backend_names[i], error = %e, "backend unreachable; ejected");
                pool.selection.eject(i, pool.eject_for);
                continue;
            }
            Ok(Err(e)) => {
                tracing::warn!(upstream = %pool.name, backend = %pool.backend_names[i], error = %e, "backend failed");
                return Err(ForwardError {
                    reject: Reject::new(Reason::UpstreamError, "the node sent an invalid response"),
                    backend: Some(i),
                });
            }
            Ok(Ok((head, loan))) => {
                let upstream_time = started.elapsed();
                // The command's timeout also bounds each pause in a streamed body.
                let body = ResponseBody::new(head.framing, loan, head.keep_alive, permits, timeout);
                let mut response = Response::new(body.boxed_unsync());
                *response.status_mut() = head.status;
                *response.headers_mut() = head.headers;
                return Ok(Forwarded {
                    response,
                    backend: i,
                    upstream_time,
                });
            }
        }
    }
    Err(ForwardError {
        reject: Reject::new(Reason::NoUpstream, "no node backend is reachable"),
        backend: last,
    })
}
