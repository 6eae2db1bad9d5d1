//! End-to-end: the gateway's command policy against a real backend, driven by curl.

mod common_gateway;
use common_gateway::*;

#[test]
fn allowed_commands_reach_the_node_unchanged() {
    let backend = Backend::start();
    let gw = Gateway::start(&iri_config("", ""), &backend.url());
    let body = r#"{"command":"getNodeInfo"}"#;
    let (status, reply) = post(&gw.url(), body);
    assert_eq!(status, 200, "{reply}");
    assert!(reply.contains("test-backend"));
    let got = backend.last();
    assert_eq!(got.body_str(), body);
    assert_eq!(got.header("x-forwarded-for"), Some("127.0.0.1"));
    assert_eq!(got.header("x-forwarded-proto"), Some("http"));
    // A denied name elsewhere in the body is not the command.
    let (status, _) = post(
        &gw.url(),
        r#"{"command":"getNodeInfo","note":"getNeighbors"}"#,
    );
    assert_eq!(status, 200);
}

#[test]
fn denied_commands_get_403_in_every_spelling_and_never_reach_the_node() {
    let backend = Backend::start();
    let gw = Gateway::start(&iri_config("", ""), &backend.url());
    let spellings = [
        r#"{"command":"addNeighbors","uris":["tcp://evil:15600"]}"#,
        r#"{"command":"removeNeighbors"}"#,
        r#"{"command":"getNeighbors"}"#,
        r#"{"command":"attachToTangle"}"#,
        r#"{"command":"interruptAttachingToTangle"}"#,
        "{ \"command\" :\n \"AddNEIGHBORS\" }",
        r#"{"command":"\u0061ddNeighbors"}"#,
        r#"{"\u0063ommand":"getNeighbors"}"#,
        r#"{"COMMAND":"attachToTangle"}"#,
    ];
    for body in spellings {
        let (status, reply) = post(&gw.url(), body);
        assert_eq!(status, 403, "{body} -> {reply}");
        let v: serde_json::Value = serde_json::from_str(&reply).unwrap();
        assert_eq!(v["reason"], "denied_command", "{reply}");
        assert!(v["error"].is_string());
    }
    // After 40 KB of padding the command is still found.
    let padded = format!(
        r#"{{"pad":"{}","command":"addNeighbors"}}"#,
        "x".repeat(40_000)
    );
    assert_eq!(post(&gw.url(), &padded).0, 403);
    // Chunked bodies are read whole too.
    let (status, _) = curl(&[
        "-H",
        "X-IOTA-API-Version: 1",
        "-H",
        "Transfer-Encoding: chunked",
        "--data-binary",
        r#"{"command":"getNeighbors"}"#,
        &gw.url(),
    ]);
    assert_eq!(status, 403);
    assert_eq!(
        backend.count(),
        0,
        "a denied command reached the node: {:?}",
        backend.bodies()
    );
    assert!(gw.metric("nodeward_rejections_total{reason=\"denied_command\"}") >= 11.0);
}

