//! The sshd_config parser agrees with OpenSSH itself: for a set of tricky
//! files (repeated keys, Include globs, Match blocks, Include inside Match,
//! `=` syntax and quoting, algorithm list modifiers) the values the parser
//! derives equal what `sshd -T -f FILE` prints, globally and for connections
//! given with `-C user=...,host=...,addr=...`.
//!
//! sshd -T needs root, host keys (generated here with ssh-keygen into a temp
//! dir and passed with -h) and /run/sshd, which is provided by a private tmpfs
//! inside `unshare --mount` so the host's /run is left alone.

use nodeward_audit::host::LiveHost;
use nodeward_audit::sshd::algorithms::{effective_list, Kind};
use nodeward_audit::sshd::{Connection, SshdConfig};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const SSHD: &str = "/usr/sbin/sshd";

fn is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("Uid:"))
                .map(|l| l.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false)
}

struct Lab {
    dir: tempfile::TempDir,
    key: PathBuf,
}

impl Lab {
    fn new() -> Lab {
        let dir = tempfile::tempdir().unwrap();
        let key = dir.path().join("host_ed25519");
        let st = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(&key)
            .status()
            .expect("ssh-keygen (openssh-client) must be installed");
        assert!(st.success());
        Lab { dir, key }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        // Placeholder T stands for the lab directory in Include paths.
        std::fs::write(
            p,
            text.replace("@T@", &self.dir.path().display().to_string()),
        )
        .unwrap();
    }

    /// `sshd -T` output as keyword -> values.
    fn sshd_t(&self, main: &Path, conn: Option<&str>) -> HashMap<String, Vec<String>> {
        let script =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/with-private-run.sh");
        let mut cmd = Command::new("unshare");
        cmd.args(["--mount", "--propagation", "private", "sh"])
            .arg(script)
            .arg(SSHD)
            .arg("-T")
            .arg("-f")
            .arg(main)
            .arg("-h")
            .arg(&self.key);
        if let Some(c) = conn {
            cmd.arg("-C").arg(c);
        }
        let out = cmd.output().expect("unshare and sshd must be installed");
        assert!(
            out.status.success(),
            "sshd -T failed for {}: {}",
            main.display(),
            String::from_utf8_lossy(&out.stderr)
        );
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            if let Some((k, v)) = line.split_once(' ') {
                map.entry(k.to_string()).or_default().push(v.to_string());
            }
        }
        map
    }
}

fn parse_conn(spec: &str) -> Connection {
    let mut c = Connection::default();
    for kv in spec.split(',') {
        let (k, v) = kv.split_once('=').unwrap();
        match k {
            "user" => c.user = Some(v.into()),
            "host" => c.host = Some(v.into()),
            "addr" => c.addr = Some(v.into()),
            "laddr" => c.laddr = Some(v.into()),
            "lport" => c.lport = Some(v.parse().unwrap()),
            _ => panic!("unknown key {k}"),
        }
    }
    c
}

fn norm(key: &str, v: &str) -> String {
    let v = v.to_ascii_lowercase();
    if key == "permitrootlogin" && v == "without-password" {
        "prohibit-password".into()
    } else {
        v
    }
}

/// What the parser says for the keys the audit reads.
fn ours(cfg: &SshdConfig, conn: Option<&Connection>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (key, default) in [
        ("passwordauthentication", "yes"),
        ("permitrootlogin", "prohibit-password"),
        ("permitemptypasswords", "no"),
        ("pubkeyauthentication", "yes"),
        ("maxauthtries", "6"),
        ("x11forwarding", "no"),
    ] {
        let v = cfg
            .effective(key, conn)
            .map(|s| s.args.join(" "))
            .unwrap_or_else(|| default.to_string());
        out.push((key.to_string(), norm(key, &v)));
    }
    let ports: Vec<String> = cfg
        .all_global("port")
        .iter()
        .flat_map(|s| s.args.clone())
        .collect();
    out.push((
        "port".into(),
        if ports.is_empty() {
            "22".into()
        } else {
            ports.join(",")
        },
    ));
    for kind in [Kind::Kex, Kind::Ciphers, Kind::Macs] {
        let setting = cfg.effective(kind.keyword(), None);
        out.push((
            kind.keyword().into(),
            effective_list(kind, setting.as_ref()).join(","),
        ));
    }
    out
}

fn theirs(dump: &HashMap<String, Vec<String>>) -> Vec<(String, String)> {
    let keys = [
        "passwordauthentication",
        "permitrootlogin",
        "permitemptypasswords",
        "pubkeyauthentication",
        "maxauthtries",
        "x11forwarding",
        "port",
        "kexalgorithms",
        "ciphers",
        "macs",
    ];
    keys.iter()
        .map(|k| {
            let v = dump.get(*k).map(|v| v.join(",")).unwrap_or_default();
            (k.to_string(), norm(k, &v))
        })
        .collect()
}

