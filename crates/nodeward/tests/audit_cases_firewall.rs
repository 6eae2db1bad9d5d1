//! `nodeward audit` on the firewall and brute-force case roots
//! (tests/fixtures/audit/cases/, written by parts/firewall.py): each bad root,
//! which used to pass or passed with empty evidence, now gets the verdict it
//! deserves, and its good counterpart passes. Plus the live side: nodeward's
//! own table loaded in a network namespace the test creates, with and without
//! its persistence (bind-mounted over /etc/nodeward and /etc/systemd/system in
//! a private mount namespace), a real `nodeward ban watch`, and a public
//! listener with no jail.

mod common_audit;

use common_audit::*;

/// Audits a case root with the hornet profile, firewall and bruteforce checks only.
fn case(name: &str) -> Run {
    let root = fixture(&format!("cases/{name}"));
    assert!(root.is_dir(), "missing case root {}", root.display());
    let run = audit(&[
        "--root",
        root.to_str().unwrap(),
        "--profile",
        "hornet",
        "--format",
        "json",
        "--only",
        "firewall,bruteforce",
    ]);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    run
}

/// Asserts `id` has `status` and its evidence contains each of `needles`.
fn expect(run: &Run, id: &str, status: &str, needles: &[&str]) {
    let f = run.finding(id);
    let ev = f["evidence"].as_str().unwrap();
    assert_eq!(f["status"], status, "{id}: {ev}");
    for n in needles {
        assert!(ev.contains(n), "{id}: {n:?} not in {ev}");
    }
}

#[test]
fn fw_001_persisted_file_without_boot_unit_warns() {
    let bad = case("fw-001-unit-not-enabled-bad");
    expect(
        &bad,
        "FW-001",
        "warn",
        &[
            "not loaded at boot",
            "/etc/nodeward/firewall.nft holds table inet nodeward",
            "nodeward-firewall.service is not enabled",
        ],
    );
    let fix = bad.finding("FW-001")["remediation"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        fix.contains("nodeward firewall confirm") && fix.contains("nodeward-firewall.service"),
        "{fix}"
    );
    // Nothing else loads at boot, so input is not denied either.
    expect(&bad, "FW-002", "fail", &[]);

    let good = case("fw-001-unit-not-enabled-good");
    expect(
        &good,
        "FW-003",
        "pass",
        &["IPv6 input denied by default: table inet nodeward chain"],
    );
    for id in ["FW-001", "FW-002"] {
        expect(
            &good,
            id,
            "pass",
            &["loaded at boot by nodeward-firewall.service"],
        );
    }
    expect(
        &good,
        "FW-002",
        "pass",
        &["table inet nodeward chain input: hook input, policy drop"],
    );
}

#[test]
fn fw_001_remediation_names_the_persistence_step() {
    let run = case("bf-002-gateway-no-jail-good");
    let fix = run.finding("FW-001")["remediation"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        fix.contains("nodeward firewall confirm")
            && fix.contains("systemctl enable nodeward-firewall.service"),
        "{fix}"
    );
}

#[test]
fn fw_003_ufw_evidence_says_what_was_found() {
    let unset = case("fw-003-ufw-ipv6-unset-bad");
    expect(
        &unset,
        "FW-003",
        "warn",
        &[
            "could not be determined",
            "/etc/default/ufw does not set IPV6",
        ],
    );
    expect(&unset, "FW-001", "pass", &["IPV6=unset"]);
    let no = case("fw-003-ufw-ipv6-no-bad");
    expect(
        &no,
        "FW-003",
        "fail",
        &["ufw: IPV6=no in /etc/default/ufw, so ufw filters IPv4 only"],
    );
    let good = case("fw-003-ufw-ipv6-good");
    expect(
        &good,
        "FW-003",
        "pass",
        &["IPv6 input denied by default: ufw: IPV6=yes, DEFAULT_INPUT_POLICY=DROP in /etc/default/ufw"],
    );
    for run in [&unset, &no, &good] {
        let ev = run.finding("FW-003")["evidence"]
            .as_str()
            .unwrap()
            .to_string();
        assert!(!ev.trim_end().ends_with(':'), "empty evidence tail: {ev}");
    }
}

