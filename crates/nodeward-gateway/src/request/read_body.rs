//! Reading a client's request body under a size cap and one deadline for
//! the whole body.

use crate::refusal::{Reason, Reject};
use bytes::{Bytes, BytesMut};
use std::future::poll_fn;
use std::pin::pin;
use std::task::{Context, Poll, Waker};
use tokio::time::Instant;

/// Reads a whole request body of at most `limit` bytes before `deadline`.
///
/// The deadline covers the whole body, so a client sending one byte per
/// second cannot keep the request open by trickling.
pub async fn read_limited<B>(body: B, limit: usize, deadline: Instant) -> Result<Bytes, Reject>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: std::fmt::Display,
{
    let mut body = pin!(body);
    let mut first: Option<Bytes> = None;
    let mut buf: Option<BytesMut> = None;
    let mut total = 0usize;
    loop {
        // Usually the body is already buffered: take it without arming a timer.
        let ready = {
            let mut cx = Context::from_waker(Waker::noop());
            match body.as_mut().poll_frame(&mut cx) {
                Poll::Ready(frame) => Some(frame),
                Poll::Pending => None,
            }
        };
        let next = match ready {
            Some(frame) => Ok(frame),
            None => {
                tokio::time::timeout_at(deadline, poll_fn(|cx| body.as_mut().poll_frame(cx))).await
            }
        };
        let frame = match next {
            Err(_) => {
                return Err(Reject::new(
                    Reason::BodyTimeout,
                    "the request body did not arrive in time",
                ))
            }
            Ok(None) => break,
            Ok(Some(Err(e))) => {
                return Err(Reject::new(
                    Reason::BadRequest,
                    format!("could not read the request body: {e}"),
                ))
            }
            Ok(Some(Ok(frame))) => frame,
        };
        let Ok(data) = frame.into_data() else {
            continue; // trailers carry nothing we forward
        };
        total += data.len();
        if total > limit {
            return Err(Reject::new(
                Reason::BodyTooLarge,
                format!("the request body is larger than {limit} bytes"),
            ));
        }
        match (&mut first, &mut buf) {
            (None, None) => first = Some(data),
            (Some(f), None) => {
                let mut b = BytesMut::with_capacity((f.len() + data.len()).max(1024).min(limit));
                b.extend_from_slice(f);
                b.extend_from_slice(&data);
                buf = Some(b);
                first = None;
            }
            (_, Some(b)) => b.extend_from_slice(&data),
        }
    }
    Ok(match (first, buf) {
        (_, Some(b)) => b.freeze(),
        (Some(f), None) => f,
        (None, None) => Bytes::new(),
    })
}
