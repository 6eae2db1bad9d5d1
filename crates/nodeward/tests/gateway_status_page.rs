//! End-to-end: the gateway's status page (`/ui` on the admin listener) in
//! headless Chromium (Debian's `chromium`, driven over the DevTools pipe by
//! `status_page/cdp.py`), against a running gateway with a real backend, a
//! TLS listener, real bans and a real saved audit (`nodeward audit --save`);
//! and with curl: the login throttle, forged POSTs without the CSRF token,
//! a cookie from before a token rotation, missing and corrupt audit files.
//! Also `nodeward report` over the saved audit.
//!
//! Clients use other loopback addresses (curl --interface 127.0.0.N).

mod common_gateway;

use common_gateway::*;
use std::path::{Path, PathBuf};
use std::process::Command;

fn status_config(tls_port: u16) -> String {
    format!(
        r#"
[gateway]
state_dir = "{{state}}"
access_log = "stdout"

[gateway.autoban]
threshold = 3
window = "1m"
ban_for = "1h"

[[listener]]
bind = "127.0.0.1:{{port}}"

[[listener]]
bind = "127.0.0.1:{tls_port}"
tls = {{ cert = "cert.pem", key = "key.pem" }}

[admin]
bind = "127.0.0.1:{{admin}}"

[[upstream]]
name = "iri"
backends = ["{{backend}}"]
timeout = "5s"

[[route]]
protocol = "iri"
upstream = "iri"
deny = ["addNeighbors", "removeNeighbors", "getNeighbors", "attachToTangle", "interruptAttachingToTangle"]
max_body = "64KiB"
"#
    )
}

