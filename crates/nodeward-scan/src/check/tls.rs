//! `check tls`: days until expiry, chain validity and host name match.

use crate::nagios::{PerfData, PluginOutput, State};
use nodeward_probe::tcp;
use nodeward_probe::tls::cert::{now_unix, CertInfo};
use nodeward_probe::tls::hello::{self, Version};
use nodeward_probe::tls::{self, ChainVerdict, Roots};
use rustls_pki_types::CertificateDer;
use std::path::PathBuf;

/// Arguments of `check tls`.
#[derive(Debug, clap::Args)]
pub struct TlsCheck {
    /// Host to connect to.
    #[arg(long, short = 'H')]
    pub host: String,
    /// Port.
    #[arg(long, short = 'p', default_value_t = 443)]
    pub port: u16,
    /// SNI and the name the certificate must match (default: --host).
    #[arg(long)]
    pub servername: Option<String>,
    /// Trust these CA certificates (PEM) instead of the system roots.
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// WARNING when fewer days are left (a bare N means "below N"; full range syntax accepted).
    #[arg(short = 'w', long = "warning", allow_hyphen_values = true)]
    pub warning: Option<String>,
    /// CRITICAL when fewer days are left.
    #[arg(short = 'c', long = "critical", allow_hyphen_values = true)]
    pub critical: Option<String>,
    /// Deadline for each step.
    #[arg(long, short = 't', default_value = "10s")]
    pub timeout: String,
}

/// Runs the check.
pub async fn run(c: TlsCheck) -> PluginOutput {
    const S: &str = "TLS";
    let (w, cr) = match super::min_ranges(
        c.warning.as_deref().or(Some("30")),
        c.critical.as_deref().or(Some("14")),
    ) {
        Ok(r) => r,
        Err(e) => return PluginOutput::unknown(S, e),
    };
    let timeout = match super::timeout(&c.timeout) {
        Ok(t) => t,
        Err(e) => return PluginOutput::unknown(S, e),
    };
    let name = c.servername.clone().unwrap_or_else(|| c.host.clone());
    let roots = c.ca.clone().map(Roots::File).unwrap_or(Roots::System);
    let addr = match tcp::resolve(&c.host, c.port, timeout).await {
        Ok(a) => a[0],
        Err(e) => return PluginOutput::unknown(S, e.to_string()),
    };
    let mut chain: Vec<CertificateDer<'static>> =
        match tls::probe_modern(addr, &name, timeout).await {
            Ok(m) => m.chain,
            Err(e) => {
                return PluginOutput {
                    service: S,
                    state: State::Critical,
                    summary: format!("{}:{}: {e}", c.host, c.port),
                    perf: vec![],
                }
            }
        };
    if chain.is_empty() {
        // Old servers that only speak TLS 1.0/1.1: read the chain from a hand-built hello.
        for v in [Version::TLS12, Version::TLS11, Version::TLS10] {
            if let Ok(s) = hello::enumerate(addr, &name, v, timeout).await {
                if !s.chain.is_empty() {
                    chain = s.chain.into_iter().map(CertificateDer::from).collect();
                    break;
                }
            }
        }
    }
    if chain.is_empty() {
        return PluginOutput {
            service: S,
            state: State::Critical,
            summary: format!("{}:{} completed no TLS handshake", c.host, c.port),
            perf: vec![],
        };
    }
    let info = match CertInfo::parse(chain[0].as_ref()) {
        Ok(i) => i,
        Err(e) => {
            return PluginOutput {
                service: S,
                state: State::Critical,
                summary: e.to_string(),
                perf: vec![],
            }
        }
    };
    let verdict = match tls::verify_chain(&chain, &name, &roots) {
        Ok(v) => v,
        Err(e) => return PluginOutput::unknown(S, e.to_string()),
    };
    let days = info.days_left(now_unix());
    let mut state = State::from_thresholds(days as f64, w.as_ref(), cr.as_ref());
    let mut summary = format!(
        "{name}: certificate expires in {days} days ({})",
        info.subject
    );
    match &verdict {
        ChainVerdict::Valid => {}
        ChainVerdict::Expired => {
            state = State::Critical;
            summary = format!(
                "{name}: certificate expired {} days ago ({})",
                -days, info.subject
            );
        }
        other => {
            state = State::Critical;
            summary = format!("{name}: {}; {summary}", other.describe());
        }
    }
    PluginOutput {
        service: S,
        state,
        summary,
        perf: vec![PerfData::new("days", days as f64, "").thresholds(w.as_ref(), cr.as_ref())],
    }
}
