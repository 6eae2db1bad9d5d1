//! End-to-end: request bodies in the access log, per route, capped, with
//! secrets redacted at any depth and never logged in the clear — not even
//! from refused or malformed requests.

mod common_gateway;

use common_gateway::*;

const CAPTURE: &str = r#"
[route.log_body]
max = "256"
redact = ["trunkTransaction"]
"#;

/// The logged line whose body mentions `marker`.
fn line_with<'a>(lines: &'a [serde_json::Value], marker: &str) -> &'a serde_json::Value {
    lines
        .iter()
        .find(|l| l["body"].as_str().is_some_and(|b| b.contains(marker)))
        .unwrap_or_else(|| panic!("no logged body contains {marker:?}: {lines:#?}"))
}

#[test]
fn bodies_are_logged_with_secrets_redacted_and_capped() {
    let backend = Backend::start();
    let gw = Gateway::start(&iri_config("", CAPTURE), &backend.url());
    let secrets = [
        "SEEDSECRET9",
        "SIGNATURESECRET9",
        "TRUNKSECRET9",
        "ESCAPEDSEEDSECRET9",
        "DENIEDSEEDSECRET9",
        "BADJSONSECRET9",
    ];
    let calls: Vec<(String, u16)> = vec![
        (
            r#"{"command":"getBalances","addresses":["ADDRESSNINE9"],"threshold":100}"#.into(),
            200,
        ),
        (
            format!(
                r#"{{"command":"getNodeInfo","seed":"{}","nested":{{"params":[{{"Signature":"{}"}}]}},"trunkTransaction":"{}"}}"#,
                secrets[0], secrets[1], secrets[2]
            ),
            200,
        ),
        (
            format!(r#"{{"command":"getTips","s\u0065ed":"{}"}}"#, secrets[3]),
            200,
        ),
        (
            format!(r#"{{"command":"addNeighbors","SEED":"{}"}}"#, secrets[4]),
            403,
        ),
        (
            format!(r#"{{"command":"getNodeInfo","seed":"{}""#, secrets[5]),
            400,
        ),
        (
            format!(
                r#"{{"command":"getTrytes","hashes":["{}"]}}"#,
                "H".repeat(400)
            ),
            200,
        ),
    ];
    for (body, want) in &calls {
        let (status, out) = post(&gw.url(), body);
        assert_eq!(status, *want, "{body}: {out}");
    }
    let lines = gw.wait_log_lines(calls.len());
    assert_eq!(lines.len(), calls.len(), "{lines:#?}");

    // The command and ordinary arguments are there: which call did what.
    let balances = line_with(&lines, "ADDRESSNINE9");
    assert_eq!(balances["command"], "getbalances");
    assert!(balances["body"]
        .as_str()
        .unwrap()
        .contains("\"threshold\":100"));

    // Configured and built-in secret fields are redacted at any depth and any spelling.
    let info = line_with(&lines, "nested");
    let body = info["body"].as_str().unwrap();
    assert_eq!(body.matches("[redacted]").count(), 3, "{body}");
    let tips = line_with(&lines, "getTips");
    assert!(
        tips["body"].as_str().unwrap().contains("[redacted]"),
        "{tips}"
    );

    // Refused requests are logged with their reason, still redacted.
    let denied = line_with(&lines, "addNeighbors");
    assert_eq!(denied["reason"], "denied_command");
    assert!(denied["body"].as_str().unwrap().contains("[redacted]"));
    // A body whose command cannot be read is described, never copied.
    let bad = lines.iter().find(|l| l["reason"] == "bad_json").unwrap();
    assert!(
        bad["body"]
            .as_str()
            .unwrap()
            .starts_with("[not logged: command unreadable"),
        "{bad}"
    );

    // Capped.
    let trytes = line_with(&lines, "getTrytes");
    let body = trytes["body"].as_str().unwrap();
    assert!(
        body.ends_with("...[truncated]") && body.len() <= 256 + 14,
        "{body}"
    );

    // No secret anywhere in the access log or the diagnostic log.
    let raw = std::fs::read_to_string(gw.dir.path().join("access.log")).unwrap();
    for s in secrets {
        assert!(!raw.contains(s), "{s} was logged: {raw}");
        assert!(!gw.stderr().contains(s), "{s} in stderr");
    }
    // The node still received the request unchanged.
    assert!(backend.bodies().iter().any(|b| b.contains(secrets[0])));
}

const RPC: &str = r#"
[gateway]
state_dir = "{state}"
access_log = "stdout"

[[listener]]
bind = "127.0.0.1:{port}"

[[upstream]]
name = "geth"
backends = ["{backend}"]

[[route]]
protocol = "jsonrpc"
upstream = "geth"
deny = ["personal_*", "admin_*"]

[route.log_body]
omit = ["eth_sendRawTransaction"]
"#;

#[test]
fn positional_secrets_are_never_logged() {
    let backend = Backend::start();
    let gw = Gateway::start(RPC, &backend.url());
    let rpc = |body: &str| curl(&["--data-binary", body, &gw.url()]).0;
    // geth's personal_unlockAccount takes the password as a bare array element.
    assert_eq!(
        rpc(
            r#"{"jsonrpc":"2.0","id":1,"method":"personal_unlockAccount","params":["0xabc","HUNTER2PASSWORD",600]}"#
        ),
        403
    );
    // Bitcoin Core's walletpassphrase likewise (allowed here, still omitted).
    assert_eq!(
        rpc(
            r#"{"jsonrpc":"2.0","id":2,"method":"walletpassphrase","params":["WALLETPASSPHRASE9",60]}"#
        ),
        200
    );
    // A configured command.
    assert_eq!(
        rpc(
            r#"{"jsonrpc":"2.0","id":3,"method":"eth_sendRawTransaction","params":["0xRAWTXSECRET"]}"#
        ),
        200
    );
    assert_eq!(
        rpc(r#"{"jsonrpc":"2.0","id":4,"method":"eth_blockNumber","params":[]}"#),
        200
    );
    let lines = gw.wait_log_lines(4);
    assert_eq!(lines.len(), 4);
    let raw = std::fs::read_to_string(gw.dir.path().join("access.log")).unwrap();
    for secret in ["HUNTER2PASSWORD", "WALLETPASSPHRASE9", "0xRAWTXSECRET"] {
        assert!(!raw.contains(secret), "{secret} logged: {raw}");
    }
    assert_eq!(raw.matches("[omitted: ").count(), 3, "{raw}");
    assert!(line_with(&lines, "eth_blockNumber")["body"]
        .as_str()
        .unwrap()
        .contains("\"params\":[]"));
}

#[test]
fn routes_without_capture_log_no_body() {
    let backend = Backend::start();
    let gw = Gateway::start(&iri_config("", ""), &backend.url());
    assert_eq!(
        post(&gw.url(), r#"{"command":"getNodeInfo","seed":"X"}"#).0,
        200
    );
    let lines = gw.wait_log_lines(1);
    assert_eq!(lines.len(), 1);
    assert!(lines[0].get("body").is_none(), "{}", lines[0]);
}

#[test]
fn bad_capture_settings_are_refused_by_config_check() {
    for (extra, expect) in [
        (
            "[route.log_body]\nmax = \"1MiB\"\n",
            "route[0].log_body.max",
        ),
        (
            "[route.log_body]\nredact = [\"\"]\n",
            "route[0].log_body.redact[0]",
        ),
        ("[route.log_body]\nmaxx = \"1KiB\"\n", "maxx"),
    ] {
        let (code, err) = config_check(&iri_config("", extra));
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains(expect), "expected {expect:?} in {err}");
    }
}