#[test]
fn spellings_a_lenient_parser_reads_differently_are_refused() {
    let backend = Backend::start();
    let gw = Gateway::start(&iri_config("", ""), &backend.url());
    let cases = [
        (
            r#"{"command":"getNodeInfo","command":"addNeighbors"}"#,
            "bad_command",
        ),
        (
            r#"{"command":"getNodeInfo","Command":"addNeighbors"}"#,
            "bad_command",
        ),
        (r#"{command:"addNeighbors"}"#, "bad_json"),
        (r#"{'command':'addNeighbors'}"#, "bad_json"),
        (r#"{"command":"addNeighbors"/*c*/}"#, "bad_json"),
        (r#"{"command"="addNeighbors"}"#, "bad_json"),
        (
            r#"{"command":"getNodeInfo"}{"command":"addNeighbors"}"#,
            "bad_json",
        ),
        (r#"{"command":"addNe\u0131ghbors"}"#, "bad_command"),
        (r#"{"command":"addNeighbors\u0000"}"#, "bad_command"),
        (r#"{"command":["addNeighbors"]}"#, "bad_command"),
        (r#"{"command":42}"#, "bad_command"),
        (r#"{"x":1}"#, "missing_command"),
        (r#"[{"command":"getNodeInfo"}]"#, "bad_json"),
        ("{\"command\":", "bad_json"),
    ];
    for (body, reason) in cases {
        let (status, reply) = post(&gw.url(), body);
        assert_eq!(status, 400, "{body} -> {reply}");
        assert!(reply.contains(reason), "{body} -> {reply}");
    }
    let deep = format!("{}{}", "[".repeat(10_000), "]".repeat(10_000));
    let (status, reply) = post(&gw.url(), &deep);
    assert_eq!(status, 400);
    assert!(reply.contains("json_too_deep"), "{reply}");
    assert_eq!(backend.count(), 0);
}

#[test]
fn oversized_bodies_get_413_before_reaching_the_node() {
    let backend = Backend::start();
    let gw = Gateway::start(&iri_config("", ""), &backend.url());
    let big = format!(
        r#"{{"command":"getNodeInfo","pad":"{}"}}"#,
        "x".repeat(70_000)
    );
    let file = gw.dir.path().join("big.json");
    std::fs::write(&file, &big).unwrap();
    let at_file = format!("@{}", file.display());
    let (status, reply) = curl(&[
        "-H",
        "X-IOTA-API-Version: 1",
        "--data-binary",
        &at_file,
        &gw.url(),
    ]);
    assert_eq!(status, 413, "{reply}");
    assert!(reply.contains("body_too_large"));
    let (status, _) = curl(&[
        "-H",
        "X-IOTA-API-Version: 1",
        "-H",
        "Transfer-Encoding: chunked",
        "--data-binary",
        &at_file,
        &gw.url(),
    ]);
    assert_eq!(status, 413);
    // A 100 MB body declared up front is refused without being read.
    let raw = raw_exchange(
        gw.addr(),
        b"POST / HTTP/1.1\r\nhost: x\r\ncontent-length: 104857600\r\n\r\n{\"command\":",
        std::time::Duration::from_secs(5),
    );
    assert_eq!(statuses(&raw), vec![413], "{raw}");
    assert_eq!(backend.count(), 0);
}

#[test]
fn per_ip_rate_limit_answers_429_and_trusted_sources_bypass_it() {
    let backend = Backend::start();
    let gw = Gateway::start(&iri_config("", "per_ip_rate = \"5/10s\""), &backend.url());
    let codes: Vec<u16> = (0..8)
        .map(|_| post(&gw.url(), r#"{"command":"getNodeInfo"}"#).0)
        .collect();
    assert_eq!(codes, vec![200, 200, 200, 200, 200, 429, 429, 429]);
    assert_eq!(backend.count(), 5);
    let (_, reply) = post(&gw.url(), r#"{"command":"getNodeInfo"}"#);
    assert!(reply.contains("rate_limited"));

    let backend2 = Backend::start();
    let trusted = Gateway::start(
        &iri_config("trusted = [\"127.0.0.0/8\"]", "per_ip_rate = \"5/10s\""),
        &backend2.url(),
    );
    let codes: Vec<u16> = (0..8)
        .map(|_| post(&trusted.url(), r#"{"command":"getNodeInfo"}"#).0)
        .collect();
    assert!(codes.iter().all(|&c| c == 200), "{codes:?}");
}

#[test]
fn per_command_rates_global_and_per_ip() {
    let backend = Backend::start();
    let extra = r#"
[[route.command]]
name = "getTips"
rate = "2/min"

[[route.command]]
name = "getBalances"
per_ip_rate = "3/min"
"#;
    let gw = Gateway::start(&iri_config("", extra), &backend.url());
    let tips: Vec<u16> = (0..4)
        .map(|_| post(&gw.url(), r#"{"command":"GETTIPS"}"#).0)
        .collect();
    assert_eq!(tips, vec![200, 200, 429, 429]);
    let bal: Vec<u16> = (0..5)
        .map(|_| post(&gw.url(), r#"{"command":"getBalances"}"#).0)
        .collect();
    assert_eq!(bal, vec![200, 200, 200, 429, 429]);
    // Other commands keep flowing.
    assert_eq!(post(&gw.url(), r#"{"command":"getNodeInfo"}"#).0, 200);
}

#[test]
fn allow_list_required_headers_and_ip_lists() {
    let backend = Backend::start();
    let extra = r#"
allow = ["getNodeInfo", "getTips"]
require_headers = ["X-IOTA-API-Version"]
"#;
    let gw = Gateway::start(&iri_config("", extra), &backend.url());
    assert_eq!(post(&gw.url(), r#"{"command":"getNodeInfo"}"#).0, 200);
    assert_eq!(post(&gw.url(), r#"{"command":"findTransactions"}"#).0, 403);
    let (status, reply) = curl(&["--data-binary", r#"{"command":"getNodeInfo"}"#, &gw.url()]);
    assert_eq!(status, 400);
    assert!(reply.contains("missing_header"), "{reply}");
    let (status, reply) = curl(&["-H", "X-IOTA-API-Version: 1", &gw.url()]);
    assert_eq!(status, 405, "GET on an IRI route: {reply}");

    let denied = Gateway::start(
        &iri_config("", "deny_ips = [\"127.0.0.0/8\", \"::1\"]"),
        &backend.url(),
    );
    let (status, reply) = post(&denied.url(), r#"{"command":"getNodeInfo"}"#);
    assert_eq!(status, 403);
    assert!(reply.contains("ip_denied"));

    // Refused at accept time: the connection is closed without an answer.
    let at_accept = Gateway::start(
        &iri_config("deny_ips = [\"127.0.0.1\"]", ""),
        &backend.url(),
    );
    let (status, _) = post(&at_accept.url(), r#"{"command":"getNodeInfo"}"#);
    assert_eq!(status, 0);
    assert_eq!(
        backend.count(),
        1,
        "only the first allowed request reached the node"
    );
}

#[test]
fn access_log_and_metrics_record_command_status_and_reason() {
    let backend = Backend::start();
    let gw = Gateway::start(&iri_config("", ""), &backend.url());
    post(&gw.url(), r#"{"command":"getNodeInfo"}"#);
    post(&gw.url(), r#"{"command":"addNeighbors"}"#);
    let lines = gw.wait_log_lines(2);
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert_eq!(lines[0]["command"], "getnodeinfo");
    assert_eq!(lines[0]["status"], 200);
    assert_eq!(lines[0]["client_ip"], "127.0.0.1");
    assert_eq!(lines[0]["upstream"], "iri");
    assert!(lines[0]["duration_ms"].as_f64().unwrap() > 0.0);
    assert!(lines[0]["ts"].as_str().unwrap().ends_with('Z'));
    assert_eq!(lines[1]["status"], 403);
    assert_eq!(lines[1]["reason"], "denied_command");
    let m = gw.metrics();
    assert!(
        m.contains("nodeward_requests_total{command=\"getnodeinfo\",class=\"2xx\"} 1"),
        "{m}"
    );
    assert!(m.contains(
        "nodeward_command_rejections_total{command=\"addneighbors\",reason=\"denied_command\"} 1"
    ));
    assert!(m.contains("nodeward_request_duration_seconds_count{command=\"getnodeinfo\"} 1"));
}
