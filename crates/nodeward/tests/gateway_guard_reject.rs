//! End-to-end: regex rejects on the decoded path, on header values and on
//! the decoded string arguments of the JSON body.

mod common_gateway;

use common_gateway::*;

const REJECT: &str = r#"
[route.reject]
path = ['(?i)/\.git', '/wp-admin']
headers = { "User-Agent" = '(?i)sqlmap|nikto' }
args = ['\$\{jndi:', '(?i)<script']
"#;

#[test]
fn paths_headers_and_decoded_arguments_are_rejected_by_pattern() {
    let backend = Backend::start();
    let gw = Gateway::start(&iri_config("", REJECT), &backend.url());
    let ok = r#"{"command":"getBalances","addresses":["ABC"],"threshold":100}"#;
    assert_eq!(post(&gw.url(), ok).0, 200);

    let url_git = format!("{}%2E%67it/config", gw.url());
    let (status, body) = post(&url_git, ok);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("rejected_pattern"), "{body}");

    let (status, body) = curl(&[
        "-H",
        "X-IOTA-API-Version: 1",
        "-A",
        "sqlmap/1.7",
        "--data-binary",
        ok,
        &gw.url(),
    ]);
    assert_eq!(status, 403, "{body}");

    // Arguments are matched after JSON decoding, at any depth, keys included.
    for body in [
        r#"{"command":"getBalances","addresses":["${jndi:ldap://x}"]}"#,
        r#"{"command":"getBalances","addresses":["\u0024{jndi:ldap://x}"]}"#,
        r#"{"command":"getBalances","tips":{"deep":[{"x":"<SCRIPT>alert(1)"}]}}"#,
        r#"{"command":"getBalances","<script>":1}"#,
    ] {
        let (status, out) = post(&gw.url(), body);
        assert_eq!(status, 403, "{body}: {out}");
        assert!(out.contains("rejected_pattern"), "{out}");
    }
    assert_eq!(backend.count(), 1, "{:?}", backend.bodies());
    assert!(gw.metric("nodeward_rejections_total{reason=\"rejected_pattern\"}") >= 6.0);
}

#[test]
fn bad_patterns_are_refused_by_config_check() {
    for (extra, expect) in [
        (
            "[route.reject]\npath = ['(unclosed']\n",
            "route[0].reject.path[0]",
        ),
        (
            "[route.reject]\nargs = ['ok', 'a{99999999}']\n",
            "route[0].reject.args[1]",
        ),
        (
            "[route.reject]\nheaders = { \"Bad Header\" = 'x' }\n",
            "route[0].reject.headers.Bad Header",
        ),
    ] {
        let (code, err) = config_check(&iri_config("", extra));
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains(expect), "expected {expect:?} in {err}");
    }
}
