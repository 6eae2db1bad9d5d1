//! End-to-end: security response headers, the backend's version banner
//! removed, and CORS for browser wallets, on proxied responses and on the
//! gateway's own refusals. The header set is graded by `nodeward scan`.

mod common_gateway;
mod common_scan;

use common_gateway::{curl_output, iri_config, raw_exchange, Backend, Gateway};
use common_scan::{http_response, Behaviour, RawServer, TestCa};
use std::collections::HashMap;

/// A backend that announces itself the way nodes do.
fn bannered_backend() -> RawServer {
    RawServer::start(Behaviour::Respond(http_response(
        "200 OK",
        &[
            ("Server", "IRI/1.8.6"),
            ("X-Powered-By", "Java/11"),
            ("Content-Type", "application/json"),
        ],
        r#"{"appName":"IRI"}"#,
    )))
}

/// curl with `-D -`: status and response headers (lowercase names).
fn head_of(args: &[&str]) -> (u16, HashMap<String, Vec<String>>) {
    let mut all = vec!["-D", "-", "-o", "/dev/null"];
    all.extend_from_slice(args);
    let out = curl_output(&all);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut status = 0;
    let mut headers: HashMap<String, Vec<String>> = HashMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("HTTP/") {
            status = rest
                .split_whitespace()
                .nth(1)
                .and_then(|s| s.parse().ok())
                .unwrap_or(0);
            headers.clear();
        } else if let Some((k, v)) = line.split_once(':') {
            headers
                .entry(k.trim().to_ascii_lowercase())
                .or_default()
                .push(v.trim().to_string());
        }
    }
    (status, headers)
}

fn iri_post(url: &str, body: &str, extra: &[&str]) -> (u16, HashMap<String, Vec<String>>) {
    let mut args = vec![
        "-H",
        "X-IOTA-API-Version: 1",
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        body,
    ];
    args.extend_from_slice(extra);
    args.push(url);
    head_of(&args)
}

fn one<'a>(h: &'a HashMap<String, Vec<String>>, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.first()).map(String::as_str)
}

const PRESET: [(&str, &str); 5] = [
    ("x-content-type-options", "nosniff"),
    (
        "content-security-policy",
        "default-src 'none'; frame-ancestors 'none'",
    ),
    ("referrer-policy", "no-referrer"),
    ("cross-origin-resource-policy", "same-origin"),
    ("x-frame-options", "DENY"),
];

