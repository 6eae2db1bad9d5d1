//! One health-check kind per file, each turning what a node answers into an
//! [`Observation`]. The node probes themselves live in `nodeward-probe`, so
//! `nodeward check node` and the gateway judge a node the same way.

mod exec;
mod http;
mod iri;
mod jsonrpc;
mod tcp;

use super::config::CheckKind;
use super::{Exclusion, Observation};
use crate::backend::{BackendSpec, Scheme};
use nodeward_probe::node::{NodeError, NodeTarget};
use nodeward_probe::ProbeError;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// Largest answer a check reads.
const MAX_ANSWER: usize = 256 * 1024;

/// A boxed check future.
pub type CheckFuture<'a> = Pin<Box<dyn Future<Output = Observation> + Send + 'a>>;

/// What a check is run against.
#[derive(Debug, Clone)]
pub struct Target {
    /// The backend (address, id, its own threshold overrides).
    pub spec: BackendSpec,
    /// TLS settings for https backends (the same the gateway sends requests with).
    pub tls: Option<Arc<rustls::ClientConfig>>,
    /// Deadline of the whole check.
    pub timeout: Duration,
}

impl Target {
    /// The backend's base URL for the node probes.
    pub fn node_target(&self, path: &str) -> Result<NodeTarget, String> {
        let url = nodeward_probe::http::Url::parse(&format!("{}{path}", self.spec.address))
            .map_err(|e| e.to_string())?;
        Ok(NodeTarget {
            url,
            tls: match self.spec.address.scheme {
                Scheme::Https => self.tls.clone(),
                Scheme::Http => None,
            },
            limits: nodeward_probe::http::Limits {
                deadline: self.timeout,
                max_body_bytes: MAX_ANSWER,
                max_header_bytes: 64 * 1024,
            },
        })
    }
}

/// One kind of active health check.
pub trait HealthCheck: Send + Sync + std::fmt::Debug {
    /// Checks one backend. Never fails: a node that cannot be asked is an
    /// observation too. The caller bounds it by the target's timeout.
    fn check<'a>(&'a self, target: &'a Target) -> CheckFuture<'a>;
}

/// The check for a kind.
pub fn build(kind: &CheckKind) -> Arc<dyn HealthCheck> {
    match kind {
        CheckKind::Iri(c) => Arc::new(iri::Iri(c.clone())),
        CheckKind::Jsonrpc(c) => Arc::new(jsonrpc::JsonRpc(c.clone())),
        CheckKind::Http(c) => Arc::new(http::Http(c.clone())),
        CheckKind::Tcp => Arc::new(tcp::Tcp),
        CheckKind::Exec(c) => Arc::new(exec::Exec(c.clone())),
    }
}

/// The exclusion for a probe that got no usable answer.
fn unanswered(e: &NodeError) -> Exclusion {
    match e {
        NodeError::Unreachable(ProbeError::Tls(m)) => {
            Exclusion::critical("tls", crate::shorten(m), "")
        }
        NodeError::Unreachable(p) => {
            Exclusion::critical("unreachable", crate::shorten(&p.to_string()), "")
        }
        NodeError::Status(code) => {
            Exclusion::critical("invalid_answer", format!("HTTP {code}"), "2xx")
        }
        NodeError::Invalid(m) => Exclusion::critical("invalid_answer", crate::shorten(m), ""),
    }
}

/// An observation of a probe error.
fn from_error(e: &NodeError, elapsed: Duration) -> Observation {
    let ex = unanswered(e);
    Observation {
        output: crate::shorten(&e.to_string()),
        findings: vec![ex],
        elapsed,
        ..Default::default()
    }
}
