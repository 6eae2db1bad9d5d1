//! The headers part: fetch the URL, probe plain HTTP for redirection, and
//! score the response with the MDN HTTP Observatory (v2) rules.

use super::{finding, PartOutcome};
use crate::grade::observatory::{self, Exchange, PreloadList, Redirection, PROBE_ORIGIN};
use nodeward_probe::http::{self, Request, Response, Url};
use nodeward_probe::tls::{self, Roots};
use nodeward_probe::ProbeError;
use nodeward_report::{Severity, Status};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

const AREA: &str = "headers";
const DOCS: &str = "https://developer.mozilla.org/en-US/observatory/docs/tests_and_scoring";
const MAX_REDIRECTS: usize = 10;

/// Grades `url`; plain-HTTP redirection is judged on `http_port` of the same host.
/// `server_name` (SNI, Host header) defaults to the URL's host.
pub async fn run(
    url: &Url,
    server_name: Option<&str>,
    http_port: u16,
    roots: &Roots,
    preload: Option<&PreloadList>,
    timeout: Duration,
) -> PartOutcome {
    // Each request has its own deadline; redirect chains are capped as a whole too.
    let budget = timeout.saturating_mul(6);
    let work = grade(url, server_name, http_port, roots, preload, timeout);
    let result = match tokio::time::timeout(budget, work).await {
        Ok(r) => r,
        Err(_) => Err(ProbeError::timeout("grading the headers", budget)),
    };
    match result {
        Ok(o) => o,
        Err(e) => PartOutcome {
            findings: vec![finding(
                "HDR-000",
                AREA,
                "HTTP response available for grading",
                Severity::High,
                Status::Error,
                e.to_string(),
                "Make the URL answer HTTP requests within the timeout.",
                DOCS,
            )],
            json: json!({"score": null, "grade": null, "error": e.to_string()}),
        },
    }
}

fn limits(timeout: Duration) -> http::Limits {
    http::Limits {
        deadline: timeout,
        max_body_bytes: 512 * 1024,
        ..Default::default()
    }
}

fn request(url: Url, server_name: Option<&str>) -> Request {
    let mut r = Request::get(url);
    r.server_name = server_name.map(str::to_string);
    r.headers.push(("Origin".into(), PROBE_ORIGIN.into()));
    r
}

/// Fetches `url` and follows redirects; returns the final URL, the response and chain validity.
async fn fetch_following(
    url: &Url,
    server_name: Option<&str>,
    roots: &Roots,
    timeout: Duration,
) -> Result<(Url, Response, bool), ProbeError> {
    let verified = Arc::new(tls::client_config(roots, true, None)?);
    let lenient = Arc::new(tls::client_config(roots, false, None)?);
    let mut current = url.clone();
    let mut cert_valid = true;
    for _ in 0..=MAX_REDIRECTS {
        // The name override applies while the redirects stay on the first host.
        let name = server_name.filter(|_| current.host == url.host);
        let resp = if current.scheme == "https" {
            match http::fetch(
                &request(current.clone(), name),
                Some(verified.clone()),
                &limits(timeout),
            )
            .await
            {
                Ok(r) => r,
                Err(ProbeError::Tls(_)) => {
                    cert_valid = false;
                    http::fetch(
                        &request(current.clone(), name),
                        Some(lenient.clone()),
                        &limits(timeout),
                    )
                    .await?
                }
                Err(e) => return Err(e),
            }
        } else {
            http::fetch(&request(current.clone(), name), None, &limits(timeout)).await?
        };
        match (resp.status, resp.header("location")) {
            (300..=399, Some(loc)) => current = current.join(loc)?,
            _ => return Ok((current, resp, cert_valid)),
        }
    }
    Err(ProbeError::Protocol(format!(
        "more than {MAX_REDIRECTS} redirects from {url}"
    )))
}

/// Follows plain-HTTP redirects from `http://host:port/`.
async fn redirection(
    host: &str,
    server_name: Option<&str>,
    port: u16,
    roots: &Roots,
    timeout: Duration,
) -> Redirection {
    let Ok(mut current) = Url::parse(&format!(
        "http://{}:{port}/",
        if host.contains(':') {
            format!("[{host}]")
        } else {
            host.to_string()
        }
    )) else {
        return Redirection::NoHttp;
    };
    let verified = match tls::client_config(roots, true, None) {
        Ok(c) => Arc::new(c),
        Err(_) => return Redirection::NoHttp,
    };
    let mut visited = vec![current.to_string()];
    for hop in 0..=MAX_REDIRECTS {
        let cfg = (current.scheme == "https").then(|| verified.clone());
        let name = server_name.filter(|_| current.host == host);
        let resp = match http::fetch(&request(current.clone(), name), cfg, &limits(timeout)).await {
            Ok(r) => r,
            Err(ProbeError::Tls(_)) => return Redirection::InvalidCert,
            Err(_) if hop == 0 => return Redirection::NoHttp,
            Err(_) => break,
        };
        match (resp.status, resp.header("location")) {
            (300..=399, Some(loc)) => match current.join(loc) {
                Ok(next) => {
                    current = next;
                    visited.push(current.to_string());
                }
                Err(_) => break,
            },
            _ if hop == 0 => return Redirection::Missing,
            _ => break,
        }
    }
    Redirection::Chain(visited)
}

