//! The rustls side of a TLS scan: TLS 1.3 and the default handshake, with the
//! chain, stapled OCSP response and ALPN the server sends.

use super::hello::Version;
use super::suites::{Suite, TLS13};
use super::verify::Recorder;
use super::{provider, server_name, Roots};
use crate::{tcp, ProbeError};
use rustls::pki_types::CertificateDer;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

/// What the rustls handshakes found.
#[derive(Debug, Clone, Default)]
pub struct ModernHandshake {
    /// Version of the default (best) handshake, if one succeeded.
    pub version: Option<Version>,
    /// Suite of the default handshake.
    pub suite: Option<Suite>,
    /// ALPN protocol the server chose.
    pub alpn: Option<String>,
    /// The chain the server sent (leaf first).
    pub chain: Vec<CertificateDer<'static>>,
    /// Whether an OCSP response was stapled.
    pub ocsp_stapled: bool,
    /// TLS 1.3 suites accepted.
    pub tls13_suites: Vec<Suite>,
    /// Why the default handshake failed, when it did.
    pub error: Option<String>,
}

/// Runs the default handshake and the per-suite TLS 1.3 handshakes.
pub async fn probe_modern(
    addr: SocketAddr,
    servername: &str,
    deadline: Duration,
) -> Result<ModernHandshake, ProbeError> {
    let mut out = ModernHandshake::default();
    match one(addr, servername, None, deadline).await {
        Ok(h) => {
            out.version = h.version;
            out.suite = h.suite;
            out.alpn = h.alpn;
            out.chain = h.chain;
            out.ocsp_stapled = h.ocsp_stapled;
        }
        Err(ProbeError::Tls(e)) => out.error = Some(e),
        Err(ProbeError::Io { what, source }) => out.error = Some(format!("{what}: {source}")),
        Err(e) => return Err(e),
    }
    for suite in TLS13 {
        if let Ok(h) = one(addr, servername, Some(suite.code), deadline).await {
            if h.version == Some(Version::TLS13) {
                out.tls13_suites.push(*suite);
                if out.chain.is_empty() {
                    out.chain = h.chain;
                }
            }
        }
    }
    Ok(out)
}

async fn one(
    addr: SocketAddr,
    servername: &str,
    only13: Option<u16>,
    deadline: Duration,
) -> Result<ModernHandshake, ProbeError> {
    let mut prov = (*provider()).clone();
    if let Some(code) = only13 {
        prov.cipher_suites.retain(|s| u16::from(s.suite()) == code);
        if prov.cipher_suites.is_empty() {
            return Err(ProbeError::Tls("suite not available in rustls".into()));
        }
    }
    let prov = Arc::new(prov);
    let recorder = Arc::new(Recorder::new(prov.clone()));
    let versions: &[&'static rustls::SupportedProtocolVersion] = if only13.is_some() {
        &[&rustls::version::TLS13]
    } else {
        rustls::ALL_VERSIONS
    };
    let mut config = super::client_config_with(prov, &Roots::System, false, Some(versions))?;
    config
        .dangerous()
        .set_certificate_verifier(recorder.clone());
    let tcp = tcp::connect(addr, deadline).await?;
    let stream = super::handshake(tcp, servername, Arc::new(config), deadline).await?;
    let _ = server_name(servername)?;
    let (_, conn) = stream.get_ref();
    let version = conn.protocol_version().map(|v| Version(u16::from(v)));
    let suite = conn
        .negotiated_cipher_suite()
        .map(|s| Suite::by_code(u16::from(s.suite())));
    let alpn = conn
        .alpn_protocol()
        .map(|p| String::from_utf8_lossy(p).into_owned());
    let (chain, ocsp) = recorder
        .seen
        .lock()
        .ok()
        .and_then(|s| s.clone())
        .unwrap_or_default();
    Ok(ModernHandshake {
        version,
        suite,
        alpn,
        chain,
        ocsp_stapled: !ocsp.is_empty(),
        tls13_suites: Vec::new(),
        error: None,
    })
}
