//! TLS client settings for `https://` backends: the trust anchors (a pinned
//! CA file or the system roots), an optional client certificate for mutual
//! TLS, and hostname verification always on. A backend is never reached over
//! plain HTTP when TLS fails.

use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The system CA bundles tried in order.
const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

/// Why TLS client settings could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsClientError {
    /// A file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file holds no usable PEM item.
    #[error("{path}: {what}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
    /// rustls refused the settings (a key that does not match the certificate).
    #[error("{0}")]
    Rustls(String),
    /// No CA file given and no system bundle found.
    #[error("no CA file given and no system CA bundle found (install ca-certificates or set [upstream.tls] ca)")]
    NoRoots,
}

fn read(path: &Path) -> Result<Vec<u8>, TlsClientError> {
    std::fs::read(path).map_err(|source| TlsClientError::Read {
        path: path.to_path_buf(),
        source,
    })
}

fn certs(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsClientError> {
    let data = read(path)?;
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut data.as_slice())
        .collect::<Result<_, _>>()
        .map_err(|e| TlsClientError::Pem {
            path: path.to_path_buf(),
            what: format!("invalid PEM: {e}"),
        })?;
    if certs.is_empty() {
        return Err(TlsClientError::Pem {
            path: path.to_path_buf(),
            what: "no certificate in the file".into(),
        });
    }
    Ok(certs)
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
    let mut roots = rustls::RootCertStore::empty();
    let ca_path = match ca {
        Some(p) => p.to_path_buf(),
        None => SYSTEM_BUNDLES
            .iter()
            .map(PathBuf::from)
            .find(|p| p.exists())
            .ok_or(TlsClientError::NoRoots)?,
    };
    hash.update(read(&ca_path)?);
    let (added, _) = roots.add_parsable_certificates(certs(&ca_path)?);
    if added == 0 {
        return Err(TlsClientError::Pem {
            path: ca_path,
            what: "no usable CA certificate in the file".into(),
        });
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsClientError::Rustls(e.to_string()))?
        .with_root_certificates(roots);
    let mut config = match cert_and_key {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let chain = certs(cert)?;
            hash.update(read(cert)?);
            let data = read(key)?;
            hash.update(&data);
            let key_der: PrivateKeyDer<'static> = rustls_pemfile::private_key(&mut data.as_slice())
                .map_err(|e| TlsClientError::Pem {
                    path: key.to_path_buf(),
                    what: format!("invalid PEM: {e}"),
                })?
                .ok_or_else(|| TlsClientError::Pem {
                    path: key.to_path_buf(),
                    what: "no private key in the file".into(),
                })?;
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
