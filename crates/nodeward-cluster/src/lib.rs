//! Cluster mode: several `nodeward gateway` instances sharing one policy
//! through etcd v3. Backend registrations and bans made on any instance are
//! written to etcd and replicated into every instance's in-memory tables by
//! a watch; the request path never waits on the network.
//!
//! The crate knows keys and values, not the gateway's types: the gateway
//! hands it a [`Sink`] that applies what arrives, and calls
//! [`Cluster::put`]/[`Cluster::delete`] for what it changes locally.
//! Cluster-wide rate limits live on Redis ([`limits`]).

pub mod cli;
pub mod config;
pub mod keys;
pub mod limits;
pub mod mirror;
pub mod policy;
mod session;
pub mod status;

pub use config::ClusterConfig;
pub use keys::Kind;
pub use session::{Cluster, Sink};
pub use status::{Running, Status};

/// Why the cluster could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// A secret or certificate file could not be read.
    #[error("cluster: cannot read {what} {path}: {source}")]
    File {
        /// Which setting.
        what: &'static str,
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// etcd refused or could not be reached.
    #[error("cluster: etcd: {0}")]
    Etcd(String),
    /// A setting is wrong.
    #[error("cluster: {0}")]
    Config(String),
}
