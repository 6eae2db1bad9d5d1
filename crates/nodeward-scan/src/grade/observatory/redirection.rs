//! The redirection test: plain HTTP must redirect to HTTPS on the same host first.

use super::exchange::{host_of, result, Exchange, Redirection};
use super::TestResult;

pub(super) fn redirection(x: &Exchange) -> TestResult {
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
