//! A named pool of backends, each with a bound on its open connections and a
//! set of idle keep-alive connections.
//!
//! A request first takes one of its backend's connection slots (waiting in
//! line when all are busy), then an idle connection or a new one. The
//! connection goes back to the idle set only after the response body has been
//! read to the end; a response dropped half-way (client gone, timeout) drops
//! its connection, which closes it and cancels the request on the backend.

use super::h1::{Connection, Head};
use super::selection::RoundRobin;
use crate::config::Upstream;
use bytes::Bytes;
use http::{HeaderMap, Method};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Why a request got no (valid) response from a backend.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// No connection could be made; the request was never sent.
    #[error("connect: {0}")]
    Connect(String),
    /// Reading or writing failed after the request may have been sent.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The backend closed the connection without answering.
    #[error("the backend closed the connection without answering")]
    ClosedEarly,
    /// The backend's response is not valid HTTP/1.1.
    #[error("invalid response: {0}")]
    Invalid(&'static str),
}

impl From<crate::http1::FramingError> for UpstreamError {
    fn from(e: crate::http1::FramingError) -> Self {
        UpstreamError::Invalid(e.0)
    }
}

/// One backend: its address, its connection slots and its idle connections.
pub struct Backend {
    /// Base URI (`http://host:port`).
    pub uri: http::Uri,
    /// `host:port` to connect to and to show in logs.
    pub authority: String,
    idle: Mutex<Vec<Connection>>,
    slots: Arc<Semaphore>,
}

/// A live upstream pool.
pub struct UpstreamPool {
    /// The pool's name.
    pub name: String,
    /// The backends.
    pub backends: Vec<Arc<Backend>>,
    /// Backend authorities as text (for logs and status).
    pub backend_names: Vec<String>,
    /// Selection with passive ejection.
    pub selection: RoundRobin,
    /// How long a backend that refused a connection is skipped.
    pub eject_for: Duration,
    /// Most connections open to one backend at once.
    pub max_connections: usize,
    connect_timeout: Duration,
    max_idle: usize,
}

/// A connection on loan for one request, with its backend slot; back to the
/// idle set via [`Loan::finish`], closed when dropped.
pub struct Loan {
    conn: Connection,
    backend: Arc<Backend>,
    max_idle: usize,
    _slot: OwnedSemaphorePermit,
}

impl Loan {
    /// The connection.
    pub fn connection(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Ends the loan after a complete response: the connection goes back to
    /// the idle set when `keep_alive` and nothing unasked follows the body.
    pub fn finish(self, keep_alive: bool) {
        if !keep_alive || self.conn.buffered() > 0 {
            return;
        }
        let mut idle = self.backend.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.max_idle {
            idle.push(self.conn);
        }
    }
}

impl UpstreamPool {
    /// Builds the pool (connections are opened on demand).
    pub fn new(u: &Upstream) -> Self {
        let backends: Vec<Arc<Backend>> = u
            .backends
            .iter()
            .map(|b| {
                let authority = b.authority().map(|a| a.to_string()).unwrap_or_default();
                Arc::new(Backend {
                    uri: b.clone(),
                    authority,
                    idle: Mutex::new(Vec::new()),
                    slots: Arc::new(Semaphore::new(u.max_connections_per_backend)),
                })
            })
            .collect();
        UpstreamPool {
            name: u.name.clone(),
            backend_names: backends.iter().map(|b| b.authority.clone()).collect(),
            selection: RoundRobin::new(backends.len()),
            eject_for: u.eject_for,
            max_connections: u.max_connections_per_backend,
            connect_timeout: u.connect_timeout,
            max_idle: u.max_idle_per_backend,
            backends,
        }
    }

    /// Sends a request to backend `i` and reads the response head, on an idle
    /// connection or a new one. An idle connection the backend has closed
    /// meanwhile is skipped; nothing is resent once a write succeeded.
    pub async fn send(
        &self,
        i: usize,
        method: &Method,
        target: &str,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> Result<(Head, Loan), UpstreamError> {
        let backend = &self.backends[i];
        let slot = backend
            .slots
            .clone()
            .acquire_owned()
            .await
            .map_err(|_| UpstreamError::Connect("pool closed".into()))?;
        loop {
            let reused = backend.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let (mut conn, fresh) = match reused {
                Some(c) if c.is_usable() => (c, false),
                Some(_) => continue,
                // Boxed: connecting is rare and its future large.
                None => (Box::pin(self.connect(backend)).await?, true),
            };
            if let Err(e) = conn.send_request(method, target, headers, body).await {
                if fresh {
                    return Err(UpstreamError::Connect(format!("write: {e}")));
                }
                // A keep-alive connection closed under us: nothing was taken.
                continue;
            }
            let head = conn.read_head(method).await?;
            let loan = Loan {
                conn,
                backend: backend.clone(),
                max_idle: self.max_idle,
                _slot: slot,
            };
            return Ok((head, loan));
        }
    }

    async fn connect(&self, backend: &Backend) -> Result<Connection, UpstreamError> {
        let stream =
            tokio::time::timeout(self.connect_timeout, TcpStream::connect(&backend.authority))
                .await
                .map_err(|_| {
                    UpstreamError::Connect(format!("timed out after {:?}", self.connect_timeout))
                })?
                .map_err(|e| UpstreamError::Connect(e.to_string()))?;
        let _ = stream.set_nodelay(true);
        Ok(Connection::new(stream))
    }

    /// Idle connections kept now, per backend (for /status).
    pub fn idle_counts(&self) -> Vec<usize> {
        self.backends
            .iter()
            .map(|b| b.idle.lock().unwrap_or_else(|p| p.into_inner()).len())
            .collect()
    }

    /// Connections carrying a request now, per backend (for /status).
    pub fn busy_counts(&self) -> Vec<usize> {
        self.backends
            .iter()
            .map(|b| self.max_connections - b.slots.available_permits())
            .collect()
    }
}
