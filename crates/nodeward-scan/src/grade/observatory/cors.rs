//! The CORS test: does the endpoint reflect any Origin with credentials?

use super::exchange::{result, Exchange};
use super::TestResult;

pub(super) fn cors(x: &Exchange) -> TestResult {
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
