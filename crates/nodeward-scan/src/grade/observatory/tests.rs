//! The ten Observatory tests, each reading one exchange.

use super::{csp, modifier, TestResult};

/// What the headers part fetched: the graded response and how plain HTTP behaved.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// Whether the graded response came over HTTPS.
    pub https: bool,
    /// Whether the HTTPS certificate chain was valid (only meaningful when `https`).
    pub cert_valid: bool,
    /// Host name of the graded URL.
    pub host: String,
    /// Response headers, in order.
    pub headers: Vec<(String, String)>,
    /// Response body (possibly truncated).
    pub body: String,
    /// The HTTP-to-HTTPS redirection behaviour on port 80.
    pub redirection: Redirection,
}

/// How `http://host/` behaved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Redirection {
    /// Nothing listens on plain HTTP.
    NoHttp,
    /// Plain HTTP answered without redirecting to HTTPS; the URLs visited.
    Missing,
    /// Followed redirects: every URL visited, first is the http:// one.
    Chain(Vec<String>),
    /// A redirect target's certificate was invalid.
    InvalidCert,
}

impl Exchange {
    fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    fn one(&self, name: &str) -> Option<&str> {
        self.all(name).into_iter().next()
    }
}

fn result(
    test: &'static str,
    outcome: &'static str,
    pass: bool,
    evidence: impl Into<String>,
) -> TestResult {
    TestResult {
        test,
        outcome,
        modifier: modifier(outcome),
        pass,
        evidence: evidence.into(),
    }
}

/// Runs every test in Observatory's order.
pub fn run_all(x: &Exchange) -> Vec<TestResult> {
    let (csp_result, frame_ancestors) = content_security_policy(x);
    let hsts = strict_transport_security(x);
    let hsts_ok = hsts.modifier >= 0;
    vec![
        csp_result,
        cookies(x, hsts_ok),
        cors(x),
        redirection(x),
        referrer_policy(x),
        hsts,
        subresource_integrity(x),
        x_content_type_options(x),
        x_frame_options(x, frame_ancestors),
        cross_origin_resource_policy(x),
    ]
}

fn content_security_policy(x: &Exchange) -> (TestResult, bool) {
    let values = x.all("content-security-policy");
    let report_only = x.one("content-security-policy-report-only").is_some();
    let (outcome, fa, evidence) = csp::evaluate(&values, report_only, x.https);
    let pass = matches!(
        outcome,
        "csp-implemented-with-no-unsafe"
            | "csp-implemented-with-no-unsafe-default-src-none"
            | "csp-implemented-with-unsafe-inline-in-style-src-only"
            | "csp-implemented-with-insecure-scheme-in-passive-content-only"
    );
    (
        result("content-security-policy", outcome, pass, evidence),
        fa,
    )
}

struct Cookie {
    name: String,
    secure: bool,
    httponly: bool,
    samesite: Option<String>,
}

fn parse_cookie(v: &str) -> Option<Cookie> {
    let mut parts = v.split(';');
    let (name, _) = parts.next()?.split_once('=')?;
    let mut c = Cookie {
        name: name.trim().to_string(),
        secure: false,
        httponly: false,
        samesite: None,
    };
    for attr in parts {
        let (k, val) = attr
            .split_once('=')
            .map(|(k, v)| (k, v.trim()))
            .unwrap_or((attr, ""));
        match k.trim().to_ascii_lowercase().as_str() {
            "secure" => c.secure = true,
            "httponly" => c.httponly = true,
            "samesite" => c.samesite = Some(val.to_ascii_lowercase()),
            _ => {}
        }
    }
    Some(c)
}

/// Cookie outcomes from least to most severe: a later one replaces an earlier
/// one, never the other way round (Observatory's order, not the modifiers').
const COOKIE_GOODNESS: [&str; 7] = [
    "cookies-without-secure-flag-but-protected-by-hsts",
    "cookies-without-secure-flag",
    "cookies-session-without-secure-flag-but-protected-by-hsts",
    "cookies-samesite-flag-invalid",
    "cookies-anticsrf-without-samesite-flag",
    "cookies-session-without-httponly-flag",
    "cookies-session-without-secure-flag",
];

