//! TLS termination with rustls from PEM files, reloadable on SIGHUP.

use crate::config::TlsSection;
use arc_swap::ArcSwap;
use rustls::ServerConfig;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::io::BufReader;
use std::path::Path;
use std::sync::Arc;

/// Why a certificate or key could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file could not be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file held no usable PEM item of the expected kind.
    #[error("{path}: {what}")]
    Pem {
        /// The file.
        path: String,
        /// What is wrong.
        what: String,
    },
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

/// Largest certificate or key file read.
const MAX_PEM_BYTES: u64 = 1024 * 1024;

fn read_pem(path: &Path) -> Result<Vec<u8>, TlsError> {
    let read_err = |source| TlsError::Read {
        path: path.display().to_string(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    if meta.len() > MAX_PEM_BYTES {
        return Err(TlsError::Pem {
            path: path.display().to_string(),
            what: format!("larger than {MAX_PEM_BYTES} bytes"),
        });
    }
    std::fs::read(path).map_err(read_err)
}

/// Loads a certificate chain and key into a server config offering h2 and http/1.1.
pub fn load_server_config(files: &TlsSection) -> Result<Arc<ServerConfig>, TlsError> {
    let cert_pem = read_pem(&files.cert)?;
    let key_pem = read_pem(&files.key)?;
    let cert_path = files.cert.display().to_string();
    let key_path = files.key.display().to_string();
    let certs: Vec<CertificateDer<'static>> =
        rustls_pemfile::certs(&mut BufReader::new(&cert_pem[..]))
            .collect::<Result<_, _>>()
            .map_err(|e| TlsError::Pem {
                path: cert_path.clone(),
                what: format!("bad PEM: {e}"),
            })?;
    if certs.is_empty() {
        return Err(TlsError::Pem {
            path: cert_path,
            what: "no CERTIFICATE block found".into(),
        });
    }
    let key: PrivateKeyDer<'static> =
        rustls_pemfile::private_key(&mut BufReader::new(&key_pem[..]))
            .map_err(|e| TlsError::Pem {
                path: key_path.clone(),
                what: format!("bad PEM: {e}"),
            })?
            .ok_or_else(|| TlsError::Pem {
                path: key_path.clone(),
                what: "no PRIVATE KEY block found".into(),
            })?;
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
