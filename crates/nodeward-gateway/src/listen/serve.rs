//! The accept loop and per-connection HTTP serving.

use crate::config::Global;
use crate::refusal::Reason;
use crate::request::{self, ConnInfo};
use crate::state::Shared;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::{pin, Pin};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Applies the HTTP/2 settings of every HTTP/2 connection, TLS (hyper's
/// `http2::Builder`) or h2c (the `auto` builder's HTTP/2 half): the two
/// builders have the same setters but no common trait.
macro_rules! h2_settings {
    ($builder:expr, $g:expr) => {
        $builder
            .timer(TokioTimer::new())
            .max_concurrent_streams($g.h2_max_concurrent_streams)
            .max_header_list_size(u32::try_from($g.max_header_size).unwrap_or(u32::MAX))
            .max_pending_accept_reset_streams(Some(32))
            .max_local_error_reset_streams(Some(256))
            .keep_alive_interval(Some(Duration::from_secs(30)))
            .keep_alive_timeout(Duration::from_secs(10))
    };
}

/// Binds a listening socket with a deep backlog (IPv6 sockets are v6-only).
/// With `reuse_port`, several sockets share the address and the kernel
/// spreads new connections over them (one per worker thread).
pub fn bind(addr: SocketAddr, reuse_port: bool) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if reuse_port {
        socket.set_reuse_port(true)?;
    }
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(4096)?;
    Ok(socket.into())
}

