//! Shared by the cluster tests: a real etcd (Debian's `etcd-server`) on
//! 127.0.0.1 random ports with its data in a temp dir, optionally with TLS
//! and client-certificate auth, `etcdctl` against it, and helpers to start
//! gateways on one prefix and read their `/status`.
#![allow(dead_code)]

use super::common_gateway::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Client TLS files for an etcd started with [`Etcd::start_tls`].
pub struct Tls {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A real etcd on 127.0.0.1, data in a temp dir; killed on drop.
pub struct Etcd {
    child: Option<Child>,
    pub client: u16,
    peer: u16,
    pub dir: tempfile::TempDir,
    /// Server TLS (cert, key, CA) when started with TLS.
    tls: Option<(Tls, Tls)>,
}

impl Etcd {
    pub fn start() -> Etcd {
        Self::start_inner(false)
    }

    /// etcd over TLS with client-certificate auth; the CA, server and client
    /// certificates are made by `openssl` in the etcd's temp dir.
    pub fn start_tls() -> Etcd {
        Self::start_inner(true)
    }

    fn start_inner(tls: bool) -> Etcd {
        let dir = tempfile::tempdir().unwrap();
        let client = free_port();
        let peer = loop {
            let p = free_port();
            if p != client {
                break p;
            }
        };
        let tls = tls.then(|| make_pki(dir.path()));
        let mut e = Etcd {
            child: None,
            client,
            peer,
            dir,
            tls,
        };
        e.spawn();
        e
    }

    /// The client-side TLS files (CA, client certificate and key).
    pub fn client_tls(&self) -> &Tls {
        &self.tls.as_ref().expect("started with TLS").1
    }

    pub fn spawn(&mut self) {
        let data: PathBuf = self.dir.path().join("data");
        let c = self.url();
        let p = format!("http://127.0.0.1:{}", self.peer);
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("etcd.log"))
            .unwrap();
        let mut cmd = Command::new("etcd");
        cmd.args(["--name", "t", "--data-dir"])
            .arg(&data)
            .args(["--listen-client-urls", &c, "--advertise-client-urls", &c])
            .args([
                "--listen-peer-urls",
                &p,
                "--initial-advertise-peer-urls",
                &p,
            ])
            .args(["--initial-cluster", &format!("t={p}")])
            .args(["--log-level", "warn"]);
        if let Some((server, _)) = &self.tls {
            cmd.arg("--cert-file")
                .arg(&server.cert)
                .arg("--key-file")
                .arg(&server.key)
                .arg("--client-cert-auth")
                .arg("--trusted-ca-file")
                .arg(&server.ca);
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("etcd is installed (Debian: etcd-server)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.ctl(&["endpoint", "health"]).status.success() {
                return;
            }
            assert!(Instant::now() < deadline, "etcd did not come up");
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://127.0.0.1:{}", self.client)
    }

    /// Runs `etcdctl ARGS` against this etcd (Debian: etcd-client).
    pub fn ctl(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = Command::new("etcdctl");
        cmd.args(["--endpoints", &self.url(), "--dial-timeout", "2s"]);
        if let Some((_, c)) = &self.tls {
            cmd.arg("--cacert")
                .arg(&c.ca)
                .arg("--cert")
                .arg(&c.cert)
                .arg("--key")
                .arg(&c.key);
        }
        cmd.args(args)
            .output()
            .expect("etcdctl is installed (Debian: etcd-client)")
    }

    /// `etcdctl put KEY VALUE`.
    pub fn put(&self, key: &str, value: &str) {
        let out = self.ctl(&["put", key, value]);
        assert!(out.status.success(), "etcdctl put: {out:?}");
    }

    /// etcd's current revision.
    pub fn revision(&self) -> i64 {
        let out = self.ctl(&["get", "/", "--prefix", "--keys-only", "-w", "json"]);
        assert!(out.status.success(), "etcdctl get: {out:?}");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["header"]["revision"].as_i64().unwrap()
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A self-signed CA `{name}.pem` (key `{name}-key.pem`) in `dir`.
pub fn make_ca(dir: &Path, name: &str, cn: &str) {
    let (key, cert, subj) = (
        format!("{name}-key.pem"),
        format!("{name}.pem"),
        format!("/CN={cn}"),
    );
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            &key,
            "-out",
            &cert,
            "-days",
            "2",
            "-subj",
            &subj,
        ],
    );
}

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "openssl {args:?}: {out:?}");
}

/// A CA, a server certificate for 127.0.0.1 and a client certificate, all
/// signed by the CA; returns (server files, client files).
fn make_pki(dir: &Path) -> (Tls, Tls) {
    make_ca(dir, "ca", "test etcd CA");
    for (name, ext) in [
        (
            "server",
            "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,clientAuth\n",
        ),
        ("client", "extendedKeyUsage=clientAuth\n"),
    ] {
        openssl(
            dir,
            &[
                "req",
                "-newkey",
                "ec",
                "-pkeyopt",
                "ec_paramgen_curve:P-256",
                "-nodes",
                "-keyout",
                &format!("{name}-key.pem"),
                "-out",
                &format!("{name}.csr"),
                "-subj",
                &format!("/CN={name}"),
            ],
        );
        std::fs::write(dir.join(format!("{name}.ext")), ext).unwrap();
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
                "ca-key.pem",
                "-CAcreateserial",
                "-days",
                "2",
                "-out",
                &format!("{name}.pem"),
                "-extfile",
                &format!("{name}.ext"),
            ],
        );
    }
    let files = |name: &str| Tls {
        ca: dir.join("ca.pem"),
        cert: dir.join(format!("{name}.pem")),
        key: dir.join(format!("{name}-key.pem")),
    };
    (files("server"), files("client"))
}