/// Starts the gateway with a self-signed certificate on its TLS listener.
fn start_gateway(backend: &Backend) -> Gateway {
    // The config names cert.pem/key.pem relative to itself: write them where
    // Gateway::start puts the config, by starting from a template dir.
    let tls_port = free_port();
    let certified = rcgen::generate_simple_self_signed(vec!["status.test".into()]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("key.pem");
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
    let template = status_config(tls_port)
        .replace("cert.pem", &cert.display().to_string())
        .replace("key.pem", &key.display().to_string());
    let gw = Gateway::start(&template, &backend.url());
    // Keep the certificate files for the gateway's lifetime.
    std::mem::forget(dir);
    gw
}

fn iri(gw: &Gateway, source: &str, command: &str) -> u16 {
    let body = format!(r#"{{"command":"{command}"}}"#);
    curl(&[
        "--interface",
        source,
        "-H",
        "X-IOTA-API-Version: 1",
        "--data-binary",
        &body,
        &gw.url(),
    ])
    .0
}

fn ui(gw: &Gateway) -> String {
    format!("http://127.0.0.1:{}", gw.admin_port)
}

/// Logs in with curl from `source`; returns the session cookie value.
fn curl_login(gw: &Gateway, source: &str, token: &str) -> Option<String> {
    let form = format!("token={token}");
    let out = curl_output(&[
        "--interface",
        source,
        "-D",
        "-",
        "-o",
        "/dev/null",
        "--data-urlencode",
        &form,
        &format!("{}/ui/login", ui(gw)),
    ]);
    let head = String::from_utf8_lossy(&out.stdout).into_owned();
    head.lines()
        .find_map(|l| {
            let l = l.trim();
            l.to_ascii_lowercase()
                .starts_with("set-cookie: nodeward_session=")
                .then(|| l["set-cookie: nodeward_session=".len()..].to_string())
        })
        .map(|rest| rest.split(';').next().unwrap_or("").to_string())
        .filter(|v| !v.is_empty())
}

fn get_ui(gw: &Gateway, cookie: &str) -> (u16, String) {
    let c = format!("nodeward_session={cookie}");
    curl(&["-b", &c, &format!("{}/ui", ui(gw))])
}

fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a csrf field") + 19;
    page[at..].split('"').next().unwrap().to_string()
}

fn ban_sources(gw: &Gateway) -> Vec<String> {
    let (status, body) = gw.admin("GET", "/bans");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["bans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["source"].as_str().unwrap().to_string())
        .collect()
}

fn save_audit(state: &Path) -> serde_json::Value {
    let out = Command::new(bin())
        .args(["audit", "--save", "--state-dir"])
        .arg(state)
        .args([
            "--only",
            "ssh,kernel",
            "--format",
            "json",
            "--fail-on",
            "critical",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "audit --save failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let path = state.join("audit/latest.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&path).unwrap().permissions().mode() & 0o777,
        0o600
    );
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

fn target_dir() -> PathBuf {
    // target/debug/nodeward -> target/
    Path::new(bin())
        .parent()
        .and_then(Path::parent)
        .unwrap()
        .to_path_buf()
}

#[test]
fn status_page_in_chromium_with_login_bans_csrf_and_token_rotation() {
    let backend = Backend::start();
    let gw = start_gateway(&backend);
    let token = gw.token();
    let state = gw.dir.path().to_path_buf();

    // Bad input first: the wrong-token throttle (from 127.0.0.2 only).
    for i in 0..5 {
        let (status, body) = curl(&[
            "--interface",
            "127.0.0.2",
            "--data-urlencode",
            "token=not-the-token-0000",
            &format!("{}/ui/login", ui(&gw)),
        ]);
        assert_eq!(status, 401, "attempt {i}: {body}");
        assert!(body.contains("Wrong token"), "{body}");
    }
    let right = format!("token={token}");
    let (status, body) = curl(&[
        "--interface",
        "127.0.0.2",
        "--data-urlencode",
        &right,
        &format!("{}/ui/login", ui(&gw)),
    ]);
    assert_eq!(
        status, 429,
        "the sixth attempt, even with the right token: {body}"
    );
    assert!(body.contains("Too many wrong tokens"), "{body}");
    // The token never travels in the URL: a GET with it logs nobody in.
    let (status, body) = curl(&[&format!("{}/ui?token={token}", ui(&gw))]);
    assert_eq!(status, 200);
    assert!(body.contains("id=\"login\""), "{body}");

    // Traffic, refusals and two bans (one automatic, one by the admin API).
    for _ in 0..5 {
        assert_eq!(iri(&gw, "127.0.0.1", "getNodeInfo"), 200);
    }
    for _ in 0..3 {
        assert_eq!(iri(&gw, "127.0.0.3", "addNeighbors"), 403);
    }
    assert_eq!(gw.admin("POST", "/bans?source=127.0.0.4&for=1h").0, 200);
    let mut bans = ban_sources(&gw);
    bans.sort();
    assert_eq!(bans, ["127.0.0.3", "127.0.0.4"]);

    // No audit saved yet: the page says so (checked with curl), then save one.
    let cookie = curl_login(&gw, "127.0.0.1", &token).expect("a session cookie");
    let (status, page) = get_ui(&gw, &cookie);
    assert_eq!(status, 200);
    assert!(page.contains("id=\"audit-missing\""), "{page}");
    std::fs::create_dir_all(state.join("audit")).unwrap();
    std::fs::write(state.join("audit/latest.json"), "{ not json").unwrap();
    let (status, page) = get_ui(&gw, &cookie);
    assert_eq!(status, 200, "a corrupt audit file must not break the page");
    assert!(page.contains("id=\"audit-error\""), "{page}");
    let audit = save_audit(&state);
    let failing: Vec<String> = audit["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "fail" || f["status"] == "error")
        .map(|f| f["id"].as_str().unwrap().to_string())
        .collect();

    // A forged POST: a valid session but no (or a wrong) CSRF token lifts nothing.
    let c = format!("nodeward_session={cookie}");
    let lift_url = format!("{}/ui/bans/lift", ui(&gw));
    let (status, body) = curl(&["-b", &c, "--data", "source=127.0.0.3", &lift_url]);
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("CSRF"), "{body}");
    let (status, _) = curl(&["-b", &c, "--data", "source=127.0.0.3&csrf=00ff", &lift_url]);
    assert_eq!(status, 403);
    // Without a session at all, even with a right-looking CSRF token.
    let (_, page) = get_ui(&gw, &cookie);
    let csrf = csrf_of(&page);
    let form = format!("source=127.0.0.3&csrf={csrf}");
    let (status, _) = curl(&["--data", &form, &lift_url]);
    assert_eq!(status, 401);
    assert_eq!(ban_sources(&gw).len(), 2, "a forged POST lifted a ban");

    // Chromium: login (after a wrong token), the page's facts, lift, logout.
    let profile = tempfile::tempdir().unwrap();
    let shots = target_dir().join("status-page");
    std::fs::create_dir_all(&shots).unwrap();
    let shot = shots.join("status-page.png");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/status_page/cdp.py");
    let out = Command::new("python3")
        .arg(&script)
        .arg("chromium")
        .arg(ui(&gw))
        .arg(&token)
        .arg("127.0.0.4")
        .arg(&shot)
        .arg(profile.path())
        .output()
        .expect("python3 runs");
    assert!(
        out.status.success(),
        "cdp.py failed: {}\nchromium log: {}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(profile.path().join("chromium.log")).unwrap_or_default()
    );
    let facts: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let before = &facts["before_login"];
    assert_eq!(before["login_form"], true, "{before}");
    assert_eq!(
        before["script"], "ran",
        "the nonce'd inline script runs: {before}"
    );
    let wrong = &facts["wrong_token"];
    assert_eq!(wrong["login_form"], true);
    assert!(
        wrong["message"].as_str().unwrap().contains("Wrong token"),
        "{wrong}"
    );

    let page = &facts["logged_in"];
    assert_eq!(page["login_form"], false, "{page}");
    assert_eq!(page["script"], "ran");
    assert_eq!(
        page["cookie_visible_to_script"], "",
        "the session cookie is HttpOnly"
    );
    assert_eq!(page["external_resources"], serde_json::json!([]), "{page}");
    assert_eq!(page["fits_phone"], true, "the page is wider than a phone");
    let backends = page["backends"].as_array().unwrap();
    assert_eq!(backends.len(), 1, "{page}");
    assert_eq!(backends[0]["pool"], "iri");
    assert_eq!(backends[0]["serving"], "true");
    assert!(
        backends[0]["latency"].as_str().unwrap().ends_with("ms"),
        "{page}"
    );
    let series = page["series"].as_array().unwrap();
    let get_node_info = series
        .iter()
        .find(|s| s["command"] == "getnodeinfo")
        .unwrap_or_else(|| panic!("no getnodeinfo line in the chart: {page}"));
    assert_eq!(get_node_info["total"], 5);
    assert!(page["chart_total"].as_u64().unwrap() >= 8, "{page}");
    assert_eq!(facts["legend_toggles"], "hidden");
    let refusals = page["refusals"].as_array().unwrap();
    assert!(
        refusals
            .iter()
            .any(|r| r["reason"] == "denied_command" && r["count"] == 3),
        "{page}"
    );
    let mut bans = page["bans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_str().unwrap().to_string())
        .collect::<Vec<_>>();
    bans.sort();
    assert_eq!(bans, ["127.0.0.3", "127.0.0.4"]);
    assert_eq!(page["lift_buttons"], 2);
    assert!(page["csrf_fields"]
        .as_array()
        .unwrap()
        .iter()
        .all(|n| n.as_u64() == Some(64)));
    let certs = page["certs"].as_array().unwrap();
    assert_eq!(certs.len(), 1, "{page}");
    assert!(certs[0]["error"].is_null(), "{page}");
    assert!(
        certs[0]["days_left"]
            .as_str()
            .unwrap()
            .parse::<i64>()
            .unwrap()
            > 0
    );
    assert!(
        certs[0]["subject"].as_str().unwrap().contains("rcgen"),
        "{page}"
    );
    assert_eq!(
        page["audit_score"].as_str().unwrap(),
        audit["score"]
            .as_i64()
            .map_or(String::new(), |s| s.to_string())
    );
    assert_eq!(page["audit_failing"], serde_json::json!(failing));
    let png = std::fs::read(&shot).unwrap();
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "screenshot"
    );

    // Lifting a ban through the page: gone from the gateway's ban table.
    let lifted = &facts["after_lift"];
    assert!(
        lifted["notice"].as_str().unwrap().contains("127.0.0.4"),
        "{lifted}"
    );
    assert_eq!(lifted["bans"], serde_json::json!(["127.0.0.3"]));
    assert_eq!(ban_sources(&gw), ["127.0.0.3"]);
    // Logged out: the login form, on the next load too.
    assert_eq!(facts["after_logout"]["login_form"], true);
    assert_eq!(facts["after_logout_reload"]["login_form"], true);

    // Token rotation: a new token file plus a reload ends older sessions.
    let (status, _) = get_ui(&gw, &cookie);
    assert_eq!(status, 200);
    let new_token = "rotated-token-0123456789abcdef";
    std::fs::write(state.join("admin.token"), format!("{new_token}\n")).unwrap();
    let auth = format!("Authorization: Bearer {token}");
    let (status, body) = curl(&["-X", "POST", "-H", &auth, &format!("{}/reload", ui(&gw))]);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("admin token rotated"), "{body}");
    let (status, page) = get_ui(&gw, &cookie);
    assert_eq!(status, 401, "a cookie from the old token: {page}");
    assert!(page.contains("no longer valid"), "{page}");
    let form = format!("source=127.0.0.3&csrf={csrf}");
    let (status, _) = curl(&["-b", &c, "--data", &form, &lift_url]);
    assert_eq!(status, 401);
    assert_eq!(ban_sources_with(&gw, new_token), ["127.0.0.3"]);
    assert!(
        curl_login(&gw, "127.0.0.1", &token).is_none(),
        "old token logs in"
    );
    let fresh = curl_login(&gw, "127.0.0.1", new_token).expect("the new token logs in");
    assert_eq!(get_ui(&gw, &fresh).0, 200);
    assert!(!gw.stderr().contains(new_token), "the token was logged");
}

fn ban_sources_with(gw: &Gateway, token: &str) -> Vec<String> {
    let auth = format!("Authorization: Bearer {token}");
    let (status, body) = curl(&["-H", &auth, &format!("{}/bans", ui(gw))]);
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["bans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["source"].as_str().unwrap().to_string())
        .collect()
}

#[test]
fn report_renders_saved_and_given_reports_into_one_page() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    // Nothing saved: a clear error.
    let out = Command::new(bin())
        .args(["report", "--state-dir"])
        .arg(&state)
        .arg("-o")
        .arg(dir.path().join("r.html"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nothing to report"));

    let audit = save_audit(&state);
    // A scan report given on the command line (a real scan of a loopback backend).
    let backend = Backend::start();
    let scan = dir.path().join("scan.json");
    let st = Command::new(bin())
        .args(["scan", "--only", "headers", "--format", "json"])
        .arg(backend.url())
        .output()
        .unwrap();
    assert!(
        st.status.code().is_some_and(|c| c <= 1),
        "scan: {}",
        String::from_utf8_lossy(&st.stderr)
    );
    std::fs::write(&scan, &st.stdout).unwrap();
    // A corrupt fim report in the state dir is left out with a note.
    std::fs::create_dir_all(state.join("fim")).unwrap();
    std::fs::write(state.join("fim/latest.json"), "[1,2").unwrap();
    let html = dir.path().join("r.html");
    let out = Command::new(bin())
        .args(["report", "--state-dir"])
        .arg(&state)
        .arg("--scan")
        .arg(&scan)
        .arg("-o")
        .arg(&html)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(page.contains("data-command=\"audit\""));
    assert!(page.contains("data-command=\"scan\""));
    assert!(
        page.contains("fim report"),
        "the corrupt fim report is noted"
    );
    assert!(
        !page.contains("<script src") && !page.contains("<link"),
        "self-contained"
    );
    let first_id = audit["findings"][0]["id"].as_str().unwrap();
    assert!(page.contains(first_id));
    // An explicit input that is not a report: exit 2, naming the file.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{}").unwrap();
    let out = Command::new(bin())
        .args(["report", "--audit"])
        .arg(&bad)
        .arg("-o")
        .arg(dir.path().join("r2.html"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.json"));
    assert!(!dir.path().join("r2.html").exists());
}
