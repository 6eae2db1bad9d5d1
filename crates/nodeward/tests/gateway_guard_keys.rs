//! End-to-end: API keys. `nodeward keys generate|hash`, 401 for missing,
//! unknown or malformed keys, 403 for a key without the command, commands
//! reachable only with a key, per-key rate and in-flight caps, and keys never
//! forwarded to the node nor written to any log.

mod common_gateway;

use common_gateway::*;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

/// Runs `nodeward keys <args>` with `stdin`; returns (exit code, stdout, stderr).
fn keys(args: &[&str], stdin: &[u8]) -> (i32, String, String) {
    let mut child = Command::new(bin())
        .arg("keys")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    // The child may stop reading early (absurd input): ignore the broken pipe.
    let writer = std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    let _ = writer.join();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn new_key() -> String {
    let (code, out, err) = keys(&["generate"], b"");
    assert_eq!(code, 0, "{err}");
    out.trim().to_string()
}

/// The `hash = "..."` line for `key`, as an operator would paste it.
fn hash_line(key: &str) -> String {
    let (code, out, err) = keys(&["hash"], format!("{key}\n").as_bytes());
    assert_eq!(code, 0, "{err}");
    out.trim().to_string()
}

#[test]
fn keys_hash_reads_stdin_prints_a_salted_hash_and_refuses_bad_keys() {
    let key = new_key();
    assert_eq!(key.len(), 64);
    assert!(key.bytes().all(|b| b.is_ascii_hexdigit()), "{key}");
    assert_ne!(key, new_key());

    let line = hash_line(&key);
    let hash = line
        .strip_prefix("hash = \"sha256:")
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or_else(|| panic!("unexpected line {line:?}"));
    let (salt, digest) = hash.split_once(':').unwrap();
    assert_eq!((salt.len(), digest.len()), (32, 64), "{line}");
    assert!(!line.contains(&key));
    // Salted: the same key hashes differently every time.
    assert_ne!(hash_line(&key), line);

    let huge = vec![b'a'; 10 * 1024 * 1024];
    for (input, expect) in [
        (b"short\n".to_vec(), "16 to 256 characters"),
        (
            "ключ-ключ-ключ-ключ-ключ\n".as_bytes().to_vec(),
            "visible ASCII",
        ),
        (b"has a space inside it\n".to_vec(), "visible ASCII"),
        (b"\n".to_vec(), "16 to 256 characters"),
        (huge, "16 to 256 characters"),
    ] {
        let (code, out, err) = keys(&["hash"], &input);
        assert_eq!(code, 2, "{err}");
        assert!(out.is_empty(), "{out}");
        assert!(err.contains(expect), "{err}");
    }
    // The key is never an argument (it would show in the process list).
    let (code, _, err) = keys(&["hash", &key], b"");
    assert_eq!(code, 2, "{err}");
}

const KEYS_TEMPLATE: &str = r#"
[gateway]
state_dir = "{state}"
access_log = "stdout"

[[listener]]
bind = "127.0.0.1:{port}"

[admin]
bind = "127.0.0.1:{admin}"

[[upstream]]
name = "iri"
backends = ["{backend}"]
timeout = "5s"

[[route]]
protocol = "iri"
upstream = "iri"
deny = ["addNeighbors", "removeNeighbors"]

[route.auth]
key_only = ["attachToTangle", "interruptAttachingToTangle"]

[[route.key]]
name = "wallet"
WALLET
commands = ["getNodeInfo", "attachToTangle", "getTransactionsToApprove"]
max_inflight = 1

[[route.key]]
name = "reader"
READER
commands = ["getNodeInfo"]
rate = "3/min"
"#;

fn call(gw: &Gateway, body: &str, auth: Option<&str>) -> (u16, String) {
    let mut args = vec![
        "-H".to_string(),
        "X-IOTA-API-Version: 1".to_string(),
        "--data-binary".to_string(),
        body.to_string(),
    ];
    if let Some(a) = auth {
        args.push("-H".into());
        args.push(a.to_string());
    }
    args.push(gw.url());
    let refs: Vec<&str> = args.iter().map(String::as_str).collect();
    curl(&refs)
}

#[test]
fn keys_get_401_403_key_only_commands_and_own_limits() {
    let wallet = new_key();
    let reader = new_key();
    let backend = Backend::start();
    let template = KEYS_TEMPLATE
        .replace("WALLET", &hash_line(&wallet))
        .replace("READER", &hash_line(&reader));
    let gw = Gateway::start(&template, &backend.url());
    let info = r#"{"command":"getNodeInfo"}"#;
    let attach = r#"{"command":"attachToTangle","trunkTransaction":"A"}"#;
    let bearer = |k: &str| format!("Authorization: Bearer {k}");

    // Without a key: ordinary commands pass, key-only ones do not.
    assert_eq!(call(&gw, info, None).0, 200);
    let (status, body) = call(&gw, attach, None);
    assert_eq!(status, 401, "{body}");
    assert!(
        body.contains("auth_failed") && body.contains("needs an API key"),
        "{body}"
    );

    // Unknown, malformed, absurd or wrongly presented keys: 401 before any node contact.
    let seen = backend.count();
    let unknown = new_key();
    let long = "k".repeat(4000);
    for auth in [
        bearer(&unknown),
        bearer("short"),
        bearer("has\tcontrol-characters-in-it"),
        bearer(&long),
        format!("Authorization: Basic {wallet}"),
        format!("Authorization: {wallet}"),
        format!("Authorization: Bearer {wallet}x"),
    ] {
        let (status, body) = call(&gw, info, Some(&auth));
        assert_eq!(status, 401, "{auth}: {body}");
        assert!(body.contains("auth_failed"), "{body}");
        assert!(!body.contains(&wallet), "the key was echoed: {body}");
    }
    // Non-ASCII bytes in the header value, sent raw.
    let raw = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nX-IOTA-API-Version: 1\r\nAuthorization: Bearer \u{043a}\u{043b}\u{044e}\u{0447}-\u{043a}\u{043b}\u{044e}\u{0447}-0123456789\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{info}",
        info.len()
    );
    let answer = {
        use std::io::Read;
        // No half-close: the gateway (hyper) treats EOF from the client as gone.
        let mut s = std::net::TcpStream::connect(gw.addr()).unwrap();
        s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
        s.write_all(raw.as_bytes()).unwrap();
        let mut out = Vec::new();
        let _ = s.read_to_end(&mut out);
        String::from_utf8_lossy(&out).into_owned()
    };
    assert_eq!(statuses(&answer), vec![401], "{answer}");
    assert_eq!(backend.count(), seen, "a refused key reached the node");

    // The wallet reaches attachToTangle; the node never sees the key.
    let (status, body) = call(&gw, attach, Some(&bearer(&wallet)));
    assert_eq!(status, 200, "{body}");
    let got = backend.last();
    assert!(got.body_str().contains("attachToTangle"));
    assert_eq!(
        got.header("authorization"),
        None,
        "key forwarded: {:?}",
        got.headers
    );
    // The scheme is case-insensitive.
    assert_eq!(
        call(&gw, info, Some(&format!("Authorization: bearer {wallet}"))).0,
        200
    );

    // A key without the command: 403, even for a key-only command.
    let (status, body) = call(&gw, attach, Some(&bearer(&reader)));
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("denied_command"), "{body}");
    // The route's deny list binds keyed callers too.
    let (status, _) = call(&gw, r#"{"command":"addNeighbors"}"#, Some(&bearer(&wallet)));
    assert_eq!(status, 403);

    // The reader's own rate (3/min; the 403 above used none of it).
    for _ in 0..3 {
        assert_eq!(call(&gw, info, Some(&bearer(&reader))).0, 200);
    }
    let (status, body) = call(&gw, info, Some(&bearer(&reader)));
    assert_eq!(status, 429, "{body}");
    // ... while the wallet and anonymous callers are unaffected.
    assert_eq!(call(&gw, info, Some(&bearer(&wallet))).0, 200);
    assert_eq!(call(&gw, info, None).0, 200);

    // The wallet's in-flight cap (1): a slow call holds it, the next gets 503 at once.
    let url = gw.url();
    let wallet_header = bearer(&wallet);
    let slow = std::thread::spawn(move || {
        curl(&[
            "-H",
            "X-IOTA-API-Version: 1",
            "-H",
            &wallet_header,
            "--data-binary",
            r#"{"command":"getNodeInfo","slow":1500}"#,
            &url,
        ])
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while !backend.bodies().iter().any(|b| b.contains("slow")) {
        assert!(
            std::time::Instant::now() < deadline,
            "slow call never arrived"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let (status, body) = call(&gw, info, Some(&bearer(&wallet)));
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("inflight_cap"), "{body}");
    assert_eq!(
        call(&gw, info, None).0,
        200,
        "anonymous callers share no cap with the key"
    );
    assert_eq!(slow.join().unwrap().0, 200);

    // Counted, and no key in any log.
    assert!(gw.metric("nodeward_rejections_total{reason=\"auth_failed\"}") >= 9.0);
    let log = std::fs::read_to_string(gw.dir.path().join("access.log")).unwrap();
    assert!(log.contains("\"auth_failed\""), "{log}");
    for secret in [&wallet, &reader, &unknown] {
        assert!(!log.contains(secret.as_str()), "a key is in the access log");
        assert!(
            !gw.stderr().contains(secret.as_str()),
            "a key is in the diagnostic log"
        );
    }
}

const REQUIRED_TEMPLATE: &str = r#"
[gateway]
state_dir = "{state}"
access_log = "off"

[[listener]]
bind = "127.0.0.1:{port}"

[[upstream]]
name = "rpc"
backends = ["{backend}"]

[[route]]
protocol = "jsonrpc"
upstream = "rpc"

[route.auth]
header = "X-API-Key"
required = true

[[route.key]]
name = "ops"
HASH
"#;

#[test]
fn a_custom_header_and_required_keys() {
    let key = new_key();
    let backend = Backend::start();
    let gw = Gateway::start(
        &REQUIRED_TEMPLATE.replace("HASH", &hash_line(&key)),
        &backend.url(),
    );
    let body = r#"{"jsonrpc":"2.0","id":7,"method":"eth_blockNumber"}"#;
    let post_with = |extra: &[&str]| {
        let mut args = vec!["--data-binary", body];
        args.extend_from_slice(extra);
        let url = gw.url();
        args.push(&url);
        curl(&args)
    };
    let (status, out) = post_with(&[]);
    assert_eq!(status, 401, "{out}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    // Refused before the body is read, so the id is not known yet (null, as JSON-RPC allows).
    assert_eq!(v["id"], serde_json::Value::Null);
    assert_eq!(v["error"]["code"], -32000);
    assert_eq!(v["error"]["data"]["reason"], "auth_failed");
    // A bearer token is not the configured header.
    assert_eq!(
        post_with(&["-H", &format!("Authorization: Bearer {key}")]).0,
        401
    );
    let header = format!("X-API-Key: {key}");
    assert_eq!(post_with(&["-H", &header]).0, 200);
    assert_eq!(backend.last().header("x-api-key"), None);
    assert_eq!(backend.count(), 1);
}

#[test]
fn bad_key_settings_are_refused_by_config_check() {
    let good = hash_line(&new_key());
    for (template, expect) in [
        (
            KEYS_TEMPLATE
                .replace("WALLET", "hash = \"sha256:00:11\"")
                .replace("READER", &good),
            "route[0].key[0].hash",
        ),
        (
            KEYS_TEMPLATE
                .replace("WALLET", &good)
                .replace("READER", &good),
            "configured twice",
        ),
        (
            KEYS_TEMPLATE
                .replace(
                    "deny = [\"addNeighbors\", \"removeNeighbors\"]",
                    "deny = [\"attachToTangle\"]",
                )
                .replace("WALLET", &good)
                .replace("READER", &hash_line(&new_key())),
            "route[0].auth.key_only[0]",
        ),
        (
            REQUIRED_TEMPLATE.replace("[[route.key]]\nname = \"ops\"\nHASH", ""),
            "needs at least one [[route.key]]",
        ),
    ] {
        let (code, err) = config_check(&template);
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains(expect), "expected {expect:?} in {err}");
    }
}
