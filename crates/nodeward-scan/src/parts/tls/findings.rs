//! The TLS findings (TLS-001 … TLS-011), one function per check.

use super::observe::Observed;
use super::{AREA, GUIDE};
use crate::grade::ssllabs::{TlsFacts, TlsGrade, HSTS_A_PLUS_MIN_AGE};
use crate::parts::finding;
use nodeward_probe::tls::cert::now_unix;
use nodeward_probe::tls::hello::Version;
use nodeward_probe::tls::suites::KeyExchange;
use nodeward_probe::tls::ChainVerdict;
use nodeward_report::{Finding, Severity, Status};

/// Every TLS finding, in report order.
pub(super) fn all(o: &Observed, facts: &TlsFacts, graded: Option<&TlsGrade>) -> Vec<Finding> {
    let mut out = vec![
        protocols(o),
        weak_suites(o),
        forward_secrecy(o),
        chain_trusted(o),
        name_matches(o),
        expiry(o),
        key_strength(o),
        ocsp(o),
        hsts(o, facts),
        aead(o),
    ];
    out.extend(super::vuln_findings::all(o));
    if let Some(g) = graded {
        out.push(grade(g));
    }
    out
}

fn protocols(o: &Observed) -> Finding {
    let names: Vec<&str> = o.versions.iter().map(|v| v.name()).collect();
    let old = o.versions.iter().any(|v| v.0 < Version::TLS12.0);
    let severity = if o.versions.contains(&Version::SSL3) {
        Severity::High
    } else {
        Severity::Medium
    };
    finding(
        "TLS-001",
        AREA,
        "Only TLS 1.2 and TLS 1.3 accepted",
        severity,
        if old { Status::Fail } else { Status::Pass },
        format!("accepted: {}", names.join(", ")),
        "Disable SSLv3, TLS 1.0 and TLS 1.1 (nginx: ssl_protocols TLSv1.2 TLSv1.3;).",
        GUIDE,
    )
}

fn weak_suites(o: &Observed) -> Finding {
    let anonymous = |k: KeyExchange| k == KeyExchange::Anonymous;
    let weak: Vec<String> = o
        .suites
        .iter()
        .filter(|(_, s)| {
            s.rc4() || s.export() || s.bits() < 128 || s.block64() || anonymous(s.key_exchange())
        })
        .map(|(v, s)| format!("{} {}", v.name(), s.name))
        .collect();
    let broken = o
        .suites
        .iter()
        .any(|(_, s)| s.export() || s.bits() == 0 || anonymous(s.key_exchange()));
    finding(
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
            format!("{} suites accepted, none weak", o.suites.len())
        } else {
            format!("weak: {}", weak.join(", "))
        },
        "Offer only AEAD suites with ECDHE (Mozilla intermediate configuration).",
        GUIDE,
    )
}

fn forward_secrecy(o: &Observed) -> Finding {
    let any_fs = o.suites.iter().any(|(_, s)| s.forward_secret());
    let mut non_fs: Vec<&str> = o
        .suites
        .iter()
        .filter(|(_, s)| !s.forward_secret())
        .map(|(_, s)| s.name)
        .collect();
    non_fs.sort_unstable();
    non_fs.dedup();
    let status = if !any_fs {
        Status::Fail
    } else if non_fs.is_empty() {
        Status::Pass
    } else {
        Status::Warn
    };
    finding(
        "TLS-003",
        AREA,
        "Forward secrecy",
        Severity::Medium,
        status,
        if non_fs.is_empty() {
            "every accepted suite uses ECDHE/DHE or TLS 1.3".to_string()
        } else {
            format!("suites without forward secrecy: {}", non_fs.join(", "))
        },
        "Prefer ECDHE suites and remove static-RSA key exchange.",
        GUIDE,
    )
}

fn chain_trusted(o: &Observed) -> Finding {
    let status = match o.verdict {
        ChainVerdict::Valid | ChainVerdict::NameMismatch(_) => Status::Pass,
        _ => Status::Fail,
    };
    finding(
        "TLS-004",
        AREA,
        "Certificate chain trusted",
        Severity::High,
        status,
        o.verdict.describe(),
        "Serve the full chain of a certificate from a trusted CA (or pass the private CA with --ca).",
        "",
    )
}

fn name_matches(o: &Observed) -> Finding {
    let status = match o.verdict {
        ChainVerdict::Valid => Status::Pass,
        ChainVerdict::NameMismatch(_) => Status::Fail,
        _ => Status::Skip,
    };
    let alt = o.cert().map(|c| c.alt_names.join(", ")).unwrap_or_default();
    finding(
        "TLS-005",
        AREA,
        "Certificate matches the host name",
        Severity::High,
        status,
        format!("asked for {}; certificate names: {alt}", o.servername),
        "Issue the certificate for the name clients use.",
        "",
    )
}