fn severity(modifier: i64) -> Severity {
    match modifier {
        i64::MIN..=-40 => Severity::High,
        -39..=-20 => Severity::Medium,
        -19..=-1 => Severity::Low,
        _ => Severity::Info,
    }
}

async fn grade(
    url: &Url,
    server_name: Option<&str>,
    http_port: u16,
    roots: &Roots,
    preload: Option<&PreloadList>,
    timeout: Duration,
) -> Result<PartOutcome, ProbeError> {
    let (final_url, resp, cert_valid) = fetch_following(url, server_name, roots, timeout).await?;
    let redirection = redirection(&url.host, server_name, http_port, roots, timeout).await;
    let host = server_name
        .filter(|_| final_url.host == url.host)
        .unwrap_or(&final_url.host)
        .to_string();
    let exchange = Exchange {
        https: final_url.scheme == "https",
        cert_valid,
        hsts_preloaded: preload.is_some_and(|p| p.contains(&host)),
        host,
        headers: resp.headers.clone(),
        body: String::from_utf8_lossy(&resp.body).into_owned(),
        redirection,
    };
    let results = observatory::run_all(&exchange);
    let score = observatory::score(&results);
    let mut findings = Vec::new();
    for (i, r) in results.iter().enumerate() {
        let status = if r.pass {
            Status::Pass
        } else if r.modifier < 0 {
            Status::Fail
        } else {
            Status::Warn
        };
        findings.push(finding(
            &format!("HDR-{:03}", i + 1),
            AREA,
            &format!("Observatory test {}", r.test),
            severity(r.modifier),
            status,
            format!("{} ({:+}): {}", r.outcome, r.modifier, r.evidence),
            remediation(r.test),
            DOCS,
        ));
    }
    let non_2xx = !(200..300).contains(&resp.status);
    if non_2xx {
        findings.push(finding(
            "HDR-011",
            AREA,
            "Graded URL answers 2xx",
            Severity::Info,
            Status::Warn,
            format!(
                "{final_url} answered {}; graded anyway (Observatory would refuse a non-2xx page)",
                resp.status
            ),
            "Give the scan the node API path that answers 2xx (e.g. https://host/api/info).",
            DOCS,
        ));
    }
    let tests: serde_json::Map<String, serde_json::Value> = results
        .iter()
        .map(|r| {
            (
                r.test.to_string(),
                json!(format!("{:+} {}", r.modifier, r.outcome)),
            )
        })
        .collect();
    Ok(PartOutcome {
        findings,
        json: json!({
            "score": score.score, "grade": score.grade, "url": final_url.to_string(), "status_code": resp.status,
            "bonus_counted": score.bonus_counted, "score_without_bonus": score.without_bonus,
            "arithmetic": score.arithmetic.join("; "), "tests": tests,
        }),
    })
}

fn remediation(test: &str) -> &'static str {
    match test {
        "content-security-policy" => "Send Content-Security-Policy: default-src 'none'; frame-ancestors 'none'; form-action 'none' (an API needs nothing else).",
        "cookies" => "Set Secure, HttpOnly (session cookies) and SameSite=Strict or Lax on every cookie.",
        "cross-origin-resource-sharing" => "Do not reflect arbitrary Origins together with Access-Control-Allow-Credentials: true.",
        "redirection" => "Redirect http:// to https:// on the same host first (301), then anywhere else.",
        "referrer-policy" => "Send Referrer-Policy: no-referrer (or strict-origin-when-cross-origin).",
        "strict-transport-security" => "Serve HTTPS with a valid certificate and Strict-Transport-Security: max-age=31536000.",
        "subresource-integrity" => "Load external scripts over https with integrity= attributes.",
        "x-content-type-options" => "Send X-Content-Type-Options: nosniff.",
        "x-frame-options" => "Send CSP frame-ancestors 'none' (or X-Frame-Options: DENY).",
        "cross-origin-resource-policy" => "Send Cross-Origin-Resource-Policy: same-origin.",
        _ => "",
    }
}
