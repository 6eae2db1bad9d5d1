//! `nodeward firewall` against real nftables in network namespaces the tests create:
//! allowed ports connect and others do not (IPv4 and IPv6), unconfirmed applies roll
//! back by themselves, confirmed ones stay, and unsafe policies are refused.

mod common_firewall;

use common_firewall::{text, wait_until, write, Lab};
use std::time::Duration;

const POLICY: &str = r#"
[firewall]
ssh_port = 2222
[[firewall.allow]]
proto = "tcp"
ports = "8080,8443-8444"
"#;

fn config(lab: &Lab, body: &str) -> String {
    let path = lab.path("nodeward.toml");
    write(&path, body);
    path.display().to_string()
}

/// A table of someone else's that nodeward must never touch.
fn add_foreign_table(lab: &Lab) {
    let script = lab.path("foreign.nft");
    write(
        &script,
        "table ip keepme {\n\tchain out {\n\t\ttype filter hook output priority 10; policy accept;\n\t\ttcp dport 7777 accept\n\t}\n}\n",
    );
    lab.nft(&["-f", &script.display().to_string()]);
}

/// The ruleset as text, with volatile counters and expiry times removed.
fn ruleset(lab: &Lab) -> String {
    let raw = lab.nft(&["list", "ruleset"]);
    raw.lines()
        .map(|l| match l.find(" expires ") {
            Some(i) => l[..i].to_string(),
            None => l.to_string(),
        })
        .map(|l| match l.find("counter packets") {
            Some(i) => l[..i].to_string() + "counter",
            None => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn allowed_ports_connect_and_others_do_not_on_ipv4_and_ipv6() {
    let mut lab = Lab::new(1);
    lab.listen(&[2222, 8080, 8444, 9090]);
    add_foreign_table(&lab);
    let foreign_before = lab.nft(&["list", "table", "ip", "keepme"]);
    let cfg = config(&lab, POLICY);
    let client = lab.clients[0].clone();
    let (v4, v6) = (lab.server_v4(1), lab.server_v6(1));

    // Without the firewall every listener answers.
    assert!(lab.connects(&client, &v4, 9090));
    assert!(lab.connects(&client, &v6, 9090));

    let plan = lab.nodeward(&["firewall", "plan", "-c", &cfg]);
    assert!(plan.status.success(), "{}", text(&plan));
    assert!(String::from_utf8_lossy(&plan.stdout).contains("table inet nodeward"));

    let out = lab.nodeward(&["firewall", "apply", "-c", &cfg, "--confirm"]);
    assert!(out.status.success(), "{}", text(&out));

    for addr in [&v4, &v6] {
        for port in [2222, 8080, 8444] {
            assert!(
                lab.connects(&client, addr, port),
                "{addr}:{port} should connect"
            );
        }
        assert!(
            !lab.connects(&client, addr, 9090),
            "{addr}:9090 should be dropped"
        );
    }
    // Loopback stays open inside the host.
    assert!(lab.connects(&lab.server.clone(), "127.0.0.1", 9090));
    // No other table was touched.
    assert_eq!(lab.nft(&["list", "table", "ip", "keepme"]), foreign_before);

    let status = lab.nodeward(&["firewall", "status", "--format", "json", "-c", &cfg]);
    assert!(status.status.success(), "{}", text(&status));
    let s: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(s["loaded"], true);
    assert!(s["pending_rollback"].is_null());

    let out = lab.nodeward(&["firewall", "remove", "-c", &cfg]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(lab.connects(&client, &v4, 9090));
    assert!(lab.connects(&client, &v6, 9090));
    assert_eq!(lab.nft(&["list", "table", "ip", "keepme"]), foreign_before);
}

#[test]
fn unconfirmed_apply_rolls_back_by_itself_and_confirmed_apply_stays() {
    let mut lab = Lab::new(1);
    lab.listen(&[2222, 9090]);
    add_foreign_table(&lab);
    // An older nodeward table exists: roll-back must bring exactly it back.
    let old = lab.path("old.nft");
    write(&old, "table inet nodeward {\n\tset ban4 {\n\t\ttype ipv4_addr\n\t\tflags timeout\n\t}\n\tchain input {\n\t\ttype filter hook input priority 0; policy accept;\n\t\ttcp dport 7 counter drop\n\t}\n}\n");
    lab.nft(&["-f", &old.display().to_string()]);
    let before = ruleset(&lab);
    let cfg = config(&lab, POLICY);
    let client = lab.clients[0].clone();
    let v4 = lab.server_v4(1);
    let v6 = lab.server_v6(1);

    let out = lab.nodeward(&["firewall", "apply", "-c", &cfg, "--rollback-after", "3s"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!lab.connects(&client, &v4, 9090), "policy should be active");
    let status = lab.nodeward(&["firewall", "status", "--format", "json", "-c", &cfg]);
    let s: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(s["pending_rollback"]["worker_alive"], true, "{s}");

    // Nobody confirms: the detached worker restores the previous ruleset.
    assert!(
        wait_until(Duration::from_secs(15), || ruleset(&lab) == before),
        "not rolled back:\n{}\nexpected:\n{before}",
        ruleset(&lab)
    );
    assert!(lab.connects(&client, &v4, 9090));
    assert!(lab.connects(&client, &v6, 9090));
    let status = lab.nodeward(&["firewall", "status", "--format", "json", "-c", &cfg]);
    let s: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(s["last"]["outcome"], "rolled back", "{s}");
    let confirm = lab.nodeward(&["firewall", "confirm", "-c", &cfg]);
    assert_eq!(
        confirm.status.code(),
        Some(2),
        "nothing to confirm: {}",
        text(&confirm)
    );

    // Confirmed in time: the rules stay after the deadline.
    let out = lab.nodeward(&["firewall", "apply", "-c", &cfg, "--rollback-after", "3s"]);
    assert!(out.status.success(), "{}", text(&out));
    let confirm = lab.nodeward(&["firewall", "confirm", "-c", &cfg]);
    assert!(confirm.status.success(), "{}", text(&confirm));
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        !lab.connects(&client, &v4, 9090),
        "confirmed policy must stay"
    );
    assert!(
        !lab.connects(&client, &v6, 9090),
        "confirmed policy must stay"
    );
    assert!(lab.connects(&client, &v4, 2222));
    let status = lab.nodeward(&["firewall", "status", "--format", "json", "-c", &cfg]);
    let s: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert!(s["pending_rollback"].is_null(), "{s}");
    assert_eq!(s["last"]["outcome"], "confirmed", "{s}");
}

#[test]
fn unsafe_or_invalid_policies_are_refused_before_anything_is_loaded() {
    let lab = Lab::new(1);
    let table_absent = |lab: &Lab| {
        let mut c = lab.cmd(&lab.server, "nft");
        c.args(["list", "table", "inet", "nodeward"]);
        !common_firewall::run_bounded(c, Duration::from_secs(10))
            .status
            .success()
    };

    // The operator is connected to port 2200, which the policy (ssh_port 22) would close.
    let cfg = config(&lab, "[firewall]\nssh_port = 22\n");
    let mut c = lab.nodeward_cmd();
    c.args(["firewall", "apply", "-c", &cfg, "--rollback-after", "3s"])
        .env("SSH_CONNECTION", "10.213.1.2 50000 10.213.1.1 2200");
    let out = common_firewall::run_bounded(c, Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("refused") && err.contains("10.213.1.2") && err.contains("2200"),
        "{err}"
    );
    assert!(table_absent(&lab));

    // Restricted SSH sources that leave the operator out are refused too.
    let cfg = config(
        &lab,
        "[firewall]\nssh_port = 2200\nssh_from = [\"192.0.2.0/24\"]\n",
    );
    let mut c = lab.nodeward_cmd();
    c.args(["firewall", "apply", "-c", &cfg, "--confirm"])
        .env("SSH_CONNECTION", "10.213.1.2 50000 10.213.1.1 2200");
    let out = common_firewall::run_bounded(c, Duration::from_secs(20));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(table_absent(&lab));

    // Without SSH_CONNECTION the guard finds the session in the socket table: a TCP
    // connection from the client to ssh_port that stays open.
    let mut lab = lab;
    // A listener that keeps connections open (reads only).
    let mut listener = lab.cmd(&lab.server.clone(), "socat");
    listener
        .args([
            "-u",
            "TCP6-LISTEN:2200,ipv6only=0,reuseaddr,fork",
            "OPEN:/dev/null",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    lab.spawn(listener);
    let server = lab.server.clone();
    assert!(wait_until(Duration::from_secs(5), || lab.connects(
        &server,
        "127.0.0.1",
        2200
    )));
    let mut hold = lab.cmd(&lab.clients[0].clone(), "socat");
    hold.args(["-u", "STDIN", "TCP4:10.213.1.1:2200"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    lab.spawn(hold);
    let guard_sees_it = wait_until(Duration::from_secs(5), || {
        let out = lab.nodeward(&["firewall", "apply", "-c", &cfg, "--confirm"]);
        out.status.code() == Some(2)
            && String::from_utf8_lossy(&out.stderr).contains("/proc/net/tcp")
    });
    assert!(
        guard_sees_it,
        "the open connection to ssh_port was not found"
    );
    assert!(table_absent(&lab));

    // --force overrides the guard.
    let mut c = lab.nodeward_cmd();
    c.args(["firewall", "apply", "-c", &cfg, "--confirm", "--force"])
        .env("SSH_CONNECTION", "10.213.1.2 50000 10.213.1.1 2200");
    let out = common_firewall::run_bounded(c, Duration::from_secs(20));
    assert!(out.status.success(), "{}", text(&out));
    assert!(!table_absent(&lab));
    let out = lab.nodeward(&["firewall", "remove", "-c", &cfg]);
    assert!(out.status.success(), "{}", text(&out));

    // Invalid policies: clear message naming the key, nothing loaded.
    for (body, needle) in [
        ("[[firewall.allow]]\nproto = \"tcp\"\nports = \"3000-3999\"\n[[firewall.allow]]\nproto = \"tcp\"\nports = \"3500\"\n", "firewall.allow[1]"),
        ("[[firewall.allow]]\nproto = \"tcp\"\nports = \"4000-3000\"\n", "impossible"),
        ("[firewall]\ntrusted = [\"10.0.0.1/8\"]\n", "host bits"),
        ("[[firewall.allow]]\nproto = \"tcp\"\nports = \"80\"\nfrom = [\"300.1.1.1/32\"]\n", "firewall.allow[0].from[0]"),
    ] {
        let cfg = config(&lab, body);
        let out = lab.nodeward(&["firewall", "apply", "-c", &cfg, "--confirm"]);
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(needle) && err.contains("nodeward.toml"), "{needle}: {err}");
        assert!(table_absent(&lab));
    }
}

#[test]
fn trusted_sources_egress_filtering_and_per_source_rate_limit() {
    let mut lab = Lab::new(2);
    lab.listen(&[2222, 8080, 9090]);
    let (c1, c2) = (lab.clients[0].clone(), lab.clients[1].clone());
    lab.listen_in(&c1, &[7000, 7001]);
    let cfg = config(
        &lab,
        r#"
[firewall]
ssh_port = 2222
trusted = ["10.213.2.2/32", "fd00:213:2::2/128"]
new_conn_rate = "2/min"
egress = true
[[firewall.allow]]
proto = "tcp"
ports = "8080"
[[firewall.allow_out]]
proto = "tcp"
ports = "7000"
"#,
    );
    let out = lab.nodeward(&["firewall", "apply", "-c", &cfg, "--confirm"]);
    assert!(out.status.success(), "{}", text(&out));

    // Trusted sources reach every port; others only the allowed ones.
    assert!(lab.connects(&c2, &lab.server_v4(2), 9090));
    assert!(lab.connects(&c2, &lab.server_v6(2), 9090));
    assert!(!lab.connects(&c1, &lab.server_v4(1), 9090));

    // Egress: only the allowed outbound port.
    let server = lab.server.clone();
    assert!(lab.connects(&server, "10.213.1.2", 7000));
    assert!(lab.connects(&server, "fd00:213:1::2", 7000));
    assert!(!lab.connects(&server, "10.213.1.2", 7001));
    assert!(!lab.connects(&server, "fd00:213:1::2", 7001));

    // A burst of 12 new connections from one source: the per-source limit
    // (2/min, burst 4) lets the burst through and drops the rest ...
    let mut burst: Vec<_> = (0..12)
        .map(|_| {
            lab.connect_cmd(&c1, &lab.server_v4(1), 8080)
                .spawn()
                .unwrap()
        })
        .collect();
    let ok = burst
        .iter_mut()
        .map(|c| c.wait().map(|s| s.success()).unwrap_or(false))
        .filter(|ok| *ok)
        .count();
    assert!((1..=6).contains(&ok), "{ok} of 12 connections got through");
    // ... while another source (the same host over IPv6) still connects at once.
    assert!(lab.connects(&c1, &lab.server_v6(1), 8080));
}

#[test]
fn every_policy_shape_passes_nft_check_and_dry_run_loads_nothing() {
    let lab = Lab::new(1);
    let shapes = [
        "",
        "[firewall]\nprofiles = [\"iota\", \"hornet\", \"ilp\", \"cardano\", \"masternode\", \"bitcoin\", \"ethereum\"]\n",
        "[firewall]\nssh_from = [\"10.0.0.0/8\", \"2001:db8::/32\"]\ntrusted = [\"192.0.2.7\", \"2001:db8::7\"]\nnew_conn_rate = \"600/min\"\n",
        "[firewall]\nnew_conn_rate = \"100/h\"\n[[firewall.allow]]\nproto = \"udp\"\nports = \"30000-30100,40000\"\nfrom = [\"0.0.0.0/0\"]\n[[firewall.allow]]\nproto = \"tcp\"\nports = \"443\"\nfrom = [\"::/0\"]\nrate_limit = false\n",
        "[firewall]\negress = true\n[[firewall.allow_out]]\nproto = \"udp\"\nports = \"53,123\"\n[[firewall.allow_out]]\nproto = \"tcp\"\nports = \"80,443\"\nto = [\"198.51.100.0/24\", \"2001:db8:1::/48\"]\n",
    ];
    for body in shapes {
        let cfg = config(&lab, body);
        let out = lab.nodeward(&["firewall", "apply", "--dry-run", "-c", &cfg]);
        assert!(out.status.success(), "{body}\n{}", text(&out));
        assert!(String::from_utf8_lossy(&out.stdout).contains("# dry run"));
        let mut c = lab.cmd(&lab.server, "nft");
        c.args(["list", "table", "inet", "nodeward"]);
        let listed = common_firewall::run_bounded(c, Duration::from_secs(10));
        assert!(!listed.status.success(), "dry run must not load anything");
    }
}
