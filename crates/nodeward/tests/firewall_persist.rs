//! The firewall survives reboots: a confirmed ruleset is written to the persist file,
//! the boot unit's exact ExecStart brings it back after the kernel forgot it (a
//! simulated reboot in a network namespace the test creates), `status` says whether
//! the running table matches it, `remove` deletes it, a pending apply is never
//! written, egress policies without DNS/NTP warn, and the systemd units verify.

mod common_firewall;

use common_firewall::{nodeward, run_bounded, text, write, Lab};
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::Duration;

const POLICY: &str = r#"
[firewall]
ssh_port = 2222
trusted = ["10.99.0.0/16"]
[[firewall.allow]]
proto = "tcp"
ports = "8080"
"#;

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(Path::parent)
        .expect("repository root")
}

fn unit(name: &str) -> String {
    let path = repo_root().join("dist").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The ExecStart= of a unit as an argument list, the installed binary path replaced
/// by the binary under test.
fn exec_start(unit_text: &str) -> Vec<String> {
    let line = unit_text
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .expect("ExecStart=");
    let mut args: Vec<String> = line.split_whitespace().map(String::from).collect();
    assert_eq!(args[0], "/usr/local/bin/nodeward", "{line}");
    args[0] = nodeward().to_string();
    args
}

/// Runs the boot unit's ExecStart inside the lab's server namespace (the persist
/// path comes from NODEWARD_PERSIST_FILE, as the lab never writes the host's /etc).
fn boot_restore(lab: &Lab) -> std::process::Output {
    let args = exec_start(&unit("nodeward-firewall.service"));
    let mut c = lab.cmd(&lab.server, &args[0]);
    c.args(&args[1..])
        .env("NODEWARD_PERSIST_FILE", lab.persist_file())
        .env_remove("NODEWARD_STATE_DIR");
    run_bounded(c, Duration::from_secs(20))
}

fn table(lab: &Lab) -> Option<String> {
    let mut c = lab.cmd(&lab.server, "nft");
    c.args(["list", "table", "inet", "nodeward"]);
    let out = run_bounded(c, Duration::from_secs(10));
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

fn status(lab: &Lab, cfg: &str) -> serde_json::Value {
    let out = lab.nodeward(&["firewall", "status", "--format", "json", "-c", cfg]);
    assert!(out.status.success(), "{}", text(&out));
    serde_json::from_slice(&out.stdout).unwrap()
}

fn add_foreign_table(lab: &Lab) -> String {
    let script = lab.path("foreign.nft");
    write(
        &script,
        "table ip keepme {\n\tchain out {\n\t\ttype filter hook output priority 10; policy accept;\n\t\ttcp dport 7777 accept\n\t}\n}\n",
    );
    lab.nft(&["-f", &script.display().to_string()]);
    lab.nft(&["list", "table", "ip", "keepme"])
}

#[test]
fn confirmed_ruleset_is_restored_after_a_simulated_reboot() {
    let mut lab = Lab::new(1);
    lab.listen(&[2222, 8080, 9090]);
    let foreign = add_foreign_table(&lab);
    let cfg_path = lab.path("nodeward.toml");
    write(&cfg_path, POLICY);
    let cfg = cfg_path.display().to_string();
    let persist = lab.persist_file();
    let client = lab.clients[0].clone();
    let v4 = lab.server_v4(1);

    // Nothing persisted yet.
    let s = status(&lab, &cfg);
    assert_eq!(s["persisted"]["exists"], false, "{s}");
    assert!(s["persisted"]["matches_running"].is_null(), "{s}");

    // A pending apply is not persisted.
    let out = lab.nodeward(&["firewall", "apply", "-c", &cfg, "--rollback-after", "60s"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!persist.exists(), "a pending apply must not be persisted");
    // Confirming it persists it.
    let out = lab.nodeward(&["firewall", "confirm", "-c", &cfg]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains(&persist.display().to_string()),
        "{}",
        text(&out)
    );
    let meta = std::fs::metadata(&persist).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let saved = std::fs::read_to_string(&persist).unwrap();
    for line in saved.lines() {
        let l = line.trim_start();
        if l.starts_with("table") || l.starts_with("add ") || l.starts_with("delete ") {
            assert!(l.contains("table inet nodeward"), "{l}");
        }
    }
    assert!(!saved.contains("elements = { 10.213"), "{saved}");
    lab.nft(&["-c", "-f", &persist.display().to_string()]);
    let confirmed = table(&lab).expect("table loaded");
    let s = status(&lab, &cfg);
    assert_eq!(s["persisted"]["exists"], true, "{s}");
    assert_eq!(s["persisted"]["matches_running"], true, "{s}");

    // Reboot 1: the kernel lost our table. The boot unit's command brings it back.
    lab.nft(&["delete", "table", "inet", "nodeward"]);
    assert!(lab.connects(&client, &v4, 9090));
    let out = boot_restore(&lab);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(table(&lab).as_deref(), Some(confirmed.as_str()));
    assert!(
        !lab.connects(&client, &v4, 9090),
        "9090 must be closed again"
    );
    assert!(lab.connects(&client, &v4, 8080));
    assert_eq!(lab.nft(&["list", "table", "ip", "keepme"]), foreign);
    // Loading it twice is harmless: still one table, the same one.
    let out = boot_restore(&lab);
    assert!(out.status.success(), "{}", text(&out));
    let listed = lab.nft(&["list", "tables"]);
    assert_eq!(listed.matches("inet nodeward").count(), 1, "{listed}");
    assert_eq!(lab.nft(&["list", "table", "ip", "keepme"]), foreign);

    // Reboot 2: an empty ruleset.
    lab.nft(&["flush", "ruleset"]);
    let out = boot_restore(&lab);
    assert!(out.status.success(), "{}", text(&out));
    let after = table(&lab).expect("table restored");
    // Only the per-source meters may have changed (the connections above).
    let strip = |t: &str| -> String {
        t.lines()
            .filter(|l| {
                !l.contains("elements = {")
                    && !l.trim_start().starts_with("10.213.")
                    && !l.contains(" expires ")
            })
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(strip(&after), strip(&confirmed));
    let s = status(&lab, &cfg);
    assert_eq!(s["persisted"]["matches_running"], true, "{s}");

    // A change by hand: status says the running table differs.
    lab.nft(&[
        "add", "rule", "inet", "nodeward", "input", "tcp", "dport", "9090", "accept",
    ]);
    let s = status(&lab, &cfg);
    assert_eq!(s["persisted"]["matches_running"], false, "{s}");
    assert!(
        s["persisted"]["detail"].as_str().unwrap().contains("9090"),
        "{s}"
    );
    let out = lab.nodeward(&["firewall", "status", "-c", &cfg]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("DIFFERS"),
        "{}",
        text(&out)
    );

    // A pending apply of another policy leaves the persisted file as it is, also
    // when it is rolled back.
    let before = std::fs::read(&persist).unwrap();
    write(
        &cfg_path,
        &format!("{POLICY}[[firewall.allow]]\nproto = \"tcp\"\nports = \"9090\"\n"),
    );
    let out = lab.nodeward(&["firewall", "apply", "-c", &cfg, "--rollback-after", "60s"]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::read(&persist).unwrap(), before);
    let out = lab.nodeward(&["firewall", "rollback", "-c", &cfg]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(std::fs::read(&persist).unwrap(), before);

    // remove deletes the table and the file, and says so.
    let out = lab.nodeward(&["firewall", "remove", "-c", &cfg]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("persisted ruleset"),
        "{}",
        text(&out)
    );
    assert!(!persist.exists());
    assert!(table(&lab).is_none());
    let s = status(&lab, &cfg);
    assert_eq!(s["persisted"]["exists"], false, "{s}");
    let out = lab.nodeward(&["firewall", "status", "-c", &cfg]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("(missing)"),
        "{}",
        text(&out)
    );

    // Without a persisted file the boot command refuses clearly and loads nothing.
    let out = boot_restore(&lab);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no persisted ruleset"),
        "{}",
        text(&out)
    );
    assert!(table(&lab).is_none());
}

#[test]
fn restore_refuses_invalid_or_foreign_files_and_loads_nothing() {
    let lab = Lab::new(0);
    let foreign = add_foreign_table(&lab);
    let persist = lab.persist_file();
    std::fs::create_dir_all(persist.parent().unwrap()).unwrap();
    for (body, needle) in [
        (
            "table inet nodeward {\n\tchain input {\n\t\tbogus statement\n\t}\n}\n",
            "nft -c refused",
        ),
        ("flush ruleset\n", "only that table"),
        (
            "table ip keepme {\n}\ntable inet nodeward {\n}\n",
            "only that table",
        ),
    ] {
        write(&persist, body);
        std::fs::set_permissions(&persist, std::fs::Permissions::from_mode(0o600)).unwrap();
        let out = boot_restore(&lab);
        assert_eq!(out.status.code(), Some(2), "{body}: {}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(needle) && err.contains("firewall.nft"),
            "{needle}: {err}"
        );
        assert!(table(&lab).is_none(), "{body}");
        assert_eq!(lab.nft(&["list", "table", "ip", "keepme"]), foreign);
    }
    // Writable by others: refused before nft sees it.
    write(&persist, "table inet nodeward {\n}\n");
    std::fs::set_permissions(&persist, std::fs::Permissions::from_mode(0o666)).unwrap();
    let out = boot_restore(&lab);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("root's alone"),
        "{}",
        text(&out)
    );
    assert!(table(&lab).is_none());
}

#[test]
fn apply_confirm_persists_and_persist_file_key_is_honoured() {
    let lab = Lab::new(0);
    let custom = lab.path("custom/boot.nft");
    let cfg_path = lab.path("nodeward.toml");
    // 6000 trusted addresses: the listings are far larger than a pipe buffer.
    let trusted: Vec<String> = (0..6000)
        .map(|i| format!("\"10.50.{}.{}\"", i / 250, i % 250 + 1))
        .collect();
    write(
        &cfg_path,
        &format!(
            "[firewall]\nssh_port = 2222\npersist_file = \"{}\"\ntrusted = [{}]\n",
            custom.display(),
            trusted.join(", ")
        ),
    );
    let cfg = cfg_path.display().to_string();
    // The config key applies when neither --persist-file nor the variable is given.
    let mut c = lab.nodeward_cmd();
    c.env_remove("NODEWARD_PERSIST_FILE")
        .args(["firewall", "apply", "--confirm", "-c", &cfg]);
    let out = run_bounded(c, Duration::from_secs(20));
    assert!(out.status.success(), "{}", text(&out));
    assert!(custom.exists(), "{}", text(&out));
    assert!(!lab.persist_file().exists());
    // --persist-file wins over the key.
    let flag = lab.path("flag.nft");
    let mut c = lab.nodeward_cmd();
    c.env_remove("NODEWARD_PERSIST_FILE").args([
        "firewall",
        "apply",
        "--confirm",
        "-c",
        &cfg,
        "--persist-file",
        &flag.display().to_string(),
    ]);
    let out = run_bounded(c, Duration::from_secs(20));
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        std::fs::read(&flag).unwrap(),
        std::fs::read(&custom).unwrap()
    );
    let mut c = lab.nodeward_cmd();
    c.env_remove("NODEWARD_PERSIST_FILE")
        .args(["firewall", "status", "--format", "json", "-c", &cfg]);
    let out = run_bounded(c, Duration::from_secs(20));
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(s["persisted"]["path"], custom.display().to_string(), "{s}");
    assert_eq!(s["persisted"]["matches_running"], true, "{s}");

    // A persist file that cannot be written: the rules stay, the error says what boot gets.
    let blocker = lab.path("not-a-dir");
    write(&blocker, "");
    let out = lab.nodeward(&[
        "firewall",
        "apply",
        "--confirm",
        "-c",
        &cfg,
        "--persist-file",
        &blocker.join("fw.nft").display().to_string(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("saving them for boot failed") && err.contains("not-a-dir"),
        "{err}"
    );
    assert!(lab.nft(&["list", "tables"]).contains("inet nodeward"));
}

#[test]
fn egress_without_dns_or_ntp_warns_and_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("n.toml");
    let run = |body: &str, args: &[&str]| {
        write(&cfg, body);
        let mut c = Command::new(nodeward());
        c.args(args)
            .arg("-c")
            .arg(&cfg)
            .env("NODEWARD_STATE_DIR", dir.path().join("state"))
            .env("NODEWARD_PERSIST_FILE", dir.path().join("fw.nft"))
            .env_remove("SSH_CONNECTION");
        run_bounded(c, Duration::from_secs(20))
    };
    let web_only =
        "[firewall]\negress = true\n[[firewall.allow_out]]\nproto = \"tcp\"\nports = \"80,443\"\n";
    for args in [
        &["firewall", "plan"][..],
        &["firewall", "apply", "--dry-run"][..],
    ] {
        let out = run(web_only, args);
        assert!(out.status.success(), "{}", text(&out));
        let err = String::from_utf8_lossy(&out.stderr);
        for needle in ["DNS (53/udp)", "DNS (53/tcp)", "NTP (123/udp)"] {
            assert!(err.contains(needle), "{args:?} {needle}: {err}");
        }
        assert!(
            err.contains("[[firewall.allow_out]] proto = \"udp\" ports = \"123\""),
            "{err}"
        );
        assert!(!dir.path().join("fw.nft").exists());
    }
    let only_dns = "[firewall]\negress = true\n[[firewall.allow_out]]\nproto = \"udp\"\nports = \"53\"\nto = [\"192.0.2.53\"]\n[[firewall.allow_out]]\nproto = \"tcp\"\nports = \"53\"\n";
    let out = run(only_dns, &["firewall", "plan"]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("NTP (123/udp)") && !err.contains("DNS ("),
        "{err}"
    );
    let all = "[firewall]\negress = true\n[[firewall.allow_out]]\nproto = \"udp\"\nports = \"53,123\"\n[[firewall.allow_out]]\nproto = \"tcp\"\nports = \"53,443\"\n";
    let out = run(all, &["firewall", "plan"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("warning"),
        "{}",
        text(&out)
    );
    // Without egress filtering nothing is blocked, nothing is said.
    let out = run("[firewall]\n", &["firewall", "plan"]);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("warning"),
        "{}",
        text(&out)
    );
}

#[test]
fn units_have_the_boot_order_and_hardening_and_pass_systemd_analyze_verify() {
    let fw = unit("nodeward-firewall.service");
    for line in [
        "Type=oneshot",
        "RemainAfterExit=yes",
        "DefaultDependencies=no",
        "Wants=network-pre.target",
        "WantedBy=sysinit.target",
        "ExecStart=/usr/local/bin/nodeward firewall restore",
    ] {
        assert!(
            fw.lines().any(|l| l == line),
            "nodeward-firewall.service lacks {line}"
        );
    }
    let before = fw.lines().find(|l| l.starts_with("Before=")).unwrap();
    assert!(before.contains("network-pre.target"), "{before}");
    let after = fw.lines().find(|l| l.starts_with("After=")).unwrap();
    assert!(after.contains("local-fs.target"), "{after}");

    let ban = unit("nodeward-ban.service");
    for line in [
        "Wants=nodeward-firewall.service",
        "Restart=on-failure",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "ReadWritePaths=/var/lib/nodeward/ban",
        "CapabilityBoundingSet=CAP_NET_ADMIN CAP_DAC_READ_SEARCH",
        "SystemCallArchitectures=native",
        "WantedBy=multi-user.target",
    ] {
        assert!(
            ban.lines().any(|l| l == line),
            "nodeward-ban.service lacks {line}"
        );
    }
    assert!(ban
        .lines()
        .any(|l| l.starts_with("After=") && l.contains("nodeward-firewall.service")));
    assert!(ban
        .lines()
        .any(|l| l.starts_with("RestrictAddressFamilies=") && l.contains("AF_NETLINK")));
    assert!(ban.contains("ExecStart=/usr/local/bin/nodeward ban watch"));

    let Ok(found) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("SKIP systemd-analyze verify: systemd-analyze is not installed here");
        return;
    };
    assert!(found.status.success());
    // The units name the installed path; verify copies that run the built binary
    // (verify checks that ExecStart's program exists and is executable).
    let dir = tempfile::tempdir().unwrap();
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(repo_root().join("dist")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if !name.ends_with(".service") {
            continue;
        }
        let body = unit(&name).replace("/usr/local/bin/nodeward", nodeward());
        let p = dir.path().join(&name);
        write(&p, &body);
        paths.push(p);
    }
    assert!(paths.len() >= 3, "{paths:?}");
    let mut c = Command::new("systemd-analyze");
    c.arg("verify").args(&paths);
    let out = run_bounded(c, Duration::from_secs(60));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{}", text(&out));
    assert!(!err.contains("nodeward-"), "verify complained: {err}");
}
