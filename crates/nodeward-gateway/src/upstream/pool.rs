//! A named pool of backends sharing one keep-alive connection pool.

use super::selection::RoundRobin;
use crate::config::Upstream;
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::time::Duration;

/// The HTTP client type used towards backends.
pub type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// A live upstream pool.
pub struct UpstreamPool {
    /// The pool's name.
    pub name: String,
    /// Backend base URIs.
    pub backends: Vec<http::Uri>,
    /// Backend authorities as text (for logs).
    pub backend_names: Vec<String>,
    /// Selection with passive ejection.
    pub selection: RoundRobin,
    /// How long a backend that refused a connection is skipped.
    pub eject_for: Duration,
    /// Keep-alive client.
    pub client: HttpClient,
}

impl UpstreamPool {
    /// Builds the pool and its connection pool.
    pub fn new(u: &Upstream) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(u.connect_timeout));
        connector.enforce_http(true);
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(u.max_idle_per_backend)
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .retry_canceled_requests(false)
            .set_host(false)
            .build(connector);
        UpstreamPool {
            name: u.name.clone(),
            backend_names: u
                .backends
                .iter()
                .map(|b| b.authority().map(|a| a.to_string()).unwrap_or_default())
                .collect(),
            backends: u.backends.clone(),
            selection: RoundRobin::new(u.backends.len()),
            eject_for: u.eject_for,
            client,
        }
    }
}

/// Whether a client error means the request never reached the backend (safe to retry elsewhere).
pub(crate) fn is_connect_error(e: &hyper_util::client::legacy::Error) -> bool {
    e.is_connect()
}