fn compare(lab: &Lab, main: &str, conns: &[Option<&str>]) {
    let path = lab.path(main);
    let cfg = SshdConfig::load(&LiveHost::new(), path.to_str().unwrap()).unwrap();
    assert!(cfg.problems.is_empty(), "{main}: {:?}", cfg.problems);
    for conn in conns {
        let parsed = conn.map(parse_conn);
        let mut a = ours(&cfg, parsed.as_ref());
        let mut b = theirs(&lab.sshd_t(&path, *conn));
        a.sort();
        b.sort();
        assert_eq!(
            a, b,
            "{main} with connection {conn:?}: parser (left) vs sshd -T (right)"
        );
    }
}

const ALICE: &str = "user=alice,host=ws1.example.org,addr=10.1.2.3";
const BOB_VPN: &str = "user=bob,host=vpn.example.org,addr=10.9.0.7";
const CAROL: &str = "user=carol,host=carol.example.net,addr=192.0.2.10";

#[test]
fn parser_matches_sshd_t_on_tricky_files() {
    if !is_root() {
        eprintln!("sshd -T comparison needs root (unshare, sshd); CI runs as root");
        return;
    }
    let lab = Lab::new();

    // Repeated keys: the first value wins; Port accumulates.
    lab.write(
        "repeated.conf",
        "PasswordAuthentication no\nPasswordAuthentication yes\nPort 2222\nPort 2200\n\
         MaxAuthTries 3\nMaxAuthTries 9\nX11Forwarding yes\nX11Forwarding no\n",
    );
    compare(&lab, "repeated.conf", &[None, Some(ALICE)]);

    // Include glob: sorted, only matching names, first value wins across files.
    lab.write(
        "glob.conf",
        "Include @T@/glob.d/*.conf\nPermitRootLogin yes\nPasswordAuthentication yes\n",
    );
    lab.write(
        "glob.d/20-b.conf",
        "PermitRootLogin forced-commands-only\nMaxAuthTries 5\n",
    );
    lab.write(
        "glob.d/10-a.conf",
        "PasswordAuthentication no\nMaxAuthTries 2\n",
    );
    lab.write("glob.d/05-x.conf.bak", "PermitRootLogin no\n");
    compare(&lab, "glob.conf", &[None, Some(CAROL)]);

    // Match blocks: user, negated address lists, Match all.
    lab.write(
        "match.conf",
        "PasswordAuthentication no\nPermitRootLogin no\n\
         Match User alice,al*\n  PasswordAuthentication yes\n  X11Forwarding yes\n\
         Match Address 10.0.0.0/8,!10.9.0.0/16\n  PermitRootLogin yes\n  MaxAuthTries 2\n\
         Match Host *.example.org User bob\n  PubkeyAuthentication no\n\
         Match all\n  MaxAuthTries 4\n  PermitEmptyPasswords no\n",
    );
    compare(
        &lab,
        "match.conf",
        &[None, Some(ALICE), Some(BOB_VPN), Some(CAROL)],
    );

    // Include inside a Match block, with a Match inside the included file:
    // the included file cannot change the includer's Match state.
    lab.write(
        "incmatch.conf",
        "MaxAuthTries 5\nMatch User alice\nInclude @T@/inc/m.conf\nX11Forwarding yes\n\
         Match all\nPubkeyAuthentication yes\n",
    );
    lab.write(
        "inc/m.conf",
        "PasswordAuthentication yes\nMatch User bob\nPermitRootLogin yes\n",
    );
    compare(
        &lab,
        "incmatch.conf",
        &[None, Some(ALICE), Some(BOB_VPN), Some(CAROL)],
    );

    // Match blocks inside a file included at top level apply to connections.
    lab.write(
        "top.conf",
        "Include @T@/top.d/*.conf\nPasswordAuthentication no\n",
    );
    lab.write(
        "top.d/50-users.conf",
        "Match User alice\n  PasswordAuthentication yes\n  PermitRootLogin no\n",
    );
    compare(&lab, "top.conf", &[None, Some(ALICE), Some(CAROL)]);

    // Syntax: `=`, quoting, case, trailing comments; algorithm modifiers.
    lab.write(
        "syntax.conf",
        "passwordauthentication=no\nPERMITROOTLOGIN = \"no\"\n  MaxAuthTries\t\"3\" # three\n\
         Ciphers ^aes128-cbc\nMACs -hmac-sha1*,umac-64*\nKexAlgorithms +diffie-hellman-group14-sha1\n",
    );
    compare(&lab, "syntax.conf", &[None]);

    lab.write(
        "lists.conf",
        "Ciphers aes256-gcm@openssh.com,aes128-ctr\nMACs hmac-sha2-512-etm@openssh.com\nKexAlgorithms -ecdh-sha2-*,diffie-hellman-group14-sha256\n",
    );
    compare(&lab, "lists.conf", &[None]);
}
