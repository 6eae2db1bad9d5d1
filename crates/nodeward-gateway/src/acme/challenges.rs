//! Pending challenge answers, shared between the issuing task and the
//! listeners that answer them (HTTP-01 on the redirect listener, TLS-ALPN-01
//! in the certificate resolver).

use rustls::sign::CertifiedKey;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Most pending answers of each kind (bounds memory if orders pile up).
const MAX_PENDING: usize = 1024;

/// Challenge answers currently offered.
#[derive(Default)]
pub struct Challenges {
    http: Mutex<HashMap<String, String>>,
    alpn: Mutex<HashMap<String, Arc<CertifiedKey>>>,
}

impl Challenges {
    /// Offers `key_authorization` at `/.well-known/acme-challenge/<token>`.
    pub fn put_http(&self, token: &str, key_authorization: &str) {
        let mut m = self.http.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() < MAX_PENDING {
            m.insert(token.to_owned(), key_authorization.to_owned());
        }
    }

    /// The key authorization for an HTTP-01 token, if one is pending.
    pub fn http(&self, token: &str) -> Option<String> {
        self.http
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(token)
            .cloned()
    }

    /// Stops offering an HTTP-01 answer.
    pub fn remove_http(&self, token: &str) {
        self.http
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(token);
    }

    /// Offers a TLS-ALPN-01 validation certificate for `domain`.
    pub fn put_alpn(&self, domain: &str, cert: Arc<CertifiedKey>) {
        let mut m = self.alpn.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() < MAX_PENDING {
            m.insert(domain.to_ascii_lowercase(), cert);
        }
    }

    /// The TLS-ALPN-01 validation certificate for `domain`, if pending.
    pub fn alpn(&self, domain: &str) -> Option<Arc<CertifiedKey>> {
        self.alpn
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(&domain.to_ascii_lowercase())
            .cloned()
    }

    /// Stops offering a TLS-ALPN-01 certificate.
    pub fn remove_alpn(&self, domain: &str) {
        self.alpn
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&domain.to_ascii_lowercase());
    }
}
