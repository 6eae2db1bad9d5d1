//! End-to-end: auto-banning. Sources refused too often are banned, refused
//! at connect, unbanned after a period that grows for repeat offenders;
//! trusted sources never are; bans are listed, added and lifted through the
//! admin API and survive a restart; forged X-Forwarded-For from untrusted
//! peers is ignored; a flood of sources keeps the tables bounded.
//!
//! Clients use other loopback addresses (curl --interface 127.0.0.N), which
//! Linux routes to lo without any setup.

mod common_gateway;

use common_gateway::*;
use std::io::{Read, Write};
use std::process::Command;
use std::time::{Duration, Instant};

fn autoban(ban_for: &str, extra: &str) -> String {
    iri_config(
        &format!(
            "trusted = [\"127.0.0.9\"]\n{extra}\n[gateway.autoban]\nthreshold = 4\nwindow = \"1m\"\nban_for = \"{ban_for}\"\ngrowth = 2\nmax_ban = \"1h\"\nmax_sources = 50\n"
        ),
        "",
    )
}

/// POSTs an IRI command from `source`; status 0 when the connection was closed without an answer.
fn from(gw: &Gateway, source: &str, command: &str, extra: &[&str]) -> (u16, String) {
    let body = format!(r#"{{"command":"{command}"}}"#);
    let mut args = vec!["--interface", source, "-H", "X-IOTA-API-Version: 1"];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["--data-binary", &body]);
    let url = gw.url();
    args.push(&url);
    curl(&args)
}

fn bans(gw: &Gateway) -> Vec<serde_json::Value> {
    let (status, body) = gw.admin("GET", "/bans");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).unwrap();
    v["bans"].as_array().unwrap().clone()
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn abusers_are_banned_at_connect_then_unbanned_and_repeat_bans_grow() {
    let backend = Backend::start();
    let gw = Gateway::start(&autoban("2s", ""), &backend.url());
    for _ in 0..4 {
        assert_eq!(from(&gw, "127.0.0.2", "addNeighbors", &[]).0, 403);
    }
    // Banned: even an allowed command gets no answer, and nothing reaches the node.
    let seen = backend.count();
    let (status, _) = from(&gw, "127.0.0.2", "getNodeInfo", &[]);
    assert_eq!(status, 0, "a banned source was served");
    assert_eq!(backend.count(), seen);
    assert!(gw.metric("nodeward_connections_refused_total{reason=\"banned\"}") >= 1.0);
    // Others are not affected; trusted sources are never banned.
    assert_eq!(from(&gw, "127.0.0.1", "getNodeInfo", &[]).0, 200);
    for _ in 0..10 {
        assert_eq!(from(&gw, "127.0.0.9", "addNeighbors", &[]).0, 403);
    }
    assert_eq!(from(&gw, "127.0.0.9", "getNodeInfo", &[]).0, 200);
    let list = bans(&gw);
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["source"], "127.0.0.2");
    assert_eq!(list[0]["offences"], 1);

    // The ban ends by itself.
    wait_until("the first ban to end", Duration::from_secs(6), || {
        from(&gw, "127.0.0.2", "getNodeInfo", &[]).0 == 200
    });
    // A repeat offender is banned for longer (2 s x 2: more than 2 s left right away).
    for _ in 0..4 {
        from(&gw, "127.0.0.2", "removeNeighbors", &[]);
    }
    assert_eq!(from(&gw, "127.0.0.2", "getNodeInfo", &[]).0, 0);
    let list = bans(&gw);
    assert_eq!(list[0]["offences"], 2, "{list:?}");
    assert!(list[0]["remaining_s"].as_u64().unwrap() >= 2, "{list:?}");
}

/// Starts the gateway process again on the same config and state directory.
fn restart(gw: &mut Gateway) {
    assert!(gw.stop().success());
    let child = Command::new(bin())
        .arg("gateway")
        .arg("--config")
        .arg(&gw.config)
        .stdout(std::fs::File::create(gw.dir.path().join("access2.log")).unwrap())
        .stderr(std::fs::File::create(gw.dir.path().join("stderr.log")).unwrap())
        .spawn()
        .unwrap();
    gw.child = Some(child);
    wait_until(
        "the restarted gateway to listen",
        Duration::from_secs(10),
        || std::net::TcpStream::connect(("127.0.0.1", gw.port)).is_ok(), // bound last, after admin and token
    );
}

