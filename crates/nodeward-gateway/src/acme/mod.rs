//! ACME (RFC 8555) certificates for TLS listeners: issuance with
//! instant-acme, HTTP-01 and TLS-ALPN-01 challenge answers, the certificate
//! resolver that swaps certificates without dropping connections, state
//! files, and the renewal loop.

pub mod challenges;
pub mod http;
pub mod issue;
pub mod manager;
pub mod resolver;
pub mod store;

pub use challenges::Challenges;
pub use manager::AcmeState;
pub use resolver::AcmeResolver;

/// The ALPN protocol of TLS-ALPN-01 validation connections (RFC 8737).
pub const ACME_TLS_ALPN: &[u8] = b"acme-tls/1";
