//! The TLS part: versions, suites, certificate, HSTS, and the SSL Labs grade.
//!
//! `observe` runs the probes once; `findings` turns what they saw into
//! TLS-001 … TLS-011 and `vuln_findings` into TLS-012 … TLS-019; the grade comes from `grade::ssllabs`.

mod findings;
mod observe;
mod vuln_findings;
mod vulns;

use super::{finding, PartOutcome};
use crate::grade::observatory::hsts_max_age;
use crate::grade::ssllabs::{self, TlsFacts, TlsGrade};
use nodeward_probe::tls::hello::Version;
use nodeward_probe::tls::vulns::{Fallback, Heartbleed};
use nodeward_probe::tls::{ChainVerdict, Roots};
use nodeward_probe::ProbeError;
use nodeward_report::{Severity, Status};
use observe::Observed;
use serde_json::json;
use std::time::Duration;

const AREA: &str = "tls";
/// The whole TLS part may take this many step deadlines at most.
const PART_BUDGET_STEPS: u32 = 48;
const GUIDE: &str = "https://github.com/ssllabs/research/wiki/SSL-Server-Rating-Guide";

/// Scans `host:port` with SNI `servername`; `path` is requested over HTTPS for HSTS.
pub async fn run(
    host: &str,
    port: u16,
    servername: &str,
    path: &str,
    roots: &Roots,
    timeout: Duration,
) -> PartOutcome {
    // Every step has its own deadline; this caps the whole part as well
    // (a server that answers each handshake just before the deadline).
    let budget = timeout.saturating_mul(PART_BUDGET_STEPS);
    let work = observe::observe(host, port, servername, path, roots, timeout);
    let observed = match tokio::time::timeout(budget, work).await {
        Ok(r) => r,
        Err(_) => Err(ProbeError::timeout("the TLS scan", budget)),
    };
    match observed {
        Ok(o) => outcome(&o),
        Err(e) => PartOutcome {
            findings: vec![finding(
                "TLS-000",
                AREA,
                "TLS handshake possible",
                Severity::High,
                Status::Error,
                e.to_string(),
                "Make sure a TLS server listens on the port and answers within the timeout.",
                "",
            )],
            json: json!({"grade": null, "error": e.to_string()}),
        },
    }
}

/// The inputs of the SSL Labs grade.
fn facts(o: &Observed) -> TlsFacts {
    let signature = o
        .cert()
        .map(|c| c.signature_algorithm.to_ascii_lowercase())
        .unwrap_or_default();
    TlsFacts {
        versions: o.versions.clone(),
        suites: o.suites.iter().map(|(_, s)| *s).collect(),
        key_bits_rsa_equiv: o.key_bits_rsa_equiv(),
        dh_bits: o.dh_bits,
        trusted: o.verdict == ChainVerdict::Valid,
        trust_problem: (o.verdict != ChainVerdict::Valid).then(|| o.verdict.describe()),
        name_mismatch: matches!(o.verdict, ChainVerdict::NameMismatch(_)),
        insecure_signature: signature.contains("md5") || signature.contains("md2"),
        hsts_max_age: o.hsts.as_deref().and_then(hsts_max_age),
        heartbleed: matches!(o.vulns.heartbleed, Some(Heartbleed::Vulnerable { .. })),
        compression: o.vulns.compression == Some(true),
        no_secure_renegotiation: o.vulns.secure_renegotiation == Some(false),
        insecure_client_renegotiation: o.vulns.secure_renegotiation == Some(false)
            && o.vulns.client_renegotiation == Some(true),
        no_fallback_scsv: matches!(o.vulns.fallback, Some((_, _, Fallback::Accepted))),
        weakest_ec_bits: o
            .vulns
            .ec_groups
            .as_ref()
            .and_then(|g| g.iter().map(|g| g.bits).min()),
        poodle: o
            .suites
            .iter()
            .any(|(v, s)| *v == Version::SSL3 && s.name.contains("_CBC_")),
        rc4_with_tls11_or_later: o
            .suites
            .iter()
            .any(|(v, s)| [Version::TLS11, Version::TLS12, Version::TLS13].contains(v) && s.rc4()),
    }
}

fn outcome(o: &Observed) -> PartOutcome {
    let facts = facts(o);
    let graded = ssllabs::grade(&facts);
    PartOutcome {
        findings: findings::all(o, &facts, graded.as_ref()),
        json: part_json(o, &facts, graded.as_ref()),
    }
}

/// The `parts.tls` object.
fn part_json(o: &Observed, facts: &TlsFacts, graded: Option<&TlsGrade>) -> serde_json::Value {
    let mut part = match graded {
        Some(g) => json!({
            "grade": g.grade, "grade_if_trusted": g.grade_if_trusted, "score": g.total,
            "protocol_score": g.protocol, "key_exchange_score": g.key_exchange,
            "cipher_score": g.cipher, "caps": g.caps,
        }),
        None => json!({"grade": null}),
    };
    let names: Vec<&str> = o.versions.iter().map(|v| v.name()).collect();
    part["versions"] = json!(names);
    let mut by_version = serde_json::Map::new();
    for v in &o.versions {
        let suites: Vec<&str> = o
            .suites
            .iter()
            .filter(|(sv, _)| sv == v)
            .map(|(_, s)| s.name)
            .collect();
        by_version.insert(v.name().to_string(), json!(suites));
    }
    part["suites"] = serde_json::Value::Object(by_version);
    let cert = o.cert();
    part["certificate"] = json!({
        "verdict": o.verdict.describe(),
        "days_left": findings::days_left(o),
        "key": findings::key_description(o),
        "subject": cert.map(|c| c.subject.clone()),
        "alt_names": cert.map(|c| c.alt_names.join(", ")).unwrap_or_default(),
        "self_signed": cert.map(|c| c.self_signed),
    });
    part["ocsp_stapled"] = json!(o.ocsp_stapled);
    part["alpn"] = json!(o.alpn);
    part["hsts_max_age"] = json!(facts.hsts_max_age);
    part["vulnerabilities"] = vuln_findings::json(&o.vulns);
    if !o.notes.is_empty() {
        part["notes"] = json!(o.notes);
    }
    part
}
