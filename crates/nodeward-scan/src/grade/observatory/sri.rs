//! The subresource integrity test: how external scripts are loaded.

use super::exchange::{host_of, result, Exchange};
use super::html;
use super::TestResult;

fn script_tags(body: &str) -> Vec<(Option<String>, bool)> {
    html::tags(body, "script")
        .into_iter()
        .map(|tag| {
            (
                html::attr(tag, "src"),
                html::attr(tag, "integrity").is_some(),
            )
        })
        .collect()
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
