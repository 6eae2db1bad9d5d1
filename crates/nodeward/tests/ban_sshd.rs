//! `nodeward ban watch` against a real sshd in a network namespace: failed logins
//! with a real ssh client get the source banned in nftables (IPv4 and IPv6), its
//! next connection is dropped while another source still connects, the ban
//! expires by itself, and a repeat offender gets a longer ban.

mod common_firewall;

use common_firewall::{run_bounded, text, wait_until, write, Lab};
use std::process::{Command, Stdio};
use std::time::Duration;

const SSH_PORT: u16 = 2222;

fn keygen(path: &std::path::Path) {
    let mut c = Command::new("ssh-keygen");
    c.args(["-q", "-t", "ed25519", "-N", "", "-f"]).arg(path);
    let out = run_bounded(c, Duration::from_secs(20));
    assert!(out.status.success(), "{}", text(&out));
}

/// Starts sshd inside the server namespace with its own config, host key and log.
/// sshd needs an empty /run/sshd: it gets a private tmpfs /run in its own mount
/// namespace, so the host's /run is left alone.
fn start_sshd(lab: &mut Lab) -> std::path::PathBuf {
    let hostkey = lab.path("hostkey");
    keygen(&hostkey);
    let log = lab.path("sshd.log");
    let config = lab.path("sshd_config");
    write(
        &config,
        &format!(
            "Port {SSH_PORT}\nListenAddress 0.0.0.0\nListenAddress ::\nHostKey {}\nPidFile {}\n\
             UsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PubkeyAuthentication yes\nAuthorizedKeysFile none\nStrictModes no\nLogLevel VERBOSE\n",
            hostkey.display(),
            lab.path("sshd.pid").display()
        ),
    );
    let mut c = lab.cmd(&lab.server.clone(), "unshare");
    c.args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg("mount -t tmpfs -o mode=0755 nodeward-test /run && mkdir -m 0755 /run/sshd && exec \"$@\"")
        .arg("sh")
        .arg("/usr/sbin/sshd")
        .args(["-D", "-f"])
        .arg(&config)
        .arg("-E")
        .arg(&log)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    lab.spawn(c);
    let server = lab.server.clone();
    assert!(
        wait_until(Duration::from_secs(10), || lab.connects(
            &server,
            "127.0.0.1",
            SSH_PORT
        )),
        "sshd did not start: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );
    log
}

/// One failed login from namespace `ns`: a real ssh client offering a key the
/// server does not know, for a user that does not exist.
fn failed_login(lab: &Lab, ns: &str, addr: &str, key: &std::path::Path) {
    let mut c = lab.cmd(ns, "ssh");
    c.args([
        "-F",
        "/dev/null",
        "-o",
        "BatchMode=yes",
        "-o",
        "StrictHostKeyChecking=no",
        "-o",
        "UserKnownHostsFile=/dev/null",
        "-o",
        "ConnectTimeout=2",
        // A ban can land in the middle of this very login and drop its
        // packets: give up within ~2 s then, so the login never outlasts the
        // ban it triggered (it used to hang until the 15 s bound).
        "-o",
        "ServerAliveInterval=1",
        "-o",
        "ServerAliveCountMax=1",
        "-o",
        "PreferredAuthentications=publickey",
        "-o",
        "IdentitiesOnly=yes",
        "-i",
    ])
    .arg(key)
    .args([
        "-p",
        &SSH_PORT.to_string(),
        &format!("nosuchuser@{addr}"),
        "true",
    ]);
    let out = run_bounded(c, Duration::from_secs(15));
    assert!(!out.status.success(), "login must fail: {}", text(&out));
}

fn bans_in_output(path: &std::path::Path) -> String {
    std::fs::read_to_string(path).unwrap_or_default()
}

#[test]
fn failed_ssh_logins_get_the_source_banned_until_the_ban_expires() {
    let mut lab = Lab::new(2);
    let sshd_log = start_sshd(&mut lab);
    let key = lab.path("clientkey");
    keygen(&key);
    let cfg = lab.path("nodeward.toml");
    write(
        &cfg,
        &format!(
            "[ban]\nmaxretry = 3\nfindtime = \"10m\"\nbantime = \"10s\"\nbantime_factor = 2\n\
             sshd_logs = [\"{}\"]\njournald = \"off\"\n",
            sshd_log.display()
        ),
    );
    let (attacker, good) = (lab.clients[0].clone(), lab.clients[1].clone());

    let watch_out = lab.path("watch.out");
    let mut c = lab.nodeward_cmd();
    c.args(["ban", "watch", "--from-start", "-c"])
        .arg(&cfg)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&watch_out).unwrap())
        .stderr(std::fs::File::create(lab.path("watch.err")).unwrap());
    lab.spawn(c);

    // Before: both sources reach sshd.
    assert!(lab.connects(&attacker, &lab.server_v4(1), SSH_PORT));
    assert!(lab.connects(&good, &lab.server_v4(2), SSH_PORT));

    // IPv4: fail logins until the ban lands (each attempt logs two failures).
    let mut attempts = 0;
    while !bans_in_output(&watch_out).contains("banned 10.213.1.2 ") {
        assert!(
            attempts < 4,
            "no ban after {attempts} failed logins: {}\n{}",
            bans_in_output(&watch_out),
            std::fs::read_to_string(&sshd_log).unwrap_or_default()
        );
        failed_login(&lab, &attacker, &lab.server_v4(1), &key);
        attempts += 1;
        wait_until(Duration::from_secs(2), || {
            bans_in_output(&watch_out).contains("banned 10.213.1.2 ")
        });
    }
    assert!(
        !lab.connects(&attacker, &lab.server_v4(1), SSH_PORT),
        "banned source must be dropped"
    );
    assert!(
        lab.connects(&good, &lab.server_v4(2), SSH_PORT),
        "other source must still connect"
    );
    let list = lab.nodeward(&[
        "ban",
        "list",
        "--format",
        "json",
        "-c",
        &cfg.display().to_string(),
    ]);
    assert!(list.status.success(), "{}", text(&list));
    let l: serde_json::Value = serde_json::from_slice(&list.stdout).unwrap();
    let banned: Vec<&str> = l["bans"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|b| b["addr"].as_str())
        .collect();
    assert!(banned.contains(&"10.213.1.2"), "{l}");
    assert!(!banned.contains(&"10.213.2.2"), "{l}");

    // IPv6: the same source over IPv6 is banned in the v6 set.
    let mut attempts = 0;
    while !bans_in_output(&watch_out).contains("banned fd00:213:1::2 ") {
        assert!(attempts < 4, "no IPv6 ban: {}", bans_in_output(&watch_out));
        failed_login(&lab, &attacker, &lab.server_v6(1), &key);
        attempts += 1;
        wait_until(Duration::from_secs(2), || {
            bans_in_output(&watch_out).contains("banned fd00:213:1::2 ")
        });
    }
    assert!(
        !lab.connects(&attacker, &lab.server_v6(1), SSH_PORT),
        "banned IPv6 source must be dropped"
    );
    assert!(
        lab.connects(&good, &lab.server_v6(2), SSH_PORT),
        "other IPv6 source must still connect"
    );

    // The bans expire by themselves (kernel set timeouts).
    assert!(
        wait_until(Duration::from_secs(15), || lab.connects(
            &attacker,
            &lab.server_v4(1),
            SSH_PORT
        )),
        "IPv4 ban did not expire"
    );
    assert!(
        wait_until(Duration::from_secs(15), || lab.connects(
            &attacker,
            &lab.server_v6(1),
            SSH_PORT
        )),
        "IPv6 ban did not expire"
    );

    // A repeat offender gets a longer ban (10s * 2).
    let mut attempts = 0;
    while !bans_in_output(&watch_out).contains("banned 10.213.1.2 for 20s (ban #2") {
        assert!(
            attempts < 4,
            "no second ban: {}",
            bans_in_output(&watch_out)
        );
        failed_login(&lab, &attacker, &lab.server_v4(1), &key);
        attempts += 1;
        wait_until(Duration::from_secs(2), || {
            bans_in_output(&watch_out).contains("(ban #2")
        });
    }
    assert!(!lab.connects(&attacker, &lab.server_v4(1), SSH_PORT));
    let good_count = std::fs::read_to_string(&watch_out)
        .unwrap()
        .matches("10.213.2.2")
        .count();
    assert_eq!(good_count, 0, "the good source must never be banned");
}
