//! The Strict-Transport-Security test and its header parser.

use super::exchange::{result, Exchange};
use super::TestResult;

/// Parses an HSTS value; `None` when it has no valid max-age.
pub(crate) fn hsts_max_age(v: &str) -> Option<u64> {
    let mut max_age = None;
    for d in v.split(';') {
        let d = d.trim();
        if let Some((k, val)) = d.split_once('=') {
            if k.trim().eq_ignore_ascii_case("max-age") {
                if max_age.is_some() {
                    return None;
                }
                max_age = Some(val.trim().trim_matches('"').parse::<u64>().ok()?);
            }
        }
    }
    max_age
}

/// Observatory's "six months": 180 days, a little under the 15,768,000 s the
/// documentation names, because many sites use 15,552,000.
pub const SIX_MONTHS: u64 = 15_552_000;

pub(super) fn strict_transport_security(x: &Exchange) -> TestResult {
    let mut r = header_result(x);
    // A preloaded host passes whatever its header says (when HTTPS answered at all).
    if x.https && x.hsts_preloaded {
        r = result(
            "strict-transport-security",
            "hsts-preloaded",
            true,
            format!("{} is on the HSTS preload list", x.host),
        );
    }
    r
}

fn header_result(x: &Exchange) -> TestResult {
    const T: &str = "strict-transport-security";
    if !x.https {
        return result(
            T,
            "hsts-not-implemented-no-https",
            false,
            "graded over plain HTTP",
        );
    }
    if !x.cert_valid {
        return result(
            T,
            "hsts-invalid-cert",
            false,
            "the certificate chain is not valid, so browsers ignore HSTS",
        );
    }
    let Some(v) = x.one("strict-transport-security") else {
        return result(
            T,
            "hsts-not-implemented",
            false,
            "no Strict-Transport-Security header",
        );
    };
    let evidence = format!("Strict-Transport-Security: {v}");
    // A comma means the header was sent more than once (joined by a proxy).
    let age = if v.contains(',') {
        None
    } else {
        hsts_max_age(v)
    };
    match age {
        None => result(T, "hsts-header-invalid", false, evidence),
        Some(age) if age >= SIX_MONTHS => result(
            T,
            "hsts-implemented-max-age-at-least-six-months",
            true,
            evidence,
        ),
        Some(_) => result(
            T,
            "hsts-implemented-max-age-less-than-six-months",
            false,
            evidence,
        ),
    }
}
