//! Sending an admitted request to a backend and streaming its answer back.

use super::pool::{Loan, UpstreamError, UpstreamPool};
use crate::request::body::{Body, BoxError};
use crate::request::hygiene::strip_hop_by_hop;
use crate::request::reject::{Reason, Reject};
use bytes::Bytes;
use http::{HeaderMap, Method, Request, Response, Uri};
use http_body::{Body as HttpBody, Frame, SizeHint};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use std::pin::Pin;
use std::task::{Context, Poll};
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
/// sent), and waiting at most `timeout` for the response head. `permits` are
/// held until the response body has been fully sent or dropped.
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
    let mut headers = Some(headers);
    for attempt in 0..attempts {
        let Some(i) = pool.selection.pick() else {
            break;
        };
        last = Some(i);
        let mut req = Request::new(Full::new(body.clone()));
        *req.method_mut() = method.clone();
        *req.uri_mut() = Uri::from(path_and_query.clone());
        // Only a retry needs its own copy of the headers.
        let mut h = if attempt + 1 == attempts {
            headers.take().unwrap_or_default()
        } else {
            headers.clone().unwrap_or_default()
        };
        if !h.contains_key(http::header::HOST) {
            // HTTP/2 clients send no Host header; HTTP/1.1 backends require one.
            if let Ok(v) = http::HeaderValue::from_str(&pool.backends[i].authority) {
                h.insert(http::header::HOST, v);
            }
        }
        *req.headers_mut() = h;
        let started = Instant::now();
        match tokio::time::timeout_at(deadline, pool.send(i, req)).await {
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
            Ok(Ok((resp, loan))) => {
                let upstream_time = started.elapsed();
                let (mut parts, incoming) = resp.into_parts();
                strip_hop_by_hop(&mut parts.headers);
                let mut body = PermitBody {
                    inner: incoming,
                    loan: Some(loan),
                    _permits: permits,
                };
                if body.inner.is_end_stream() {
                    body.finish();
                }
                return Ok(Forwarded {
                    response: Response::from_parts(parts, body.boxed_unsync()),
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

/// A backend's response body that keeps the request's in-flight permits
/// until it is finished or dropped (client gone), and gives the backend
/// connection back to the pool only when the body was read to the end.
struct PermitBody {
    inner: Incoming,
    loan: Option<Loan>,
    _permits: Vec<OwnedSemaphorePermit>,
}

impl PermitBody {
    fn finish(&mut self) {
        if let Some(loan) = self.loan.take() {
            loan.finish();
        }
    }
}

impl HttpBody for PermitBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        match &polled {
            // hyper stops polling once is_end_stream() says so, so the last
            // data frame is the moment to hand the connection back.
            Poll::Ready(None) => self.finish(),
            Poll::Ready(Some(Ok(_))) if self.inner.is_end_stream() => self.finish(),
            Poll::Ready(Some(Err(_))) => self.loan = None,
            _ => {}
        }
        polled.map_err(Into::into)
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