fn cookies(x: &Exchange, hsts: bool) -> TestResult {
    let cookies: Vec<Cookie> = x
        .all("set-cookie")
        .into_iter()
        .filter_map(parse_cookie)
        .filter(|c| !c.name.is_empty() && c.name != "heroku-session-affinity")
        .collect();
    if cookies.is_empty() {
        return result("cookies", "cookies-not-found", true, "no Set-Cookie header");
    }
    let rank = |o: &str| COOKIE_GOODNESS.iter().position(|g| *g == o).unwrap_or(0);
    let mut worst: Option<&'static str> = None;
    let mut consider = |o: &'static str| {
        if worst.is_none_or(|w| rank(o) > rank(w)) {
            worst = Some(o);
        }
    };
    let hsts = hsts && x.https;
    for c in &cookies {
        let lname = c.name.to_ascii_lowercase();
        let session = lname.contains("login") || lname.contains("sess");
        let anticsrf = lname.contains("csrf");
        match c.samesite.as_deref() {
            Some("strict" | "lax") => {}
            Some("none") if c.secure => {}
            Some(_) => consider("cookies-samesite-flag-invalid"),
            None if anticsrf => consider("cookies-anticsrf-without-samesite-flag"),
            None => {}
        }
        if !c.secure {
            consider(if hsts {
                "cookies-without-secure-flag-but-protected-by-hsts"
            } else {
                "cookies-without-secure-flag"
            });
            if session {
                consider(if hsts {
                    "cookies-session-without-secure-flag-but-protected-by-hsts"
                } else {
                    "cookies-session-without-secure-flag"
                });
            }
        }
        if session && !c.httponly {
            consider("cookies-session-without-httponly-flag");
        }
    }
    let names: Vec<&str> = cookies.iter().map(|c| c.name.as_str()).collect();
    let evidence = format!("cookies: {}", names.join(", "));
    match worst {
        Some(o) => result("cookies", o, false, evidence),
        None if cookies.iter().all(|c| c.samesite.is_some()) => result(
            "cookies",
            "cookies-secure-with-httponly-sessions-and-samesite",
            true,
            evidence,
        ),
        None => result(
            "cookies",
            "cookies-secure-with-httponly-sessions",
            true,
            evidence,
        ),
    }
}

fn cors(x: &Exchange) -> TestResult {
    match x.one("access-control-allow-origin").map(str::trim) {
        None => result(
            "cross-origin-resource-sharing",
            "cross-origin-resource-sharing-not-implemented",
            true,
            "no Access-Control-Allow-Origin",
        ),
        Some("*") => result(
            "cross-origin-resource-sharing",
            "cross-origin-resource-sharing-implemented-with-public-access",
            true,
            "Access-Control-Allow-Origin: *",
        ),
        Some(origin) => {
            let creds = x
                .one("access-control-allow-credentials")
                .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
            if origin == super::PROBE_ORIGIN && creds {
                result(
                    "cross-origin-resource-sharing",
                    "cross-origin-resource-sharing-implemented-with-universal-access",
                    false,
                    format!("reflects any Origin ({origin}) with credentials"),
                )
            } else {
                result(
                    "cross-origin-resource-sharing",
                    "cross-origin-resource-sharing-implemented-with-restricted-access",
                    true,
                    format!("Access-Control-Allow-Origin: {origin}"),
                )
            }
        }
    }
}

