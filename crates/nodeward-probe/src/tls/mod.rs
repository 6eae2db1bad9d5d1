//! TLS probes: a full handshake with rustls (modern versions, certificate
//! chain, OCSP stapling, ALPN) and hand-built ClientHellos for the versions and
//! cipher suites rustls cannot speak (SSLv3, TLS 1.0, TLS 1.1, weak TLS 1.2 suites),
//! and the vulnerability probes that need such hellos (`vulns`).

pub mod cert;
pub mod flight;
pub mod hello;
mod modern;
pub mod renegotiate;
pub mod suites;
mod verify;
pub mod vulns;

pub use modern::{probe_modern, ModernHandshake};
pub use verify::{verify_chain, ChainVerdict};

use crate::ProbeError;
use rustls::pki_types::{CertificateDer, ServerName};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

/// Which trust anchors to verify against.
#[derive(Debug, Clone)]
pub enum Roots {
    /// The system bundle (`/etc/ssl/certs/ca-certificates.crt` and friends).
    System,
    /// A PEM file of CA certificates (`--ca FILE`).
    File(PathBuf),
}

const SYSTEM_BUNDLES: &[&str] = &[
    "/etc/ssl/certs/ca-certificates.crt",
    "/etc/pki/tls/certs/ca-bundle.crt",
    "/etc/ssl/cert.pem",
];

/// The system's CA bundle file, the first of the usual places that exists.
pub fn system_bundle() -> Option<PathBuf> {
    SYSTEM_BUNDLES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

impl Roots {
    /// Loads the trust anchors into a rustls root store.
    pub fn load(&self) -> Result<rustls::RootCertStore, ProbeError> {
        let mut store = rustls::RootCertStore::empty();
        let paths: Vec<PathBuf> = match self {
            Roots::System => system_bundle().into_iter().collect(),
            Roots::File(p) => vec![p.clone()],
        };
        for path in paths {
            let data = std::fs::read(&path).map_err(|e| {
                ProbeError::Invalid(format!("cannot read CA file {}: {e}", path.display()))
            })?;
            let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut data.as_slice())
                .collect::<Result<_, _>>()
                .map_err(|e| {
                    ProbeError::Invalid(format!("invalid PEM in {}: {e}", path.display()))
                })?;
            if certs.is_empty() {
                return Err(ProbeError::Invalid(format!(
                    "no certificates in {}",
                    path.display()
                )));
            }
            let (_added, _ignored) = store.add_parsable_certificates(certs);
        }
        Ok(store)
    }
}

/// The crypto provider every probe uses (ring, as the workspace requires).
pub fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A client config that verifies against `roots` (or accepts anything when
/// `verify` is false, for probes that grade the certificate themselves).
pub fn client_config(
    roots: &Roots,
    verify: bool,
    versions: Option<&[&'static rustls::SupportedProtocolVersion]>,
) -> Result<rustls::ClientConfig, ProbeError> {
    client_config_with(provider(), roots, verify, versions)
}

pub(crate) fn client_config_with(
    provider: Arc<rustls::crypto::CryptoProvider>,
    roots: &Roots,
    verify: bool,
    versions: Option<&[&'static rustls::SupportedProtocolVersion]>,
) -> Result<rustls::ClientConfig, ProbeError> {
    let versions = versions.unwrap_or(rustls::ALL_VERSIONS);
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(versions)
        .map_err(|e| ProbeError::Tls(e.to_string()))?;
    let mut config = if verify {
        builder
            .with_root_certificates(roots.load()?)
            .with_no_client_auth()
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(verify::Recorder::new(provider)))
            .with_no_client_auth()
    };
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// The SNI/verification name for `host` (a DNS name or an IP literal).
pub fn server_name(host: &str) -> Result<ServerName<'static>, ProbeError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(bare.to_string())
        .map_err(|_| ProbeError::Invalid(format!("invalid server name {host:?}")))
}

/// Runs a TLS handshake over `tcp` within `deadline`.
pub async fn handshake(
    tcp: TcpStream,
    servername: &str,
    config: Arc<rustls::ClientConfig>,
    deadline: Duration,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, ProbeError> {
    let connector = tokio_rustls::TlsConnector::from(config);
    let name = server_name(servername)?;
    match tokio::time::timeout(deadline, connector.connect(name, tcp)).await {
        Err(_) => Err(ProbeError::timeout("TLS handshake", deadline)),
        Ok(Err(e)) => Err(ProbeError::Tls(e.to_string())),
        Ok(Ok(s)) => Ok(s),
    }
}
