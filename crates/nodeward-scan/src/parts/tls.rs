//! The TLS part: versions, suites, certificate, HSTS, and the SSL Labs grade.

use super::{finding, PartOutcome};
use crate::grade::observatory::hsts_max_age;
use crate::grade::ssllabs::{self, TlsFacts};
use nodeward_probe::http::{self, Request, Url};
use nodeward_probe::tls::cert::{now_unix, CertInfo};
use nodeward_probe::tls::hello::{self, Version};
use nodeward_probe::tls::suites::Suite;
use nodeward_probe::tls::{self, ChainVerdict, Roots};
use nodeward_probe::{tcp, ProbeError};
use nodeward_report::{Severity, Status};
use rustls_pki_types::CertificateDer;
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const AREA: &str = "tls";
/// The whole TLS part may take this many step deadlines at most.
const PART_BUDGET_STEPS: u32 = 24;
const GUIDE: &str = "https://github.com/ssllabs/research/wiki/SSL-Server-Rating-Guide";

/// Scans `host:port` with SNI `servername`.
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
    let work = scan(host, port, servername, path, roots, timeout);
    let result = match tokio::time::timeout(budget, work).await {
        Ok(r) => r,
        Err(_) => Err(ProbeError::timeout("the TLS scan", budget)),
    };
    match result {
        Ok(o) => o,
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

async fn scan(
    host: &str,
    port: u16,
    servername: &str,
    path: &str,
    roots: &Roots,
    timeout: Duration,
) -> Result<PartOutcome, ProbeError> {
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
        let why = modern
            .error
            .clone()
            .unwrap_or_else(|| "no handshake completed".into());
        let why = if why.contains("reset") || why.contains("eof") || why.contains("EOF") {
            format!("the server closed the connection during the handshake ({why})")
        } else {
            why
        };
        let extra = if notes.is_empty() {
            String::new()
        } else {
            format!("; {}", notes.join("; "))
        };
        return Err(ProbeError::Tls(format!(
            "no protocol version accepted: {why}{extra}"
        )));
    }
    let verdict = tls::verify_chain(&chain, servername, roots)?;
    let leaf = chain.first().map(|c| CertInfo::parse(c.as_ref()));
    let hsts = fetch_hsts(host, port, servername, path, timeout).await;
    let (key_bits, key_desc) = match &leaf {
        Some(Ok(c)) => (
            c.key_type.rsa_equivalent_bits(c.key_bits),
            format!("{} {} bits", c.key_type.name(), c.key_bits),
        ),
        _ => (0, "unknown key".to_string()),
    };
    let facts = TlsFacts {
        versions: versions.clone(),
        suites: suites.iter().map(|(_, s)| *s).collect(),
        key_bits_rsa_equiv: key_bits,
        dh_bits,
        trusted: verdict == ChainVerdict::Valid,
        trust_problem: (verdict != ChainVerdict::Valid).then(|| verdict.describe()),
        name_mismatch: matches!(verdict, ChainVerdict::NameMismatch(_)),
        insecure_signature: matches!(&leaf, Some(Ok(c)) if c.signature_algorithm.to_ascii_lowercase().contains("md5") || c.signature_algorithm.to_ascii_lowercase().contains("md2")),
        hsts_max_age: hsts.as_deref().and_then(hsts_max_age),
    };
    let graded = ssllabs::grade(&facts);
    let mut findings = Vec::new();
    let names: Vec<&str> = versions.iter().map(|v| v.name()).collect();
    let old: Vec<&str> = versions
        .iter()
        .filter(|v| v.0 < Version::TLS12.0)
        .map(|v| v.name())
        .collect();
    findings.push(finding(
        "TLS-001",
        AREA,
        "Only TLS 1.2 and TLS 1.3 accepted",
        if versions.contains(&Version::SSL3) {
            Severity::High
        } else {
            Severity::Medium
        },
        if old.is_empty() {
            Status::Pass
        } else {
            Status::Fail
        },
        format!("accepted: {}", names.join(", ")),
        "Disable SSLv3, TLS 1.0 and TLS 1.1 (nginx: ssl_protocols TLSv1.2 TLSv1.3;).",
        GUIDE,
    ));
    let weak: Vec<String> = suites
        .iter()
        .filter(|(_, s)| {
            s.rc4()
                || s.export()
                || s.bits() < 128
                || s.block64()
                || s.key_exchange() == tls::suites::KeyExchange::Anonymous
        })
        .map(|(v, s)| format!("{} {}", v.name(), s.name))
        .collect();
    let broken = suites.iter().any(|(_, s)| {
        s.export() || s.bits() == 0 || s.key_exchange() == tls::suites::KeyExchange::Anonymous
    });
    findings.push(finding(
        "TLS-002",
        AREA,
        "No weak cipher suites (RC4, 3DES, DES, export, NULL, anonymous)",
        if broken {
            Severity::Critical
        } else {
            Severity::High
        },
        if weak.is_empty() {
            Status::Pass
        } else {
            Status::Fail
        },
        if weak.is_empty() {
            format!("{} suites accepted, none weak", suites.len())
        } else {
            format!("weak: {}", weak.join(", "))
        },
        "Offer only AEAD suites with ECDHE (Mozilla intermediate configuration).",
        GUIDE,
    ));
    let fs = suites.iter().any(|(_, s)| s.forward_secret());
    let mut non_fs: Vec<&str> = suites
        .iter()
        .filter(|(_, s)| !s.forward_secret())
        .map(|(_, s)| s.name)
        .collect();
    non_fs.sort_unstable();
    non_fs.dedup();
    findings.push(finding(
        "TLS-003",
        AREA,
        "Forward secrecy",
        Severity::Medium,
        if !fs {
            Status::Fail
        } else if non_fs.is_empty() {
            Status::Pass
        } else {
            Status::Warn
        },
        if non_fs.is_empty() {
            "every accepted suite uses ECDHE/DHE or TLS 1.3".to_string()
        } else {
            format!("suites without forward secrecy: {}", non_fs.join(", "))
        },
        "Prefer ECDHE suites and remove static-RSA key exchange.",
        GUIDE,
    ));
    let (trust_status, name_status) = match &verdict {
        ChainVerdict::Valid => (Status::Pass, Status::Pass),
        ChainVerdict::NameMismatch(_) => (Status::Pass, Status::Fail),
        _ => (Status::Fail, Status::Skip),
    };
    findings.push(finding("TLS-004", AREA, "Certificate chain trusted", Severity::High, trust_status, verdict.describe(),
        "Serve the full chain of a certificate from a trusted CA (or pass the private CA with --ca).", ""));
    let alt = match &leaf {
        Some(Ok(c)) => c.alt_names.join(", "),
        _ => String::new(),
    };
    findings.push(finding(
        "TLS-005",
        AREA,
        "Certificate matches the host name",
        Severity::High,
        name_status,
        format!("asked for {servername}; certificate names: {alt}"),
        "Issue the certificate for the name clients use.",
        "",
    ));
    let now = now_unix();
    let (days, exp_status, exp_evidence) = match &leaf {
        Some(Ok(c)) => {
            let d = c.days_left(now);
            let st = if d < 0 {
                Status::Fail
            } else if d < 14 {
                Status::Warn
            } else {
                Status::Pass
            };
            (
                Some(d),
                st,
                format!("{d} days until notAfter (issuer {})", c.issuer),
            )
        }
        Some(Err(e)) => (None, Status::Error, e.to_string()),
        None => (None, Status::Error, "no certificate".into()),
    };
    findings.push(finding(
        "TLS-006",
        AREA,
        "Certificate not expired nor about to",
        Severity::High,
        exp_status,
        exp_evidence,
        "Renew the certificate (automate with ACME) and monitor it with `nodeward check tls`.",
        "",
    ));
    let weakest = dh_bits.map_or(key_bits, |d| d.min(key_bits));
    let key_status = if weakest >= 2048 {
        Status::Pass
    } else {
        Status::Fail
    };
    let key_desc = match dh_bits {
        Some(d) => format!("{key_desc}; DHE parameters {d} bits"),
        None => key_desc,
    };
    findings.push(finding(
        "TLS-007",
        AREA,
        "Server key and DH parameters strong enough (RSA/DH >= 2048, EC >= 256)",
        if weakest < 1024 {
            Severity::Critical
        } else {
            Severity::High
        },
        key_status,
        key_desc.clone(),
        "Use an RSA 2048+ or ECDSA P-256 key, and 2048-bit DH parameters (or drop DHE suites).",
        GUIDE,
    ));
    findings.push(finding(
        "TLS-008",
        AREA,
        "OCSP response stapled",
        Severity::Info,
        if modern.ocsp_stapled {
            Status::Pass
        } else {
            Status::Warn
        },
        if modern.ocsp_stapled {
            "stapled"
        } else {
            "no OCSP response stapled"
        },
        "Enable OCSP stapling (nginx: ssl_stapling on;).",
        "",
    ));
    let hsts_age = facts.hsts_max_age;
    findings.push(finding(
        "TLS-009",
        AREA,
        "HSTS with max-age of at least six months",
        Severity::Medium,
        match hsts_age {
            Some(a) if a >= ssllabs::HSTS_A_PLUS_MIN_AGE => Status::Pass,
            _ => Status::Fail,
        },
        match (&hsts, hsts_age) {
            (Some(v), _) => format!("Strict-Transport-Security: {v}"),
            (None, _) => "no Strict-Transport-Security header".into(),
        },
        "Send Strict-Transport-Security: max-age=31536000; includeSubDomains.",
        "",
    ));
    let aead = suites.iter().any(|(_, s)| s.aead());
    findings.push(finding(
        "TLS-011",
        AREA,
        "AEAD cipher suites offered",
        Severity::Low,
        if aead { Status::Pass } else { Status::Fail },
        if aead {
            "AEAD suites available"
        } else {
            "only CBC/stream suites"
        },
        "Enable AES-GCM and ChaCha20-Poly1305 suites.",
        GUIDE,
    ));
    let grade_json = match &graded {
        Some(g) => {
            let ok = g.grade.starts_with('A');
            findings.push(finding("TLS-010", AREA, "SSL Labs style grade A or better", Severity::Medium, if ok { Status::Pass } else { Status::Fail },
                format!("grade {} = protocol {} x0.3 + key exchange {} x0.3 + cipher {} x0.4 = {} ({}); {}", g.grade, g.protocol, g.key_exchange, g.cipher, g.total, g.score_grade, g.caps.join("; ")),
                "Fix the findings above; each cap names what holds the grade down.", GUIDE));
            json!({"grade": g.grade, "grade_if_trusted": g.grade_if_trusted, "score": g.total,
                   "protocol_score": g.protocol, "key_exchange_score": g.key_exchange, "cipher_score": g.cipher, "caps": g.caps})
        }
        None => json!({"grade": null}),
    };
    let mut part = grade_json;
    part["versions"] = json!(names);
    let mut by_version = serde_json::Map::new();
    for v in &versions {
        let names: Vec<&str> = suites
            .iter()
            .filter(|(sv, _)| sv == v)
            .map(|(_, s)| s.name)
            .collect();
        by_version.insert(v.name().to_string(), json!(names));
    }
    part["suites"] = serde_json::Value::Object(by_version);
    part["certificate"] = json!({"verdict": verdict.describe(), "days_left": days, "key": key_desc,
        "subject": leaf.as_ref().and_then(|l| l.as_ref().ok()).map(|c| c.subject.clone()),
        "alt_names": alt, "self_signed": leaf.as_ref().and_then(|l| l.as_ref().ok()).map(|c| c.self_signed)});
    part["ocsp_stapled"] = json!(modern.ocsp_stapled);
    part["alpn"] = json!(modern.alpn);
    part["hsts_max_age"] = json!(hsts_age);
    if !notes.is_empty() {
        part["notes"] = json!(notes);
    }
    Ok(PartOutcome {
        findings,
        json: part,
    })
}

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
