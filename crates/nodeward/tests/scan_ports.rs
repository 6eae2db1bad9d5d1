//! `nodeward scan --only ports`: ports the test opened on 127.0.0.1, and a
//! full 65,535-port scan inside a network namespace the test creates, compared
//! with `nmap -sT -p-` in the same namespace.

mod common_scan;

use common_scan::*;
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn listeners_the_test_opened_are_found_and_unexpected_ones_fail() {
    let a = TcpListener::bind("127.0.0.1:0").unwrap();
    let b = TcpListener::bind("127.0.0.1:0").unwrap();
    let (pa, pb) = (
        a.local_addr().unwrap().port(),
        b.local_addr().unwrap().port(),
    );
    let closed = free_port();
    let spec = format!("{pa},{pb},{closed}");
    let expect = pa.to_string();
    let (code, r) = run_json(
        &[
            "scan",
            "127.0.0.1",
            "--only",
            "ports",
            "-p",
            &spec,
            "--expect",
            &expect,
            "--format",
            "json",
        ],
        Duration::from_secs(20),
    );
    let mut open = vec![pa, pb];
    open.sort_unstable();
    assert_eq!(
        r["parts"]["ports"]["open"],
        serde_json::json!(open),
        "{r:#}"
    );
    assert_eq!(r["parts"]["ports"]["unexpected"], serde_json::json!([pb]));
    assert_eq!(finding(&r, "PORT-001")["status"], "fail");
    assert_eq!(code, 1);
    let both = format!("{pa},{pb}");
    let (code, r) = run_json(
        &[
            "scan",
            "127.0.0.1",
            "--only",
            "ports",
            "-p",
            &spec,
            "--expect",
            &both,
            "--format",
            "json",
        ],
        Duration::from_secs(20),
    );
    assert_eq!(finding(&r, "PORT-001")["status"], "pass");
    assert_eq!(code, 0);
    // The same report as one HTML page (the shared nodeward-report renderer).
    let out = run(
        &[
            "scan",
            "127.0.0.1",
            "--only",
            "ports",
            "-p",
            &spec,
            "--expect",
            &both,
            "--format",
            "html",
        ],
        Duration::from_secs(20),
    );
    let html = String::from_utf8_lossy(&out.stdout);
    assert!(
        html.starts_with("<!DOCTYPE html>") && html.contains("PORT-001"),
        "{html}"
    );
}

#[test]
fn invalid_port_lists_are_usage_errors() {
    for bad in ["0", "70000", "10-5", "a,b"] {
        let out = run(
            &["scan", "127.0.0.1", "--only", "ports", "-p", bad],
            Duration::from_secs(10),
        );
        assert_eq!(out.status.code(), Some(2), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("invalid port list"), "{bad}: {err}");
    }
}

/// A network namespace that is deleted (with its processes) on drop.
struct Netns {
    name: String,
    children: Vec<Child>,
}

impl Netns {
    fn new() -> Netns {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!("nwscan-{}-{}", std::process::id(), nanos % 100_000);
        let ok = Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .expect("ip netns add");
        assert!(
            ok.success(),
            "ip netns add {name} failed (the tests run as root in CI)"
        );
        let ns = Netns {
            name,
            children: Vec::new(),
        };
        ns.exec_ok(&["ip", "link", "set", "lo", "up"]);
        ns
    }

    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.name]).args(args);
        c
    }

    fn exec_ok(&self, args: &[&str]) {
        let st = self.cmd(args).status().unwrap();
        assert!(st.success(), "{args:?} in {}", self.name);
    }

    /// Starts a TCP listener on `port` inside the namespace.
    fn listen(&mut self, port: u16) {
        let accept = format!("127.0.0.1:{port}");
        let child = self
            .cmd(&[
                "openssl", "s_server", "-quiet", "-nocert", "-accept", &accept,
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        self.children.push(child);
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
        let _ = Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

#[test]
fn full_range_scan_in_own_namespace_matches_nmap() {
    let mut ns = Netns::new();
    let ports = [80u16, 443, 14265, 61234];
    for p in ports {
        ns.listen(p);
    }
    // Wait until the listeners are up (nmap in the namespace says so).
    let start = Instant::now();
    loop {
        let out = ns
            .cmd(&[
                "nmap",
                "-n",
                "-Pn",
                "-sT",
                "-p",
                "80,443,14265,61234",
                "127.0.0.1",
                "-oG",
                "-",
            ])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&out.stdout)
            .matches("/open/")
            .count()
            == ports.len()
        {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "listeners did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let scan_start = Instant::now();
    let out = ns
        .cmd(&[
            bin().to_str().unwrap(),
            "scan",
            "127.0.0.1",
            "--only",
            "ports",
            "-p-",
            "--expect",
            "80,443",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let took = scan_start.elapsed();
    assert!(took < Duration::from_secs(45), "full scan took {took:?}");
    let r: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(r["parts"]["ports"]["scanned"], 65535);
    assert_eq!(
        r["parts"]["ports"]["open"],
        serde_json::json!(ports),
        "{r:#}"
    );
    assert_eq!(
        r["parts"]["ports"]["unexpected"],
        serde_json::json!([14265, 61234])
    );
    assert_eq!(out.status.code(), Some(1));

    let nmap = ns
        .cmd(&[
            "nmap",
            "-n",
            "-Pn",
            "-sT",
            "-p-",
            "-T4",
            "127.0.0.1",
            "-oG",
            "-",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&nmap.stdout);
    let mut nmap_open: Vec<u16> = text
        .split(['\t', ','])
        .filter(|f| f.contains("/open/"))
        .filter_map(|f| {
            f.trim()
                .trim_start_matches("Ports: ")
                .split('/')
                .next()?
                .parse()
                .ok()
        })
        .collect();
    nmap_open.sort_unstable();
    assert_eq!(nmap_open, ports.to_vec(), "nmap: {text}");
}

#[test]
fn profile_expects_gossip_ports_and_flags_an_open_node_api() {
    let mut ns = Netns::new();
    for p in [443u16, 15600, 14265] {
        ns.listen(p);
    }
    let start = Instant::now();
    loop {
        let out = ns
            .cmd(&[
                "nmap",
                "-n",
                "-Pn",
                "-sT",
                "-p",
                "443,15600,14265",
                "127.0.0.1",
                "-oG",
                "-",
            ])
            .output()
            .unwrap();
        if String::from_utf8_lossy(&out.stdout)
            .matches("/open/")
            .count()
            == 3
        {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "listeners did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // Default port list (top 1000) plus the profile's own ports.
    let out = ns
        .cmd(&[
            bin().to_str().unwrap(),
            "scan",
            "127.0.0.1",
            "--only",
            "ports",
            "--profile",
            "iota",
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let r: serde_json::Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(
        r["parts"]["ports"]["open"],
        serde_json::json!([443, 14265, 15600]),
        "{r:#}"
    );
    assert_eq!(
        r["parts"]["ports"]["unexpected"],
        serde_json::json!([14265])
    );
    let f = finding(&r, "PORT-003");
    assert_eq!(f["status"], "fail");
    assert_eq!(f["severity"], "critical");
    assert!(f["evidence"].as_str().unwrap().contains("14265"), "{f}");
}
