//! End-to-end: cluster-wide rate limits on a real Redis (Debian's
//! `redis-server`, started by the test on a random loopback port with no
//! persistence) and real `nodeward gateway` processes:
//!
//! - a per-source limit of 30/min across three gateways admits 30 plus at
//!   most the documented bound (instances × batch), requests spread over the
//!   three;
//! - Redis killed: `open` admits, `closed` refuses, `split` admits limit/N,
//!   each counted in `/metrics`; Redis back: shared again;
//! - a Redis behind a proxy that delays every chunk by 100 ms does not slow
//!   requests;
//! - Redis over TLS with client certificates and an ACL user works; a wrong
//!   password stops the gateway at start with a clear error (not echoed);
//! - with etcd, `split` divides by the instances registered there;
//! - bad `[cluster]` Redis keys are clear config errors.

mod common_gateway;

use common_gateway::*;
use serde_json::Value;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A real redis-server on 127.0.0.1; killed on drop.
struct Redis {
    child: Option<Child>,
    port: u16,
    dir: tempfile::TempDir,
    extra: Vec<String>,
}

impl Redis {
    fn start(extra: &[String]) -> Redis {
        let mut r = Redis {
            child: None,
            port: free_port(),
            dir: tempfile::tempdir().unwrap(),
            extra: extra.to_vec(),
        };
        r.spawn();
        r
    }

    /// Starts redis-server with a config file; with `tls-cert-file` among
    /// the extra lines, the port is the TLS port (and plain TCP is off).
    fn spawn(&mut self) {
        let tls = self.extra.iter().any(|l| l.starts_with("tls-cert-file"));
        let mut conf = format!(
            "bind 127.0.0.1\nsave \"\"\nappendonly no\ndir {}\n",
            self.dir.path().display()
        );
        if tls {
            conf.push_str(&format!("port 0\ntls-port {}\n", self.port));
        } else {
            conf.push_str(&format!("port {}\n", self.port));
        }
        for l in &self.extra {
            conf.push_str(l);
            conf.push('\n');
        }
        let path = self.dir.path().join("redis.conf");
        std::fs::write(&path, conf).unwrap();
        let log = std::fs::File::create(self.dir.path().join("redis.log")).unwrap();
        self.child = Some(
            Command::new("redis-server")
                .arg(&path)
                .stdout(log)
                .stderr(Stdio::null())
                .spawn()
                .expect("redis-server is installed (Debian: redis-server)"),
        );
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        self.kill();
    }
}

fn limits_config(cluster: &str, rate: &str) -> String {
    format!(
        "{}\n[cluster]\nprefix = \"/t\"\n{cluster}\n",
        iri_config("", &format!("per_ip_rate = \"{rate}\""))
    )
}

fn status(gw: &Gateway) -> Value {
    let (code, body) = gw.admin("GET", "/status");
    assert_eq!(code, 200, "{body}");
    serde_json::from_str::<Value>(&body).unwrap()["cluster_limits"].clone()
}

fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// One IRI call from `source`; returns the status and curl's total time.
fn call(gw: &Gateway, source: &str) -> (u16, f64) {
    let out = curl_output(&[
        "-s",
        "-o",
        "/dev/null",
        "-w",
        "%{http_code} %{time_total}",
        "--interface",
        source,
        "-H",
        "X-IOTA-API-Version: 1",
        "--data-binary",
        r#"{"command":"getNodeInfo"}"#,
        &gw.url(),
    ]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let mut it = text.split_whitespace();
    let code = it.next().and_then(|c| c.parse().ok()).unwrap_or(0);
    let time = it.next().and_then(|t| t.parse().ok()).unwrap_or(f64::MAX);
    (code, time)
}

/// `n` calls from `source` spread round-robin over `gws`; admitted count.
fn spread(gws: &[Gateway], source: &str, n: usize) -> usize {
    (0..n)
        .filter(|i| {
            let (code, _) = call(&gws[i % gws.len()], source);
            assert!(code == 200 || code == 429, "status {code}");
            code == 200
        })
        .count()
}

/// `threads` clients per gateway at once, `each` calls each; admitted count.
fn burst(gws: &[Gateway], source: &str, threads: usize, each: usize) -> usize {
    std::thread::scope(|s| {
        let handles: Vec<_> = gws
            .iter()
            .flat_map(|gw| (0..threads).map(move |_| gw))
            .map(|gw| s.spawn(move || (0..each).filter(|_| call(gw, source).0 == 200).count()))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    })
}

#[test]
fn a_cluster_limit_holds_across_three_gateways_and_each_fail_mode_applies() {
    let mut redis = Redis::start(&[]);
    let backend = Backend::start();
    // Limit 30/min per source, batch 2, 3 instances: bound 3 × 2 = 6.
    let gws: Vec<Gateway> = ["open", "closed", "split"]
        .iter()
        .map(|mode| {
            let cluster = format!(
                "redis = \"{}\"\ninstances = 3\nlimit_batch = 2\nlimit_fail = \"{mode}\"",
                redis.url()
            );
            Gateway::start(&limits_config(&cluster, "30/min"), &backend.url())
        })
        .collect();
    for gw in &gws {
        assert_eq!(status(gw)["redis_up"], true, "{}", gw.stderr());
    }
    let start = Instant::now();
    let admitted = spread(&gws, "127.0.0.2", 90);
    // The bucket refills 30/min while the test runs.
    let refilled = (start.elapsed().as_secs_f64() / 2.0).ceil() as usize;
    eprintln!("shared: {admitted} of 90 admitted for a limit of 30 (bound +6, refill +{refilled})");
    assert!(
        admitted >= 24,
        "{admitted} admitted: the limit under-admits"
    );
    assert!(
        admitted <= 30 + 6 + refilled,
        "{admitted} admitted: over the bound"
    );
    assert!(gws[0].metric("nodeward_cluster_limit_refills_total") > 0.0);
    // A concurrent burst on a fresh key (credit is used before Redis answers).
    let start = Instant::now();
    let admitted = burst(&gws, "127.0.0.6", 6, 10);
    let refilled = (start.elapsed().as_secs_f64() / 2.0).ceil() as usize;
    eprintln!("burst: {admitted} of 180 admitted for a limit of 30 (bound +6, refill +{refilled})");
    assert!(
        admitted <= 30 + 6 + refilled,
        "{admitted} admitted: over the bound"
    );
    assert!(
        admitted >= 20,
        "{admitted} admitted: the limit under-admits"
    );

    // Redis killed: each gateway applies its fail mode.
    redis.kill();
    for gw in &gws {
        wait_until(
            "the gateway to see Redis down",
            Duration::from_secs(10),
            || status(gw)["redis_up"] == false,
        );
        assert_eq!(status(gw)["mode"], "fallback");
    }
    let counts: Vec<usize> = gws
        .iter()
        .map(|gw| spread(std::slice::from_ref(gw), "127.0.0.3", 15))
        .collect();
    eprintln!("fallback: open/closed/split admitted {counts:?} of 15");
    assert_eq!(counts[0], 15, "open admits");
    assert_eq!(counts[1], 0, "closed refuses");
    assert_eq!(counts[2], 10, "split admits 30/3");
    for (gw, mode) in gws.iter().zip(["open", "closed", "split"]) {
        let series =
            format!("nodeward_cluster_limit_fallback_total{{rule=\"/ per_ip\",mode=\"{mode}\"}}");
        assert!(gw.metric(&series) >= 15.0, "{}", gw.metrics());
        assert_eq!(gw.metric("nodeward_cluster_redis_up"), 0.0);
    }
    assert!(gws[1].stderr().contains("Redis unreachable"));

    // Redis back (empty, as after a restart): shared again.
    redis.spawn();
    for gw in &gws {
        wait_until("the gateway to reconnect", Duration::from_secs(10), || {
            status(gw)["redis_up"] == true
        });
    }
    let start = Instant::now();
    let admitted = spread(&gws, "127.0.0.4", 60);
    let refilled = (start.elapsed().as_secs_f64() / 2.0).ceil() as usize;
    eprintln!("shared again: {admitted} of 60 admitted for a limit of 30");
    assert!(
        (24..=30 + 6 + refilled).contains(&admitted),
        "{admitted} admitted"
    );
    assert!(gws[1].stderr().contains("limits are shared"));
}

/// A TCP proxy that holds every chunk for `delay` before passing it on.
fn slow_proxy(target: u16, delay: Duration) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming().flatten() {
            let Ok(server) = TcpStream::connect(("127.0.0.1", target)) else {
                continue;
            };
            for (mut from, mut to) in [
                (client.try_clone().unwrap(), server.try_clone().unwrap()),
                (server, client),
            ] {
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16384];
                    while let Ok(n) = from.read(&mut buf) {
                        if n == 0 {
                            break;
                        }
                        std::thread::sleep(delay);
                        if to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = to.shutdown(std::net::Shutdown::Both);
                });
            }
        }
    });
    port
}