#[test]
fn preset_headers_on_proxied_and_refused_responses_and_banner_removed() {
    let backend = bannered_backend();
    let backend_url = format!("http://127.0.0.1:{}", backend.port);
    let gw = Gateway::start(&iri_config("", "[route.response_headers]\n"), &backend_url);
    let (status, h) = iri_post(&gw.url(), r#"{"command":"getNodeInfo"}"#, &[]);
    assert_eq!(status, 200, "{h:?}");
    for (name, value) in PRESET {
        assert_eq!(
            one(&h, name),
            Some(value),
            "{name} on a proxied response: {h:?}"
        );
    }
    assert!(!h.contains_key("server"), "backend banner passed: {h:?}");
    assert!(!h.contains_key("x-powered-by"), "{h:?}");
    // HSTS only means something over TLS; plain listeners do not send it.
    assert!(!h.contains_key("strict-transport-security"), "{h:?}");

    // Refusals made by the gateway itself carry the same headers.
    let (status, h) = iri_post(&gw.url(), r#"{"command":"addNeighbors"}"#, &[]);
    assert_eq!(status, 403);
    for (name, value) in PRESET {
        assert_eq!(one(&h, name), Some(value), "{name} on a 403: {h:?}");
    }
    let (status, h) = iri_post(&gw.url(), "{not json", &[]);
    assert_eq!(status, 400);
    assert_eq!(one(&h, "x-frame-options"), Some("DENY"), "{h:?}");
    assert!(!h.contains_key("server"), "{h:?}");
    // Refused before a route was chosen (ambiguous path): the catch-all route's headers.
    let bad_path = format!("http://127.0.0.1:{}//x/../y", gw.port);
    let (status, h) = head_of(&["--path-as-is", "-d", "{}", &bad_path]);
    assert_eq!(status, 400, "{h:?}");
    for (name, value) in PRESET {
        assert_eq!(
            one(&h, name),
            Some(value),
            "{name} on a bad_path 400: {h:?}"
        );
    }
}

#[test]
fn without_the_table_responses_are_passed_as_they_are() {
    let backend = bannered_backend();
    let backend_url = format!("http://127.0.0.1:{}", backend.port);
    let gw = Gateway::start(&iri_config("", ""), &backend_url);
    let (status, h) = iri_post(&gw.url(), r#"{"command":"getNodeInfo"}"#, &[]);
    assert_eq!(status, 200);
    assert_eq!(one(&h, "server"), Some("IRI/1.8.6"), "{h:?}");
    assert!(!h.contains_key("content-security-policy"), "{h:?}");
}

#[test]
fn single_headers_override_or_leave_out_preset_values() {
    let backend = Backend::start();
    let gw = Gateway::start(
        &iri_config(
            "",
            "[route.response_headers]\nreferrer_policy = \"strict-origin\"\nframe_options = \"\"\nhide_server = false\n",
        ),
        &backend.url(),
    );
    let (status, h) = iri_post(&gw.url(), r#"{"command":"getNodeInfo"}"#, &[]);
    assert_eq!(status, 200);
    assert_eq!(one(&h, "referrer-policy"), Some("strict-origin"));
    assert!(!h.contains_key("x-frame-options"), "{h:?}");
    assert_eq!(one(&h, "x-content-type-options"), Some("nosniff"));

    let gw2 = Gateway::start(
        &iri_config(
            "",
            "[route.response_headers]\npreset = \"none\"\ncontent_type_options = \"nosniff\"\n",
        ),
        &backend.url(),
    );
    let (_, h) = iri_post(&gw2.url(), r#"{"command":"getNodeInfo"}"#, &[]);
    assert_eq!(one(&h, "x-content-type-options"), Some("nosniff"));
    assert!(!h.contains_key("content-security-policy"), "{h:?}");
}

#[test]
fn bad_header_settings_are_refused_by_config_check() {
    for (extra, expect) in [
        (
            "[route.response_headers]\nstrict_transport_security = \"includeSubDomains\"\n",
            "route[0].response_headers.strict_transport_security",
        ),
        (
            "[route.response_headers]\nreferrer_policy = \"no-referrer\\r\\nSet-Cookie: x=1\"\n",
            "route[0].response_headers.referrer_policy",
        ),
        (
            "[route.cors]\nallow_origins = [\"*\"]\nallow_credentials = true\n",
            "route[0].cors.allow_origins[0]",
        ),
        (
            "[route.cors]\nallow_origins = [\"wallet.example\"]\n",
            "not an origin",
        ),
        ("[route.response_headers]\nhsts = \"max-age=1\"\n", "hsts"),
    ] {
        let (code, err) = common_gateway::config_check(&iri_config("", extra));
        assert_eq!(code, Some(2), "{extra}: {err}");
        assert!(
            err.contains(expect),
            "{extra}: expected {expect:?} in {err}"
        );
    }
}

const TLS_HEADERS: &str = r#"
[gateway]
state_dir = "{state}"
access_log = "off"

[[listener]]
bind = "127.0.0.1:{port}"
tls = { cert = "CERT", key = "KEY" }

[admin]
bind = "127.0.0.1:{admin}"

[[upstream]]
name = "iri"
backends = ["{backend}"]

[[route]]
protocol = "iri"
upstream = "iri"
deny = ["addNeighbors"]

[route.response_headers]
preset = "json-api"
"#;

#[test]
fn json_api_preset_grades_a_plus_with_nodewards_scanner() {
    let backend = bannered_backend();
    let ca = TestCa::new();
    let certs = tempfile::tempdir().unwrap();
    let leaf = ca.leaf(&["localhost"], -1, 200);
    let cert = common_scan::write(certs.path(), "leaf.pem", &leaf.chain_pem);
    let key = common_scan::write(certs.path(), "leaf.key", &leaf.key_pem);
    let ca_file = common_scan::write(certs.path(), "ca.pem", &ca.pem());
    let template = TLS_HEADERS
        .replace("CERT", cert.to_str().unwrap())
        .replace("KEY", key.to_str().unwrap());
    let gw = Gateway::start(&template, &format!("http://127.0.0.1:{}", backend.port));

    // The proxied answer over TLS has HSTS too.
    let url = format!("https://localhost:{}/", gw.port);
    let resolve = format!("localhost:{}:127.0.0.1", gw.port);
    let (status, h) = iri_post(
        &url,
        r#"{"command":"getNodeInfo"}"#,
        &["--resolve", &resolve, "--cacert", ca_file.to_str().unwrap()],
    );
    assert_eq!(status, 200, "{h:?}");
    assert_eq!(
        one(&h, "strict-transport-security"),
        Some("max-age=63072000; includeSubDomains")
    );
    assert!(!h.contains_key("server"));

    // Grade the gateway's own answer to the scanner's GET (a 405 refusal).
    // Nothing listens on the plain-HTTP port given, so no redirect is needed.
    let closed = common_gateway::free_port();
    let out = std::process::Command::new(common_gateway::bin())
        .args(["scan", &url, "--only", "headers", "--format", "json"])
        .args(["--timeout", "3s", "--http-port", &closed.to_string()])
        .arg("--ca")
        .arg(&ca_file)
        .output()
        .unwrap();
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "scan output is not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let part = &report["parts"]["headers"];
    // 100 + 10 (CSP default-src 'none') + 5 (Referrer-Policy no-referrer)
    // + 5 (framing via frame-ancestors) + 10 (CORP same-origin) = 130.
    assert_eq!(part["grade"], "A+", "{part:#}");
    assert_eq!(part["score"], 130, "{part:#}");
    assert_eq!(out.status.code(), Some(0), "{report:#}");
}

const CORS: &str = r#"
[route.cors]
allow_origins = ["https://wallet.example", "http://localhost:8080"]
allow_credentials = true
allow_methods = ["POST"]
max_age = "5m"
"#;

#[test]
fn cors_answers_allowed_origins_only_and_preflights_stay_at_the_gateway() {
    let backend = Backend::start();
    let gw = Gateway::start(
        &iri_config(
            "",
            &format!("require_headers = [\"X-IOTA-API-Version\"]\n{CORS}"),
        ),
        &backend.url(),
    );
    let node_info = r#"{"command":"getNodeInfo"}"#;

    // An allowed origin gets its own origin back, with credentials and Vary.
    let (status, h) = iri_post(
        &gw.url(),
        node_info,
        &["-H", "Origin: https://wallet.example"],
    );
    assert_eq!(status, 200);
    assert_eq!(
        one(&h, "access-control-allow-origin"),
        Some("https://wallet.example")
    );
    assert_eq!(one(&h, "access-control-allow-credentials"), Some("true"));
    assert_eq!(one(&h, "vary"), Some("origin"), "{h:?}");

    // Any other origin gets no CORS grant (the browser blocks the page).
    let (status, h) = iri_post(
        &gw.url(),
        node_info,
        &["-H", "Origin: https://evil.example"],
    );
    assert_eq!(status, 200);
    assert!(!h.contains_key("access-control-allow-origin"), "{h:?}");
    assert!(!h.contains_key("access-control-allow-credentials"), "{h:?}");
    let forwarded = backend.count();
    assert_eq!(forwarded, 2);

    // Preflight from the wallet: answered by the gateway, never forwarded.
    let (status, h) = head_of(&[
        "-X",
        "OPTIONS",
        "-H",
        "Origin: https://wallet.example",
        "-H",
        "Access-Control-Request-Method: POST",
        "-H",
        "Access-Control-Request-Headers: content-type, x-iota-api-version",
        &gw.url(),
    ]);
    assert_eq!(status, 204, "{h:?}");
    assert_eq!(
        one(&h, "access-control-allow-origin"),
        Some("https://wallet.example")
    );
    assert_eq!(one(&h, "access-control-allow-methods"), Some("POST"));
    assert_eq!(
        one(&h, "access-control-allow-headers"),
        Some("content-type, x-iota-api-version")
    );
    assert_eq!(one(&h, "access-control-max-age"), Some("300"));

    // Preflight from another origin or for another method: refused.
    for (origin, method) in [
        ("https://evil.example", "POST"),
        ("https://wallet.example", "DELETE"),
    ] {
        let (status, h) = head_of(&[
            "-X",
            "OPTIONS",
            "-H",
            &format!("Origin: {origin}"),
            "-H",
            &format!("Access-Control-Request-Method: {method}"),
            &gw.url(),
        ]);
        assert_eq!(status, 403, "{origin} {method}");
        assert!(!h.contains_key("access-control-allow-methods"), "{h:?}");
        if origin.contains("evil") {
            assert!(!h.contains_key("access-control-allow-origin"), "{h:?}");
        }
    }
    assert_eq!(backend.count(), forwarded, "a preflight reached the node");
    assert_eq!(
        gw.metric("nodeward_rejections_total{reason=\"cors_denied\"}"),
        2.0,
        "{}",
        gw.metrics()
    );
}

#[test]
fn connections_refused_at_accept_carry_the_headers_too() {
    let backend = bannered_backend();
    let backend_url = format!("http://127.0.0.1:{}", backend.port);
    let gw = Gateway::start(
        &iri_config(
            "max_connections = 2\nheader_timeout = \"30s\"",
            "[route.response_headers]\n",
        ),
        &backend_url,
    );
    std::thread::sleep(std::time::Duration::from_millis(300));
    let held: Vec<std::net::TcpStream> = (0..2)
        .map(|_| std::net::TcpStream::connect(gw.addr()).unwrap())
        .collect();
    std::thread::sleep(std::time::Duration::from_millis(200));
    let reply = raw_exchange(gw.addr(), b"", std::time::Duration::from_secs(2));
    assert!(reply.starts_with("HTTP/1.1 503"), "{reply}");
    let lower = reply.to_ascii_lowercase();
    assert!(lower.contains("x-content-type-options: nosniff"), "{reply}");
    assert!(lower.contains("x-frame-options: deny"), "{reply}");
    drop(held);
}
