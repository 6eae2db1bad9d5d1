//! A backend's response body on its way to the client.
//!
//! Small answers arrive with their head and are handed over whole, the
//! backend connection already back in its pool. Larger or chunked ones stream
//! from the connection; it goes back to the pool once the body has been read
//! to the end, and is closed (cancelling the request on the backend) when the
//! client goes away first, or when the node pauses midway for longer than
//! the request's timeout. Either way the request's in-flight permits are
//! held until the body has been sent or dropped.

use super::endpoint::Loan;
use crate::body::BoxError;
use crate::http1::{Decoder, Framing};
use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::{Instant, Sleep};

/// The response body of a forwarded request.
pub struct ResponseBody {
    source: Source,
    _permits: Vec<OwnedSemaphorePermit>,
}

enum Source {
    /// The whole body, read with the head (taken when sent).
    Whole(Option<Bytes>),
    /// Still on the backend connection.
    Streaming {
        decoder: Decoder,
        loan: Option<Loan>,
        keep_alive: bool,
        /// The longest pause allowed between two pieces of the body.
        idle: Duration,
        /// When the current pause runs out (boxed: only streamed bodies
        /// need a timer).
        pause_ends: Pin<Box<Sleep>>,
    },
}

impl ResponseBody {
    /// The body of a response whose head was just read on `loan`: taken
    /// whole when already buffered, streamed otherwise. A streamed body
    /// fails (and its connection is closed) when the node sends nothing
    /// for `idle`.
    pub fn new(
        framing: Framing,
        mut loan: Loan,
        keep_alive: bool,
        permits: Vec<OwnedSemaphorePermit>,
        idle: Duration,
    ) -> Self {
        let whole = match framing {
            Framing::Empty => Some(Bytes::new()),
            Framing::Length(n) if n <= loan.connection().buffered() as u64 => {
                Some(loan.connection().take_buffered(n as usize))
            }
            _ => None,
        };
        let source = match whole {
            Some(bytes) => {
                loan.finish(keep_alive);
                Source::Whole(Some(bytes))
            }
            None => Source::Streaming {
                decoder: Decoder::new(framing),
                loan: Some(loan),
                keep_alive,
                idle,
                pause_ends: Box::pin(tokio::time::sleep(idle)),
            },
        };
        ResponseBody {
            source,
            _permits: permits,
        }
    }
}

impl HttpBody for ResponseBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match &mut self.source {
            Source::Whole(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            Source::Streaming {
                decoder,
                loan,
                keep_alive,
                idle,
                pause_ends,
            } => {
                let Some(conn) = loan.as_mut() else {
                    return Poll::Ready(None);
                };
                let polled = conn.connection().poll_body(decoder, cx);
                if polled.is_ready() {
                    pause_ends.as_mut().reset(Instant::now() + *idle);
                }
                match polled {
                    Poll::Pending => {
                        if pause_ends.as_mut().poll(cx).is_pending() {
                            return Poll::Pending;
                        }
                        // The node stalled midway: close its connection
                        // (cancelling the request there) and end the answer.
                        *loan = None;
                        Poll::Ready(Some(Err(format!(
                            "the node sent nothing for {} ms in the middle of its answer",
                            idle.as_millis()
                        )
                        .into())))
                    }
                    Poll::Ready(Err(e)) => {
                        // The connection is in an unknown state: close it.
                        *loan = None;
                        Poll::Ready(Some(Err(e.into())))
                    }
                    Poll::Ready(Ok(data)) => {
                        // hyper stops polling once is_end_stream() says so,
                        // so the last piece is the moment to hand it back.
                        if decoder.is_done() {
                            if let Some(l) = loan.take() {
                                l.finish(*keep_alive);
                            }
                        }
                        Poll::Ready(data.map(|d| Ok(Frame::data(d))))
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match &self.source {
            Source::Whole(bytes) => bytes.is_none(),
            Source::Streaming { decoder, loan, .. } => decoder.is_done() || loan.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match &self.source {
            Source::Whole(Some(b)) => SizeHint::with_exact(b.len() as u64),
            Source::Whole(None) => SizeHint::with_exact(0),
            Source::Streaming { decoder, .. } => match decoder.remaining() {
                Some(n) => SizeHint::with_exact(n),
                None => SizeHint::default(),
            },
        }
    }
}
