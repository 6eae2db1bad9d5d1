//! End-to-end: reload (SIGHUP and POST /reload), bad reloads keeping the
//! running config, draining on SIGTERM, admin token protection, config check.

mod common_gateway;
use common_gateway::*;
use std::process::Command;
use std::thread;
use std::time::{Duration, Instant};

fn rewrite_config(gw: &Gateway, backend: &Backend, extra_route: &str) {
    let text = render(
        &iri_config("", extra_route),
        gw.port,
        gw.admin_port,
        &backend.url(),
        gw.dir.path(),
    );
    // Atomic replace, as an operator's config management would do it.
    let tmp = gw.config.with_extension("tmp");
    std::fs::write(&tmp, text).unwrap();
    std::fs::rename(&tmp, &gw.config).unwrap();
}

#[test]
fn reload_applies_a_new_policy_and_keeps_the_old_one_when_the_new_is_bad() {
    let backend = Backend::start();
    let gw = Gateway::start(&iri_config("", ""), &backend.url());
    assert_eq!(post(&gw.url(), r#"{"command":"getTips"}"#).0, 200);

    // POST /reload on the admin listener.
    rewrite_config(&gw, &backend, "allow = [\"getNodeInfo\"]");
    let (code, body) = gw.admin("POST", "/reload");
    assert_eq!(code, 200, "{body}");
    assert_eq!(post(&gw.url(), r#"{"command":"getTips"}"#).0, 403);
    assert_eq!(post(&gw.url(), r#"{"command":"getNodeInfo"}"#).0, 200);

    // SIGHUP.
    rewrite_config(&gw, &backend, "");
    gw.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(5);
    while post(&gw.url(), r#"{"command":"getTips"}"#).0 != 200 && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(post(&gw.url(), r#"{"command":"getTips"}"#).0, 200);

    // A broken config: refused with file:line, the running policy stays.
    std::fs::write(
        &gw.config,
        "[[listener]]\nbind = \"127.0.0.1:1\"\n[[route]]\nprotocol = \"iri\"\nupstrem = \"x\"\n",
    )
    .unwrap();
    let (code, body) = gw.admin("POST", "/reload");
    assert_eq!(code, 422, "{body}");
    assert!(body.contains("gw.toml:5:"), "{body}");
    assert_eq!(post(&gw.url(), r#"{"command":"getTips"}"#).0, 200);
    assert_eq!(post(&gw.url(), r#"{"command":"addNeighbors"}"#).0, 403);
    let status: serde_json::Value = serde_json::from_str(&gw.admin("GET", "/status").1).unwrap();
    assert_eq!(status["last_reload"]["ok"], false);
    assert_eq!(gw.metric("nodeward_reload_failures_total"), 1.0);
    assert_eq!(gw.metric("nodeward_reloads_total"), 2.0);
}

#[test]
fn sigterm_drains_in_flight_requests_then_exits() {
    let backend = Backend::start();
    let mut gw = Gateway::start(&iri_config("drain_timeout = \"10s\"", ""), &backend.url());
    let url = gw.url();
    let slow = thread::spawn(move || post(&url, r#"{"command":"getTrytes","slow":1500}"#));
    thread::sleep(Duration::from_millis(300));
    let t = Instant::now();
    let status = gw.stop();
    assert!(status.success(), "exit status {status:?}");
    let (code, body) = slow.join().unwrap();
    assert_eq!(code, 200, "the in-flight request must finish: {body}");
    assert!(
        t.elapsed() >= Duration::from_millis(900),
        "exited before the request finished"
    );
    // And nothing listens any more.
    assert!(std::net::TcpStream::connect(gw.addr()).is_err());
}

#[test]
fn admin_endpoints_need_the_token() {
    let backend = Backend::start();
    let gw = Gateway::start(&iri_config("", ""), &backend.url());
    let base = format!("http://127.0.0.1:{}", gw.admin_port);
    let (code, _) = curl(&[&format!("{base}/metrics")]);
    assert_eq!(code, 401);
    let (code, _) = curl(&[
        "-H",
        "Authorization: Bearer wrong-token-wrong-token",
        &format!("{base}/status"),
    ]);
    assert_eq!(code, 401);
    let (code, _) = curl(&["-X", "POST", &format!("{base}/reload")]);
    assert_eq!(code, 401);
    let (code, body) = gw.admin("GET", "/metrics");
    assert_eq!(code, 200);
    assert!(body.contains("# TYPE nodeward_requests_total counter"));
    let (code, body) = gw.admin("GET", "/status");
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(v["upstreams"][0]["name"], "iri");
    // The token file is private.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(gw.dir.path().join("admin.token"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    // The token never appears in the logs.
    assert!(!gw.stderr().contains(&gw.token()));
}

#[test]
fn config_check_reports_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.toml");
    std::fs::write(
        &good,
        render(&iri_config("", ""), 1, 2, "http://127.0.0.1:3", dir.path()),
    )
    .unwrap();
    let out = Command::new(bin())
        .args(["config", "check", "--config"])
        .arg(&good)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let shipped = Command::new(bin())
        .args([
            "config",
            "check",
            "--config",
            concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/iri.toml"),
        ])
        .output()
        .unwrap();
    assert!(
        shipped.status.success(),
        "{}",
        String::from_utf8_lossy(&shipped.stderr)
    );
    for (text, expect) in [
        ("[[listener]]\nbind = \"127.0.0.1:1\"\nbogus = 1\n", "bad.toml:3:1"),
        ("[[listener]]\nbind = 5\n", "bad.toml:2:8"),
        ("[[listener\n", "bad.toml:1:"),
        ("[gatewya]\n", "unknown top-level table"),
        ("[[listener]]\nbind = \"127.0.0.1:1\"\n[[upstream]]\nname = \"a\"\nbackends = [\"http://127.0.0.1:2\"]\n[[route]]\nprotocol = \"iri\"\nupstream = \"a\"\nper_ip_rate = \"lots\"\n", "bad.toml:9:"),
    ] {
        let bad = dir.path().join("bad.toml");
        std::fs::write(&bad, text).unwrap();
        let out = Command::new(bin()).args(["config", "check", "--config"]).arg(&bad).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(expect), "{text:?}: {err}");
        assert!(!err.contains("panicked"));
    }
    let out = Command::new(bin())
        .args(["config", "check", "--config", "/nonexistent/x.toml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/x.toml"));
    // The gateway refuses to start on a bad config, with the same message.
    let bad = dir.path().join("bad.toml");
    let out = Command::new(bin())
        .args(["gateway", "--config"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("bad.toml:9:"));
}