/// Accepts connections on listener `index` until `shutdown` flips to true.
/// Must run inside the runtime that is to serve the connections.
pub async fn accept_loop(
    shared: Arc<Shared>,
    index: usize,
    listener: std::net::TcpListener,
    mut shutdown: watch::Receiver<bool>,
) {
    let listener = match TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            tracing::error!(error = %e, "cannot serve a listening socket");
            return;
        }
    };
    // Head deadlines and the shutdown signal of this listener's plain
    // HTTP/1.1 connections (see `super::idle`).
    let idle = super::idle::IdleSet::new();
    tokio::spawn(super::idle::reaper(
        idle.clone(),
        {
            let shared = shared.clone();
            move || shared.runtime.load().global.header_timeout
        },
        shutdown.clone(),
    ));
    let mut last_error_log: Option<Instant> = None;
    loop {
        let accepted = tokio::select! {
            biased;
            _ = shutdown.changed() => return,
            a = listener.accept() => a,
        };
        let (stream, peer) = match accepted {
            Ok(x) => x,
            Err(e) => {
                // Out of file descriptors or similar: back off instead of spinning.
                if last_error_log.is_none_or(|t| t.elapsed() > Duration::from_secs(5)) {
                    tracing::error!(error = %e, "accept failed; backing off");
                    last_error_log = Some(Instant::now());
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let rt = shared.runtime.load();
        let ip = crate::addr::canonical(peer.ip());
        if rt.global.deny_ips.contains(ip)
            || (!rt.global.allow_ips.is_empty() && !rt.global.allow_ips.contains(ip))
        {
            shared.metrics.connection_refused(Reason::IpDenied);
            drop(stream);
            continue;
        }
        // Banned sources are closed before any TLS or HTTP work.
        if shared.bans.is_banned(ip) {
            shared.metrics.connection_refused(Reason::Banned);
            drop(stream);
            continue;
        }
        let trusted = rt.global.trusted.contains(ip);
        let permit = match shared.guard.admit(ip, trusted) {
            Ok(p) => p,
            Err(reason) => {
                shared.metrics.connection_refused(reason);
                if let Some(ab) = rt.global.autoban.as_ref().filter(|a| a.counts(reason)) {
                    if !trusted {
                        shared.bans.record(ip, reason, ab);
                    }
                }
                if shared.tls[index].is_none() {
                    refuse_plain(stream, &rt.refusal_503);
                }
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        shared.metrics.connections_accepted.fetch_add(1, Relaxed);
        if shared.tls[index].is_none() && !rt.global.h2c && !shared.listeners[index].redirect_https
        {
            // The common case: nodeward's own HTTP/1.1 server, spawned
            // directly so that the task holds one copy of the connection's
            // state, not one per layer of futures.
            let conn = super::h1::Conn::new(shared.clone(), stream, peer, idle.slot(), permit);
            tokio::spawn(super::h1::serve(conn));
            continue;
        }
        tokio::spawn(connection(
            shared.clone(),
            index,
            stream,
            peer,
            shutdown.clone(),
            permit,
        ));
    }
}

/// One admitted TLS, h2c or redirecting connection's task (plain HTTP/1.1
/// connections are spawned straight into `super::h1::serve`).
pub(crate) async fn connection(
    shared: Arc<Shared>,
    index: usize,
    stream: TcpStream,
    peer: SocketAddr,
    shutdown: watch::Receiver<bool>,
    permit: super::guard::ConnPermit,
) {
    shared.metrics.connections_open.fetch_add(1, Relaxed);
    // Its own statement: a temporary lives until the statement ends,
    // so `Box::pin(f()).await` would keep room for `f()` in this future.
    let other = Box::pin(serve_connection(&shared, index, stream, peer, shutdown));
    other.await;
    shared.metrics.connections_open.fetch_sub(1, Relaxed);
    drop(permit);
}

/// Best-effort 503 on a plain connection refused at accept time; never waits
/// (the socket is non-blocking and the reply fits any send buffer).
fn refuse_plain(stream: TcpStream, response: &[u8]) {
    use std::io::{Read, Write};
    // The tokio registration has no write readiness yet on a fresh socket, so
    // write through the std socket directly.
    if let Ok(std_stream) = stream.into_std() {
        let _ = (&std_stream).write(response);
        let _ = std_stream.shutdown(std::net::Shutdown::Write);
        // Read what the client already sent (never waiting), so closing does
        // not turn into a reset that could discard the 503 at the client.
        let mut sink = [0u8; 2048];
        for _ in 0..8 {
            match (&std_stream).read(&mut sink) {
                Ok(n) if n > 0 => {}
                _ => break,
            }
        }
    }
}

async fn serve_connection(
    shared: &Arc<Shared>,
    index: usize,
    stream: TcpStream,
    peer: SocketAddr,
    shutdown: watch::Receiver<bool>,
) {
    let global = shared.runtime.load().global.clone();
    if shared.listeners[index].redirect_https {
        Box::pin(super::redirect::serve(
            stream,
            shared.challenges.clone(),
            shared.https_port,
            global.header_timeout,
        ))
        .await;
        return;
    }
    match &shared.tls[index] {
        // (Plain listeners reach here only for h2c: `accept_loop` hands plain
        // HTTP/1.1 straight to `super::h1::serve`.)
        None => {
            let conn = Arc::new(ConnInfo::new(peer, false));
            // Boxed, like TLS below: hyper's connection state is large and
            // only h2c listeners need it.
            Box::pin(serve_http(
                shared,
                stream,
                conn,
                &global,
                Mode::Auto,
                shutdown,
            ))
            .await;
        }
        Some(tls) => {
            // Boxed: the handshake state is large and only TLS connections
            // need it; the plain connection task stays small.
            Box::pin(serve_tls(shared, tls, stream, peer, &global, shutdown)).await;
        }
    }
}

/// Completes the TLS handshake within the header timeout, then serves HTTP/1
/// or HTTP/2 as ALPN chose. What an idle TLS connection keeps is only what its
/// protocol needs: the handshake's state lives in a box dropped once it is
/// done, the TLS stream in a box of its own size, and HTTP/1 and HTTP/2 are
/// served by separate boxed futures (a future is as large as its largest
/// await point, so one future for both would keep room for the larger).
async fn serve_tls(
    shared: &Arc<Shared>,
    tls: &super::tls::TlsState,
    stream: TcpStream,
    peer: SocketAddr,
    global: &Global,
    shutdown: watch::Receiver<bool>,
) {
    let handshake = Box::pin(tls_handshake(shared, tls, stream, peer, global));
    let Some(stream) = handshake.await else {
        return;
    };
    let alpn = stream.get_ref().1.alpn_protocol();
    if alpn == Some(crate::acme::ACME_TLS_ALPN) {
        // A TLS-ALPN-01 validation: the handshake was the answer (RFC 8737).
        return;
    }
    let h2 = alpn == Some(b"h2");
    let conn = Arc::new(ConnInfo::new(peer, true));
    if h2 {
        Box::pin(serve_h2(shared, stream, conn, global, shutdown)).await;
    } else {
        Box::pin(serve_http(
            shared,
            stream,
            conn,
            global,
            Mode::Http1,
            shutdown,
        ))
        .await;
    }
}

/// A server-side TLS stream, boxed (it holds the whole rustls connection).
type TlsIo = Box<tokio_rustls::server::TlsStream<TcpStream>>;

/// The TLS handshake within the header timeout; failures are counted.
async fn tls_handshake(
    shared: &Arc<Shared>,
    tls: &super::tls::TlsState,
    stream: TcpStream,
    peer: SocketAddr,
    global: &Global,
) -> Option<TlsIo> {
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.current.load_full());
    match tokio::time::timeout(global.header_timeout, acceptor.accept(stream)).await {
        Ok(Ok(s)) => Some(Box::new(s)),
        Ok(Err(e)) => {
            shared.metrics.tls_handshake_failures.fetch_add(1, Relaxed);
            tracing::debug!(%peer, error = %e, "TLS handshake failed");
            None
        }
        Err(_) => {
            shared.metrics.tls_handshake_failures.fetch_add(1, Relaxed);
            None
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Http1,
    Auto,
}

/// Tracks requests in flight and the last activity on one connection, for
/// closing idle HTTP/2 connections (HTTP/1 idles out via the header timeout).
#[derive(Default)]
struct Activity {
    inflight: AtomicUsize,
    last_ms: AtomicU64,
}

/// The per-connection request service; `track` counts requests in flight
/// and the last one's end in `activity` (for HTTP/2's idle close).
fn service(
    shared: &Arc<Shared>,
    conn: &Arc<ConnInfo>,
    activity: &Arc<Activity>,
    epoch: Instant,
    track: bool,
) -> impl hyper::service::Service<
    http::Request<hyper::body::Incoming>,
    Response = http::Response<crate::body::Body>,
    Error = std::convert::Infallible,
    Future: Send + Unpin + 'static,
> + Clone
       + Send
       + 'static {
    let svc_shared = shared.clone();
    let svc_activity = activity.clone();
    let svc_conn = conn.clone();
    service_fn(move |req| {
        let shared = svc_shared.clone();
        let activity = svc_activity.clone();
        let conn = svc_conn.clone();
        if track {
            activity.inflight.fetch_add(1, Relaxed);
        }
        // Boxed: the request future is large, and a boxed future is `Unpin`,
        // which lets the HTTP/1 connection hand its socket back when it ends.
        Box::pin(async move {
            let resp = request::serve(shared, conn, req).await;
            if track {
                activity.inflight.fetch_sub(1, Relaxed);
                activity.last_ms.store(
                    u64::try_from(epoch.elapsed().as_millis()).unwrap_or(u64::MAX),
                    Relaxed,
                );
            }
            resp
        })
    })
}

async fn serve_http<I>(
    shared: &Arc<Shared>,
    io: I,
    conn: Arc<ConnInfo>,
    g: &Global,
    mode: Mode,
    shutdown: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let epoch = Instant::now();
    let activity = Arc::new(Activity::default());
    // Idle tracking is for HTTP/2 only (HTTP/1 idles out through the header timeout).
    let track = mode != Mode::Http1;
    let service = service(shared, &conn, &activity, epoch, track);
    let io = TokioIo::new(io);
    if mode == Mode::Http1 {
        // Plain HTTP/1 goes straight to hyper's HTTP/1 connection (no protocol sniffing).
        let mut b = hyper::server::conn::http1::Builder::new();
        b.timer(TokioTimer::new())
            .header_read_timeout(g.header_timeout)
            .max_buf_size(g.max_header_size.max(8192))
            .max_headers(g.max_headers)
            .keep_alive(true);
        let mut connection = KeepSocket(b.serve_connection(io, service));
        drive(Pin::new(&mut connection), &conn, None, shutdown).await;
        let socket = connection.0.into_parts().io.into_inner();
        super::linger::close_lingering(socket).await;
        return;
    }
    // Boxed: HTTP/2 connection state is large and plain HTTP/1 never needs it.
    Box::pin(serve_auto(io, service, &conn, g, activity, epoch, shutdown)).await;
}

/// Serves HTTP/2 on a TLS connection whose ALPN chose h2, with hyper's
/// HTTP/2 connection alone (no HTTP/1 state kept beside it).
async fn serve_h2(
    shared: &Arc<Shared>,
    io: TlsIo,
    conn: Arc<ConnInfo>,
    g: &Global,
    shutdown: watch::Receiver<bool>,
) {
    let epoch = Instant::now();
    let activity = Arc::new(Activity::default());
    let service = service(shared, &conn, &activity, epoch, true);
    let mut builder = hyper::server::conn::http2::Builder::new(TokioExecutor::new());
    h2_settings!(builder, g);
    let connection = pin!(builder.serve_connection(TokioIo::new(io), service));
    drive(
        connection,
        &conn,
        Some((activity, epoch, g.idle_timeout)),
        shutdown,
    )
    .await;
}

/// Sniffs HTTP/1 vs h2c on a plain socket of an `h2c` listener and serves it.
#[allow(clippy::too_many_arguments)]
async fn serve_auto<I, S>(
    io: TokioIo<I>,
    service: S,
    conn: &ConnInfo,
    g: &Global,
    activity: Arc<Activity>,
    epoch: Instant,
    shutdown: watch::Receiver<bool>,
) where
    I: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    S: hyper::service::Service<
            http::Request<hyper::body::Incoming>,
            Response = http::Response<crate::body::Body>,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(g.header_timeout)
        .max_buf_size(g.max_header_size.max(8192))
        .max_headers(g.max_headers)
        .keep_alive(true);
    h2_settings!(builder.http2(), g);
    let connection = pin!(builder.serve_connection(io, service));
    drive(
        connection,
        conn,
        Some((activity, epoch, g.idle_timeout)),
        shutdown,
    )
    .await;
}

/// A connection that can be asked to finish its in-flight requests and close.
trait Graceful: Future {
    fn shutdown_gracefully(self: Pin<&mut Self>);
}

/// An HTTP/1 connection polled without hyper's own socket shutdown, so that
/// the socket can be taken back and closed with [`super::linger::close_lingering`].
struct KeepSocket<I, S>(hyper::server::conn::http1::Connection<I, S>)
where
    S: hyper::service::HttpService<hyper::body::Incoming>;

impl<I, S> Future for KeepSocket<I, S>
where
    S: hyper::service::HttpService<hyper::body::Incoming> + Unpin,
    S::Future: Unpin,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    S::ResBody: http_body::Body + 'static,
    <S::ResBody as http_body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Output = hyper::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.get_mut().0.poll_without_shutdown(cx)
    }
}

impl<I, S> Graceful for KeepSocket<I, S>
where
    Self: Future + Unpin,
    S: hyper::service::HttpService<hyper::body::Incoming>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    S::ResBody: http_body::Body + 'static,
    <S::ResBody as http_body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn shutdown_gracefully(self: Pin<&mut Self>) {
        Pin::new(&mut self.get_mut().0).graceful_shutdown();
    }
}

