//! `nodeward ban add|list|remove`, bans restored after a restart, gateway violation
//! lines as a source, and hostile log lines that must never ban the wrong address.
//! Everything runs in network namespaces the test creates.

mod common_firewall;

use common_firewall::{text, wait_until, write, Lab};
use std::io::Write as _;
use std::process::Stdio;
use std::time::Duration;

fn banned(lab: &Lab, cfg: &str) -> Vec<(String, bool)> {
    let out = lab.nodeward(&["ban", "list", "--format", "json", "-c", cfg]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["bans"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["addr"].as_str().unwrap().to_string(),
                b["in_kernel"] == true,
            )
        })
        .collect()
}

fn append(path: &std::path::Path, text: &[u8]) {
    let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
    f.write_all(text).unwrap();
}

#[test]
fn manual_bans_restart_restore_gateway_source_and_forged_lines() {
    let mut lab = Lab::new(1);
    lab.listen(&[8080]);
    let client = lab.clients[0].clone();
    let (v4, v6) = (lab.server_v4(1), lab.server_v6(1));
    let sshd_log = lab.path("auth.log");
    let gw_log = lab.path("violations.jsonl");
    write(&sshd_log, "");
    write(&gw_log, "");
    let cfg_path = lab.path("nodeward.toml");
    write(
        &cfg_path,
        &format!(
            "[firewall]\nssh_port = 2222\ntrusted = [\"10.213.1.3/32\"]\n[[firewall.allow]]\nproto = \"tcp\"\nports = \"8080\"\n\
             [ban]\nmaxretry = 3\nbantime = \"1h\"\nlogs = [\"{}\"]\ngateway_logs = [\"{}\"]\njournald = \"off\"\n",
            sshd_log.display(),
            gw_log.display()
        ),
    );
    let cfg = cfg_path.display().to_string();

    // Manual ban, IPv4.
    let out = lab.nodeward(&["ban", "add", "10.213.1.2", "--for", "1h", "-c", &cfg]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!lab.connects(&client, &v4, 8080));
    assert!(
        lab.connects(&client, &v6, 8080),
        "only the IPv4 address is banned"
    );
    assert_eq!(banned(&lab, &cfg), vec![("10.213.1.2".to_string(), true)]);

    // Trusted addresses are never banned, not even by hand; bad addresses are refused.
    let out = lab.nodeward(&["ban", "add", "10.213.1.3", "-c", &cfg]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(String::from_utf8_lossy(&out.stderr).contains("trusted"));
    let out = lab.nodeward(&["ban", "add", "10.213.1.300", "-c", &cfg]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));

    // "Reboot": the kernel forgets the table; `ban watch` restores the persisted ban.
    lab.nft(&["delete", "table", "inet", "nodeward"]);
    assert!(lab.connects(&client, &v4, 8080));
    let watch_out = lab.path("watch.out");
    let mut c = lab.nodeward_cmd();
    c.args(["ban", "watch", "-c", &cfg])
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&watch_out).unwrap())
        .stderr(std::fs::File::create(lab.path("watch.err")).unwrap());
    lab.spawn(c);
    assert!(
        wait_until(Duration::from_secs(10), || !lab
            .connects(&client, &v4, 8080)),
        "persisted ban not restored"
    );
    assert!(wait_until(Duration::from_secs(5), || {
        std::fs::read_to_string(lab.path("watch.err"))
            .unwrap_or_default()
            .contains("watching")
    }));

    // Lifting the ban by hand while watch runs.
    let out = lab.nodeward(&["ban", "remove", "10.213.1.2", "-c", &cfg]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(lab.connects(&client, &v4, 8080));
    let out = lab.nodeward(&["ban", "remove", "10.213.1.2", "-c", &cfg]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "not banned any more: {}",
        text(&out)
    );

    // Hostile lines naming 10.213.1.2 and the trusted 10.213.1.3: forged user names,
    // truncated, binary, overlong, other programs. Only 198.51.100.7 (the address
    // sshd really wrote) may be banned.
    let mut hostile = Vec::new();
    for i in 0..4 {
        hostile.extend_from_slice(format!("Nov 21 10:00:0{i} node sshd[99{i}]: Invalid user x from 10.213.1.2 port 22 from 198.51.100.7 port 4{i}\n").as_bytes());
        hostile.extend_from_slice(format!("Nov 21 10:00:0{i} node sshd[99{i}]: Failed password for invalid user from 10.213.1.2 port 22 ssh2 from 198.51.100.7 port 4{i} ssh2\n").as_bytes());
        hostile.extend_from_slice(
            format!("Nov 21 10:00:0{i} node sshd[99{i}]: Invalid user a from 10.213.1.2\n")
                .as_bytes(),
        );
        hostile.extend_from_slice(
            format!("Nov 21 10:00:0{i} node sshd[99{i}]: Invalid user ").as_bytes(),
        );
        hostile.extend_from_slice(b"\xff\xfe");
        hostile.extend_from_slice(format!(" from 10.213.1.2 port 5{i}\n").as_bytes());
        hostile.extend_from_slice(
            format!("Nov 21 10:00:0{i} node su[99{i}]: Invalid user a from 10.213.1.2 port 5{i}\n")
                .as_bytes(),
        );
        hostile.extend_from_slice(
            format!(
                "Nov 21 10:00:0{i} node sshd[99{i}]: Invalid user a from 10.213.1.3 port 5{i}\n"
            )
            .as_bytes(),
        );
        let mut long = format!("Nov 21 10:00:0{i} node sshd[99{i}]: Invalid user ").into_bytes();
        long.extend(std::iter::repeat_n(b'A', 100_000));
        long.extend_from_slice(b" from 10.213.1.2 port 22\n");
        hostile.extend_from_slice(&long);
    }
    hostile.extend_from_slice(b"Nov 21 10:00:09 node sshd[1]: Invalid user a from 10.213.1.2 po");
    append(&sshd_log, &hostile);
    // Gateway violations from the client's IPv6 address.
    for _ in 0..3 {
        append(&gw_log, br#"{"ts":"2026-11-21T10:00:00Z","client_ip":"fd00:213:1::2","reason":"forbidden command addNeighbors"}"#);
        append(&gw_log, b"\n");
    }
    assert!(
        wait_until(Duration::from_secs(10), || {
            let out = std::fs::read_to_string(&watch_out).unwrap_or_default();
            out.contains("banned 198.51.100.7 ") && out.contains("banned fd00:213:1::2 ")
        }),
        "expected bans missing: {}",
        std::fs::read_to_string(&watch_out).unwrap_or_default()
    );
    std::thread::sleep(Duration::from_millis(500));
    let list: Vec<String> = banned(&lab, &cfg).into_iter().map(|b| b.0).collect();
    assert!(!list.contains(&"10.213.1.2".to_string()), "{list:?}");
    assert!(!list.contains(&"10.213.1.3".to_string()), "{list:?}");
    assert!(
        lab.connects(&client, &v4, 8080),
        "forged lines must not ban the client"
    );
    assert!(
        !lab.connects(&client, &v6, 8080),
        "gateway violations ban the IPv6 source"
    );

    // Applying the firewall keeps active bans (they are preloaded into the new table).
    let out = lab.nodeward(&["firewall", "apply", "--confirm", "-c", &cfg]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(lab.connects(&client, &v4, 8080));
    assert!(
        !lab.connects(&client, &v6, 8080),
        "ban must survive a firewall apply"
    );
    let set = lab.nft(&["list", "set", "inet", "nodeward", "ban6"]);
    assert!(set.contains("fd00:213:1::2"), "{set}");
}

#[test]
fn scan_reports_what_watch_would_ban() {
    let lab = Lab::new(1);
    let log = lab.path("auth.log");
    let mut text_log = String::new();
    for i in 0..5 {
        text_log.push_str(&format!("Oct  1 00:00:0{i} node sshd[10{i}]: Failed password for root from 203.0.113.9 port 4000{i} ssh2\n"));
        text_log.push_str(&format!("Oct  1 00:00:0{i} node sshd[20{i}]: Accepted publickey for deploy from 198.51.100.2 port 5000{i} ssh2: ED25519 SHA256:abc\n"));
    }
    text_log.push_str("Oct  1 00:01:00 node sshd[300]: Invalid user x from 2001:db8::9 port 1\n");
    text_log.push_str("Oct  1 00:01:00 node CRON[301]: pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)\n");
    write(&log, &text_log);
    let out = lab.nodeward(&[
        "ban",
        "scan",
        &log.display().to_string(),
        "--format",
        "json",
        "-c",
        "/nonexistent.toml",
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["lines"], 12);
    assert_eq!(r["failures"], 6);
    assert_eq!(r["by_kind"]["failed_password"], 5);
    assert_eq!(r["by_kind"]["invalid_user"], 1);
    assert_eq!(r["bans"], 1, "{r}"); // default maxretry 5 within 10m
    assert_eq!(r["banned_sources"], 1);
}
