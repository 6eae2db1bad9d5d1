//! TLS client settings for `https://` backends: the trust anchors (a pinned
//! CA file or the system roots), an optional client certificate for mutual
//! TLS, and hostname verification always on. A backend is never reached over
//! plain HTTP when TLS fails.

use crate::pem::{self, PemError};
use std::path::Path;
use std::sync::Arc;

/// Why TLS client settings could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsClientError {
    /// A CA, certificate or key file could not be used.
    #[error(transparent)]
    Pem(#[from] PemError),
    /// rustls refused the settings (a key that does not match the certificate).
    #[error("{0}")]
    Rustls(String),
    /// No CA file given and no system bundle found.
    #[error("no CA file given and no system CA bundle found (install ca-certificates or set [upstream.tls] ca)")]
    NoRoots,
}

/// Built TLS client settings, with a fingerprint of every file they were
/// built from: a reload that reads the same files keeps the backends'
/// connections, a changed CA or client certificate replaces them.
#[derive(Debug, Clone)]
pub struct TlsClient {
    /// The rustls settings.
    pub config: Arc<rustls::ClientConfig>,
    /// SHA-256 over the files read.
    pub fingerprint: [u8; 32],
}

/// Builds the client config: trust `ca` (or the system roots), present
/// `cert`/`key` when both are given, offer only HTTP/1.1.
pub fn client_config(
    ca: Option<&Path>,
    cert_and_key: Option<(&Path, &Path)>,
) -> Result<TlsClient, TlsClientError> {
    use sha2::Digest;
    let mut hash = sha2::Sha256::new();
    let ca_path = match ca {
        Some(p) => p.to_path_buf(),
        None => nodeward_probe::tls::system_bundle().ok_or(TlsClientError::NoRoots)?,
    };
    let ca_pem = pem::read(&ca_path)?;
    hash.update(&ca_pem);
    let mut roots = rustls::RootCertStore::empty();
    let (added, _) = roots.add_parsable_certificates(pem::certs(&ca_path, &ca_pem)?);
    if added == 0 {
        return Err(PemError::Invalid {
            path: ca_path,
            what: "no usable CA certificate in the file".into(),
        }
        .into());
    }
    let provider = crate::listen::tls::provider();
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsClientError::Rustls(e.to_string()))?
        .with_root_certificates(roots);
    let mut config = match cert_and_key {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let cert_pem = pem::read(cert)?;
            let key_pem = pem::read(key)?;
            hash.update(&cert_pem);
            hash.update(&key_pem);
            let chain = pem::certs(cert, &cert_pem)?;
            let key_der = pem::private_key(key, &key_pem)?;
            builder.with_client_auth_cert(chain, key_der).map_err(|e| {
                TlsClientError::Rustls(format!("client certificate {}: {e}", cert.display()))
            })?
        }
    };
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsClient {
        config: Arc::new(config),
        fingerprint: hash.finalize().into(),
    })
}
