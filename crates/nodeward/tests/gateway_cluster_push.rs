//! End-to-end: `nodeward cluster push` and pushed config revisions on a real
//! etcd (Debian's `etcd-server`, started by the test on 127.0.0.1 random
//! ports) with three real `nodeward gateway` processes on one prefix:
//!
//! - a push reaches all three within a second (a command newly denied on
//!   each, the revision in `/status`, `cluster status`, the metrics and
//!   `gateway status`); an invalid config is refused by push with its
//!   file:line; a revision key corrupted by hand leaves every instance on
//!   the old config, saying so; rollback publishes an old text again; an
//!   instance restarted meanwhile rejoins with the current revision and state;
//! - garbage keys and a ban for an address that does not parse are counted
//!   and ignored; an instance whose watch was on a revision etcd compacted
//!   (etcdctl compact + defrag, etcd restarted) resyncs without missing a
//!   ban or a registration;
//! - etcd over TLS with client certificates (openssl-made CA), and a wrong
//!   CA is a clear error;
//! - a backend a majority of instances judge critical is ejected by the
//!   third (`cluster_majority`) and put back when the majority goes;
//! - gateways with wall clocks skewed by +/-10 minutes (libfaketime, Debian's
//!   `faketime`) neither shorten nor stretch a ban.
//!
//! Clients use other loopback addresses (curl --interface 127.0.0.N).

mod common_cluster;
mod common_gateway;

