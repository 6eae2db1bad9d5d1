//! A named pool of backends, each with its own set of idle keep-alive
//! connections (hyper's HTTP/1 client connection, one request at a time).
//!
//! A connection is taken from the idle set for one request and put back only
//! after the response body has been read to the end; a response dropped
//! half-way (client gone, timeout) drops its connection, which closes it and
//! cancels the request on the backend.

use super::selection::RoundRobin;
use crate::config::Upstream;
use bytes::Bytes;
use http::{Request, Response};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::TcpStream;

/// Why a request got no response from a backend.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// No connection could be made; the request was never sent.
    #[error("connect: {0}")]
    Connect(String),
    /// The connection failed after the request may have been sent.
    #[error("{0}")]
    Http(#[from] hyper::Error),
}

/// An idle keep-alive connection to one backend.
pub type Sender = SendRequest<Full<Bytes>>;

/// One backend: its address and its idle connections.
pub struct Backend {
    /// Base URI (`http://host:port`).
    pub uri: http::Uri,
    /// `host:port` to connect to and to show in logs.
    pub authority: String,
    idle: Mutex<Vec<Sender>>,
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
    connect_timeout: Duration,
    max_idle: usize,
}

/// A connection on loan for one request; back to the idle set via [`Loan::finish`].
pub struct Loan {
    sender: Sender,
    backend: Arc<Backend>,
    max_idle: usize,
}

impl Loan {
    /// Returns the connection to its backend's idle set (the response was read completely).
    pub fn finish(self) {
        if self.sender.is_closed() {
            return;
        }
        let mut idle = self.backend.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.max_idle {
            idle.push(self.sender);
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
                })
            })
            .collect();
        UpstreamPool {
            name: u.name.clone(),
            backend_names: backends.iter().map(|b| b.authority.clone()).collect(),
            selection: RoundRobin::new(backends.len()),
            eject_for: u.eject_for,
            connect_timeout: u.connect_timeout,
            max_idle: u.max_idle_per_backend,
            backends,
        }
    }

    /// Sends `req` to backend `i` on an idle connection or a new one.
    /// A request that an idle connection could not take (closed meanwhile)
    /// is retried on a fresh connection; nothing is resent once written.
    pub async fn send(
        &self,
        i: usize,
        mut req: Request<Full<Bytes>>,
    ) -> Result<(Response<Incoming>, Loan), UpstreamError> {
        let backend = &self.backends[i];
        loop {
            let reused = backend.idle.lock().unwrap_or_else(|p| p.into_inner()).pop();
            let (mut sender, fresh) = match reused {
                Some(s) => (s, false),
                None => (self.connect(backend).await?, true),
            };
            if sender.ready().await.is_err() {
                if fresh {
                    return Err(UpstreamError::Connect(
                        "connection closed before use".into(),
                    ));
                }
                continue;
            }
            match sender.try_send_request(req).await {
                Ok(resp) => {
                    let loan = Loan {
                        sender,
                        backend: backend.clone(),
                        max_idle: self.max_idle,
                    };
                    return Ok((resp, loan));
                }
                Err(mut e) => match e.take_message() {
                    // Not written: safe to try again on another connection.
                    Some(back) if !fresh => req = back,
                    _ => return Err(UpstreamError::Http(e.into_error())),
                },
            }
        }
    }

    async fn connect(&self, backend: &Backend) -> Result<Sender, UpstreamError> {
        let stream =
            tokio::time::timeout(self.connect_timeout, TcpStream::connect(&backend.authority))
                .await
                .map_err(|_| {
                    UpstreamError::Connect(format!("timed out after {:?}", self.connect_timeout))
                })?
                .map_err(|e| UpstreamError::Connect(e.to_string()))?;
        let _ = stream.set_nodelay(true);
        let (sender, conn) = hyper::client::conn::http1::Builder::new()
            .handshake(TokioIo::new(stream))
            .await
            .map_err(|e| UpstreamError::Connect(e.to_string()))?;
        tokio::spawn(async move {
            if let Err(e) = conn.await {
                tracing::debug!(error = %e, "backend connection ended");
            }
        });
        Ok(sender)
    }

    /// Idle connections kept now, per backend (for /status).
    pub fn idle_counts(&self) -> Vec<usize> {
        self.backends
            .iter()
            .map(|b| b.idle.lock().unwrap_or_else(|p| p.into_inner()).len())
            .collect()
    }
}