#[test]
fn admin_api_adds_lists_and_lifts_bans_which_survive_a_restart() {
    let backend = Backend::start();
    let mut gw = Gateway::start(&autoban("5m", ""), &backend.url());
    let (status, body) = gw.admin("POST", "/bans?source=127.0.0.3&for=1h");
    assert_eq!(status, 200, "{body}");
    assert_eq!(from(&gw, "127.0.0.3", "getNodeInfo", &[]).0, 0);
    assert_eq!(from(&gw, "127.0.0.1", "getNodeInfo", &[]).0, 200);
    for (path, want) in [
        ("/bans?source=127.0.0.9", 422),
        ("/bans?source=not-an-ip", 400),
        ("/bans?source=127.0.0.4&for=forever", 400),
        ("/bans", 400),
    ] {
        let (status, body) = gw.admin("POST", path);
        assert_eq!(status, want, "{path}: {body}");
    }
    // Without the token nothing changes.
    let (status, _) = curl(&[
        "-X",
        "POST",
        &format!("http://127.0.0.1:{}/bans?source=127.0.0.4", gw.admin_port),
    ]);
    assert_eq!(status, 401);

    restart(&mut gw);
    assert_eq!(
        from(&gw, "127.0.0.3", "getNodeInfo", &[]).0,
        0,
        "ban lost on restart"
    );
    let list = bans(&gw);
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!(list[0]["manual"], true);
    assert!(list[0]["remaining_s"].as_u64().unwrap() > 3000);
    let saved = gw.dir.path().join("bans.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&saved).unwrap().permissions().mode() & 0o777,
        0o600
    );

    let (status, body) = gw.admin("DELETE", "/bans?source=127.0.0.3");
    assert_eq!(status, 200, "{body}");
    assert_eq!(from(&gw, "127.0.0.3", "getNodeInfo", &[]).0, 200);
    assert_eq!(gw.admin("DELETE", "/bans?source=127.0.0.3").0, 404);
    assert!(bans(&gw).is_empty());
}

