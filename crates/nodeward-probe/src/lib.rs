//! Network probes shared by `nodeward scan`, `nodeward check` and the gateway's
//! health checks: TLS, HTTP, ports, SNTP, node APIs ([`node`]) and script
//! checks ([`exec`]).
//!
//! Every probe is bounded: each network step has a deadline, every read has a
//! size limit, and a misbehaving peer (hangs, garbage, endless headers, closing
//! mid-handshake) ends as a [`ProbeError`] naming what went wrong, never a hang.

mod error;
pub mod exec;
pub mod http;
pub mod node;
pub mod portscan;
pub mod sntp;
pub mod tcp;
pub mod tls;

pub use error::ProbeError;
