//! Content-Security-Policy parsing and the Observatory CSP test.

use std::collections::{BTreeMap, BTreeSet};

type Policy = BTreeMap<String, BTreeSet<String>>;

const BROAD: &[&str] = &[
    "ftp:",
    "http:",
    "https:",
    "*",
    "http://*",
    "http://*.*",
    "https://*",
    "https://*.*",
];
const UNSAFE_INLINE: &[&str] = &["'unsafe-inline'", "data:"];

fn broad(s: &str) -> bool {
    BROAD.contains(&s)
}

fn broad_or_inline(s: &str) -> bool {
    broad(s) || UNSAFE_INLINE.contains(&s)
}

fn nonce_or_hash(set: &BTreeSet<String>) -> bool {
    set.iter().any(|s| {
        ["'sha256-", "'sha384-", "'sha512-", "'nonce-"]
            .iter()
            .any(|p| s.starts_with(p))
    })
}

/// Parses header values into one merged policy (the strictest source list
/// wins per directive is not modelled; the first occurrence counts, like browsers).
/// `None` when a directive name is not a valid token.
pub(super) fn parse(values: &[&str]) -> Option<Policy> {
    let mut policy = Policy::new();
    for value in values {
        for one in value.split(',') {
            for directive in one.split(';') {
                let mut parts = directive.split_ascii_whitespace();
                let Some(name) = parts.next() else { continue };
                let name = name.to_ascii_lowercase();
                if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                    return None;
                }
                let sources: BTreeSet<String> = parts
                    .map(|s| {
                        if s.starts_with('\'') {
                            s.to_ascii_lowercase()
                        } else {
                            s.to_string()
                        }
                    })
                    .collect();
                policy.entry(name).or_insert(sources);
            }
        }
    }
    Some(policy)
}

/// The CSP outcome and whether `frame-ancestors` protects against framing.
/// Directives a `<meta http-equiv>` policy may not set (browsers ignore them there).
const NOT_IN_META: &[&str] = &["frame-ancestors", "report-uri", "sandbox"];

/// A meta policy without the directives browsers ignore in `<meta>`.
fn meta_policy(value: &str) -> String {
    value
        .split(';')
        .filter(|d| {
            let name = d
                .split_ascii_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_lowercase();
            !NOT_IN_META.contains(&name.as_str())
        })
        .collect::<Vec<_>>()
        .join(";")
}