/// Sends `n` pipelined denied commands on one connection from 127.0.0.1, each
/// with its own X-Forwarded-For source; returns the statuses.
fn pipelined_sources(gw: &Gateway, n: u32) -> Vec<u16> {
    let body = r#"{"command":"addNeighbors"}"#;
    let mut out = Vec::new();
    for i in 0..n {
        let close = if i + 1 == n { "close" } else { "keep-alive" };
        let src = std::net::Ipv4Addr::from(0xc612_0000 + i); // 198.18.0.0/15
        out.extend_from_slice(
            format!(
                "POST / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: {src}\r\nContent-Length: {}\r\nConnection: {close}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
    }
    let mut s = std::net::TcpStream::connect(gw.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    s.write_all(&out).unwrap();
    let mut answer = Vec::new();
    let _ = s.read_to_end(&mut answer);
    statuses(&String::from_utf8_lossy(&answer))
}

#[test]
fn forwarded_sources_are_banned_forged_ones_ignored_and_tables_stay_bounded() {
    let backend = Backend::start();
    let gw = Gateway::start(
        &autoban("1h", "trusted_proxies = [\"127.0.0.1\"]"),
        &backend.url(),
    );
    let xff = |ip: &str| format!("X-Forwarded-For: {ip}");
    // Behind the trusted proxy, the forwarded client is the one counted and banned.
    for _ in 0..4 {
        assert_eq!(
            from(
                &gw,
                "127.0.0.1",
                "addNeighbors",
                &["-H", &xff("203.0.113.7")]
            )
            .0,
            403
        );
    }
    let (status, body) = from(
        &gw,
        "127.0.0.1",
        "getNodeInfo",
        &["-H", &xff("203.0.113.7")],
    );
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("\"banned\""), "{body}");
    // The proxy itself and its other clients keep being served.
    assert_eq!(
        from(
            &gw,
            "127.0.0.1",
            "getNodeInfo",
            &["-H", &xff("203.0.113.8")]
        )
        .0,
        200
    );
    // An untrusted peer cannot make itself someone else (nor get someone banned).
    assert_eq!(
        from(
            &gw,
            "127.0.0.6",
            "getNodeInfo",
            &["-H", &xff("203.0.113.7")]
        )
        .0,
        200
    );
    for _ in 0..3 {
        from(
            &gw,
            "127.0.0.6",
            "addNeighbors",
            &["-H", &xff("203.0.113.50")],
        );
    }
    assert_eq!(
        from(
            &gw,
            "127.0.0.1",
            "getNodeInfo",
            &["-H", &xff("203.0.113.50")]
        )
        .0,
        200
    );

    // A flood of new sources: counters stay within max_sources, the ban stays.
    let statuses = pipelined_sources(&gw, 600);
    assert_eq!(statuses.len(), 600);
    assert!(statuses.iter().all(|s| *s == 403));
    let (_, status) = gw.admin("GET", "/status");
    let v: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert!(
        v["bans"]["tracked_sources"].as_u64().unwrap() <= 50,
        "{}",
        v["bans"]
    );
    assert_eq!(v["bans"]["active"], 1, "{}", v["bans"]);
    let (status, _) = from(
        &gw,
        "127.0.0.1",
        "getNodeInfo",
        &["-H", &xff("203.0.113.7")],
    );
    assert_eq!(status, 403, "the ban was evicted by the flood");
}

#[test]
fn bad_autoban_settings_are_refused_by_config_check() {
    for (extra, expect) in [
        (
            "[gateway.autoban]\nreasons = [\"denied\"]\n",
            "gateway.autoban.reasons[0]",
        ),
        (
            "[gateway.autoban]\nthreshold = 0\n",
            "gateway.autoban.threshold",
        ),
        (
            "[gateway.autoban]\nmax_ban = \"100000years\"\n",
            "gateway.autoban.max_ban",
        ),
        (
            "[gateway.autoban]\nwindow = \"30days\"\n",
            "gateway.autoban.window",
        ),
        (
            "[gateway.autoban]\nban_for = \"1h\"\nmax_ban = \"1m\"\n",
            "gateway.autoban.max_ban",
        ),
    ] {
        let (code, err) = config_check(&iri_config(extra, ""));
        assert_eq!(code, Some(2), "{err}");
        assert!(err.contains(expect), "expected {expect:?} in {err}");
    }
}

/// Runs `nodeward gateway --config <gw's config> bans <args>`.
fn bans_cli(gw: &Gateway, args: &[&str]) -> (i32, String, String) {
    let out = Command::new(bin())
        .arg("gateway")
        .arg("--config")
        .arg(&gw.config)
        .arg("bans")
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn nodeward_gateway_bans_lists_adds_and_lifts() {
    let backend = Backend::start();
    let gw = Gateway::start(&autoban("5m", ""), &backend.url());
    let (code, out, err) = bans_cli(&gw, &[]);
    assert_eq!((code, out.trim()), (0, "no bans in force"), "{err}");
    let (code, out, err) = bans_cli(&gw, &["add", "127.0.0.7", "--for", "90m"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.trim(), "banned 127.0.0.7 for 5400s");
    assert_eq!(from(&gw, "127.0.0.7", "getNodeInfo", &[]).0, 0);
    let (code, out, _) = bans_cli(&gw, &["list"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("127.0.0.7\t") && out.contains("manual"),
        "{out}"
    );
    let (code, out, _) = bans_cli(&gw, &["remove", "127.0.0.7"]);
    assert_eq!((code, out.trim()), (0, "lifted the ban of 127.0.0.7"));
    assert_eq!(from(&gw, "127.0.0.7", "getNodeInfo", &[]).0, 200);
    // Refusals and bad arguments are reported, not panicked on.
    let (code, _, err) = bans_cli(&gw, &["remove", "127.0.0.7"]);
    assert_eq!(code, 1);
    assert!(err.contains("not banned"), "{err}");
    let (code, _, err) = bans_cli(&gw, &["add", "127.0.0.9"]);
    assert_eq!(code, 1);
    assert!(err.contains("trusted"), "{err}");
    let (code, _, err) = bans_cli(&gw, &["add", "somewhere"]);
    assert_eq!(code, 2);
    assert!(err.contains("not an IP address"), "{err}");
}

#[test]
fn violations_are_written_as_lines_nodeward_ban_reads() {
    let backend = Backend::start();
    let gw = Gateway::start(
        &iri_config(
            "[gateway.autoban]\nthreshold = 100\nviolations_log = \"{state}/violations.jsonl\"\n",
            "",
        ),
        &backend.url(),
    );
    for _ in 0..6 {
        assert_eq!(from(&gw, "127.0.0.2", "addNeighbors", &[]).0, 403);
    }
    assert_eq!(from(&gw, "127.0.0.3", "getNodeInfo", &[]).0, 200);
    let file = gw.dir.path().join("violations.jsonl");
    let mut lines = Vec::new();
    wait_until("the violation lines", Duration::from_secs(6), || {
        lines = std::fs::read_to_string(&file)
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
        lines.len() >= 6
    });
    assert_eq!(lines.len(), 6, "{lines:?}");
    for l in &lines {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        assert_eq!(v["client_ip"], "127.0.0.2", "{l}");
        assert_eq!(v["reason"], "denied_command", "{l}");
        assert!(v["ts"].as_str().unwrap().ends_with('Z'), "{l}");
    }
    // The host-firewall ban engine reads them as violations of that source.
    let out = Command::new(bin())
        .args(["ban", "scan"])
        .arg(&file)
        .args(["--log-format", "gateway", "--format", "json", "--config"])
        .arg(gw.dir.path().join("no-such-config.toml"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let report: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{e}: {text}\n{}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(report["by_kind"]["gateway_violation"], 6, "{report:#}");
    assert_eq!(report["top"][0][0], "127.0.0.2", "{report:#}");
    assert_eq!(report["sources"], 1, "{report:#}");
}
