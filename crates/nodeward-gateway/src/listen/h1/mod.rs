//! nodeward's own HTTP/1.1 server for plain connections.
//!
//! A connection is one task that reads a head, hands the request down the
//! request path, writes the answer and starts over (pipelined requests are
//! served in order). What it holds between requests is the socket and a few
//! words: no read or write buffer. A request's head is read into a buffer of
//! the size that arrived, its body only when the request path asks for it.
//!
//! Deadlines: the head must be complete within `header_timeout` of the
//! moment the connection started waiting for it (an idle keep-alive
//! connection is closed then; the listener's reaper enforces it, see
//! [`super::idle`]); the body has its own deadline in the request path. A client that closes its connection while its request is with the
//! node cancels that request.

mod body;
mod head;
mod io;
mod write;

use super::guard::ConnPermit;
use super::idle::IdleSlot;
use crate::refusal::{Reason, Reject};
use crate::request::{self, ConnInfo};
use crate::state::Shared;
use body::{BodyState, RequestBody};
use bytes::BytesMut;
use http::{Method, Version};
use std::future::{poll_fn, Future};
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::task::Poll;
use tokio::net::TcpStream;

/// Reads for a request head ask for at most this much.
const HEAD_READ: usize = 8 * 1024;

/// A plain HTTP/1.1 connection: its socket and what it holds for its whole
/// life. (No `Drop` of its own, so the socket can be moved out to close it.)
pub struct Conn {
    socket: TcpStream,
    state: ConnState,
}

/// What a connection holds besides its socket; counted in
/// `connections_open`, and in the connection guard, while it exists.
struct ConnState {
    shared: Arc<Shared>,
    info: Arc<ConnInfo>,
    idle: IdleSlot,
    /// The connection guard's key (from [`ConnPermit::into_key`]: the
    /// permit's reference to the guard is `shared.guard`).
    key: Option<u64>,
}

impl Conn {
    /// A connection from `peer` admitted by `shared.guard` with `permit`.
    /// (Its settings, the header timeout and limits, are read at each
    /// request: a reload applies to open connections from their next
    /// request on.)
    pub fn new(
        shared: Arc<Shared>,
        socket: TcpStream,
        peer: SocketAddr,
        idle: IdleSlot,
        permit: ConnPermit,
    ) -> Self {
        shared.metrics.connections_open.fetch_add(1, Relaxed);
        Conn {
            socket,
            state: ConnState {
                shared,
                info: Arc::new(ConnInfo::new(peer, false)),
                idle,
                key: permit.into_key(),
            },
        }
    }
}

impl Drop for ConnState {
    fn drop(&mut self) {
        self.shared.metrics.connections_open.fetch_sub(1, Relaxed);
        self.shared.guard.release(self.key);
    }
}

