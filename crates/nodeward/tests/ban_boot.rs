//! Bans survive reboots and concurrent changes: after the kernel forgot the table
//! (a simulated reboot in a network namespace the test creates), the firewall's boot
//! command and `ban watch` put every active ban back with the time it has left; and
//! `ban add`/`ban remove` from the CLI while `ban watch` bans sources from a log
//! never lose each other's changes (the store is locked per change).

mod common_firewall;

use common_firewall::{text, wait_until, write, Lab};
use std::collections::BTreeSet;
use std::io::Write as _;
use std::process::Stdio;
use std::time::Duration;

/// Elements of a ban set as (address, timeout, expires) in seconds.
fn set_elements(lab: &Lab, set: &str) -> Vec<(String, u64, u64)> {
    let out = lab.nft(&["-j", "list", "set", "inet", "nodeward", set]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let mut elems = Vec::new();
    for obj in v["nftables"].as_array().unwrap() {
        let Some(s) = obj.get("set") else { continue };
        for e in s["elem"].as_array().into_iter().flatten() {
            let inner = &e["elem"];
            elems.push((
                inner["val"].as_str().unwrap().to_string(),
                inner["timeout"].as_u64().unwrap_or(0),
                inner["expires"].as_u64().unwrap_or(0),
            ));
        }
    }
    elems
}

fn start_watch(lab: &mut Lab, cfg: &str) -> std::path::PathBuf {
    let err = lab.path("watch.err");
    let mut c = lab.nodeward_cmd();
    c.args(["ban", "watch", "-c", cfg])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(lab.path("watch.out")).unwrap())
        .stderr(std::fs::File::create(&err).unwrap());
    lab.spawn(c);
    assert!(
        wait_until(Duration::from_secs(10), || {
            std::fs::read_to_string(&err)
                .unwrap_or_default()
                .contains("watching")
        }),
        "ban watch did not start: {}",
        std::fs::read_to_string(&err).unwrap_or_default()
    );
    err
}

fn store_bans(lab: &Lab) -> BTreeSet<String> {
    let path = lab.path("state/ban/bans.json");
    let v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    v["bans"].as_object().unwrap().keys().cloned().collect()
}

#[test]
fn after_a_reboot_bans_come_back_with_their_remaining_time() {
    let mut lab = Lab::new(1);
    lab.listen(&[8080]);
    let client = lab.clients[0].clone();
    let (v4, v6) = (lab.server_v4(1), lab.server_v6(1));
    let log = lab.path("auth.log");
    write(&log, "");
    let cfg_path = lab.path("nodeward.toml");
    write(
        &cfg_path,
        &format!(
            "[firewall]\nssh_port = 2222\n[[firewall.allow]]\nproto = \"tcp\"\nports = \"8080\"\n[ban]\nlogs = [\"{}\"]\njournald = \"off\"\n",
            log.display()
        ),
    );
    let cfg = cfg_path.display().to_string();
    let out = lab.nodeward(&["firewall", "apply", "--confirm", "-c", &cfg]);
    assert!(out.status.success(), "{}", text(&out));
    for (addr, d) in [
        ("10.213.1.2", "2h"),
        ("fd00:213:1::2", "10m"),
        ("192.0.2.77", "30m"),
    ] {
        let out = lab.nodeward(&["ban", "add", addr, "--for", d, "-c", &cfg]);
        assert!(out.status.success(), "{}", text(&out));
    }
    assert!(!lab.connects(&client, &v4, 8080));
    assert!(!lab.connects(&client, &v6, 8080));
    // The persisted ruleset holds no bans: they come from the store.
    let saved = std::fs::read_to_string(lab.persist_file()).unwrap();
    assert!(
        !saved.contains("10.213.1.2") && !saved.contains("fd00:213:1::2"),
        "{saved}"
    );

    // Reboot: the kernel has no ruleset at all.
    lab.nft(&["flush", "ruleset"]);
    assert!(lab.connects(&client, &v4, 8080));
    std::thread::sleep(Duration::from_secs(2));
    // Boot: nodeward-firewall.service, then nodeward-ban.service.
    let out = lab.nodeward(&["firewall", "restore"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        set_elements(&lab, "ban4").is_empty(),
        "the boot ruleset has empty ban sets"
    );
    assert!(
        lab.connects(&client, &v4, 8080),
        "not banned before ban watch runs"
    );
    start_watch(&mut lab, &cfg);

    let v4_elems = set_elements(&lab, "ban4");
    let v6_elems = set_elements(&lab, "ban6");
    let find = |elems: &[(String, u64, u64)], a: &str| {
        elems
            .iter()
            .find(|e| e.0 == a)
            .cloned()
            .unwrap_or_else(|| panic!("{a} not restored: {elems:?}"))
    };
    // Remaining time, not the full ban again: at least 2 s have passed since the ban.
    for (elems, addr, full) in [
        (&v4_elems, "10.213.1.2", 7200u64),
        (&v4_elems, "192.0.2.77", 1800),
        (&v6_elems, "fd00:213:1::2", 600),
    ] {
        let (_, timeout, expires) = find(elems, addr);
        assert!(
            timeout < full && timeout + 60 > full && expires <= timeout && expires > 0,
            "{addr}: timeout {timeout}s expires {expires}s, ban was {full}s"
        );
    }
    assert!(!lab.connects(&client, &v4, 8080), "ban restored");
    assert!(!lab.connects(&client, &v6, 8080), "ban restored");
    // With the bans back the running table still matches the persisted one.
    let out = lab.nodeward(&["firewall", "status", "--format", "json", "-c", &cfg]);
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["persisted"]["matches_running"], true, "{s}");
    assert_eq!(s["bans"]["ipv4"], 2, "{s}");
}

