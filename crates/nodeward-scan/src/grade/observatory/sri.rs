//! The subresource integrity test: how external scripts are loaded.

use super::exchange::{host_of, result, Exchange};
use super::TestResult;

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

pub(super) fn subresource_integrity(x: &Exchange) -> TestResult {
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