/// Serves HTTP/1.1 on a plain connection until the client leaves, an error
/// ends it, or the gateway shuts down; then closes it with a lingering close.
///
/// This future is what every idle keep-alive connection holds (its size is
/// bounded by `listen::task_size`: at most 152 bytes keep the tokio task in
/// 256), so it holds the connection, an empty buffer and the wait for a
/// head, nothing else: the head deadline and the shutdown signal live in
/// the listener's [`super::idle::IdleSet`], and serving a request (the
/// request path, the body, the answer), refusing one and closing run in
/// futures boxed for their duration.
#[allow(clippy::manual_async_fn)] // on purpose: see the first comment
pub fn serve(c: Conn) -> impl Future<Output = ()> + Send {
    // An `async move` block, not an `async fn`: a function's arguments would
    // be stored twice in its future (as arguments and as locals).
    async move {
        let end = {
            let mut buf = BytesMut::new();
            'conn: loop {
                c.state
                    .idle
                    .arm(c.state.shared.runtime.load().global.header_timeout);
                // How much of `buf` is known not to hold the end of a head: a
                // head trickled in byte by byte is not parsed again after
                // every byte. (0: nothing scanned yet; a partial head is
                // never empty.)
                let mut scanned: usize = 0;
                let head = loop {
                    let limits = {
                        let g = &c.state.shared.runtime.load().global;
                        head::Limits {
                            max_size: g.max_header_size,
                            max_fields: g.max_headers,
                        }
                    };
                    let worth_parsing = scanned == 0
                        || buf.len() > limits.max_size
                        || holds_head_end(&buf, scanned);
                    if worth_parsing {
                        match head::parse(&mut buf, limits) {
                            Ok(Some(head)) => break head,
                            Ok(None) => {}
                            Err(reject) => break 'conn End::Refuse(Box::new(reject)),
                        }
                    }
                    // The first bytes of a head are always parsed (so that
                    // what is not HTTP at all is refused at once); after
                    // that, only once the blank line that ends a head has
                    // arrived.
                    scanned = buf.len();
                    if buf.is_empty() {
                        // Nothing pending: hold no buffer while waiting.
                        buf = BytesMut::new();
                        if c.state.idle.closing() {
                            break 'conn End::Close;
                        }
                    }
                    // A `move` closure over two references: it is part of
                    // every idle connection's future.
                    let conn = &c;
                    let pending = &mut buf;
                    let waited = poll_fn(move |cx| {
                        match io::poll_read(&conn.socket, pending, HEAD_READ, cx) {
                            Poll::Ready(r) => Poll::Ready(Ok(r)),
                            Poll::Pending => {
                                conn.state.idle.poll_woken(pending.is_empty(), cx).map(Err)
                            }
                        }
                    })
                    .await;
                    match waited {
                        // The client left (mid-head or between requests).
                        Ok(Ok(0) | Err(_)) => break 'conn End::Leave,
                        Ok(Ok(_)) => {}
                        Err(_) if buf.is_empty() => break 'conn End::Close,
                        Err(_) => {
                            break 'conn End::Refuse(Box::new(Reject::new(
                                Reason::HeaderTimeout,
                                "the request head did not arrive in time",
                            )))
                        }
                    }
                };
                let answer = Box::pin(answer(&c.state, &c.socket, &mut buf, head));
                match answer.await {
                    Next::Request => {}
                    Next::Close => break 'conn End::Close,
                    Next::Leave => break 'conn End::Leave,
                    Next::Abort => break 'conn End::Abort,
                }
            }
        };
        // Decided by a function that takes `end` whole, so that nothing but
        // the boxed closing future is kept across the await below (room the
        // idle state would have to keep too).
        let closing = ending(end, &c.state, c.socket);
        closing.await;
    }
}

/// The future that ends a connection the way `end` says (boxed: only a
/// closing connection needs its state).
fn ending(
    end: End,
    state: &ConnState,
    socket: TcpStream,
) -> Pin<Box<dyn Future<Output = ()> + Send + '_>> {
    match end {
        End::Close => Box::pin(super::linger::close_lingering(socket)),
        End::Leave => {
            drop(socket);
            Box::pin(std::future::ready(()))
        }
        End::Abort => {
            abort(socket);
            Box::pin(std::future::ready(()))
        }
        End::Refuse(reject) => Box::pin(refuse_and_close(state, socket, *reject)),
    }
}

/// How a connection ends.
enum End {
    /// Close with a lingering close.
    Close,
    /// The client left: just drop the socket.
    Leave,
    /// Reset the connection.
    Abort,
    /// Answer a head that could not be read (boxed: the idle future must
    /// not keep room for it), then close.
    Refuse(Box<Reject>),
}

/// What a connection does after answering a request.
enum Next {
    /// Wait for the next request.
    Request,
    /// Close with a lingering close.
    Close,
    /// The client left: just drop the socket.
    Leave,
    /// Reset the connection.
    Abort,
}

