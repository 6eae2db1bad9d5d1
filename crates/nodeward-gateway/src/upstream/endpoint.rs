//! One backend's connections: a bound on how many are open at once, a set
//! of idle keep-alive connections, and how new ones are made (TCP, then TLS
//! for https backends, within the connect timeout).
//!
//! A request first takes one of the backend's connection slots (waiting in
//! line when all are busy), then an idle connection or a new one. The
//! connection goes back to the idle set only after the response body has
//! been read to the end; a response dropped half-way (client gone, timeout)
//! drops its connection, which closes it and cancels the request on the
//! backend.

use super::error::UpstreamError;
use super::h1::{Connection, Head};
use super::stream::Stream;
use crate::metrics::Histogram;
use bytes::Bytes;
use http::{HeaderMap, HeaderValue, Method};
use nodeward_balance::{Address, Scheme};
use rustls::pki_types::ServerName;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How connections to a backend are made and kept.
#[derive(Debug, Clone)]
pub struct ConnectSettings {
    /// TCP connect plus TLS handshake deadline.
    pub timeout: Duration,
    /// Most connections open at once.
    pub max_connections: usize,
    /// Most idle connections kept.
    pub max_idle: usize,
    /// TLS client settings (https backends).
    pub tls: Option<crate::tls_client::TlsClient>,
}

impl ConnectSettings {
    /// Whether connections made under `self` can be kept under `other`.
    pub fn compatible(&self, other: &ConnectSettings) -> bool {
        self.timeout == other.timeout
            && self.max_connections == other.max_connections
            && self.max_idle == other.max_idle
            && self.tls.as_ref().map(|t| t.fingerprint) == other.tls.as_ref().map(|t| t.fingerprint)
    }
}

/// Counters of one backend's answers, for `/status` and `/metrics`.
#[derive(Debug, Default)]
pub struct EndpointStats {
    /// Answers by status class (1xx..5xx at index 0..4).
    pub by_class: [AtomicU64; 5],
    /// Attempts with no answer (unreachable, TLS, timeout, broken answer).
    pub errors: AtomicU64,
    /// Time to the response head.
    pub latency: Histogram,
}

impl EndpointStats {
    /// Counts an answer.
    pub fn answered(&self, status: u16, took: Duration) {
        let class = usize::from(status / 100).clamp(1, 5) - 1;
        self.by_class[class].fetch_add(1, Relaxed);
        self.latency.observe(took);
    }
}

/// One backend's connection pool.
pub struct Endpoint {
    /// Where it is.
    pub address: Address,
    /// `host:port`, the Host header for clients that sent none (HTTP/2).
    pub host_header: HeaderValue,
    settings: ConnectSettings,
    server_name: Option<ServerName<'static>>,
    /// Idle connections, one set per worker thread (a connection is driven
    /// by the runtime that opened it).
    idle: Vec<Mutex<Vec<Idle>>>,
    slots: Arc<Semaphore>,
    /// Connections open now (busy and idle, every worker).
    open: Arc<AtomicUsize>,
    /// Answer counters.
    pub stats: EndpointStats,
}

/// An idle connection, counted as open.
struct Idle {
    conn: Connection,
    open: OpenGuard,
}

/// Counts a connection as open until it is dropped.
struct OpenGuard(Arc<AtomicUsize>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Relaxed);
    }
}

impl std::fmt::Debug for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Endpoint")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

/// A connection on loan for one request, with its backend slot; back to the
/// idle set via [`Loan::finish`], closed when dropped.
pub struct Loan {
    conn: Connection,
    open: OpenGuard,
    endpoint: Arc<Endpoint>,
    worker: usize,
    _slot: OwnedSemaphorePermit,
}

impl Loan {
    /// The connection.
    pub fn connection(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Ends the loan after a complete response: the connection goes back to
    /// the idle set when `keep_alive` and nothing unasked follows the body.
    pub fn finish(mut self, keep_alive: bool) {
        if !keep_alive || self.conn.buffered() > 0 {
            return;
        }
        // An idle connection holds no read buffer (8 KiB each: with a few
        // dozen pooled connections, more than a thousand idle clients cost).
        self.conn.shed_buffer();
        let mut idle = self.endpoint.idle[self.worker]
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.endpoint.settings.max_idle {
            idle.push(Idle {
                conn: self.conn,
                open: self.open,
            });
        }
    }
}

impl Endpoint {
    /// An endpoint for `address` (connections are opened on demand).
    pub fn new(address: &Address, settings: ConnectSettings) -> Endpoint {
        let authority = address.authority();
        let server_name = match address.scheme {
            Scheme::Https => ServerName::try_from(address.host.clone()).ok(),
            Scheme::Http => None,
        };
        Endpoint {
            address: address.clone(),
            host_header: HeaderValue::from_str(&authority)
                .unwrap_or(HeaderValue::from_static("localhost")),
            slots: Arc::new(Semaphore::new(settings.max_connections)),
            open: Arc::new(AtomicUsize::new(0)),
            settings,
            server_name,
            idle: (0..crate::workers::count())
                .map(|_| Mutex::new(Vec::new()))
                .collect(),
            stats: EndpointStats::default(),
        }
    }

