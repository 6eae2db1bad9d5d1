//! The Referrer-Policy test.

use super::exchange::{result, Exchange};
use super::TestResult;

pub(super) fn referrer_policy(x: &Exchange) -> TestResult {
    const T: &str = "referrer-policy";
    // Header values first, then <meta http-equiv> ones (which take precedence as the later).
    let meta = x.http_equiv("referrer-policy");
    let mut values = x.all("referrer-policy");
    values.extend(meta.iter().map(String::as_str));
    if values.is_empty() {
        return result(
            T,
            "referrer-policy-not-implemented",
            true,
            "no Referrer-Policy header",
        );
    }
    // Several headers count as one comma-separated list.
    let joined = values.join(", ");
    let v = joined.as_str();
    const PRIVATE: &[&str] = &[
        "no-referrer",
        "same-origin",
        "strict-origin",
        "strict-origin-when-cross-origin",
    ];
    const UNSAFE: &[&str] = &[
        "origin",
        "origin-when-cross-origin",
        "unsafe-url",
        "no-referrer-when-downgrade",
    ];
    // Browsers use the last token they recognise.
    let token = v
        .split(',')
        .map(|t| t.trim().to_ascii_lowercase())
        .rfind(|t| PRIVATE.contains(&t.as_str()) || UNSAFE.contains(&t.as_str()));
    let evidence = format!("Referrer-Policy: {v}");
    match token {
        Some(t) if PRIVATE.contains(&t.as_str()) => {
            result(T, "referrer-policy-private", true, evidence)
        }
        Some(_) => result(T, "referrer-policy-unsafe", false, evidence),
        None => result(T, "referrer-policy-header-invalid", false, evidence),
    }
}