impl<I, S, E> Graceful for hyper::server::conn::http2::Connection<I, S, E>
where
    Self: Future,
    S: hyper::service::HttpService<hyper::body::Incoming>,
    S::ResBody: http_body::Body + Send + 'static,
    <S::ResBody as http_body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin,
    E: hyper::rt::bounds::Http2ServerConnExec<S::Future, S::ResBody>,
{
    fn shutdown_gracefully(self: Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

impl<I, S, E> Graceful for auto::Connection<'_, I, S, E>
where
    Self: std::future::Future,
    S: hyper::service::HttpService<hyper::body::Incoming>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    S::ResBody: http_body::Body + Send + 'static,
    <S::ResBody as http_body::Body>::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    E: hyper::rt::bounds::Http2ServerConnExec<S::Future, S::ResBody>,
{
    fn shutdown_gracefully(self: Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

/// Runs a connection to completion, closing it gracefully on shutdown and,
/// when `idle` is given, once it has had no request for the idle timeout.
async fn drive<C, T, E>(
    mut connection: Pin<&mut C>,
    conn: &ConnInfo,
    idle: Option<(Arc<Activity>, Instant, Duration)>,
    mut shutdown: watch::Receiver<bool>,
) where
    C: Graceful<Output = Result<T, E>>,
    E: std::fmt::Display,
{
    let period = idle
        .as_ref()
        .map_or(Duration::from_secs(3600), |(_, _, t)| {
            *t / 4 + Duration::from_millis(1)
        });
    // The first tick one period from now: an interval's immediate first
    // tick is a timer due "now", which tokio rounds up to its next
    // millisecond, so awaiting it here held every new connection (the TLS
    // handshake done, its request waiting) for about a millisecond before
    // its first poll: most of the gap to HAProxy in new TLS connections
    // per second.
    let mut tick = tokio::time::interval_at(tokio::time::Instant::now() + period, period);
    let mut shutting_down = false;
    // One long-lived wait for shutdown, not a new registration per wake-up.
    let mut stop = pin!(shutdown.changed());
    // After an idle close starts, a peer that never acknowledges the GOAWAY
    // (no PING reply) is cut off after this grace period.
    let grace = tokio::time::sleep(Duration::from_secs(3600));
    let mut grace = pin!(grace);
    let mut grace_armed = false;
    loop {
        tokio::select! {
            res = connection.as_mut() => {
                if let Err(e) = res {
                    tracing::debug!(peer = %conn.peer, error = %e, "connection ended with an error");
                }
                return;
            }
            _ = stop.as_mut(), if !shutting_down => {
                shutting_down = true;
                connection.as_mut().shutdown_gracefully();
            }
            _ = grace.as_mut(), if grace_armed => return,
            _ = tick.tick(), if idle.is_some() && !shutting_down => {
                if let Some((activity, epoch, timeout)) = &idle {
                    let last = Duration::from_millis(activity.last_ms.load(Relaxed));
                    if activity.inflight.load(Relaxed) == 0 && epoch.elapsed().saturating_sub(last) >= *timeout {
                        shutting_down = true;
                        connection.as_mut().shutdown_gracefully();
                        grace.as_mut().reset(tokio::time::Instant::now() + Duration::from_secs(1));
                        grace_armed = true;
                    }
                }
            }
        }
    }
}