/// An IRI gateway config on `etcd` under prefix `/test` as instance `name`,
/// with `extra` appended to its `[cluster]` table.
pub fn cluster_config_with(etcd: &Etcd, name: &str, extra: &str) -> String {
    // Auto-ban after 3 refusals (addNeighbors is denied by the IRI route).
    let autoban = "[gateway.autoban]\nthreshold = 3\nwindow = \"1m\"\nban_for = \"4s\"\n";
    format!(
        "{}\n[cluster]\netcd = [\"{}\"]\nprefix = \"/test\"\nname = \"{name}\"\nlease_ttl = \"3s\"\n{extra}",
        iri_config(autoban, ""),
        etcd.url()
    )
}

/// An IRI gateway config on `etcd` under `/test` as `name`, without auto-ban
/// (tests that poll a denied command).
pub fn plain_cluster_config(etcd: &Etcd, name: &str) -> String {
    format!(
        "{}\n[cluster]\netcd = [\"{}\"]\nprefix = \"/test\"\nname = \"{name}\"\nlease_ttl = \"3s\"\n",
        iri_config("", ""),
        etcd.url()
    )
}

/// [`cluster_config_with`] with nothing extra.
pub fn cluster_config(etcd: &Etcd, name: &str) -> String {
    cluster_config_with(etcd, name, "")
}

/// Three gateways `gw-a`, `gw-b`, `gw-c` on `etcd`, each synced.
pub fn three(etcd: &Etcd, backend: &Backend) -> Vec<Gateway> {
    three_with(etcd, backend, cluster_config)
}

/// Three gateways whose configs `config` makes, each synced.
pub fn three_with(
    etcd: &Etcd,
    backend: &Backend,
    config: fn(&Etcd, &str) -> String,
) -> Vec<Gateway> {
    let gws: Vec<Gateway> = ["gw-a", "gw-b", "gw-c"]
        .iter()
        .map(|n| Gateway::start(&config(etcd, n), &backend.url()))
        .collect();
    for gw in &gws {
        wait_until("the gateway to sync with etcd", secs(20), || {
            cluster(gw)["connected"] == true
        });
    }
    gws
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}

pub fn status(gw: &Gateway) -> Value {
    let (code, body) = gw.admin("GET", "/status");
    assert_eq!(code, 200, "{body}");
    serde_json::from_str(&body).unwrap()
}

pub fn cluster(gw: &Gateway) -> Value {
    status(gw)["cluster"].clone()
}

pub fn wait_until(what: &str, limit: Duration, mut f: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !f() {
        assert!(
            start.elapsed() < limit,
            "timed out after {limit:?} waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    start.elapsed()
}

/// The backend ids of pool `iri` on `gw`.
pub fn ids(gw: &Gateway) -> Vec<String> {
    let (code, body) = gw.admin("GET", "/upstreams/iri");
    assert_eq!(code, 200, "{body}");
    let v: Value = serde_json::from_str(&body).unwrap();
    v["backends"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b["id"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Registers backend `id` at `address` in pool `iri` through `gw`'s admin API.
pub fn register(gw: &Gateway, id: &str, address: &str) -> u16 {
    let auth = format!("Authorization: Bearer {}", gw.token());
    let body = format!(r#"{{"address":"{address}"}}"#);
    curl(&[
        "-X",
        "PUT",
        "-H",
        &auth,
        "-H",
        "Content-Type: application/json",
        "--data-binary",
        &body,
        &format!(
            "http://127.0.0.1:{}/upstreams/iri/backends/{id}",
            gw.admin_port
        ),
    ])
    .0
}

/// An IRI `command` from `source`; status 0 when the connection got no answer.
pub fn command_from(gw: &Gateway, source: &str, command: &str) -> u16 {
    let url = gw.url();
    let body = format!(r#"{{"command":"{command}"}}"#);
    curl(&[
        "--interface",
        source,
        "-H",
        "X-IOTA-API-Version: 1",
        "--data-binary",
        &body,
        &url,
    ])
    .0
}

/// `getNodeInfo` from `source`.
pub fn from(gw: &Gateway, source: &str) -> u16 {
    command_from(gw, source, "getNodeInfo")
}

/// Runs `nodeward cluster ARGS --config CONFIG`.
pub fn cluster_cmd(args: &[&str], config: &Path) -> std::process::Output {
    Command::new(bin())
        .arg("cluster")
        .args(args)
        .arg("--config")
        .arg(config)
        .output()
        .unwrap()
}

/// libfaketime (Debian: faketime), multithreaded variant.
pub fn libfaketime() -> PathBuf {
    std::fs::read_dir("/usr/lib")
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.path().join("faketime/libfaketimeMT.so.1"))
        .find(|p| p.exists())
        .expect("libfaketime is installed (Debian: faketime)")
}

/// Starts a gateway like [`Gateway::start`] with its wall clock shifted by
/// `offset` (libfaketime syntax, e.g. `+10m`); its monotonic clock is left alone.
pub fn start_skewed(template: &str, backend: &str, offset: &str) -> Gateway {
    let lib = libfaketime();
    Gateway::start_with_env(
        template,
        backend,
        &[],
        &[
            ("LD_PRELOAD", lib.as_os_str()),
            ("FAKETIME", offset.as_ref()),
            ("FAKETIME_DONT_FAKE_MONOTONIC", "1".as_ref()),
        ],
    )
}
