//! Everything the TLS probes see about one server, gathered once.

use super::vulns::{self, Vulns};
use nodeward_probe::http::{self, Request, Url};
use nodeward_probe::tls::cert::CertInfo;
use nodeward_probe::tls::hello::{self, Version};
use nodeward_probe::tls::suites::Suite;
use nodeward_probe::tls::{self, ChainVerdict, Roots};
use nodeward_probe::{tcp, ProbeError};
use rustls_pki_types::CertificateDer;
use std::sync::Arc;
use std::time::Duration;

/// What the handshakes, the chain check and the HTTPS request showed.
pub(super) struct Observed {
    /// The name used for SNI and certificate matching.
    pub servername: String,
    /// Accepted versions, oldest first (TLS 1.3 last).
    pub versions: Vec<Version>,
    /// Accepted suites with the version they were accepted at, in server preference order.
    pub suites: Vec<(Version, Suite)>,
    /// The verdict on the chain the server sent.
    pub verdict: ChainVerdict,
    /// The leaf certificate's fields (or why they could not be read); `None` without a chain.
    pub leaf: Option<Result<CertInfo, ProbeError>>,
    /// Smallest DH prime offered with DHE suites, in bits.
    pub dh_bits: Option<u32>,
    /// The Strict-Transport-Security header of the HTTPS response.
    pub hsts: Option<String>,
    /// Whether an OCSP response was stapled.
    pub ocsp_stapled: bool,
    /// The ALPN protocol the server chose.
    pub alpn: Option<String>,
    /// Probe errors that did not stop the scan (per version).
    pub notes: Vec<String>,
    /// What the vulnerability probes saw.
    pub vulns: Vulns,
}

impl Observed {
    /// The leaf, when it could be parsed.
    pub fn cert(&self) -> Option<&CertInfo> {
        self.leaf.as_ref().and_then(|l| l.as_ref().ok())
    }

    /// The server key's strength counted as RSA bits (0 when unknown).
    pub fn key_bits_rsa_equiv(&self) -> u32 {
        self.cert()
            .map(|c| c.key_type.rsa_equivalent_bits(c.key_bits))
            .unwrap_or(0)
    }
}

/// Runs the handshakes against `host:port` and reads the chain and HSTS.
pub(super) async fn observe(
    host: &str,
    port: u16,
    servername: &str,
    path: &str,
    roots: &Roots,
    timeout: Duration,
) -> Result<Observed, ProbeError> {
    let addr = *tcp::resolve(host, port, timeout)
        .await?
        .first()
        .ok_or_else(|| ProbeError::Invalid("no address".into()))?;
    let modern = tls::probe_modern(addr, servername, timeout).await?;
    let mut versions: Vec<Version> = Vec::new();
    let mut suites: Vec<(Version, Suite)> = Vec::new();
    let mut chain: Vec<CertificateDer<'static>> = modern.chain.clone();
    let mut notes = Vec::new();
    let mut dh_bits: Option<u32> = None;
    for v in Version::LEGACY {
        match hello::enumerate(addr, servername, v, timeout).await {
            Ok(support) if !support.suites.is_empty() => {
                versions.push(v);
                if let Some(bits) = support.min_dh_bits {
                    dh_bits = Some(dh_bits.map_or(bits, |m: u32| m.min(bits)));
                }
                if chain.is_empty() {
                    chain = support
                        .chain
                        .into_iter()
                        .map(CertificateDer::from)
                        .collect();
                }
                suites.extend(support.suites.into_iter().map(|s| (v, s)));
            }
            Ok(_) => {}
            Err(e) => notes.push(format!("{}: {e}", v.name())),
        }
    }
    if !modern.tls13_suites.is_empty() {
        versions.push(Version::TLS13);
        suites.extend(modern.tls13_suites.iter().map(|s| (Version::TLS13, *s)));
    }
    if let (Some(v), Some(s)) = (modern.version, modern.suite) {
        if !versions.contains(&v) {
            versions.push(v);
            suites.push((v, s));
        }
    }
    if versions.is_empty() {
        return Err(no_version_error(modern.error.as_deref(), &notes));
    }
    let vulns = vulns::probe(addr, servername, &versions, &suites, timeout, &mut notes).await;
    let verdict = tls::verify_chain(&chain, servername, roots)?;
    let leaf = chain.first().map(|c| CertInfo::parse(c.as_ref()));
    let hsts = fetch_hsts(host, port, servername, path, timeout).await;
    Ok(Observed {
        servername: servername.to_string(),
        versions,
        suites,
        verdict,
        leaf,
        dh_bits,
        hsts,
        ocsp_stapled: modern.ocsp_stapled,
        alpn: modern.alpn,
        notes,
        vulns,
    })
}

/// The error when not one version completed a ServerHello.
fn no_version_error(modern_error: Option<&str>, notes: &[String]) -> ProbeError {
    let why = modern_error.unwrap_or("no handshake completed");
    let why = if why.contains("reset") || why.contains("eof") || why.contains("EOF") {
        format!("the server closed the connection during the handshake ({why})")
    } else {
        why.to_string()
    };
    let extra = if notes.is_empty() {
        String::new()
    } else {
        format!("; {}", notes.join("; "))
    };
    ProbeError::Tls(format!("no protocol version accepted: {why}{extra}"))
}

/// The Strict-Transport-Security header of `https://host:port/path` (chain not verified:
/// the chain has its own finding).
async fn fetch_hsts(
    host: &str,
    port: u16,
    servername: &str,
    path: &str,
    timeout: Duration,
) -> Option<String> {
    let url = Url {
        scheme: "https".into(),
        host: host.to_string(),
        port,
        path: path.to_string(),
    };
    let config = Arc::new(tls::client_config(&Roots::System, false, None).ok()?);
    let mut req = Request::get(url);
    if servername != host {
        req.server_name = Some(servername.to_string());
    }
    let limits = http::Limits {
        deadline: timeout,
        max_body_bytes: 64 * 1024,
        ..Default::default()
    };
    let resp = http::fetch(&req, Some(config), &limits).await.ok()?;
    resp.header("strict-transport-security").map(str::to_string)
}
