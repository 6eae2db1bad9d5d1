//! The certificate resolver of an ACME listener: the current certificate
//! (swapped atomically on renewal, so open connections are untouched), or the
//! TLS-ALPN-01 validation certificate when the client offers `acme-tls/1`.
//!
//! Until the first certificate exists the resolver has nothing to offer and
//! the handshake fails (rustls sends a fatal alert): no placeholder
//! certificate that clients might be told to trust.

use super::{Challenges, ACME_TLS_ALPN};
use crate::listen::tls::CertSlot;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use std::sync::Arc;

/// Serves the current ACME certificate or a pending challenge certificate.
pub struct AcmeResolver {
    /// The certificate ordinary handshakes get (with its OCSP staple).
    pub slot: Arc<CertSlot>,
    challenges: Arc<Challenges>,
}

impl std::fmt::Debug for AcmeResolver {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AcmeResolver")
            .field("has_certificate", &self.slot.current.load().is_some())
            .finish()
    }
}

impl AcmeResolver {
    /// A resolver with no certificate yet.
    pub fn new(challenges: Arc<Challenges>) -> Self {
        AcmeResolver {
            slot: Arc::new(CertSlot::default()),
            challenges,
        }
    }
}

impl ResolvesServerCert for AcmeResolver {
    fn resolve(&self, hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        let acme = hello
            .alpn()
            .is_some_and(|mut protocols| protocols.any(|p| p == ACME_TLS_ALPN));
        if acme {
            return self.challenges.alpn(hello.server_name()?);
        }
        self.slot.current.load_full()
    }
}