    /// The settings its connections were made with.
    pub fn settings(&self) -> &ConnectSettings {
        &self.settings
    }

    /// Sends a request and reads the response head, on an idle connection
    /// or a new one. An idle connection the backend has closed meanwhile is
    /// skipped; nothing is resent once a write succeeded.
    ///
    /// `sent` turns true when the request starts to go out, so that a caller
    /// whose deadline ends this future can tell whether the backend may have
    /// received it.
    pub async fn send(
        self: &Arc<Self>,
        method: &Method,
        target: &str,
        headers: &HeaderMap,
        body: &Bytes,
        sent: &AtomicBool,
    ) -> Result<(Head, Loan), UpstreamError> {
        let slot = self
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| UpstreamError::Unreachable("endpoint closed".into()))?;
        let worker = crate::workers::current();
        loop {
            let reused = self.idle[worker]
                .lock()
                .unwrap_or_else(|p| p.into_inner())
                .pop();
            let (mut conn, open, fresh) = match reused {
                Some(mut idle) => {
                    if !idle.conn.is_usable() {
                        continue;
                    }
                    (idle.conn, idle.open, false)
                }
                None => {
                    // Another worker's idle connection would take this one
                    // over the bound: close it (it cannot move between runtimes).
                    if self.open.load(Relaxed) >= self.settings.max_connections {
                        self.close_one_idle();
                    }
                    self.open.fetch_add(1, Relaxed);
                    let open = OpenGuard(self.open.clone());
                    // Boxed: connecting is rare and its future large.
                    (Box::pin(self.connect()).await?, open, true)
                }
            };
            sent.store(true, Relaxed);
            if let Err(e) = conn.send_request(method, target, headers, body).await {
                if fresh {
                    return Err(UpstreamError::Io(e));
                }
                // A keep-alive connection closed under us: nothing was taken.
                sent.store(false, Relaxed);
                continue;
            }
            let head = conn.read_head(method).await?;
            let loan = Loan {
                conn,
                open,
                endpoint: self.clone(),
                worker,
                _slot: slot,
            };
            return Ok((head, loan));
        }
    }

    async fn connect(&self) -> Result<Connection, UpstreamError> {
        let timeout = self.settings.timeout;
        let work = async {
            let tcp = TcpStream::connect((self.address.host.as_str(), self.address.port))
                .await
                .map_err(|e| UpstreamError::Unreachable(e.to_string()))?;
            let _ = tcp.set_nodelay(true);
            match (&self.settings.tls, self.address.scheme) {
                (_, Scheme::Http) => Ok(Stream::Plain(tcp)),
                (None, Scheme::Https) => Err(UpstreamError::Tls(
                    "no TLS settings for an https backend".into(),
                )),
                (Some(tls), Scheme::Https) => {
                    let name = self.server_name.clone().ok_or_else(|| {
                        UpstreamError::Tls(format!(
                            "{:?} is not a valid TLS server name",
                            self.address.host
                        ))
                    })?;
                    let connector = tokio_rustls::TlsConnector::from(tls.config.clone());
                    let stream = connector
                        .connect(name, tcp)
                        .await
                        .map_err(|e| UpstreamError::Tls(e.to_string()))?;
                    Ok(Stream::Tls(Box::new(stream)))
                }
            }
        };
        match tokio::time::timeout(timeout, work).await {
            Err(_) => Err(UpstreamError::Unreachable(format!(
                "connect timed out after {} ms",
                timeout.as_millis()
            ))),
            Ok(r) => r.map(Connection::new),
        }
    }

    /// Closes one idle connection of any worker.
    fn close_one_idle(&self) {
        for set in &self.idle {
            let closed = set.lock().unwrap_or_else(|p| p.into_inner()).pop();
            if closed.is_some() {
                return;
            }
        }
    }

    /// Idle connections kept now.
    pub fn idle_count(&self) -> usize {
        self.idle
            .iter()
            .map(|i| i.lock().unwrap_or_else(|p| p.into_inner()).len())
            .sum()
    }

    /// Connections carrying a request now.
    pub fn busy_count(&self) -> usize {
        self.settings.max_connections - self.slots.available_permits()
    }
}