#[test]
fn a_slow_redis_does_not_slow_requests() {
    let redis = Redis::start(&[]);
    let proxy = slow_proxy(redis.port, Duration::from_millis(100));
    let backend = Backend::start();
    let cluster = format!("redis = \"redis://127.0.0.1:{proxy}\"\ninstances = 1");
    let gw = Gateway::start(&limits_config(&cluster, "100000/min"), &backend.url());
    // The same gateway without cluster limits, timed in turn (the machine's
    // load moves both alike).
    let local = Gateway::start(
        &iri_config("", "per_ip_rate = \"100000/min\""),
        &backend.url(),
    );
    assert_eq!(status(&gw)["redis_up"], true, "{}", gw.stderr());
    let (mut slow, mut base) = (Vec::new(), Vec::new());
    for i in 0..40 {
        let source = format!("127.0.1.{}", 1 + i % 8);
        for (g, times) in [(&gw, &mut slow), (&local, &mut base)] {
            let (code, t) = call(g, &source);
            assert_eq!(code, 200);
            times.push(t);
        }
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (slow, base) = (median(&mut slow), median(&mut base));
    eprintln!(
        "median request time: {slow:.4}s with a 100 ms Redis, {base:.4}s without cluster limits"
    );
    // Waiting on Redis would take at least 200 ms (100 ms each way).
    assert!(
        slow < base + 0.05,
        "requests waited on Redis: {slow}s vs {base}s"
    );
    assert!(gw.metric("nodeward_cluster_limit_refills_total") > 0.0);
    assert_eq!(status(&gw)["redis_up"], true, "a 100 ms Redis is not down");
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl is installed");
    assert!(out.status.success(), "openssl {args:?}: {out:?}");
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate.
fn make_certs(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=test ca",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
        ],
    );
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
    for name in ["server", "client"] {
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-subj",
                &format!("/CN={name}"),
                "-keyout",
                &format!("{name}.key"),
                "-out",
                &format!("{name}.csr"),
            ],
        );
        openssl(
            dir,
            &[
                "x509",
                "-req",
                "-in",
                &format!("{name}.csr"),
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "san.ext",
                "-out",
                &format!("{name}.pem"),
            ],
        );
    }
}

#[test]
fn redis_over_tls_with_an_acl_user_works_and_a_wrong_password_is_a_clear_error() {
    let certs = tempfile::tempdir().unwrap();
    make_certs(certs.path());
    let p = |f: &str| certs.path().join(f).display().to_string();
    let redis = Redis::start(&[
        format!("tls-cert-file {}", p("server.pem")),
        format!("tls-key-file {}", p("server.key")),
        format!("tls-ca-cert-file {}", p("ca.pem")),
        "tls-auth-clients yes".into(),
        "user default off".into(),
        // The least the limits need, as docs/cluster.md gives it.
        "user nw on >s3cret-pw ~/t:* +evalsha +eval +script|load +ping +hmget +hset +pexpire +time"
            .into(),
    ]);
    let port = redis.port;
    std::fs::write(certs.path().join("pw"), "s3cret-pw\n").unwrap();
    std::fs::write(certs.path().join("bad"), "not-the-pw\n").unwrap();
    let cluster = |pw: &str| {
        format!(
            "redis = \"rediss://127.0.0.1:{port}\"\ninstances = 1\nredis_user = \"nw\"\nredis_password_file = \"{}\"\nredis_ca_file = \"{}\"\nredis_cert_file = \"{}\"\nredis_key_file = \"{}\"",
            p(pw),
            p("ca.pem"),
            p("client.pem"),
            p("client.key")
        )
    };
    let backend = Backend::start();
    let gw = Gateway::start(&limits_config(&cluster("pw"), "3/min"), &backend.url());
    assert_eq!(status(&gw)["redis_up"], true, "{}", gw.stderr());
    let codes: Vec<u16> = (0..6).map(|_| call(&gw, "127.0.0.5").0).collect();
    assert_eq!(codes.iter().filter(|c| **c == 200).count(), 3, "{codes:?}");
    assert!(gw.metric("nodeward_cluster_limit_refills_total") > 0.0);

    // A wrong password: the gateway does not start, and says why.
    let stderr = start_fails(&limits_config(&cluster("bad"), "3/min"), &backend.url());
    assert!(stderr.contains("login refused"), "{stderr}");
    assert!(!stderr.contains("not-the-pw"), "{stderr}");
}