fn host_of(url: &str) -> Option<(String, String)> {
    let (scheme, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host = authority
        .rsplit_once(':')
        .map(|(h, _)| h)
        .unwrap_or(authority);
    Some((
        scheme.to_ascii_lowercase(),
        host.trim_matches(['[', ']']).to_ascii_lowercase(),
    ))
}

fn redirection(x: &Exchange) -> TestResult {
    const T: &str = "redirection";
    match &x.redirection {
        Redirection::NoHttp => result(
            T,
            "redirection-not-needed-no-http",
            true,
            "nothing answers on plain HTTP",
        ),
        Redirection::Missing => result(
            T,
            "redirection-missing",
            false,
            "plain HTTP answers without redirecting to HTTPS",
        ),
        Redirection::InvalidCert => result(
            T,
            "redirection-invalid-cert",
            false,
            "invalid certificate on the redirect target",
        ),
        Redirection::Chain(urls) => {
            let evidence = urls.join(" -> ");
            let hops: Vec<(String, String)> = urls.iter().filter_map(|u| host_of(u)).collect();
            let final_https = hops.last().is_some_and(|(s, _)| s == "https");
            let first = hops.get(1);
            if !final_https {
                result(T, "redirection-not-to-https", false, evidence)
            } else if first.is_some_and(|(s, _)| s != "https") {
                result(
                    T,
                    "redirection-not-to-https-on-initial-redirection",
                    false,
                    evidence,
                )
            } else if first.is_some_and(|(_, h)| Some(h) != hops.first().map(|(_, h0)| h0)) {
                result(T, "redirection-off-host-from-http", false, evidence)
            } else {
                result(T, "redirection-to-https", true, evidence)
            }
        }
    }
}

fn referrer_policy(x: &Exchange) -> TestResult {
    const T: &str = "referrer-policy";
    let values = x.all("referrer-policy");
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

fn strict_transport_security(x: &Exchange) -> TestResult {
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
    match hsts_max_age(v) {
        None => result(T, "hsts-header-invalid", false, evidence),
        Some(age) if age >= 15_768_000 => result(
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

fn script_tags(body: &str) -> Vec<(Option<String>, bool)> {
    let lower = body.to_ascii_lowercase();
    let mut out = Vec::new();
    let mut pos = 0;
    while let Some(i) = lower[pos..].find("<script") {
        let start = pos + i;
        let Some(end) = lower[start..].find('>') else {
            break;
        };
        let tag = &body[start..start + end];
        let src = attr(tag, "src");
        let integrity = attr(tag, "integrity").is_some();
        out.push((src, integrity));
        pos = start + end;
        if out.len() > 10_000 {
            break;
        }
    }
    out
}

fn attr(tag: &str, name: &str) -> Option<String> {
    let lower = tag.to_ascii_lowercase();
    let mut from = 0;
    while let Some(i) = lower[from..].find(name) {
        let at = from + i;
        let before_ok = at > 0 && lower.as_bytes()[at - 1].is_ascii_whitespace();
        let rest = lower[at + name.len()..].trim_start();
        if before_ok && rest.starts_with('=') {
            let raw = tag[tag.len() - rest.len() + 1..].trim_start();
            let value = if let Some(q) = raw.chars().next().filter(|c| *c == '"' || *c == '\'') {
                raw[1..].split(q).next().unwrap_or("")
            } else {
                raw.split(|c: char| c.is_whitespace() || c == '>')
                    .next()
                    .unwrap_or("")
            };
            return Some(value.to_string());
        }
        from = at + name.len();
    }
    None
}

fn subresource_integrity(x: &Exchange) -> TestResult {
    const T: &str = "subresource-integrity";
    let html = x
        .one("content-type")
        .is_some_and(|c| c.to_ascii_lowercase().contains("html"));
    if !html {
        return result(
            T,
            "sri-not-implemented-response-not-html",
            true,
            "response is not HTML",
        );
    }
    let scripts: Vec<(String, bool)> = script_tags(&x.body)
        .into_iter()
        .filter_map(|(s, i)| s.map(|s| (s, i)))
        .collect();
    if scripts.is_empty() {
        return result(
            T,
            "sri-not-implemented-but-no-scripts-loaded",
            true,
            "no external script tags",
        );
    }
    let mut any_sri = false;
    let mut external_secure_all_sri = true;
    let mut external_insecure = false;
    let mut any_external = false;
    for (src, integrity) in &scripts {
        any_sri |= integrity;
        let same_origin = match host_of(src) {
            Some((_, h)) => h == x.host.to_ascii_lowercase(),
            None => !src.starts_with("//"),
        };
        if same_origin {
            continue;
        }
        any_external = true;
        let secure = src.to_ascii_lowercase().starts_with("https://");
        if !secure {
            external_insecure = true;
        }
        if !integrity {
            external_secure_all_sri = false;
        }
    }
    let evidence = format!(
        "{} script(s), {} external",
        scripts.len(),
        if any_external { "some" } else { "none" }
    );
    if !any_external {
        return if any_sri {
            result(
                T,
                "sri-implemented-and-all-scripts-loaded-securely",
                true,
                evidence,
            )
        } else {
            result(
                T,
                "sri-not-implemented-but-all-scripts-loaded-from-secure-origin",
                true,
                evidence,
            )
        };
    }
    match (external_insecure, external_secure_all_sri) {
        (true, true) => result(
            T,
            "sri-implemented-but-external-scripts-not-loaded-securely",
            false,
            evidence,
        ),
        (true, false) => result(
            T,
            "sri-not-implemented-and-external-scripts-not-loaded-securely",
            false,
            evidence,
        ),
        (false, true) => result(
            T,
            "sri-implemented-and-external-scripts-loaded-securely",
            true,
            evidence,
        ),
        (false, false) => result(
            T,
            "sri-not-implemented-but-external-scripts-loaded-securely",
            false,
            evidence,
        ),
    }
}

fn x_content_type_options(x: &Exchange) -> TestResult {
    const T: &str = "x-content-type-options";
    match x.one("x-content-type-options") {
        None => result(
            T,
            "x-content-type-options-not-implemented",
            false,
            "no X-Content-Type-Options header",
        ),
        Some(v) if v.trim().eq_ignore_ascii_case("nosniff") => {
            result(T, "x-content-type-options-nosniff", true, "nosniff")
        }
        Some(v) => result(
            T,
            "x-content-type-options-header-invalid",
            false,
            format!("X-Content-Type-Options: {v}"),
        ),
    }
}

fn x_frame_options(x: &Exchange, frame_ancestors: bool) -> TestResult {
    const T: &str = "x-frame-options";
    if frame_ancestors {
        return result(
            T,
            "x-frame-options-implemented-via-csp",
            true,
            "CSP frame-ancestors restricts framing",
        );
    }
    match x
        .one("x-frame-options")
        .map(|v| v.trim().to_ascii_lowercase())
    {
        None => result(
            T,
            "x-frame-options-not-implemented",
            false,
            "no X-Frame-Options header",
        ),
        Some(v) if v == "deny" || v == "sameorigin" => result(
            T,
            "x-frame-options-sameorigin-or-deny",
            true,
            format!("X-Frame-Options: {v}"),
        ),
        Some(v) if v.starts_with("allow-from ") => result(
            T,
            "x-frame-options-allow-from-origin",
            true,
            format!("X-Frame-Options: {v}"),
        ),
        Some(v) => result(
            T,
            "x-frame-options-header-invalid",
            false,
            format!("X-Frame-Options: {v}"),
        ),
    }
}

fn cross_origin_resource_policy(x: &Exchange) -> TestResult {
    const T: &str = "cross-origin-resource-policy";
    match x
        .one("cross-origin-resource-policy")
        .map(|v| v.trim().to_ascii_lowercase())
    {
        None => result(
            T,
            "cross-origin-resource-policy-not-implemented",
            true,
            "no Cross-Origin-Resource-Policy header",
        ),
        Some(v) if v == "same-origin" => result(
            T,
            "cross-origin-resource-policy-implemented-with-same-origin",
            true,
            v,
        ),
        Some(v) if v == "same-site" => result(
            T,
            "cross-origin-resource-policy-implemented-with-same-site",
            true,
            v,
        ),
        Some(v) if v == "cross-origin" => result(
            T,
            "cross-origin-resource-policy-implemented-with-cross-origin",
            true,
            v,
        ),
        Some(v) => result(T, "cross-origin-resource-policy-header-invalid", false, v),
    }
}

#[cfg(test)]
mod unit {
    use super::super::score;
    use super::*;

    fn ex(https: bool, headers: &[(&str, &str)], redirection: Redirection) -> Exchange {
        Exchange {
            https,
            cert_valid: true,
            host: "node.example".into(),
            headers: headers
                .iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect(),
            body: String::new(),
            redirection,
        }
    }

    #[test]
    fn bare_http_server_scores_zero() {
        // -25 CSP, -20 redirection, -20 HSTS, -5 XCTO, -20 XFO = 10 -> F
        let s = score(&run_all(&ex(
            false,
            &[("Content-Type", "text/plain")],
            Redirection::Missing,
        )));
        assert_eq!((s.score, s.grade), (10, "F"), "{:#?}", s.arithmetic);
    }

    #[test]
    fn hardened_https_api_gets_a_plus_with_extra_credit() {
        let headers = [
            ("Content-Type", "application/json"),
            (
                "Content-Security-Policy",
                "default-src 'none'; frame-ancestors 'none'; form-action 'none'",
            ),
            (
                "Strict-Transport-Security",
                "max-age=63072000; includeSubDomains",
            ),
            ("X-Content-Type-Options", "nosniff"),
            ("Referrer-Policy", "no-referrer"),
            ("Cross-Origin-Resource-Policy", "same-origin"),
        ];
        let chain = Redirection::Chain(vec![
            "http://node.example/".into(),
            "https://node.example/".into(),
        ]);
        // 100 +10 CSP +5 referrer +5 XFO via CSP +10 CORP = 130
        let s = score(&run_all(&ex(true, &headers, chain)));
        assert_eq!((s.score, s.grade), (130, "A+"), "{:#?}", s.arithmetic);
    }

    #[test]
    fn short_hsts_and_session_cookie() {
        let headers = [
            ("Content-Security-Policy", "default-src 'self'"),
            ("Strict-Transport-Security", "max-age=300"),
            ("X-Content-Type-Options", "nosniff"),
            ("X-Frame-Options", "DENY"),
            ("Set-Cookie", "sessionid=abc; Secure; Path=/"),
        ];
        // 100 +5 CSP (not counted) -10 HSTS -30 session cookie without HttpOnly = 60 (C+)
        let s = score(&run_all(&ex(true, &headers, Redirection::NoHttp)));
        assert_eq!(
            (s.score, s.grade, s.bonus_counted),
            (60, "C+", false),
            "{:#?}",
            s.arithmetic
        );
    }

    #[test]
    fn sri_and_redirect_cases() {
        let mut x = ex(
            true,
            &[("Content-Type", "text/html")],
            Redirection::Chain(vec![
                "http://node.example/".into(),
                "http://node.example/x".into(),
                "https://node.example/".into(),
            ]),
        );
        x.body = r#"<html><script src="http://cdn.other/x.js"></script><script src="/local.js"></script>"#.into();
        let r = run_all(&x);
        assert_eq!(
            r[3].outcome,
            "redirection-not-to-https-on-initial-redirection"
        );
        assert_eq!(
            r[6].outcome,
            "sri-not-implemented-and-external-scripts-not-loaded-securely"
        );
        x.body = r#"<script integrity="sha384-x" src='https://cdn.other/x.js'></script>"#.into();
        assert_eq!(
            run_all(&x)[6].outcome,
            "sri-implemented-and-external-scripts-loaded-securely"
        );
        x.redirection = Redirection::Chain(vec![
            "http://node.example/".into(),
            "https://www.node.example/".into(),
        ]);
        assert_eq!(run_all(&x)[3].outcome, "redirection-off-host-from-http");
    }

    #[test]
    fn cookie_outcomes_follow_observatory_order() {
        let cookie = |v: &'static str| {
            let mut x = ex(true, &[("Set-Cookie", v)], Redirection::NoHttp);
            x.headers.push((
                "Strict-Transport-Security".into(),
                "max-age=31536000".into(),
            ));
            run_all(&x)[1].outcome
        };
        assert_eq!(
            cookie("id=1; Secure; SameSite=Lax"),
            "cookies-secure-with-httponly-sessions-and-samesite"
        );
        assert_eq!(
            cookie("id=1; Secure"),
            "cookies-secure-with-httponly-sessions"
        );
        assert_eq!(
            cookie("id=1; SameSite=None"),
            "cookies-samesite-flag-invalid"
        );
        assert_eq!(
            cookie("id=1; Secure; SameSite=Bogus"),
            "cookies-samesite-flag-invalid"
        );
        assert_eq!(
            cookie("id=1"),
            "cookies-without-secure-flag-but-protected-by-hsts"
        );
        assert_eq!(
            cookie("sessionid=1; HttpOnly"),
            "cookies-session-without-secure-flag-but-protected-by-hsts"
        );
        assert_eq!(
            cookie("csrftoken=1; Secure"),
            "cookies-anticsrf-without-samesite-flag"
        );
        assert_eq!(cookie("heroku-session-affinity=1"), "cookies-not-found");
    }

    #[test]
    fn hsts_parsing() {
        assert_eq!(
            hsts_max_age("max-age=31536000; includeSubDomains"),
            Some(31536000)
        );
        assert_eq!(hsts_max_age("max-age=\"10\""), Some(10));
        assert_eq!(hsts_max_age("includeSubDomains"), None);
        assert_eq!(hsts_max_age("max-age=abc"), None);
        assert_eq!(hsts_max_age("max-age=1; max-age=2"), None);
    }
}
