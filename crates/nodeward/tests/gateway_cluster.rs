//! End-to-end: cluster mode on a real etcd (Debian's `etcd-server`, started
//! by the test on 127.0.0.1 random ports with its data in a temp dir) and
//! three real `nodeward gateway` processes sharing one prefix:
//!
//! - a backend registered on gateway A is used by B and C within a second,
//!   and a deregistration on B leaves all three;
//! - a ban made on B blocks the client on A and C and expires on all three;
//! - etcd killed: the gateways keep serving and say so in `/status`; a
//!   change made meanwhile is written and replicated once etcd is back;
//! - an instance started later joins with the current state;
//! - an automatic ban on one holds on the others;
//! - etcd password auth works, a wrong password is a clear error (not echoed);
//! - keys written by hand with garbage are refused with a log line, never a
//!   crash, and later changes still apply;
//! - a bad `[cluster]` table is a clear config error.
//!
//! Clients use other loopback addresses (curl --interface 127.0.0.N).

mod common_cluster;
mod common_gateway;

use common_cluster::*;
use common_gateway::*;
use serde_json::Value;
use std::process::Command;
use std::time::{Duration, Instant};

#[test]
fn a_registration_on_one_gateway_is_used_by_all_within_a_second() {
    let etcd = Etcd::start();
    let first = Backend::start();
    let second = Backend::start();
    let gws = three(&etcd, &first);
    // `nodeward cluster status` lists the three, each on its lease.
    let out = Command::new(bin())
        .args(["cluster", "status", "--format", "json", "--config"])
        .arg(&gws[0].config)
        .output()
        .unwrap();
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let names: Vec<&str> = v["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["gw-a", "gw-b", "gw-c"], "{v}");
    assert!(v["instances"][0]["ttl"].as_i64().unwrap() > 0, "{v}");
    assert_eq!(register(&gws[0], "b2", &second.url()), 201);
    for gw in &gws[1..] {
        let took = wait_until("b2 on the other gateways", secs(1), || {
            ids(gw).contains(&"b2".to_string())
        });
        eprintln!("registration replicated in {took:?}");
    }
    // And C sends traffic to it.
    let before = second.count();
    wait_until("gateway C to use b2", secs(5), || {
        assert_eq!(from(&gws[2], "127.0.0.1"), 200);
        second.count() > before
    });
    // An instance (re)started later joins with the current state.
    let late = Gateway::start(&cluster_config(&etcd, "gw-d"), &first.url());
    wait_until("the late instance to sync", secs(10), || {
        cluster(&late)["connected"] == true
    });
    assert!(ids(&late).contains(&"b2".to_string()), "{:?}", ids(&late));
    drop(late);
    // Garbage written by hand is refused (logged), nothing crashes, and a
    // later change still applies.
    etcd.put("/test/registrations/iri/junk", "not json");
    etcd.put("/test/registrations/nopool", "{}");
    etcd.put(
        "/test/bans/not-an-ip",
        r#"{"seconds":5,"offences":1,"manual":true}"#,
    );
    etcd.put(
        "/test/bans/127.0.0.7",
        r#"{"seconds":99999999999,"offences":1,"manual":true}"#,
    );
    // Deregistered on B: gone from all three.
    let (code, body) = gws[1].admin("DELETE", "/upstreams/iri/backends/b2");
    assert_eq!(code, 200, "{body}");
    for gw in [&gws[0], &gws[2]] {
        wait_until("b2 gone everywhere", secs(1), || {
            !ids(gw).contains(&"b2".to_string())
        });
    }
    for gw in &gws {
        assert_eq!(
            from(gw, "127.0.0.7"),
            200,
            "an out-of-range ban was applied"
        );
        assert!(gw.stderr().contains("not applied"), "{}", gw.stderr());
        assert_eq!(cluster(gw)["connected"], true);
    }
}

#[test]
fn a_ban_on_one_gateway_holds_on_all_and_expires_on_all() {
    let etcd = Etcd::start();
    let backend = Backend::start();
    let gws = three(&etcd, &backend);
    for gw in &gws {
        assert_eq!(from(gw, "127.0.0.2"), 200);
    }
    let (code, body) = gws[1].admin("POST", "/bans?source=127.0.0.2&for=3s");
    assert!(code == 200 || code == 201, "{code} {body}");
    let banned_at = Instant::now();
    for gw in [&gws[0], &gws[2]] {
        wait_until("the ban to hold on the other gateways", secs(1), || {
            from(gw, "127.0.0.2") == 0
        });
        // Others still get through.
        assert_eq!(from(gw, "127.0.0.1"), 200);
    }
    // It ends everywhere (lease with the ban's TTL; the local clock agrees).
    for gw in &gws {
        wait_until("the ban to expire everywhere", secs(8), || {
            from(gw, "127.0.0.2") == 200
        });
    }
    assert!(banned_at.elapsed() >= Duration::from_millis(2500));
    // An automatic ban on C (three denied commands) holds on A and B too.
    let c = &gws[2];
    for _ in 0..3 {
        let status = curl(&[
            "--interface",
            "127.0.0.4",
            "-H",
            "X-IOTA-API-Version: 1",
            "--data-binary",
            r#"{"command":"addNeighbors"}"#,
            &c.url(),
        ])
        .0;
        assert_eq!(status, 403);
    }
    assert_eq!(from(c, "127.0.0.4"), 0, "not auto-banned on C");
    for gw in &gws[..2] {
        wait_until("the automatic ban on the other gateways", secs(1), || {
            from(gw, "127.0.0.4") == 0
        });
    }
}

#[test]
fn gateways_keep_serving_without_etcd_and_catch_up_when_it_returns() {
    let mut etcd = Etcd::start();
    let first = Backend::start();
    let second = Backend::start();
    let gws = three(&etcd, &first);
    etcd.kill();
    for gw in &gws {
        wait_until("status to show etcd lost", secs(15), || {
            cluster(gw)["connected"] == false
        });
        assert_eq!(from(gw, "127.0.0.1"), 200, "stopped serving without etcd");
        assert!(cluster(gw)["last_error"].is_string());
        assert_eq!(gw.metric("nodeward_cluster_connected"), 0.0);
    }
    // Changes made meanwhile apply locally at once and are queued.
    assert_eq!(register(&gws[0], "late", &second.url()), 201);
    let (code, body) = gws[2].admin("POST", "/bans?source=127.0.0.3&for=1h");
    assert!(code == 200 || code == 201, "{code} {body}");
    assert!(ids(&gws[0]).contains(&"late".to_string()));
    assert!(!ids(&gws[1]).contains(&"late".to_string()));
    etcd.spawn();
    for gw in &gws {
        wait_until("the gateways to resync", secs(15), || {
            cluster(gw)["connected"] == true
        });
    }
    for gw in &gws {
        wait_until("the queued registration everywhere", secs(5), || {
            ids(gw).contains(&"late".to_string())
        });
        wait_until("the queued ban everywhere", secs(5), || {
            from(gw, "127.0.0.3") == 0
        });
        assert!(cluster(gw)["resyncs"].as_u64().unwrap() >= 2);
        assert_eq!(gw.metric("nodeward_cluster_connected"), 1.0);
        assert!(gw.metric("nodeward_cluster_resyncs_total") >= 2.0);
    }
}

#[test]
fn a_bad_cluster_table_is_a_clear_config_error() {
    let base = iri_config("", "");
    for (table, expect) in [
        ("[cluster]\netcd = []\n", "at least one endpoint"),
        ("[cluster]\netcd = [\"127.0.0.1:2379\"]\n", "http://"),
        (
            "[cluster]\netcd = [\"http://a:1\"]\nuser = \"u\"\n",
            "password_file",
        ),
        (
            "[cluster]\netcd = [\"http://a:1\"]\nprefx = \"/x\"\n",
            "prefx",
        ),
    ] {
        let (code, err) = config_check(&format!("{base}\n{table}"));
        assert_eq!(code, Some(2), "{table}: {err}");
        assert!(err.contains(expect), "{table}: {err}");
    }
    // An etcd nobody listens on: a clear error naming it, exit 2.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("c.toml");
    let port = free_port();
    std::fs::write(
        &path,
        format!("[cluster]\netcd = [\"http://127.0.0.1:{port}\"]\n"),
    )
    .unwrap();
    let out = Command::new(bin())
        .args(["cluster", "status", "--config"])
        .arg(&path)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
}

#[test]
fn etcd_password_auth_works_and_a_wrong_password_is_a_clear_error() {
    let etcd = Etcd::start();
    for args in [
        &["user", "add", "root:s3cret-pw"][..],
        &["auth", "enable"][..],
    ] {
        let out = Command::new("etcdctl")
            .args(["--endpoints", &etcd.url()])
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "etcdctl {args:?}: {out:?}");
    }
    let dir = tempfile::tempdir().unwrap();
    let run = |password: &str| {
        std::fs::write(dir.path().join("pw"), format!("{password}\n")).unwrap();
        let path = dir.path().join("c.toml");
        std::fs::write(
            &path,
            format!(
                "[cluster]\netcd = [\"{}\"]\nprefix = \"/auth\"\nuser = \"root\"\npassword_file = \"pw\"\n",
                etcd.url()
            ),
        )
        .unwrap();
        Command::new(bin())
            .args(["cluster", "status", "--config"])
            .arg(&path)
            .output()
            .unwrap()
    };
    let ok = run("s3cret-pw");
    assert!(ok.status.success(), "{ok:?}");
    assert!(String::from_utf8_lossy(&ok.stdout).contains("0 instance(s) under /auth"));
    let bad = run("wrong");
    let err = String::from_utf8_lossy(&bad.stderr);
    assert_eq!(bad.status.code(), Some(2), "{err}");
    assert!(err.contains("authentication failed"), "{err}");
    assert!(!err.contains("wrong"), "the password was printed: {err}");
}