/// Runs a gateway on `config` that must refuse to start; its stderr.
fn start_fails(config: &str, backend: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gw.toml");
    let text = render(config, free_port(), free_port(), backend, dir.path());
    std::fs::write(&path, text).unwrap();
    let mut child = Command::new(bin())
        .args(["gateway", "--config"])
        .arg(&path)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // A gateway that starts after all would serve forever: give it 30 s.
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the gateway started instead of refusing its config");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let mut stderr = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut stderr).unwrap();
    assert_eq!(status.code(), Some(2), "{stderr}");
    stderr
}

#[test]
fn a_fail_mode_for_a_rule_that_does_not_exist_stops_the_gateway() {
    let redis = Redis::start(&[]);
    let backend = Backend::start();
    let cluster = format!(
        "redis = \"{}\"\ninstances = 1\nlimit_fail_rules = {{ \"/ per_ipp\" = \"closed\" }}",
        redis.url()
    );
    let stderr = start_fails(&limits_config(&cluster, "3/min"), &backend.url());
    assert!(stderr.contains("limit_fail_rules"), "{stderr}");
    assert!(stderr.contains("\"/ per_ipp\""), "{stderr}");
    // The message lists the rules that do exist.
    assert!(stderr.contains("per_ip\""), "{stderr}");
}

#[test]
fn bad_redis_keys_are_clear_config_errors() {
    for (cluster, expect) in [
        (
            "redis = \"http://127.0.0.1:6379\"\ninstances = 2",
            "cluster.redis",
        ),
        ("redis = \"redis://127.0.0.1:6379\"", "cluster.instances"),
        (
            "redis = \"redis://u:pw@127.0.0.1:6379\"\ninstances = 2",
            "redis_password_file",
        ),
        (
            "redis = \"redis://127.0.0.1:6379\"\ninstances = 2\nlimit_fail = \"maybe\"",
            "maybe",
        ),
        (
            "redis = \"redis://127.0.0.1:6379\"\ninstances = 2\nredis_ca_file = \"x\"",
            "rediss://",
        ),
    ] {
        let (code, stderr) = config_check(&limits_config(cluster, "3/min"));
        assert_eq!(code, Some(2), "{cluster}: {stderr}");
        assert!(stderr.contains(expect), "{cluster}: {stderr}");
        assert!(!stderr.contains(":pw@"), "{stderr}");
    }
}

/// A one-member etcd on loopback ports, data in `dir`; the caller kills it.
fn etcd_member(dir: &Path) -> (Child, String) {
    let (client, peer) = (free_port(), free_port());
    let url = format!("http://127.0.0.1:{client}");
    let peer_url = format!("http://127.0.0.1:{peer}");
    let child = Command::new("etcd")
        .arg("--data-dir")
        .arg(dir.join("etcd"))
        .args([
            "--listen-client-urls",
            &url,
            "--advertise-client-urls",
            &url,
        ])
        .args(["--listen-peer-urls", &peer_url])
        .args(["--initial-advertise-peer-urls", &peer_url])
        .args(["--initial-cluster", &format!("default={peer_url}")])
        .args(["--log-level", "error"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("etcd is installed (Debian: etcd-server)");
    let health = format!("{url}/health");
    wait_until("etcd to answer", Duration::from_secs(15), || {
        curl(&[&health]).1.contains("true")
    });
    (child, url)
}

#[test]
fn split_divides_by_the_instances_registered_in_etcd() {
    let dir = tempfile::tempdir().unwrap();
    let (mut etcd, url) = etcd_member(dir.path());
    let mut redis = Redis::start(&[]);
    let backend = Backend::start();
    let gws: Vec<Gateway> = ["a", "b", "c"]
        .iter()
        .map(|n| {
            let cluster = format!(
                "etcd = [\"{url}\"]\nname = \"{n}\"\nlease_ttl = \"3s\"\nredis = \"{}\"",
                redis.url()
            );
            Gateway::start(&limits_config(&cluster, "30/min"), &backend.url())
        })
        .collect();
    for gw in &gws {
        let seen = Instant::now();
        while status(gw)["instances"] != 3 {
            let (_, body) = gw.admin("GET", "/status");
            assert!(
                seen.elapsed() < Duration::from_secs(15),
                "three instances in etcd: {body}\n{}",
                gw.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
    redis.kill();
    wait_until("Redis down", Duration::from_secs(10), || {
        status(&gws[0])["redis_up"] == false
    });
    let admitted = spread(&gws[..1], "127.0.0.7", 15);
    eprintln!("split with three instances from etcd: {admitted} of 15 admitted (30/3)");
    assert_eq!(admitted, 10);
    let _ = etcd.kill();
    let _ = etcd.wait();
}