use common_cluster::*;
use common_gateway::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Writes `text` next to `gw`'s config as `name` and returns its path.
fn write_next_to(gw: &Gateway, name: &str, text: &str) -> PathBuf {
    let path = gw.dir.path().join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn push(config: &Path, extra: &[&str]) -> std::process::Output {
    let mut args = vec!["push"];
    args.extend_from_slice(extra);
    cluster_cmd(&args, config)
}

fn policy_revision(gw: &Gateway) -> Option<u64> {
    cluster(gw)["policy"]["revision"].as_u64()
}

fn instances(config: &Path) -> Vec<Value> {
    let out = cluster_cmd(&["status", "--format", "json"], config);
    assert!(out.status.success(), "{out:?}");
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["instances"].as_array().unwrap().clone()
}

#[test]
fn a_push_reaches_all_three_within_a_second_and_bad_ones_change_nothing() {
    let etcd = Etcd::start();
    let backend = Backend::start();
    let second = Backend::start();
    let mut gws = three_with(&etcd, &backend, plain_cluster_config);
    for gw in &gws {
        assert_eq!(from(gw, "127.0.0.1"), 200);
        assert_eq!(policy_revision(gw), None);
    }
    let original = std::fs::read_to_string(&gws[0].config).unwrap();
    let deny_info = original.replace(
        "deny = [\"addNeighbors\"",
        "deny = [\"getNodeInfo\", \"addNeighbors\"",
    );
    assert_ne!(deny_info, original);

    // An invalid config is refused by push, with its file:line, and nothing
    // is published.
    let bad = write_next_to(
        &gws[0],
        "bad.toml",
        &original.replace("upstream = \"iri\"", "upstream = \"nope\""),
    );
    let out = push(&bad, &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("bad.toml:"), "{err}");
    assert!(err.contains("nope"), "{err}");
    assert!(err.contains("nothing published"), "{err}");
    let out = cluster_cmd(&["revisions", "--format", "json"], &gws[0].config);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["revisions"].as_array().unwrap().len(), 0, "{v}");

    // A good push: every instance denies getNodeInfo within a second.
    let good = write_next_to(&gws[0], "deny-info.toml", &deny_info);
    let out = push(&good, &[]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("pushed revision 1"));
    let pushed = Instant::now();
    for gw in &gws {
        wait_until("the pushed revision on every gateway", secs(1), || {
            from(gw, "127.0.0.1") == 403
        });
    }
    eprintln!(
        "revision 1 enforced by all three {:?} after push",
        pushed.elapsed()
    );
    for gw in &gws {
        assert_eq!(policy_revision(gw), Some(1));
        assert_eq!(gw.metric("nodeward_cluster_policy_revision"), 1.0);
        // Local tables stayed local: each still listens on its own port.
        assert_eq!(command_from(gw, "127.0.0.1", "getTips"), 200);
    }
    wait_until(
        "cluster status to list revision 1 everywhere",
        secs(5),
        || {
            instances(&gws[1].config)
                .iter()
                .all(|i| i["info"]["revision"] == 1 && i["info"]["health"] == "ready")
        },
    );
    // SIGHUP re-reads the local file but keeps running the pushed revision.
    let reloads = gws[0].metric("nodeward_reloads_total");
    gws[0].signal("HUP");
    wait_until("the SIGHUP reload", secs(5), || {
        gws[0].metric("nodeward_reloads_total") > reloads
    });
    assert_eq!(
        from(&gws[0], "127.0.0.1"),
        403,
        "SIGHUP dropped the revision"
    );
    assert_eq!(policy_revision(&gws[0]), Some(1));
    let out = Command::new(bin())
        .args(["gateway", "--config"])
        .arg(&gws[2].config)
        .arg("status")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("running revision 1"), "{text}");

    // A revision key corrupted by hand: every instance keeps revision 1 and
    // says so; nothing crashes.
    etcd.put("/test/policy/current", "{\"number\": 2, garbage");
    for gw in &gws {
        wait_until("the corrupted revision to be reported", secs(2), || {
            cluster(gw)["policy_error"].is_string()
        });
        let c = cluster(gw);
        assert_eq!(c["health"], "load error", "{c}");
        assert_eq!(c["policy"]["revision"], 1, "{c}");
        assert_eq!(from(gw, "127.0.0.1"), 403, "the old config was not kept");
        assert!(gw.metric("nodeward_cluster_policy_errors_total") >= 1.0);
        assert!(gw.metric("nodeward_cluster_rejected_changes_total") >= 1.0);
    }
    wait_until("cluster status to show the load error", secs(5), || {
        instances(&gws[0].config)
            .iter()
            .all(|i| i["info"]["health"] == "load error")
    });

    // The next push (the original text) applies and clears the error.
    let undo = write_next_to(&gws[0], "original.toml", &original);
    let out = push(&undo, &[]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("pushed revision 2"));
    for gw in &gws {
        wait_until("revision 2 everywhere", secs(1), || {
            from(gw, "127.0.0.1") == 200
        });
        wait_until("the error cleared", secs(2), || {
            cluster(gw)["policy_error"].is_null()
        });
        assert_eq!(policy_revision(gw), Some(2));
    }

    // C is down while revision 1 comes back (rollback) and a backend is
    // registered; restarted, it rejoins with both.
    drop(gws.pop());
    let out = push(&gws[0].config, &["--rollback", "1"]);
    assert!(out.status.success(), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("pushed revision 3"));
    assert_eq!(register(&gws[0], "b2", &second.url()), 201);
    for gw in &gws {
        wait_until("revision 3", secs(1), || from(gw, "127.0.0.1") == 403);
    }
    let c = Gateway::start(&plain_cluster_config(&etcd, "gw-c"), &backend.url());
    wait_until("the restarted instance on revision 3", secs(20), || {
        policy_revision(&c) == Some(3)
    });
    assert_eq!(from(&c, "127.0.0.1"), 403);
    assert!(ids(&c).contains(&"b2".to_string()), "{:?}", ids(&c));
    let out = cluster_cmd(&["revisions"], &c.config);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("3 revision(s) under /test"), "{text}");
    assert!(text.contains("*      3"), "{text}");
    // Four pushes at once: each number is won by exactly one (etcd
    // transaction); a loser is told so and publishes nothing.
    let children: Vec<_> = (0..4)
        .map(|_| {
            Command::new(bin())
                .args(["cluster", "push", "--config"])
                .arg(&c.config)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut won = Vec::new();
    for child in children {
        let out = child.wait_with_output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        if out.status.success() {
            won.push(stdout.split_whitespace().nth(2).unwrap().to_string());
        } else {
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains("another push took revision"), "{err}");
        }
    }
    let mut unique = won.clone();
    unique.sort();
    unique.dedup();
    assert_eq!(unique.len(), won.len(), "a number won twice: {won:?}");
    let out = cluster_cmd(&["revisions", "--format", "json"], &c.config);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let last = v["current"].as_u64().unwrap();
    assert!(!won.is_empty());
    assert_eq!(last, 3 + won.len() as u64, "{v} {won:?}");
    // A rollback to a revision not kept is a clear error.
    let out = push(&c.config, &["--rollback", "99"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("revision 99 is not in the history"));
}

#[test]
fn garbage_is_counted_and_a_compacted_watch_misses_nothing() {
    let mut etcd = Etcd::start();
    let backend = Backend::start();
    let second = Backend::start();
    let gws = three(&etcd, &backend);
    // Garbage under the prefix: logged, counted, ignored.
    etcd.put(
        "/test/bans/not-an-address",
        r#"{"seconds":60,"offences":1,"manual":true}"#,
    );
    etcd.put("/test/bans/127.0.0.9", "garbage");
    etcd.put("/test/registrations/iri/x1", "[1,2,3]");
    etcd.put("/test/policy/history/0000000001", "garbage");
    etcd.put("/test/unknown/key", "garbage");
    for gw in &gws {
        wait_until("the garbage to be counted", secs(2), || {
            gw.metric("nodeward_cluster_rejected_changes_total") >= 3.0
        });
        assert_eq!(from(gw, "127.0.0.9"), 200);
        assert_eq!(cluster(gw)["connected"], true);
    }
    // C freezes with its watch on the current revision.
    let c = &gws[2];
    c.signal("STOP");
    assert_eq!(register(&gws[0], "b2", &second.url()), 201);
    let (code, body) = gws[1].admin("POST", "/bans?source=127.0.0.5&for=1h");
    assert!(code == 200 || code == 201, "{code} {body}");
    wait_until("A and B to agree", secs(2), || {
        ids(&gws[1]).contains(&"b2".to_string()) && from(&gws[0], "127.0.0.5") == 0
    });
    // etcd compacts past C's revision, defragments and restarts.
    let rev = etcd.revision().to_string();
    let out = etcd.ctl(&["compact", &rev]);
    assert!(out.status.success(), "{out:?}");
    let out = etcd.ctl(&["defrag"]);
    assert!(out.status.success(), "{out:?}");
    etcd.kill();
    etcd.spawn();
    c.signal("CONT");
    wait_until("C to resync", secs(15), || {
        let s = cluster(c);
        s["connected"] == true && s["resyncs"].as_u64().unwrap_or(0) >= 2
    });
    wait_until("the registration on C", secs(5), || {
        ids(c).contains(&"b2".to_string())
    });
    wait_until("the ban on C", secs(5), || from(c, "127.0.0.5") == 0);
    assert_eq!(from(c, "127.0.0.1"), 200);
}

#[test]
fn etcd_over_tls_with_client_certificates_and_a_wrong_ca_is_a_clear_error() {
    let etcd = Etcd::start_tls();
    let backend = Backend::start();
    let tls = etcd.client_tls();
    let files = format!(
        "ca_file = \"{}\"\ncert_file = \"{}\"\nkey_file = \"{}\"\n",
        tls.ca.display(),
        tls.cert.display(),
        tls.key.display()
    );
    let gws: Vec<Gateway> = ["gw-a", "gw-b"]
        .iter()
        .map(|n| Gateway::start(&cluster_config_with(&etcd, n, &files), &backend.url()))
        .collect();
    for gw in &gws {
        wait_until("the gateway to sync over TLS", secs(20), || {
            cluster(gw)["connected"] == true
        });
    }
    let (code, body) = gws[0].admin("POST", "/bans?source=127.0.0.6&for=1h");
    assert!(code == 200 || code == 201, "{code} {body}");
    wait_until("the ban over TLS", secs(2), || {
        from(&gws[1], "127.0.0.6") == 0
    });
    assert_eq!(instances(&gws[0].config).len(), 2);
    // A CA that did not sign etcd's certificate: a clear error, exit 2.
    let dir = tempfile::tempdir().unwrap();
    make_ca(dir.path(), "other-ca", "other");
    let wrong = dir.path().join("c.toml");
    std::fs::write(
        &wrong,
        format!(
            "[cluster]\netcd = [\"{}\"]\nprefix = \"/test\"\nca_file = \"other-ca.pem\"\ncert_file = \"{}\"\nkey_file = \"{}\"\n",
            etcd.url(),
            tls.cert.display(),
            tls.key.display()
        ),
    )
    .unwrap();
    let out = cluster_cmd(&["status"], &wrong);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains(&etcd.url()), "{err}");
    assert!(err.contains("certificate"), "{err}");
    // Without a client certificate etcd refuses too.
    std::fs::write(
        &wrong,
        format!(
            "[cluster]\netcd = [\"{}\"]\nprefix = \"/test\"\nca_file = \"{}\"\n",
            etcd.url(),
            tls.ca.display()
        ),
    )
    .unwrap();
    let out = cluster_cmd(&["status"], &wrong);
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{err}");
    eprintln!("no client certificate: {err}");
}