#[test]
fn bf_002_gateway_listener_without_jail_fails() {
    let bad = case("bf-002-gateway-no-jail-bad");
    // An SSH jail alone used to pass.
    expect(
        &bad,
        "BF-002",
        "fail",
        &[
            "no jail for",
            "8443/tcp (gateway [[listener]])",
            "80/tcp (profile hornet)",
            "2222/tcp (SSH (sshd_config Port)): fail2ban [sshd]",
            "out of scope: TCP 15600: peering ports",
        ],
    );
    let ev = bad.finding("BF-002")["evidence"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        !ev.contains("9000"),
        "a loopback listener is not exposed: {ev}"
    );
    let fix = bad.finding("BF-002")["remediation"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(fix.contains("8443/tcp"), "{fix}");

    let good = case("bf-002-gateway-no-jail-good");
    expect(
        &good,
        "BF-002",
        "pass",
        &[
            "every exposed port has a jail",
            "8443/tcp (gateway [[listener]]): nodeward ban (gateway: ban.gateway_logs follows /var/log/nodeward/violations.jsonl)",
            "2222/tcp (SSH (sshd_config Port)): fail2ban [sshd]",
        ],
    );
}

#[test]
fn bf_002_fail2ban_port_lists_and_service_names() {
    let bad = case("bf-002-fail2ban-web-jail-bad");
    expect(
        &bad,
        "BF-002",
        "fail",
        &["no jail for 80/tcp (profile hornet), 443/tcp (profile hornet)"],
    );
    let good = case("bf-002-fail2ban-web-jail-good");
    // `port = http,\n https` (a continuation line) resolved through /etc/services.
    expect(
        &good,
        "BF-002",
        "pass",
        &[
            "80/tcp (profile hornet): fail2ban [nginx-http-auth] (/etc/fail2ban/jail.d/web.local:3)",
            "443/tcp (profile hornet): fail2ban [nginx-http-auth]",
        ],
    );
}

#[test]
fn bf_001_recognises_nodeward_ban() {
    let good = case("bf-001-nodeward-ban-good");
    expect(
        &good,
        "BF-001",
        "pass",
        &[
            "nodeward ban: nodeward-ban.service enabled",
            "sshd source /var/log/auth.log (/etc/nodeward/nodeward.toml)",
        ],
    );
    let ev = good.finding("BF-001")["evidence"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        !ev.contains("fail2ban"),
        "fail2ban is off in this root: {ev}"
    );
    expect(
        &good,
        "BF-002",
        "pass",
        &["2222/tcp (SSH (sshd_config Port)): nodeward ban (sshd)"],
    );

    let no_sshd = case("bf-001-nodeward-ban-no-sshd-bad");
    expect(
        &no_sshd,
        "BF-001",
        "fail",
        &["follows no sshd log", "ban.journald = \"off\""],
    );
    expect(&no_sshd, "BF-002", "fail", &["no jail for 2222/tcp"]);

    // A broken config is a finding naming the file and line, not an audit failure.
    let broken = case("bf-001-nodeward-ban-broken-config-bad");
    assert_eq!(
        broken.code, 0,
        "BF-001 is medium, below --fail-on high: {}",
        broken.stderr
    );
    expect(
        &broken,
        "BF-001",
        "fail",
        &["/etc/nodeward/nodeward.toml:20: duplicate key `logs`"],
    );
}

#[test]
fn hardened_root_jails_every_exposed_port() {
    let root = fixture("hardened");
    let run = audit(&[
        "--root",
        root.to_str().unwrap(),
        "--profile",
        "hornet",
        "--format",
        "json",
        "--only",
        "firewall,bruteforce",
    ]);
    expect(
        &run,
        "BF-002",
        "pass",
        &[
            "80/tcp (gateway [[listener]])",
            "443/tcp (gateway [[listener]])",
            "2222/tcp (SSH (sshd_config Port)): fail2ban [sshd]",
        ],
    );
    let weak = audit(&[
        "--root",
        fixture("weak").to_str().unwrap(),
        "--format",
        "json",
        "--only",
        "bruteforce",
    ]);
    expect(&weak, "BF-001", "fail", &["nodeward ban"]);
    expect(&weak, "BF-002", "fail", &[]);
}