#[test]
fn watch_and_manual_changes_never_lose_each_other() {
    let mut lab = Lab::new(0);
    let log = lab.path("auth.log");
    write(&log, "");
    let cfg_path = lab.path("nodeward.toml");
    write(
        &cfg_path,
        &format!(
            "[ban]\nmaxretry = 1\nbantime = \"1h\"\nlogs = [\"{}\"]\njournald = \"off\"\n",
            log.display()
        ),
    );
    let cfg = cfg_path.display().to_string();
    // Bans that will be lifted by hand while watch runs.
    let to_remove: Vec<String> = (1..=10).map(|i| format!("192.0.2.{i}")).collect();
    for a in &to_remove {
        let out = lab.nodeward(&["ban", "add", a, "-c", &cfg]);
        assert!(out.status.success(), "{}", text(&out));
    }
    start_watch(&mut lab, &cfg);

    // watch bans 40 sources from the log while the CLI adds 15 and removes 10.
    let watched: Vec<String> = (1..=40).map(|i| format!("198.51.100.{i}")).collect();
    let added: Vec<String> = (1..=15).map(|i| format!("203.0.113.{i}")).collect();
    std::thread::scope(|s| {
        let log = &log;
        let watched = &watched;
        s.spawn(move || {
            for (i, a) in watched.iter().enumerate() {
                let mut f = std::fs::OpenOptions::new().append(true).open(log).unwrap();
                writeln!(
                    f,
                    "Dec  2 10:00:00 node sshd[{}]: Failed password for root from {a} port 4000 ssh2",
                    1000 + i
                )
                .unwrap();
                drop(f);
                std::thread::sleep(Duration::from_millis(25));
            }
        });
        let lab = &lab;
        let cfg = &cfg;
        let added = &added;
        s.spawn(move || {
            for a in added {
                let out = lab.nodeward(&["ban", "add", a, "-c", cfg]);
                assert!(out.status.success(), "{}", text(&out));
            }
        });
        let to_remove = &to_remove;
        s.spawn(move || {
            for a in to_remove {
                let out = lab.nodeward(&["ban", "remove", a, "-c", cfg]);
                assert!(out.status.success(), "{}", text(&out));
            }
        });
    });
    let expected: BTreeSet<String> = watched.iter().chain(added.iter()).cloned().collect();
    assert!(
        wait_until(Duration::from_secs(20), || store_bans(&lab) == expected),
        "store lost changes:\nmissing {:?}\nunexpected {:?}",
        expected.difference(&store_bans(&lab)).collect::<Vec<_>>(),
        store_bans(&lab).difference(&expected).collect::<Vec<_>>()
    );
    // Let watch run a few more rounds (it re-reads the store): nothing comes back or goes.
    std::thread::sleep(Duration::from_millis(1500));
    assert_eq!(store_bans(&lab), expected);
    let kernel: BTreeSet<String> = set_elements(&lab, "ban4")
        .into_iter()
        .map(|e| e.0)
        .collect();
    assert_eq!(kernel, expected, "kernel and store agree");
}