/// Serves one request whose head has arrived: the request path (reading the
/// body when it asks), then the answer. Runs boxed, so that only a
/// connection with a request in progress holds its state.
async fn answer(
    c: &ConnState,
    socket: &TcpStream,
    buf: &mut BytesMut,
    head: head::RequestHead,
) -> Next {
    let body_state = BodyState::default();
    let body_state = &body_state;
    let head::RequestHead {
        request,
        framing,
        keep_alive,
        expect_continue,
    } = head;
    let head_request = request.method() == Method::HEAD;
    let http10 = request.version() == Version::HTTP_10;
    let response = {
        let body = RequestBody::new(socket, buf, framing, expect_continue, body_state);
        let request = request.map(|()| body);
        let serving = request::serve(c.shared.clone(), c.info.clone(), request);
        let mut serving = std::pin::pin!(serving);
        let mut closed = io::ClosedWatch::new(socket);
        let outcome = poll_fn(|cx| {
            if let std::task::Poll::Ready(r) = serving.as_mut().poll(cx) {
                return std::task::Poll::Ready(Some(r));
            }
            // Once the body is read, readiness means the client left (or
            // pipelined its next request, which stops the watch).
            if body_state.done() && !body_state.pipelined() && closed.poll_closed(cx).is_ready() {
                return std::task::Poll::Ready(None);
            }
            std::task::Poll::Pending
        })
        .await;
        match outcome {
            Some(Ok(response)) => response,
            Some(Err(never)) => match never {},
            // The client closed its connection: dropping the request
            // cancels it on the node.
            None => return Next::Leave,
        }
    };
    if body_state.broken() {
        // Half a `100 Continue` is out: nothing else can follow it.
        return Next::Abort;
    }
    let answering = write::Answering {
        head_request,
        http10,
        keep_alive: keep_alive && body_state.done() && !c.idle.closing(),
        watch_closed: !body_state.pipelined(),
        stall: c.shared.runtime.load().global.idle_timeout,
    };
    match write::send(socket, response, answering).await {
        Ok(true) => Next::Request,
        Ok(false) => Next::Close,
        Err(_) => Next::Abort,
    }
}

/// Refuses a request that could not be read, then closes.
async fn refuse_and_close(c: &ConnState, socket: TcpStream, reject: Reject) {
    refuse(&c.shared, &socket, &c.info, reject).await;
    super::linger::close_lingering(socket).await
}

/// Whether `buf` holds the blank line that ends a head, looking only at
/// what arrived after the first `from` bytes (and the 3 before them).
fn holds_head_end(buf: &[u8], from: usize) -> bool {
    let tail = &buf[from.saturating_sub(3).min(buf.len())..];
    memchr::memmem::find(tail, b"\n\r\n").is_some() || memchr::memmem::find(tail, b"\n\n").is_some()
}

/// Ends a connection with a reset: the client left, stalled, or its answer
/// broke off, and a plain close could pass for a complete answer.
fn abort(socket: TcpStream) {
    let _ = socket2::SockRef::from(&socket).set_linger(Some(std::time::Duration::ZERO));
}

/// Answers a request that could not be read (malformed or oversized head,
/// head timeout): counted under its reason, and toward a ban when the
/// autoban policy counts it (never for a trusted proxy, which only passes
/// on what its clients sent).
async fn refuse(shared: &Shared, socket: &TcpStream, conn: &ConnInfo, reject: Reject) {
    let reason = reject.reason;
    tracing::debug!(peer = %conn.peer, reason = reason.code(), detail = %reject.detail, "request head refused");
    shared.metrics.rejected(reason);
    let rt = shared.runtime.load();
    let ip = crate::addr::canonical(conn.peer.ip());
    if let Some(ab) = rt.global.autoban.as_ref().filter(|a| a.counts(reason)) {
        if !rt.global.trusted.contains(ip) && !rt.global.trusted_proxies.contains(ip) {
            shared.bans.record(ip, reason, ab);
        }
    }
    let mut response = reject.into_response(None);
    // The catch-all route's response headers, as on every other refusal.
    if let Some(policy) = rt
        .routes
        .iter()
        .find(|r| r.path == "/")
        .and_then(|r| r.respond.as_ref())
    {
        policy.apply(response.headers_mut(), conn.tls, None);
    }
    let answering = write::Answering {
        head_request: false,
        http10: false,
        keep_alive: false,
        watch_closed: false,
        stall: rt.global.idle_timeout,
    };
    drop(rt);
    let _ = write::send(socket, response, answering).await;
}
