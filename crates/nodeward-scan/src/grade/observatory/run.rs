//! The ten Observatory tests, run in Observatory's order.

use super::exchange::{result, Exchange};
use super::{cookies, cors, csp, framing, hsts, redirection, referrer, sri, TestResult};

/// Runs every test in Observatory's order.
pub fn run_all(x: &Exchange) -> Vec<TestResult> {
    let (csp_result, frame_ancestors) = content_security_policy(x);
    let hsts = hsts::strict_transport_security(x);
    let hsts_ok = hsts.modifier >= 0;
    vec![
        csp_result,
        cookies::cookies(x, hsts_ok),
        cors::cors(x),
        redirection::redirection(x),
        referrer::referrer_policy(x),
        hsts,
        sri::subresource_integrity(x),
        framing::x_content_type_options(x),
        framing::x_frame_options(x, frame_ancestors),
        framing::cross_origin_resource_policy(x),
    ]
}

fn content_security_policy(x: &Exchange) -> (TestResult, bool) {
    let values = x.all("content-security-policy");
    let meta = x.http_equiv("content-security-policy");
    let meta: Vec<&str> = meta.iter().map(String::as_str).collect();
    let report_only = x.one("content-security-policy-report-only").is_some();
    let (outcome, fa, evidence) = csp::evaluate(&values, &meta, report_only, x.https);
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

#[cfg(test)]
mod unit {
    use super::super::exchange::Redirection;
    use super::super::hsts::hsts_max_age;
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
            hsts_preloaded: false,
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
    fn preloaded_hosts_get_the_hsts_bonus_and_six_months_is_180_days() {
        let mut x = ex(
            true,
            &[("Strict-Transport-Security", "max-age=15552000")],
            Redirection::NoHttp,
        );
        assert_eq!(
            run_all(&x)[5].outcome,
            "hsts-implemented-max-age-at-least-six-months"
        );
        x.headers[0].1 = "max-age=15551999".into();
        assert_eq!(
            run_all(&x)[5].outcome,
            "hsts-implemented-max-age-less-than-six-months"
        );
        x.headers[0].1 = "max-age=31536000, max-age=1".into();
        assert_eq!(run_all(&x)[5].outcome, "hsts-header-invalid");
        x.hsts_preloaded = true;
        let r = run_all(&x);
        assert_eq!((r[5].outcome, r[5].modifier), ("hsts-preloaded", 5));
    }

    #[test]
    fn meta_http_equiv_counts_for_csp_and_referrer_in_html() {
        let mut x = ex(true, &[("Content-Type", "text/html")], Redirection::NoHttp);
        x.body = r#"<head><meta http-equiv="Content-Security-Policy" content="default-src 'none'; frame-ancestors 'none'">
<meta http-equiv="referrer-policy" content="no-referrer"></head>"#
            .into();
        let r = run_all(&x);
        assert_eq!(
            r[0].outcome,
            "csp-implemented-with-no-unsafe-default-src-none"
        );
        assert_eq!(r[4].outcome, "referrer-policy-private");
        // frame-ancestors in <meta> is ignored by browsers, so no XFO bonus.
        assert_eq!(r[8].outcome, "x-frame-options-not-implemented");
        // Not HTML: the body is not read.
        x.headers[0].1 = "application/json".into();
        assert_eq!(run_all(&x)[0].outcome, "csp-not-implemented");
    }

    proptest::proptest! {
        /// Every test reads untrusted headers and bodies: none may panic.
        #[test]
        fn any_response_is_graded_without_panic(
            names in proptest::collection::vec(proptest::sample::select(vec![
                "Content-Security-Policy", "Set-Cookie", "Access-Control-Allow-Origin",
                "Access-Control-Allow-Credentials", "Referrer-Policy", "Strict-Transport-Security",
                "X-Content-Type-Options", "X-Frame-Options", "Cross-Origin-Resource-Policy",
                "Content-Type", "Content-Security-Policy-Report-Only"]), 0..8),
            values in proptest::collection::vec("\\PC{0,80}", 8),
            body in "\\PC{0,200}",
            https in proptest::bool::ANY,
        ) {
            let headers: Vec<(&str, &str)> = names.iter().zip(values.iter()).map(|(n, v)| (*n, v.as_str())).collect();
            let mut x = ex(https, &headers, Redirection::Chain(vec![values[0].clone(), values[1].clone()]));
            x.body = body;
            let r = run_all(&x);
            proptest::prop_assert_eq!(r.len(), 10);
            let s = score(&r);
            proptest::prop_assert!(s.score >= 0);
        }
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