/// Days from now until the leaf's notAfter.
pub(super) fn days_left(o: &Observed) -> Option<i64> {
    o.cert().map(|c| c.days_left(now_unix()))
}

fn expiry(o: &Observed) -> Finding {
    let (status, evidence) = match (&o.leaf, days_left(o)) {
        (Some(Ok(c)), Some(d)) => {
            let st = if d < 0 {
                Status::Fail
            } else if d < 14 {
                Status::Warn
            } else {
                Status::Pass
            };
            (st, format!("{d} days until notAfter (issuer {})", c.issuer))
        }
        (Some(Err(e)), _) => (Status::Error, e.to_string()),
        _ => (Status::Error, "no certificate".into()),
    };
    finding(
        "TLS-006",
        AREA,
        "Certificate not expired nor about to",
        Severity::High,
        status,
        evidence,
        "Renew the certificate (automate with ACME) and monitor it with `nodeward check tls`.",
        "",
    )
}

/// `RSA 2048 bits; DHE parameters 1024 bits`.
pub(super) fn key_description(o: &Observed) -> String {
    let key = o
        .cert()
        .map(|c| format!("{} {} bits", c.key_type.name(), c.key_bits))
        .unwrap_or_else(|| "unknown key".into());
    match o.dh_bits {
        Some(d) => format!("{key}; DHE parameters {d} bits"),
        None => key,
    }
}

fn key_strength(o: &Observed) -> Finding {
    let key_bits = o.key_bits_rsa_equiv();
    let weakest = o.dh_bits.map_or(key_bits, |d| d.min(key_bits));
    finding(
        "TLS-007",
        AREA,
        "Server key and DH parameters strong enough (RSA/DH >= 2048, EC >= 256)",
        if weakest < 1024 {
            Severity::Critical
        } else {
            Severity::High
        },
        if weakest >= 2048 {
            Status::Pass
        } else {
            Status::Fail
        },
        key_description(o),
        "Use an RSA 2048+ or ECDSA P-256 key, and 2048-bit DH parameters (or drop DHE suites).",
        GUIDE,
    )
}

fn ocsp(o: &Observed) -> Finding {
    finding(
        "TLS-008",
        AREA,
        "OCSP response stapled",
        Severity::Info,
        if o.ocsp_stapled {
            Status::Pass
        } else {
            Status::Warn
        },
        if o.ocsp_stapled {
            "stapled"
        } else {
            "no OCSP response stapled"
        },
        "Enable OCSP stapling (nginx: ssl_stapling on;).",
        "",
    )
}

fn hsts(o: &Observed, facts: &TlsFacts) -> Finding {
    let long_enough = facts.hsts_max_age.is_some_and(|a| a >= HSTS_A_PLUS_MIN_AGE);
    finding(
        "TLS-009",
        AREA,
        "HSTS with max-age of at least six months",
        Severity::Medium,
        if long_enough {
            Status::Pass
        } else {
            Status::Fail
        },
        match &o.hsts {
            Some(v) => format!("Strict-Transport-Security: {v}"),
            None => "no Strict-Transport-Security header".into(),
        },
        "Send Strict-Transport-Security: max-age=31536000; includeSubDomains.",
        "",
    )
}

fn aead(o: &Observed) -> Finding {
    let any = o.suites.iter().any(|(_, s)| s.aead());
    finding(
        "TLS-011",
        AREA,
        "AEAD cipher suites offered",
        Severity::Low,
        if any { Status::Pass } else { Status::Fail },
        if any {
            "AEAD suites available"
        } else {
            "only CBC/stream suites"
        },
        "Enable AES-GCM and ChaCha20-Poly1305 suites.",
        GUIDE,
    )
}

fn grade(g: &TlsGrade) -> Finding {
    finding(
        "TLS-010",
        AREA,
        "SSL Labs style grade A or better",
        Severity::Medium,
        if g.grade.starts_with('A') {
            Status::Pass
        } else {
            Status::Fail
        },
        format!(
            "grade {} = protocol {} x0.3 + key exchange {} x0.3 + cipher {} x0.4 = {} ({}); {}",
            g.grade,
            g.protocol,
            g.key_exchange,
            g.cipher,
            g.total,
            g.score_grade,
            g.caps.join("; ")
        ),
        "Fix the findings above; each cap names what holds the grade down.",
        GUIDE,
    )
}
