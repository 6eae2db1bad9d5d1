//! The TLS vulnerability findings (TLS-012 … TLS-019), one function per
//! check, from what `vulns` probed; plus their `parts.tls.vulnerabilities` JSON.

use super::observe::Observed;
use super::vulns::Vulns;
use super::{AREA, GUIDE};
use crate::parts::finding;
use nodeward_probe::tls::hello::Version;
use nodeward_probe::tls::suites::KeyExchange;
use nodeward_probe::tls::vulns::{self, Fallback, Heartbleed};
use nodeward_report::{Finding, Severity, Status};
use serde_json::json;

/// Every vulnerability finding, in report order.
pub(super) fn all(o: &Observed) -> Vec<Finding> {
    vec![
        secure_renegotiation(&o.vulns),
        client_renegotiation(&o.vulns),
        compression(&o.vulns),
        heartbleed(&o.vulns),
        poodle(o),
        fallback(&o.vulns),
        ec_groups(&o.vulns),
        logjam(o),
    ]
}

fn not_applicable(v: &Vulns) -> String {
    match v.probed_at {
        None => "only TLS 1.3 accepted: not applicable".into(),
        Some(at) => format!("not tested at {} (see notes)", at.name()),
    }
}

fn secure_renegotiation(v: &Vulns) -> Finding {
    let (status, evidence) = match v.secure_renegotiation {
        Some(true) => (Status::Pass, "renegotiation_info in the ServerHello".into()),
        Some(false) => (
            Status::Fail,
            "no renegotiation_info in the ServerHello (RFC 5746 not supported)".into(),
        ),
        None => (Status::Skip, not_applicable(v)),
    };
    finding(
        "TLS-012",
        AREA,
        "Secure renegotiation (RFC 5746) supported",
        Severity::Medium,
        status,
        evidence,
        "Upgrade the TLS library (every maintained one supports RFC 5746) and never enable legacy/unsafe renegotiation.",
        GUIDE,
    )
}

fn client_renegotiation(v: &Vulns) -> Finding {
    let insecure = v.secure_renegotiation == Some(false);
    let (status, severity, evidence) = match v.client_renegotiation {
        Some(true) if insecure => (
            Status::Fail,
            Severity::Critical,
            "the server renegotiated on a client's request without RFC 5746 (CVE-2009-3555)",
        ),
        Some(true) => (
            Status::Warn,
            Severity::Medium,
            "the server renegotiated on a client's request (secure, but a CPU denial-of-service lever)",
        ),
        Some(false) => (
            Status::Pass,
            Severity::Medium,
            "a new ClientHello on the established TLS 1.2 connection was refused",
        ),
        None => (
            Status::Skip,
            Severity::Medium,
            "not tested: needs TLS 1.2 with an ECDHE AES-GCM suite",
        ),
    };
    finding(
        "TLS-013",
        AREA,
        "Client-initiated renegotiation refused",
        severity,
        status,
        evidence,
        "Disable client-initiated renegotiation (OpenSSL 3 does by default; nginx never allows it).",
        GUIDE,
    )
}

fn compression(v: &Vulns) -> Finding {
    let (status, evidence) = match v.compression {
        Some(true) => (
            Status::Fail,
            "the server chose DEFLATE when offered (CRIME, CVE-2012-4929)".to_string(),
        ),
        Some(false) => (
            Status::Pass,
            "the server chose no compression though DEFLATE was offered".into(),
        ),
        None => (Status::Skip, not_applicable(v)),
    };
    finding(
        "TLS-014",
        AREA,
        "TLS compression disabled (CRIME)",
        Severity::High,
        status,
        evidence,
        "Disable TLS compression (OpenSSL: SSL_OP_NO_COMPRESSION; it is off by default since 1.1.0).",
        GUIDE,
    )
}

fn heartbleed(v: &Vulns) -> Finding {
    let (status, evidence) = match &v.heartbleed {
        Some(Heartbleed::Vulnerable { answered }) => (
            Status::Fail,
            format!("a 3-byte heartbeat request claiming 16384 bytes got {answered} bytes back (CVE-2014-0160)"),
        ),
        Some(Heartbleed::NotVulnerable) => (
            Status::Pass,
            "heartbeat offered; the over-long request got no over-long answer".into(),
        ),
        Some(Heartbleed::NoHeartbeat) => (
            Status::Pass,
            "the server does not offer the heartbeat extension".into(),
        ),
        Some(Heartbleed::Refused) => (Status::Skip, "the probe's hello was refused".into()),
        None => (Status::Skip, not_applicable(v)),
    };
    finding(
        "TLS-015",
        AREA,
        "Not vulnerable to Heartbleed",
        Severity::Critical,
        status,
        evidence,
        "Upgrade OpenSSL (1.0.1g or later), then replace the private key and certificate and revoke the old one.",
        GUIDE,
    )
}

fn poodle(o: &Observed) -> Finding {
    let cbc: Vec<&str> = o
        .suites
        .iter()
        .filter(|(v, s)| *v == Version::SSL3 && s.name.contains("_CBC_"))
        .map(|(_, s)| s.name)
        .collect();
    let (status, evidence) = if !o.versions.contains(&Version::SSL3) {
        (Status::Pass, "SSLv3 refused".to_string())
    } else if cbc.is_empty() {
        (
            Status::Warn,
            "SSLv3 accepted, but no CBC suite with it".to_string(),
        )
    } else {
        (
            Status::Fail,
            format!("SSLv3 accepted with CBC suites: {}", cbc.join(", ")),
        )
    };
    finding(
        "TLS-016",
        AREA,
        "Not vulnerable to POODLE (SSLv3 with CBC)",
        Severity::High,
        status,
        evidence,
        "Disable SSLv3 (nginx: ssl_protocols TLSv1.2 TLSv1.3;).",
        GUIDE,
    )
}

