//! Runs the vulnerability probes (renegotiation, CRIME, Heartbleed,
//! TLS_FALLBACK_SCSV, ECDHE groups) once the versions and suites are known,
//! picking for each the version and suites the server already accepted.

use nodeward_probe::tls::flight::KeyShare;
use nodeward_probe::tls::hello::Version;
use nodeward_probe::tls::suites::{KeyExchange, Suite};
use nodeward_probe::tls::vulns::{self, Fallback, Group, Heartbleed};
use std::net::SocketAddr;
use std::time::Duration;

/// What the vulnerability probes saw; `None` means not applicable or not tested.
#[derive(Debug, Clone, Default)]
pub(super) struct Vulns {
    /// The legacy (TLS ≤ 1.2) version the probes used.
    pub probed_at: Option<Version>,
    /// renegotiation_info in the ServerHello.
    pub secure_renegotiation: Option<bool>,
    /// The server renegotiates when the client asks.
    pub client_renegotiation: Option<bool>,
    /// DEFLATE picked when offered.
    pub compression: Option<bool>,
    /// The heartbeat probe's result.
    pub heartbleed: Option<Heartbleed>,
    /// (best version, version offered with the SCSV, what happened).
    pub fallback: Option<(Version, Version, Fallback)>,
    /// ECDHE groups accepted (TLS ≤ 1.2 with ECDHE suites only).
    pub ec_groups: Option<Vec<Group>>,
    /// The DHE prime the server sends when offered only DHE suites.
    pub dh_prime: Option<Vec<u8>>,
}

/// Runs every probe that applies; a probe that fails adds a note and stays `None`.
pub(super) async fn probe(
    addr: SocketAddr,
    servername: &str,
    versions: &[Version],
    suites: &[(Version, Suite)],
    timeout: Duration,
    notes: &mut Vec<String>,
) -> Vulns {
    let mut out = Vulns::default();
    let codes_at = |v: Version| -> Vec<u16> {
        suites
            .iter()
            .filter(|(sv, _)| *sv == v)
            .map(|(_, s)| s.code)
            .collect()
    };
    let legacy: Vec<Version> = versions
        .iter()
        .copied()
        .filter(|v| *v <= Version::TLS12)
        .collect();
    let best_legacy = legacy.iter().copied().max();
    if let Some(v) = best_legacy {
        out.probed_at = Some(v);
        let codes = codes_at(v);
        let mut note = |what: &str, e: nodeward_probe::ProbeError| {
            notes.push(format!("{what} probe at {}: {e}", v.name()))
        };
        match vulns::secure_renegotiation(addr, servername, v, &codes, timeout).await {
            Ok(r) => out.secure_renegotiation = r,
            Err(e) => note("renegotiation", e),
        }
        match vulns::compression(addr, servername, v, &codes, timeout).await {
            Ok(r) => out.compression = r,
            Err(e) => note("compression", e),
        }
        if v >= Version::TLS10 {
            match vulns::heartbleed(addr, servername, v, &codes, timeout).await {
                Ok(r) => out.heartbleed = Some(r),
                Err(e) => note("heartbeat", e),
            }
            let ecdhe = suites
                .iter()
                .any(|(sv, s)| *sv == v && s.key_exchange() == KeyExchange::Ecdhe);
            let dhe: Vec<u16> = suites
                .iter()
                .filter(|(sv, s)| *sv == v && s.key_exchange() == KeyExchange::Dhe)
                .map(|(_, s)| s.code)
                .collect();
            if !dhe.is_empty() {
                let opts = nodeward_probe::tls::hello::HelloOptions::default();
                match vulns::hello_flight(addr, servername, v, &dhe, &opts, timeout).await {
                    Ok(f) => {
                        if let Some(KeyShare::DhPrime(p)) = f.key_share {
                            out.dh_prime = Some(p);
                        }
                    }
                    Err(e) => note("DHE prime", e),
                }
            }
            if ecdhe {
                match vulns::ec_groups(addr, servername, v, timeout).await {
                    Ok(r) => out.ec_groups = Some(r),
                    Err(e) => note("ECDHE group", e),
                }
            }
            match nodeward_probe::tls::renegotiate::client_initiated(
                addr, servername, &codes, timeout,
            )
            .await
            {
                Ok(r) => out.client_renegotiation = r,
                Err(e) => note("client renegotiation", e),
            }
        }
    }
    // The downgrade check needs a version below the best one.
    let best = versions.iter().copied().max();
    if let Some(best) = best {
        if let Some(lower) = legacy.iter().copied().filter(|v| *v < best).max() {
            match vulns::fallback_scsv(addr, servername, lower, &codes_at(lower), timeout).await {
                Ok(r) => out.fallback = Some((best, lower, r)),
                Err(e) => notes.push(format!("fallback SCSV probe at {}: {e}", lower.name())),
            }
        }
    }
    out
}
