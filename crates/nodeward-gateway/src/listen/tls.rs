//! TLS termination with rustls from PEM files (reloadable on SIGHUP) or
//! from an ACME certificate resolver.

use crate::config::TlsFiles;
use crate::pem::{self, PemError};
use arc_swap::ArcSwap;
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
}

/// Loads a certificate chain and key into a server config offering h2 and http/1.1.
pub fn load_server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    let certs = pem::certs(&files.cert, &pem::read(&files.cert)?)?;
    let key = pem::private_key(&files.key, &pem::read(&files.key)?)?;
    let cert_path = files.cert.display().to_string();
    let key_path = files.key.display().to_string();
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|source| TlsError::Rustls {
            cert: cert_path.clone(),
            key: key_path.clone(),
            source,
        })?
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|source| TlsError::Rustls {
            cert: cert_path,
            key: key_path,
            source,
        })?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A server config whose certificate comes from an ACME resolver; also
/// offers `acme-tls/1` so TLS-ALPN-01 validation handshakes can complete.
pub fn acme_server_config(
    resolver: Arc<crate::acme::AcmeResolver>,
) -> Result<Arc<ServerConfig>, rustls::Error> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ServerConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])?
        .with_no_client_auth()
        .with_cert_resolver(resolver);
    config.alpn_protocols = vec![
        b"h2".to_vec(),
        b"http/1.1".to_vec(),
        crate::acme::ACME_TLS_ALPN.to_vec(),
    ];
    Ok(Arc::new(config))
}
