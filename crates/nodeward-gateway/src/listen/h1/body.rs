//! A client's request body, read from the connection only when the request
//! path asks for it (a request refused on its head never has its body read),
//! decoded strictly, and sending `100 Continue` first when the client waits
//! for it.

use super::io;
use crate::http1::{Decoder, Framing, Step};
use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::task::{Context, Poll};
use tokio::net::TcpStream;

/// Body reads ask for at most this much at a time.
const READ_CHUNK: usize = 16 * 1024;

const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// Why a request body could not be read.
#[derive(Debug, thiserror::Error)]
pub enum BodyError {
    /// The body's framing is broken (a bad chunk size, ...).
    #[error("{0}")]
    Framing(#[from] crate::http1::FramingError),
    /// The connection failed.
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

/// What the connection loop learns about a request body while (and after)
/// the request path reads it.
#[derive(Debug, Default)]
pub struct BodyState {
    /// The whole body has been read: the connection can carry another
    /// request, and a read-readiness on it means something else.
    done: AtomicBool,
    /// When the body ended, bytes of a next (pipelined) request were
    /// already buffered.
    pipelined: AtomicBool,
    /// A `100 Continue` was only partly written: no other answer may follow.
    broken: AtomicBool,
}

impl BodyState {
    /// Whether the whole body has been read.
    pub fn done(&self) -> bool {
        self.done.load(Relaxed)
    }

    /// Whether a pipelined request was already buffered when the body ended.
    pub fn pipelined(&self) -> bool {
        self.pipelined.load(Relaxed)
    }

    /// Whether the connection's output is in the middle of a `100 Continue`.
    pub fn broken(&self) -> bool {
        self.broken.load(Relaxed)
    }
}

/// The body of the request being served on a connection. Bytes after the
/// body (a pipelined request) stay in the connection's buffer.
pub struct RequestBody<'a> {
    socket: &'a TcpStream,
    buf: &'a mut BytesMut,
    decoder: Decoder,
    state: &'a BodyState,
    /// Bytes of `100 Continue` written so far, when the client waits for it.
    continue_written: Option<usize>,
}

impl<'a> RequestBody<'a> {
    /// The body delimited by `framing`, whose first bytes (if any) are at
    /// the front of `buf`.
    pub fn new(
        socket: &'a TcpStream,
        buf: &'a mut BytesMut,
        framing: Framing,
        expect_continue: bool,
        state: &'a BodyState,
    ) -> Self {
        let decoder = Decoder::new(framing);
        state.done.store(false, Relaxed);
        state.pipelined.store(false, Relaxed);
        state.broken.store(false, Relaxed);
        let mut body = RequestBody {
            socket,
            buf,
            decoder,
            state,
            continue_written: expect_continue.then_some(0),
        };
        body.check_done();
        body
    }

    fn check_done(&mut self) {
        if self.decoder.is_done() {
            self.state.pipelined.store(!self.buf.is_empty(), Relaxed);
            self.state.done.store(true, Relaxed);
        }
    }

    fn poll_next(&mut self, cx: &mut Context<'_>) -> Poll<Result<Option<Bytes>, BodyError>> {
        loop {
            if self.decoder.is_done() {
                self.check_done();
                return Poll::Ready(Ok(None));
            }
            match self.decoder.step(self.buf)? {
                Step::Data(bytes) => {
                    self.check_done();
                    return Poll::Ready(Ok(Some(bytes)));
                }
                Step::Again => continue,
                Step::NeedMore => {}
            }
            // The client waits for this before it sends the body.
            if let Some(written) = self.continue_written.as_mut() {
                std::task::ready!(io::poll_write_all(self.socket, CONTINUE, written, cx))?;
                self.continue_written = None;
            }
            let hint = self.decoder.read_hint(READ_CHUNK);
            let n = std::task::ready!(io::poll_read(self.socket, self.buf, hint, cx))?;
            if n == 0 {
                self.decoder.at_eof()?;
            }
        }
    }
}

impl Drop for RequestBody<'_> {
    fn drop(&mut self) {
        if self.continue_written.is_some_and(|n| n > 0) {
            self.state.broken.store(true, Relaxed);
        }
        // A request refused before its body was read (401, 405, ...): if the
        // whole body has already arrived, skip it here so the connection can
        // carry the next request. Nothing is read from the socket for this;
        // a body that is not all here, or whose framing is broken, closes
        // the connection instead.
        while !self.decoder.is_done() {
            match self.decoder.step(self.buf) {
                Ok(Step::Data(_) | Step::Again) => {}
                Ok(Step::NeedMore) | Err(_) => return,
            }
        }
        self.check_done();
    }
}

impl Body for RequestBody<'_> {
    type Data = Bytes;
    type Error = BodyError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BodyError>>> {
        self.get_mut()
            .poll_next(cx)
            .map(|r| r.transpose().map(|d| d.map(Frame::data)))
    }

    fn is_end_stream(&self) -> bool {
        self.decoder.is_done()
    }

    fn size_hint(&self) -> SizeHint {
        match self.decoder.remaining() {
            Some(n) => SizeHint::with_exact(n),
            None => SizeHint::default(),
        }
    }
}
