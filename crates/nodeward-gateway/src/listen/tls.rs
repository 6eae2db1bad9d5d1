//! TLS termination with rustls from PEM files (reloadable on SIGHUP) or
//! from an ACME certificate resolver. Both serve the certificate held in a
//! [`CertSlot`], which reloads, renewals and OCSP staples swap atomically
//! (open connections keep the key they started with).

use crate::config::TlsFiles;
use crate::pem::{self, PemError};
use arc_swap::{ArcSwap, ArcSwapOption};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::ServerConfig;
use std::sync::Arc;

/// Why a certificate or key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read or held no usable PEM item.
    #[error(transparent)]
    Pem(#[from] PemError),
    /// rustls refused the certificate/key pair.
    #[error("certificate {cert} with key {key}: {source}")]
    Rustls {
        /// Certificate file.
        cert: String,
        /// Key file.
        key: String,
        /// Why.
        source: rustls::Error,
    },
}

/// A listener's current TLS configuration, swapped on reload.
pub struct TlsState {
    /// The configuration new handshakes use.
    pub current: ArcSwap<ServerConfig>,
    /// The certificate (and OCSP staple) that configuration serves.
    pub slot: Arc<CertSlot>,
}

/// The certificate a listener serves, with its OCSP staple if any.
#[derive(Default)]
pub struct CertSlot {
    /// The certificate new handshakes get (None until an ACME order succeeds).
    pub current: ArcSwapOption<CertifiedKey>,
    /// Woken when a different certificate is installed (the stapler refetches).
    pub changed: tokio::sync::Notify,
}

impl std::fmt::Debug for CertSlot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CertSlot")
            .field("has_certificate", &self.current.load().is_some())
            .finish()
    }
}

impl CertSlot {
    /// Serves `key` from now on (without a staple until one is fetched for it).
    /// A reload of the same certificate keeps its staple.
    pub fn install(&self, key: Arc<CertifiedKey>) {
        let leaf = |k: &CertifiedKey| k.cert.first().map(|c| c.as_ref().to_vec());
        let key = match self.current.load_full() {
            Some(cur) if key.ocsp.is_none() && leaf(&cur) == leaf(&key) && cur.ocsp.is_some() => {
                let mut next = CertifiedKey::clone(&key);
                next.ocsp = cur.ocsp.clone();
                Arc::new(next)
            }
            _ => key,
        };
        self.current.store(Some(key));
        self.changed.notify_one();
    }

    /// Sets or removes the OCSP staple, if `leaf` is still the served
    /// certificate (a renewal in between wins).
    pub fn set_staple(&self, leaf: &[u8], staple: Option<Vec<u8>>) {
        self.current.rcu(|cur| match cur {
            Some(k) if k.end_entity_cert().is_ok_and(|c| c.as_ref() == leaf) => {
                if k.ocsp == staple {
                    return cur.clone();
                }
                let mut next = CertifiedKey::clone(k);
                next.ocsp = staple.clone();
                Some(Arc::new(next))
            }
            other => other.clone(),
        });
    }
}

/// Serves whatever the slot holds.
#[derive(Debug)]
struct SlotResolver(Arc<CertSlot>);

impl ResolvesServerCert for SlotResolver {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.0.current.load_full()
    }
}

/// The gateway's TLS crypto: aws-lc-rs, whose RSA-2048 signatures, X25519
/// and SHA-384 cost a fraction of ring's (issue 14, docs/benchmarks.md).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// Session tickets that carry the session themselves (encrypted under a key
/// rotated every few hours), as HAProxy's and nginx's OpenSSL do: any number of
/// clients can resume, where rustls' default in-memory store remembers the last
/// 256 tickets (two per full handshake). Two tickets per handshake, as OpenSSL.
fn stateless_tickets(config: &mut ServerConfig) -> Result<(), rustls::Error> {
    config.ticketer = rustls::crypto::aws_lc_rs::Ticketer::new()?;
    config.send_tls13_tickets = 2;
    Ok(())
}

/// Makes [`provider`] the process default. The TLS clients of other crates
/// (redis, etcd's tonic, instant-acme) ask rustls for that default, which two
/// compiled-in providers (workspace Cargo.toml) leave unset: without this they
/// would panic. Call it once, first thing; later calls change nothing.
pub fn install_process_provider() {
    let _ = Arc::unwrap_or_clone(provider()).install_default();
}

/// Loads a certificate chain and key, checking that they belong together.
pub fn load_certified(files: &TlsFiles) -> Result<Arc<CertifiedKey>, TlsError> {
    let certs = pem::certs(&files.cert, &pem::read(&files.cert)?)?;
    let key = pem::private_key(&files.key, &pem::read(&files.key)?)?;
    let rustls_err = |source| TlsError::Rustls {
        cert: files.cert.display().to_string(),
        key: files.key.display().to_string(),
        source,
    };
    let signing = provider()
        .key_provider
        .load_private_key(key)
        .map_err(rustls_err)?;
    let certified = CertifiedKey::new(certs, signing);
    certified.keys_match().map_err(rustls_err)?;
    Ok(Arc::new(certified))
}

/// A server config offering h2 and http/1.1 with the certificate in `slot`.
pub fn server_config(slot: Arc<CertSlot>) -> Result<Arc<ServerConfig>, rustls::Error> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_cert_resolver(Arc::new(SlotResolver(slot)));
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    stateless_tickets(&mut config)?;
    Ok(Arc::new(config))
}

/// The TLS state of a listener with certificate files.
pub fn file_state(files: &TlsFiles) -> Result<TlsState, TlsError> {
    let slot = Arc::new(CertSlot::default());
    slot.install(load_certified(files)?);
    let config = server_config(slot.clone()).map_err(|source| TlsError::Rustls {
        cert: files.cert.display().to_string(),
        key: files.key.display().to_string(),
        source,
    })?;
    Ok(TlsState {
        current: ArcSwap::new(config),
        slot,
    })
}

/// A server config whose certificate comes from an ACME resolver; also
/// offers `acme-tls/1` so TLS-ALPN-01 validation handshakes can complete.
pub fn acme_server_config(
    resolver: Arc<crate::acme::AcmeResolver>,
) -> Result<Arc<ServerConfig>, rustls::Error> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![
        b"h2".to_vec(),
        b"http/1.1".to_vec(),
        crate::acme::ACME_TLS_ALPN.to_vec(),
    ];
    stateless_tickets(&mut config)?;
    Ok(Arc::new(config))
}
