//! The cookies test: Secure, HttpOnly (session cookies) and SameSite.

use super::exchange::{result, Exchange};
use super::TestResult;

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

pub(super) fn cookies(x: &Exchange, hsts: bool) -> TestResult {
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
