//! X-Content-Type-Options, X-Frame-Options and Cross-Origin-Resource-Policy.

use super::exchange::{result, Exchange};
use super::TestResult;

pub(super) fn x_content_type_options(x: &Exchange) -> TestResult {
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

pub(super) fn x_frame_options(x: &Exchange, frame_ancestors: bool) -> TestResult {
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

pub(super) fn cross_origin_resource_policy(x: &Exchange) -> TestResult {
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
