//! What the headers part fetched, as the tests read it, and the result builder.

use super::{modifier, TestResult};

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
    /// The host is on the HSTS preload list (when one was given).
    pub hsts_preloaded: bool,
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
    /// Every value of header `name` (case-insensitive), in order.
    pub(super) fn all(&self, name: &str) -> Vec<&str> {
        self.headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The `content` of `<meta http-equiv="name">` tags, for HTML responses only.
    pub(super) fn http_equiv(&self, name: &str) -> Vec<String> {
        let html = self
            .one("content-type")
            .is_some_and(|c| c.to_ascii_lowercase().contains("html"));
        if html {
            super::html::http_equiv(&self.body, name)
        } else {
            Vec::new()
        }
    }

    /// The first value of header `name`.
    pub(super) fn one(&self, name: &str) -> Option<&str> {
        self.all(name).into_iter().next()
    }
}

pub(super) fn result(
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

pub(super) fn host_of(url: &str) -> Option<(String, String)> {
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