/// A pool of two backends, `b1` at `b1` and `b2` at `{backend}`, checked
/// over TCP every 200 ms, on `etcd` as instance `name`.
fn two_backend_config(etcd: &Etcd, name: &str, b1: &str) -> String {
    format!(
        r#"
[gateway]
state_dir = "{{state}}"

[[listener]]
bind = "127.0.0.1:{{port}}"

[admin]
bind = "127.0.0.1:{{admin}}"

[[upstream]]
name = "iri"
timeout = "5s"

[[upstream.backend]]
id = "b1"
address = "{b1}"

[[upstream.backend]]
id = "b2"
address = "{{backend}}"

[upstream.health]
kind = "tcp"
interval = "200ms"
timeout = "500ms"
rise = 1
fall = 1

[[route]]
protocol = "iri"
upstream = "iri"

[cluster]
etcd = ["{}"]
prefix = "/test"
name = "{name}"
lease_ttl = "2s"
"#,
        etcd.url()
    )
}

/// b1's entry in `gw`'s `/status`.
fn b1(gw: &Gateway) -> Value {
    status(gw)["upstreams"][0]["backends"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["id"] == "b1")
        .cloned()
        .unwrap()
}

fn b1_reasons(gw: &Gateway) -> Vec<String> {
    b1(gw)["last_check"]["exclusions"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|x| x["level"] == "critical")
                .map(|x| x["reason"].as_str().unwrap_or_default().to_string())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn a_backend_a_majority_judges_critical_is_ejected_everywhere_until_the_majority_goes() {
    let etcd = Etcd::start();
    let first = Backend::start();
    let second = Backend::start();
    // A and B reach b1 at an address nobody listens on (their own checks
    // judge it critical); C reaches it at a live one.
    let dead = format!("http://127.0.0.1:{}", free_port());
    let mut a = Gateway::start(&two_backend_config(&etcd, "gw-a", &dead), &second.url());
    let b = Gateway::start(&two_backend_config(&etcd, "gw-b", &dead), &second.url());
    let c = Gateway::start(
        &two_backend_config(&etcd, "gw-c", &first.url()),
        &second.url(),
    );
    for gw in [&a, &b, &c] {
        wait_until("the gateway to sync with etcd", secs(20), || {
            cluster(gw)["connected"] == true
        });
    }
    // C's own check passes, yet two of three judge b1 critical: C takes it
    // out with reason cluster_majority, and sends everything to b2.
    wait_until("C to eject b1 by majority", secs(20), || {
        b1_reasons(&c) == ["cluster_majority"]
    });
    let x = &b1(&c)["last_check"]["exclusions"][0];
    assert!(
        x["value"].as_str().unwrap().contains("2 of 3 instances"),
        "{x}"
    );
    assert_eq!(b1(&c)["serving"], false, "{}", b1(&c));
    let before = first.count();
    for _ in 0..6 {
        assert_eq!(from(&c, "127.0.0.1"), 200);
    }
    assert_eq!(first.count(), before, "C still sent traffic to b1");
    // A stops: its lease ends, one of two is no majority, C puts b1 back.
    a.stop();
    wait_until("C to put b1 back", secs(15), || b1_reasons(&c).is_empty());
    wait_until("C to use b1 again", secs(5), || {
        assert_eq!(from(&c, "127.0.0.1"), 200);
        first.count() > before
    });
    // B still ejects it on its own check (unreachable), never by majority.
    assert!(b1_reasons(&b).contains(&"unreachable".to_string()));
    assert!(!b1_reasons(&b).contains(&"cluster_majority".to_string()));
}

#[test]
fn a_clock_skewed_by_minutes_neither_shortens_nor_stretches_a_ban() {
    let etcd = Etcd::start();
    let backend = Backend::start();
    let a = Gateway::start(&plain_cluster_config(&etcd, "gw-a"), &backend.url());
    // B's wall clock is 10 minutes ahead, C's 10 minutes behind.
    let b = start_skewed(&plain_cluster_config(&etcd, "gw-b"), &backend.url(), "+10m");
    let c = start_skewed(&plain_cluster_config(&etcd, "gw-c"), &backend.url(), "-10m");
    for gw in [&a, &b, &c] {
        wait_until("the gateway to sync with etcd", secs(20), || {
            cluster(gw)["connected"] == true
        });
    }
    // The skew is real: B's log lines carry its shifted clock.
    let year_hour = |gw: &Gateway| {
        gw.stderr()
            .lines()
            .next()
            .unwrap_or_default()
            .get(..16)
            .unwrap_or_default()
            .to_string()
    };
    let (ta, tb, tc) = (year_hour(&a), year_hour(&b), year_hour(&c));
    assert!(ta.len() == 16 && tb != ta && tc != ta, "{ta} {tb} {tc}");
    // A 3 s ban made on the instance whose clock is ahead.
    let (code, body) = b.admin("POST", "/bans?source=127.0.0.8&for=3s");
    assert!(code == 200 || code == 201, "{code} {body}");
    let banned = Instant::now();
    for gw in [&a, &c] {
        wait_until("the ban on the others", secs(1), || {
            from(gw, "127.0.0.8") == 0
        });
    }
    // Not shortened anywhere: still banned well into its 3 s.
    std::thread::sleep(std::time::Duration::from_millis(1500).saturating_sub(banned.elapsed()));
    for gw in [&a, &b, &c] {
        assert_eq!(from(gw, "127.0.0.8"), 0, "the ban ended early");
    }
    // Not stretched: it ends everywhere within a few seconds of its length.
    for gw in [&a, &b, &c] {
        wait_until("the ban to end everywhere", secs(8), || {
            from(gw, "127.0.0.8") == 200
        });
    }
    assert!(banned.elapsed() >= std::time::Duration::from_millis(2500));
    assert!(banned.elapsed() < secs(10), "{:?}", banned.elapsed());
}