/// The CSP outcome from the header policies and the `<meta http-equiv>` ones,
/// and whether the header's `frame-ancestors` protects against framing.
pub(super) fn evaluate(
    header: &[&str],
    meta: &[&str],
    report_only: bool,
    https: bool,
) -> (&'static str, bool, String) {
    let meta: Vec<String> = meta
        .iter()
        .map(|m| meta_policy(m))
        .filter(|m| !m.trim().is_empty())
        .collect();
    let mut values: Vec<&str> = header.to_vec();
    values.extend(meta.iter().map(String::as_str));
    let values = values.as_slice();
    if values.is_empty() {
        let outcome = if report_only {
            "csp-not-implemented-but-reporting-enabled"
        } else {
            "csp-not-implemented"
        };
        return (outcome, false, "no Content-Security-Policy header".into());
    }
    let Some(csp) = parse(values) else {
        return (
            "csp-header-invalid",
            false,
            format!("cannot parse {:?}", values.join(", ")),
        );
    };
    if csp.is_empty() {
        return (
            "csp-header-invalid",
            false,
            "empty Content-Security-Policy".into(),
        );
    }
    let star: BTreeSet<String> = ["*".to_string()].into();
    let get = |d: &str| csp.get(d).cloned();
    let default = get("default-src");
    let mut script = get("script-src")
        .or_else(|| default.clone())
        .unwrap_or_else(|| star.clone());
    let mut style = get("style-src")
        .or_else(|| default.clone())
        .unwrap_or_else(|| star.clone());
    let object = get("object-src")
        .or_else(|| default.clone())
        .unwrap_or_else(|| star.clone());
    // frame-ancestors only counts from the header.
    let frame_ancestors = parse(header)
        .and_then(|p| p.get("frame-ancestors").cloned())
        .unwrap_or_else(|| star.clone());
    let mut outcome: Option<&'static str> = None;
    for list in [&mut script, &mut style] {
        if nonce_or_hash(list) {
            list.remove("'unsafe-inline'");
        }
    }
    if script.contains("'strict-dynamic'") {
        if nonce_or_hash(&script) {
            script.retain(|s| {
                !(BROAD.iter().any(|b| s.starts_with(b)) || s == "'self'" || s == "'unsafe-inline'")
            });
        } else {
            outcome = Some("csp-header-invalid");
        }
    }
    let mut active: Vec<&String> = csp
        .iter()
        .filter(|(d, _)| *d != "img-src" && *d != "media-src" && *d != "script-src")
        .flat_map(|(_, s)| s.iter())
        .collect();
    active.extend(script.iter());
    let passive: Vec<String> = ["img-src", "media-src"]
        .iter()
        .flat_map(|d| {
            csp.get(*d)
                .or(default.as_ref())
                .cloned()
                .unwrap_or_default()
        })
        .collect();
    let insecure = |s: &str| s.starts_with("http:") || s.starts_with("ftp:");
    let mut set = |o: &'static str| {
        if outcome.is_none() {
            outcome = Some(o)
        }
    };
    if script.iter().any(|s| broad_or_inline(s)) || object.iter().any(|s| broad(s)) {
        set("csp-implemented-with-unsafe-inline");
    }
    if https && active.iter().any(|s| insecure(s)) {
        set("csp-implemented-with-insecure-scheme");
    }
    if script.contains("'unsafe-eval'") || style.contains("'unsafe-eval'") {
        set("csp-implemented-with-unsafe-eval");
    }
    if https && passive.iter().any(|s| insecure(s)) {
        set("csp-implemented-with-insecure-scheme-in-passive-content-only");
    }
    if style.iter().any(|s| broad_or_inline(s)) {
        set("csp-implemented-with-unsafe-inline-in-style-src-only");
    }
    if default
        .as_ref()
        .is_some_and(|d| d.len() == 1 && d.contains("'none'"))
    {
        set("csp-implemented-with-no-unsafe-default-src-none");
    } else {
        set("csp-implemented-with-no-unsafe");
    }
    let anti_clickjacking = !frame_ancestors.iter().any(|s| broad(s));
    (
        outcome.unwrap_or("csp-implemented-with-no-unsafe"),
        anti_clickjacking,
        values.join(", "),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes() {
        let e = |v: &str| evaluate(&[v], &[], false, true).0;
        assert_eq!(
            e("default-src 'none'; form-action 'self'; frame-ancestors 'none'"),
            "csp-implemented-with-no-unsafe-default-src-none"
        );
        assert_eq!(e("default-src 'self'"), "csp-implemented-with-no-unsafe");
        assert_eq!(
            e("default-src 'self'; script-src 'self' 'unsafe-inline'"),
            "csp-implemented-with-unsafe-inline"
        );
        assert_eq!(
            e("default-src 'self'; script-src 'nonce-abc' 'unsafe-inline'"),
            "csp-implemented-with-no-unsafe"
        );
        assert_eq!(
            e("default-src 'self'; script-src 'self' 'unsafe-eval'"),
            "csp-implemented-with-unsafe-eval"
        );
        assert_eq!(
            e("default-src 'self'; style-src 'self' 'unsafe-inline'"),
            "csp-implemented-with-unsafe-inline-in-style-src-only"
        );
        assert_eq!(
            e("default-src 'self'; img-src http://cdn.example"),
            "csp-implemented-with-insecure-scheme-in-passive-content-only"
        );
        assert_eq!(
            e("default-src 'self' http://cdn.example"),
            "csp-implemented-with-insecure-scheme"
        );
        assert_eq!(
            e("upgrade-insecure-requests"),
            "csp-implemented-with-unsafe-inline"
        );
        assert_eq!(e("default-src 'self'; b@d x"), "csp-header-invalid");
        assert_eq!(
            evaluate(&[], &[], true, true).0,
            "csp-not-implemented-but-reporting-enabled"
        );
        assert!(
            evaluate(
                &["default-src 'self'; frame-ancestors 'none'"],
                &[],
                false,
                true
            )
            .1
        );
        assert!(!evaluate(&["default-src 'self'"], &[], false, true).1);
    }
}
