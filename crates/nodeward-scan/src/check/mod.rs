//! `nodeward check KIND`: monitoring plugins following the Nagios plugin
//! guidelines (one status line, perfdata after `|`, exit 0/1/2/3).

mod host;
mod http;
mod node;
mod node_ilp;
mod ntp;
mod tls;

use crate::nagios::{PluginOutput, Range};

/// The check kinds.
#[derive(Debug, clap::Subcommand)]
pub enum CheckKind {
    /// Certificate days until expiry, chain validity and host name.
    Tls(tls::TlsCheck),
    /// Status, body regex and response time of a URL (e.g. /version).
    Http(http::HttpCheck),
    /// Node health: IRI milestone lag/neighbours/version, JSON-RPC sync/lag/peers,
    /// ILP connector accounts connected and balances.
    Node(node::NodeCheck),
    /// Clock offset from an NTP server and the kernel's sync status.
    Ntp(ntp::NtpCheck),
    /// Used space of a file system.
    Disk(host::DiskCheck),
    /// Load average.
    Load(host::LoadCheck),
    /// Used memory (from MemAvailable).
    Memory(host::MemoryCheck),
}

/// Runs one check.
pub async fn run(kind: CheckKind) -> PluginOutput {
    match kind {
        CheckKind::Tls(c) => tls::run(c).await,
        CheckKind::Http(c) => http::run(c).await,
        CheckKind::Node(c) => node::run(c).await,
        CheckKind::Ntp(c) => ntp::run(c).await,
        CheckKind::Disk(c) => host::disk(c),
        CheckKind::Load(c) => host::load(c),
        CheckKind::Memory(c) => host::memory(c),
    }
}

/// Parses optional -w/-c in the standard syntax.
pub(crate) fn ranges(
    warn: Option<&str>,
    crit: Option<&str>,
) -> Result<(Option<Range>, Option<Range>), String> {
    let p = |s: Option<&str>| {
        s.map(|t| t.parse::<Range>().map_err(|e| e.to_string()))
            .transpose()
    };
    Ok((p(warn)?, p(crit)?))
}

/// Parses optional -w/-c where a bare number is a lower bound.
pub(crate) fn min_ranges(
    warn: Option<&str>,
    crit: Option<&str>,
) -> Result<(Option<Range>, Option<Range>), String> {
    let p = |s: Option<&str>| {
        s.map(|t| Range::parse_minimum(t).map_err(|e| e.to_string()))
            .transpose()
    };
    Ok((p(warn)?, p(crit)?))
}

/// Parses a timeout such as `10s`.
pub(crate) fn timeout(t: &str) -> Result<std::time::Duration, String> {
    t.parse::<nodeward_config::units::Duration>()
        .map(|d| d.get())
        .map_err(|e| format!("invalid --timeout: {e}"))
}