fn fallback(v: &Vulns) -> Finding {
    let (status, evidence) = match &v.fallback {
        Some((best, lower, Fallback::Refused)) => (
            Status::Pass,
            format!(
                "{} hello with TLS_FALLBACK_SCSV refused with inappropriate_fallback (best {})",
                lower.name(),
                best.name()
            ),
        ),
        Some((best, lower, Fallback::Sentinel)) => (
            Status::Pass,
            format!(
                "{} hello with TLS_FALLBACK_SCSV accepted, but with the RFC 8446 downgrade sentinel in the server random (best {}): TLS 1.3 clients detect the downgrade",
                lower.name(),
                best.name()
            ),
        ),
        Some((best, lower, Fallback::Accepted)) => (
            Status::Fail,
            format!(
                "{} hello with TLS_FALLBACK_SCSV accepted though {} is supported (downgrade possible)",
                lower.name(),
                best.name()
            ),
        ),
        Some((_, lower, Fallback::Other(why))) => (
            Status::Warn,
            format!("{} hello with TLS_FALLBACK_SCSV: {why}", lower.name()),
        ),
        None => (
            Status::Pass,
            "only one protocol version accepted: no fallback possible".into(),
        ),
    };
    finding(
        "TLS-017",
        AREA,
        "TLS_FALLBACK_SCSV honoured (RFC 7507 downgrade protection)",
        Severity::Medium,
        status,
        evidence,
        "Upgrade the TLS library, or accept only TLS 1.2 and 1.3 so no older version remains to fall back to.",
        GUIDE,
    )
}

fn ec_groups(v: &Vulns) -> Finding {
    let (status, evidence) = match &v.ec_groups {
        Some(groups) if groups.is_empty() => (
            Status::Skip,
            "no tested group completed an ECDHE ServerKeyExchange".to_string(),
        ),
        Some(groups) => {
            let names: Vec<String> = groups
                .iter()
                .map(|g| format!("{} ({} bits)", g.name, g.bits))
                .collect();
            let weak = groups.iter().any(|g| g.bits < 224);
            (
                if weak { Status::Fail } else { Status::Pass },
                format!("accepted: {}", names.join(", ")),
            )
        }
        None => (Status::Skip, "no ECDHE suite at TLS 1.0–1.2".to_string()),
    };
    finding(
        "TLS-018",
        AREA,
        "ECDHE groups of at least 224 bits",
        Severity::High,
        status,
        evidence,
        "Offer only x25519, secp256r1 and secp384r1 (nginx: ssl_ecdh_curve X25519:prime256v1:secp384r1;).",
        GUIDE,
    )
}

fn logjam(o: &Observed) -> Finding {
    let dhe_export = o
        .suites
        .iter()
        .any(|(_, s)| s.export() && s.key_exchange() == KeyExchange::Dhe);
    let common = o
        .vulns
        .dh_prime
        .as_deref()
        .and_then(vulns::common_prime)
        .map(|g| format!("; a widely shared prime ({g})"))
        .unwrap_or_default();
    let (status, severity, evidence) = match (o.dh_bits, dhe_export) {
        (_, true) => (
            Status::Fail,
            Severity::Critical,
            "DHE_EXPORT suites accepted (Logjam, CVE-2015-4000)".to_string(),
        ),
        (Some(d), _) if d < 1024 => (
            Status::Fail,
            Severity::Critical,
            format!("DHE group of {d} bits (Logjam: under 1024){common}"),
        ),
        (Some(d), _) if d < 2048 => (
            Status::Fail,
            Severity::High,
            format!("DHE group of {d} bits (under 2048){common}"),
        ),
        (Some(d), _) => (
            Status::Pass,
            Severity::High,
            format!("DHE group of {d} bits{common}"),
        ),
        (None, _) => (
            Status::Pass,
            Severity::High,
            "no DHE suite accepted".to_string(),
        ),
    };
    finding(
        "TLS-019",
        AREA,
        "DH parameters of at least 2048 bits, no DHE export (Logjam)",
        severity,
        status,
        evidence,
        "Use 2048-bit (or ffdhe2048+) DH parameters, or drop DHE suites for ECDHE (nginx: ssl_dhparam).",
        GUIDE,
    )
}

/// The `parts.tls.vulnerabilities` object.
pub(super) fn json(v: &Vulns) -> serde_json::Value {
    json!({
        "probed_at": v.probed_at.map(|x| x.name()),
        "secure_renegotiation": v.secure_renegotiation,
        "client_renegotiation": v.client_renegotiation,
        "compression": v.compression,
        "heartbleed": v.heartbleed.as_ref().map(|h| match h {
            Heartbleed::Vulnerable { .. } => "vulnerable",
            Heartbleed::NotVulnerable => "not vulnerable",
            Heartbleed::NoHeartbeat => "no heartbeat",
            Heartbleed::Refused => "refused",
        }),
        "fallback_scsv": v.fallback.as_ref().map(|(_, _, f)| match f {
            Fallback::Refused => "supported".to_string(),
            Fallback::Sentinel => "downgrade sentinel (RFC 8446)".to_string(),
            Fallback::Accepted => "not supported".to_string(),
            Fallback::Other(why) => why.clone(),
        }),
        "ec_groups": v.ec_groups.as_ref().map(|g| g.iter().map(|g| g.name).collect::<Vec<_>>()),
        "dh_common_prime": v.dh_prime.as_deref().and_then(vulns::common_prime),
    })
}
