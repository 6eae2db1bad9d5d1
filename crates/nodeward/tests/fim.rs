//! `nodeward fim` end to end on trees the tests build: every kind of change is
//! found with its old and new value, a tampered baseline or a wrong key is
//! refused, FIFOs and huge sparse files never stall a scan, a file changing
//! while it is hashed is reported as such, and `update` accepts what it shows.

use serde_json::Value;
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_nodeward")
}

/// A watched tree, its config and its state, all in one temporary directory.
struct Fixture {
    _dir: tempfile::TempDir,
    tree: PathBuf,
    config: PathBuf,
    database: PathBuf,
    key: PathBuf,
}

impl Fixture {
    fn new(extra: &str) -> Fixture {
        let dir = tempfile::Builder::new()
            .prefix("nodeward-fim")
            .tempdir()
            .unwrap();
        let tree = dir.path().join("tree");
        fs::create_dir_all(tree.join("bin")).unwrap();
        fs::create_dir_all(tree.join("etc")).unwrap();
        fs::create_dir_all(tree.join("home/node/.ssh")).unwrap();
        fs::write(tree.join("bin/tool"), b"#!/bin/sh\necho tool\n").unwrap();
        fs::set_permissions(tree.join("bin/tool"), fs::Permissions::from_mode(0o755)).unwrap();
        fs::write(tree.join("etc/node.conf"), b"port = 14265\n").unwrap();
        fs::write(
            tree.join("home/node/.ssh/authorized_keys"),
            b"ssh-ed25519 AAAA key1\n",
        )
        .unwrap();
        fs::write(tree.join("etc/gone"), b"will be removed\n").unwrap();
        fs::write(tree.join("etc/becomes-dir"), b"a file for now\n").unwrap();
        symlink("node.conf", tree.join("etc/current")).unwrap();
        let database = dir.path().join("state/baseline.nwfim");
        let key = dir.path().join("keys/fim.key");
        let config = dir.path().join("nodeward.toml");
        fs::write(
            &config,
            format!(
                "[fim]\ndefaults = false\npaths = [{:?}]\ndatabase = {:?}\nkey = {:?}\n{extra}",
                tree.display().to_string(),
                database.display().to_string(),
                key.display().to_string()
            ),
        )
        .unwrap();
        Fixture {
            _dir: dir,
            tree,
            config,
            database,
            key,
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        let mut cmd = Command::new(bin());
        cmd.arg("fim")
            .args(&args[..1])
            .arg("--config")
            .arg(&self.config)
            .args(&args[1..]);
        cmd.stdin(Stdio::null());
        let out = cmd.output().unwrap();
        assert!(
            !String::from_utf8_lossy(&out.stderr).contains("panicked"),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }

    fn check_json(&self, extra: &[&str]) -> (i32, Value) {
        let mut args = vec!["check", "--format", "json"];
        args.extend_from_slice(extra);
        let out = self.run(&args);
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)));
        (out.status.code().unwrap(), v)
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tree.join(rel)
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// The failing findings as (id, severity, evidence).
fn failures(v: &Value) -> Vec<(String, String, String)> {
    v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] != "pass")
        .map(|f| {
            (
                f["id"].as_str().unwrap().to_string(),
                f["severity"].as_str().unwrap().to_string(),
                f["evidence"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn find<'a>(fails: &'a [(String, String, String)], needle: &str) -> &'a (String, String, String) {
    fails
        .iter()
        .find(|f| f.2.contains(needle))
        .unwrap_or_else(|| panic!("no finding mentions {needle:?}: {fails:#?}"))
}

fn init(f: &Fixture) {
    let out = f.run(&["init"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(text(&out).contains("baseline of"), "{}", text(&out));
}

#[test]
fn a_fresh_baseline_checks_clean_and_is_private() {
    let f = Fixture::new("");
    init(&f);
    let mode = fs::metadata(&f.database).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    assert_eq!(
        fs::metadata(&f.key).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let (code, v) = f.check_json(&[]);
    assert_eq!(code, 0, "{v}");
    assert!(failures(&v).is_empty(), "{v}");
    assert_eq!(v["command"], "fim");
    assert_eq!(v["parts"]["fim"]["entries"], 12);
    // A second init does not silently replace the baseline.
    let again = f.run(&["init"]);
    assert_eq!(again.status.code(), Some(2));
    assert!(text(&again).contains("fim update"), "{}", text(&again));
    // A report to a device is written into it, never renamed over it.
    let to_null = f.run(&["check", "-o", "/dev/null"]);
    assert_eq!(to_null.status.code(), Some(0), "{}", text(&to_null));
    let null = fs::metadata("/dev/null").unwrap();
    assert!(
        std::os::unix::fs::FileTypeExt::is_char_device(&null.file_type()),
        "/dev/null is no longer a device"
    );
    // The last result is kept for the audit.
    let last = fs::read_to_string(format!("{}.last-check", f.database.display())).unwrap();
    assert!(last.contains("\"passed\":true"), "{last}");
}

#[test]
fn every_kind_of_change_is_found_with_old_and_new_values() {
    let f = Fixture::new("");
    init(&f);
    // Content changed with the same size and the old mtime put back.
    let conf = f.path("etc/node.conf");
    let old_mtime = fs::metadata(&conf).unwrap().modified().unwrap();
    fs::write(&conf, b"port = 14266\n").unwrap();
    fs::File::options()
        .write(true)
        .open(&conf)
        .unwrap()
        .set_modified(old_mtime)
        .unwrap();
    // New setuid bit on a binary; a capability on another; owner and mode changes.
    fs::set_permissions(f.path("bin/tool"), fs::Permissions::from_mode(0o4755)).unwrap();
    fs::write(f.path("bin/capped"), b"#!/bin/sh\n").unwrap();
    let setcap = Command::new("setcap")
        .arg("cap_net_raw+ep")
        .arg(f.path("bin/capped"))
        .output()
        .expect("setcap (libcap2-bin) is installed by scripts/test.sh");
    assert!(setcap.status.success(), "{}", text(&setcap));
    std::os::unix::fs::chown(
        f.path("home/node/.ssh/authorized_keys"),
        Some(1234),
        Some(1234),
    )
    .unwrap();
    // Symlink target, added, removed, a file replaced by a directory.
    fs::remove_file(f.path("etc/current")).unwrap();
    symlink("/etc/shadow", f.path("etc/current")).unwrap();
    fs::write(f.path("etc/new.conf"), b"x\n").unwrap();
    fs::remove_file(f.path("etc/gone")).unwrap();
    fs::remove_file(f.path("etc/becomes-dir")).unwrap();
    fs::create_dir(f.path("etc/becomes-dir")).unwrap();

    let (code, v) = f.check_json(&[]);
    assert_eq!(code, 1, "{v}");
    let fails = failures(&v);
    let content = find(&fails, "etc/node.conf:");
    assert_eq!(content.0, "FIM-003");
    assert!(content.2.contains("content: blake3:"), "{content:?}");
    assert!(
        !content.2.contains("mtime"),
        "mtime was restored: {content:?}"
    );
    let suid = find(&fails, "bin/tool:");
    assert_eq!((suid.0.as_str(), suid.1.as_str()), ("FIM-003", "high"));
    assert!(suid.2.contains("mode: 0755 → 4755"), "{suid:?}");
    let cap = find(&fails, "bin/capped:");
    assert_eq!((cap.0.as_str(), cap.1.as_str()), ("FIM-001", "high"));
    assert!(cap.2.contains("cap_net_raw=ep"), "{cap:?}");
    let owner = find(&fails, "authorized_keys:");
    assert_eq!(owner.1, "high");
    assert!(owner.2.contains("owner: 0:0 → 1234:1234"), "{owner:?}");
    let link = find(&fails, "etc/current:");
    assert!(
        link.2.contains("target: node.conf → /etc/shadow"),
        "{link:?}"
    );
    assert_eq!(find(&fails, "etc/new.conf:").0, "FIM-001");
    assert_eq!(find(&fails, "etc/gone:").0, "FIM-002");
    let dir = find(&fails, "etc/becomes-dir:");
    assert!(dir.2.contains("type: file → directory"), "{dir:?}");
    assert_eq!(v["parts"]["fim"]["added"], 2);
    assert_eq!(v["parts"]["fim"]["removed"], 1);

    // The same report renders as JUnit and HTML.
    let junit = f.run(&["check", "--format", "junit"]);
    assert!(
        String::from_utf8_lossy(&junit.stdout).contains("<testsuite"),
        "{}",
        text(&junit)
    );
    let html = f.run(&["check", "--format", "html"]);
    assert!(String::from_utf8_lossy(&html.stdout).contains("FIM-003"));

    // update refuses without a terminal or --yes, then accepts what it shows.
    let refused = f.run(&["update"]);
    assert_eq!(refused.status.code(), Some(2), "{}", text(&refused));
    assert!(text(&refused).contains("--yes"));
    let accepted = f.run(&["update", "--yes"]);
    assert_eq!(accepted.status.code(), Some(0), "{}", text(&accepted));
    assert!(
        text(&accepted).contains("gained a setuid/setgid bit"),
        "{}",
        text(&accepted)
    );
    let (code, v) = f.check_json(&[]);
    assert_eq!(code, 0, "{v}");
    // show prints the accepted entry.
    let shown = f.run(&[
        "show",
        f.path("bin/tool").to_str().unwrap(),
        "--format",
        "json",
    ]);
    let e: Value = serde_json::from_slice(&shown.stdout).unwrap();
    assert_eq!(e["mode"], "4755");
    assert_eq!(e["type"], "file");
}

#[test]
fn a_tampered_baseline_or_another_key_is_refused() {
    let f = Fixture::new("");
    init(&f);
    let mut bytes = fs::read(&f.database).unwrap();
    let mid = bytes.len() / 2;
    bytes[mid] ^= 0x20;
    fs::write(&f.database, &bytes).unwrap();
    let out = f.run(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("HMAC"), "{}", text(&out));
    // Restore the file, swap the key.
    bytes[mid] ^= 0x20;
    fs::write(&f.database, &bytes).unwrap();
    assert_eq!(f.run(&["check"]).status.code(), Some(0));
    fs::write(&f.key, format!("{}\n", "ab".repeat(32))).unwrap();
    let out = f.run(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("HMAC"), "{}", text(&out));
    // Truncated.
    fs::write(&f.database, &bytes[..bytes.len() / 3]).unwrap();
    let out = f.run(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("truncated") || text(&out).contains("damaged"),
        "{}",
        text(&out)
    );
    // Not ours at all, and from a newer nodeward.
    fs::write(&f.database, b"SQLite format 3\0 not a baseline").unwrap();
    assert!(text(&f.run(&["check"])).contains("wrong magic"));
    let mut newer = bytes.clone();
    newer[6] = 99;
    fs::write(&f.database, &newer).unwrap();
    assert!(text(&f.run(&["check"])).contains("format version 99"));
}

#[test]
fn fifos_devices_sparse_giants_and_odd_names_never_stall_or_crash() {
    let f = Fixture::new("max_hash_size = \"1GiB\"\n");
    rustix_mkfifo(&f.path("etc/pipe"));
    let giant = fs::File::create(f.path("etc/giant.img")).unwrap();
    giant.set_len(100 << 30).unwrap(); // 100 GiB, sparse
    drop(giant);
    let odd = f
        .path("etc")
        .join(std::ffi::OsStr::from_bytes_compat(b"bad\xffname"));
    fs::write(&odd, b"x").unwrap();
    fs::write(f.path("etc/secret"), b"s").unwrap();
    fs::set_permissions(f.path("etc/secret"), fs::Permissions::from_mode(0o000)).unwrap();
    let started = std::time::Instant::now();
    init(&f);
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    let giant = f.run(&[
        "show",
        f.path("etc/giant.img").to_str().unwrap(),
        "--format",
        "json",
    ]);
    let e: Value = serde_json::from_slice(&giant.stdout).unwrap();
    assert_eq!(e["content"], "not hashed (over max_hash_size)");
    assert_eq!(e["size"], 100u64 << 30);
    let pipe = f.run(&[
        "show",
        f.path("etc/pipe").to_str().unwrap(),
        "--format",
        "json",
    ]);
    let e: Value = serde_json::from_slice(&pipe.stdout).unwrap();
    assert_eq!(e["type"], "fifo");
    let (code, v) = f.check_json(&[]);
    assert_eq!(code, 0, "{v}");
    // The non-UTF-8 name is recorded and shown escaped when it changes.
    fs::write(&odd, b"yy").unwrap();
    let (_, v) = f.check_json(&[]);
    find(&failures(&v), "bad\\xffname");
}

#[test]
fn a_file_rewritten_while_it_is_hashed_is_reported_as_such() {
    let f = Fixture::new("");
    let busy = f.path("etc/busy.db");
    fs::write(&busy, vec![7u8; 64 << 20]).unwrap();
    init(&f);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let busy = busy.clone();
        std::thread::spawn(move || {
            use std::os::unix::fs::FileExt;
            let file = fs::File::options().write(true).open(&busy).unwrap();
            let mut i: u64 = 0;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                file.write_at(&[(i % 251) as u8], (i * 4099) % (64 << 20))
                    .unwrap();
                i += 1;
            }
        })
    };
    let (_, v) = f.check_json(&["--paranoid"]);
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    writer.join().unwrap();
    let fails = failures(&v);
    let busy_finding = find(&fails, "busy.db:");
    // Reading 64 MiB takes far longer than the writer's gap between writes.
    assert!(
        busy_finding.2.contains("changed while being read"),
        "{busy_finding:?}"
    );
    assert_ne!(busy_finding.1, "low", "{busy_finding:?}");
    // Once quiet, a paranoid check hashes it cleanly and reports the real change.
    let (_, v) = f.check_json(&["--paranoid"]);
    let quiet = failures(&v);
    assert!(
        find(&quiet, "busy.db:").2.contains("content: blake3:"),
        "{quiet:?}"
    );
}

#[test]
fn bad_config_and_missing_baseline_are_named() {
    let f = Fixture::new("");
    let out = f.run(&["check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("fim init"), "{}", text(&out));
    fs::write(&f.config, "[fim]\npaths = [\"relative/path\"]\n").unwrap();
    let out = f.run(&["init"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("absolute"), "{}", text(&out));
    let out = f.run(&["show", "/nowhere"]);
    assert_eq!(out.status.code(), Some(2));
}

fn rustix_mkfifo(p: &Path) {
    let st = Command::new("mkfifo").arg(p).status().unwrap();
    assert!(st.success());
}

/// `OsStr::from_bytes` under a name that reads well in the test.
trait FromBytesCompat {
    fn from_bytes_compat(b: &[u8]) -> &std::ffi::OsStr;
}

impl FromBytesCompat for std::ffi::OsStr {
    fn from_bytes_compat(b: &[u8]) -> &std::ffi::OsStr {
        use std::os::unix::ffi::OsStrExt;
        std::ffi::OsStr::from_bytes(b)
    }
}
