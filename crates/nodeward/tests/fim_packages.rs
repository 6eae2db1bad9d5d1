//! `nodeward fim` package awareness end to end: a dpkg database (status,
//! md5sums, diversions, a merged-/usr `bin` link) built under a temporary
//! package root, and the real binary telling an upgrade (low, package and
//! versions named) from a tamper (high), a conffile edit (medium) and a file
//! that already mismatched its package at `init` (high, at init and at every
//! check until fixed); and one read-only init + check of this machine's own
//! dpkg files against its own dpkg database.

use serde_json::Value;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_nodeward")
}

fn md5_hex(data: &[u8]) -> String {
    // The md5sum tool, as dpkg's own md5sums are made.
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("f");
    fs::write(&p, data).unwrap();
    let out = Command::new("md5sum").arg(&p).output().unwrap();
    String::from_utf8_lossy(&out.stdout)[..32].to_string()
}

struct Pkg<'a> {
    name: &'a str,
    version: &'a str,
    files: Vec<(&'a str, &'a [u8])>,
    conffiles: Vec<(&'a str, &'a [u8])>,
}

/// A package root with a dpkg database, and a nodeward config watching it.
struct Root {
    _dir: tempfile::TempDir,
    root: PathBuf,
    config: PathBuf,
}

impl Root {
    fn new() -> Root {
        let dir = tempfile::Builder::new()
            .prefix("nodeward-fimpkg")
            .tempdir()
            .unwrap();
        let root = dir.path().join("root");
        for d in ["usr/bin", "usr/lib", "etc", "var/lib/dpkg/info"] {
            fs::create_dir_all(root.join(d)).unwrap();
        }
        // Merged /usr: packages list bin/..., the files live in usr/bin.
        symlink("usr/bin", root.join("bin")).unwrap();
        let config = dir.path().join("nodeward.toml");
        fs::write(
            &config,
            format!(
                "[fim]\ndefaults = false\npaths = [{:?}, {:?}]\ndatabase = {:?}\nkey = {:?}\npackage_root = {:?}\n",
                root.join("usr").display().to_string(),
                root.join("etc").display().to_string(),
                dir.path().join("state/baseline.nwfim").display().to_string(),
                dir.path().join("keys/fim.key").display().to_string(),
                root.display().to_string(),
            ),
        )
        .unwrap();
        Root {
            _dir: dir,
            root,
            config,
        }
    }

    /// Writes the status file and every package's md5sums (the files
    /// themselves are written by the test).
    fn database(&self, pkgs: &[Pkg]) {
        let mut status = String::new();
        for p in pkgs {
            status.push_str(&format!(
                "Package: {}\nStatus: install ok installed\nArchitecture: amd64\nVersion: {}\nDescription: test\n",
                p.name, p.version
            ));
            if !p.conffiles.is_empty() {
                status.push_str("Conffiles:\n");
                for (path, content) in &p.conffiles {
                    status.push_str(&format!(" /{path} {}\n", md5_hex(content)));
                }
            }
            status.push('\n');
            let md5sums: String = p
                .files
                .iter()
                .map(|(path, content)| format!("{}  {path}\n", md5_hex(content)))
                .collect();
            fs::write(
                self.root
                    .join(format!("var/lib/dpkg/info/{}.md5sums", p.name)),
                md5sums,
            )
            .unwrap();
        }
        fs::write(self.root.join("var/lib/dpkg/status"), status).unwrap();
    }

    fn write(&self, rel: &str, content: &[u8]) {
        fs::write(self.root.join(rel), content).unwrap();
    }

    fn run(&self, args: &[&str]) -> Output {
        let out = Command::new(bin())
            .arg("fim")
            .args(args)
            .arg("--config")
            .arg(&self.config)
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(!text(&out).contains("panicked"), "{}", text(&out));
        out
    }

    fn check(&self) -> (i32, Value) {
        let out = self.run(&["check", "--format", "json"]);
        let v: Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(&out)));
        (out.status.code().unwrap(), v)
    }
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Failing findings as (id, severity, evidence).
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

fn find<'a>(fails: &'a [(String, String, String)], path: &Path) -> &'a (String, String, String) {
    let needle = format!("{}:", path.display());
    let hits: Vec<_> = fails.iter().filter(|f| f.2.starts_with(&needle)).collect();
    assert_eq!(hits.len(), 1, "{needle}: {fails:#?}");
    hits[0]
}

#[test]
fn upgrades_are_low_tampers_high_conffile_edits_medium_and_init_mismatches_stay_reported() {
    let r = Root::new();
    r.write("usr/bin/alpha", b"alpha 1.0\n");
    r.write("usr/bin/beta", b"beta 2.0\n");
    r.write("usr/bin/gamma", b"gamma as shipped\n");
    r.write("etc/gamma.conf", b"setting = 1\n");
    r.write("usr/lib/shared.so", b"shared by two packages\n");
    // delta ships usr/bin/div; epsilon diverts it to usr/bin/div.distrib and ships its own.
    r.write("usr/bin/div", b"epsilon's wrapper\n");
    r.write("usr/bin/div.distrib", b"delta's original\n");
    fs::write(
        r.root.join("var/lib/dpkg/diversions"),
        "/usr/bin/div\n/usr/bin/div.distrib\nepsilon\n",
    )
    .unwrap();
    let pkgs = |alpha_version, alpha_content: &'static [u8]| {
        vec![
            Pkg {
                name: "alpha",
                version: alpha_version,
                files: vec![
                    ("bin/alpha", alpha_content),
                    ("usr/lib/shared.so", b"shared by two packages\n"),
                ],
                conffiles: vec![],
            },
            Pkg {
                name: "beta",
                version: "2.0",
                files: vec![
                    ("usr/bin/beta", b"beta 2.0\n"),
                    // Another owner that lists an older copy: one match is enough.
                    ("usr/lib/shared.so", b"an older copy\n"),
                ],
                conffiles: vec![],
            },
            Pkg {
                name: "gamma",
                version: "1.0",
                // Already changed when the baseline is taken.
                files: vec![("usr/bin/gamma", b"gamma as the package shipped it\n")],
                conffiles: vec![("etc/gamma.conf", b"setting = 1\n")],
            },
            Pkg {
                name: "delta",
                version: "3.0",
                files: vec![("usr/bin/div", b"delta's original\n")],
                conffiles: vec![],
            },
            Pkg {
                name: "epsilon",
                version: "1.0",
                files: vec![("usr/bin/div", b"epsilon's wrapper\n")],
                conffiles: vec![],
            },
        ]
    };
    r.database(&pkgs("1.0", b"alpha 1.0\n"));

    // init: the one mismatch is reported (high) and the exit code says so.
    let out = r.run(&["init"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(t.contains("1 mismatches"), "{t}");
    let gamma = r.root.join("usr/bin/gamma");
    assert!(
        t.contains(&format!(
            "[high] {}: content does not match the checksum of gamma",
            gamma.display()
        )),
        "{t}"
    );
    for ok in [
        "usr/bin/alpha",
        "usr/bin/div",
        "usr/bin/div.distrib",
        "usr/lib/shared.so",
    ] {
        assert!(
            !t.contains(&format!("{}:", r.root.join(ok).display())),
            "{ok}: {t}"
        );
    }
    assert!(t.contains("7 package files verified"), "{t}");

    // A check right after: nothing changed, but the mismatch stays high.
    let (code, v) = r.check();
    assert_eq!(code, 1);
    let fails = failures(&v);
    assert_eq!(fails.len(), 1, "{fails:#?}");
    let f = find(&fails, &gamma);
    assert_eq!((f.0.as_str(), f.1.as_str()), ("FIM-005", "high"), "{f:?}");

    // alpha upgraded (content and md5sums, version 1.0 → 1.1), beta tampered
    // (md5sums unchanged), gamma's conffile edited by the admin.
    r.write("usr/bin/alpha", b"alpha 1.1 with a longer body\n");
    r.database(&pkgs("1.1", b"alpha 1.1 with a longer body\n"));
    r.write("usr/bin/beta", b"beta 2.0 with a backdoor\n");
    r.write("etc/gamma.conf", b"setting = 2\n");
    let (code, v) = r.check();
    assert_eq!(code, 1);
    let fails = failures(&v);
    let alpha = find(&fails, &r.root.join("usr/bin/alpha"));
    assert_eq!(
        (alpha.0.as_str(), alpha.1.as_str()),
        ("FIM-003", "low"),
        "{alpha:?}"
    );
    assert!(
        alpha
            .2
            .contains("changed by the upgrade of package alpha (1.0 → 1.1)"),
        "{alpha:?}"
    );
    let beta = find(&fails, &r.root.join("usr/bin/beta"));
    assert_eq!(
        (beta.0.as_str(), beta.1.as_str()),
        ("FIM-003", "high"),
        "{beta:?}"
    );
    assert!(
        beta.2
            .contains("content does not match the checksum of package beta (2.0)"),
        "{beta:?}"
    );
    let conf = find(&fails, &r.root.join("etc/gamma.conf"));
    assert_eq!(
        (conf.0.as_str(), conf.1.as_str()),
        ("FIM-003", "medium"),
        "{conf:?}"
    );
    assert!(
        conf.2
            .contains("configuration changed (package gamma's conffile)"),
        "{conf:?}"
    );
    let g = find(&fails, &gamma);
    assert_eq!((g.0.as_str(), g.1.as_str()), ("FIM-005", "high"));
    // With --fail-on high the upgrade alone would pass; the tamper does not.
    let out = r.run(&["check", "--fail-on", "high"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    // Accepting the state keeps both mismatches on record.
    let out = r.run(&["update", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (code, v) = r.check();
    assert_eq!(code, 1);
    let fails = failures(&v);
    assert_eq!(fails.len(), 2, "{fails:#?}");
    assert_eq!(find(&fails, &gamma).0, "FIM-005");
    assert_eq!(find(&fails, &r.root.join("usr/bin/beta")).0, "FIM-005");
    assert_eq!(v["parts"]["fim"]["package_mismatches"], 2);

    // Restoring beta's packaged content clears it.
    r.write("usr/bin/beta", b"beta 2.0\n");
    let out = r.run(&["update", "--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let (_, v) = r.check();
    let fails = failures(&v);
    assert_eq!(fails.len(), 1, "{fails:#?}");
    assert_eq!(find(&fails, &gamma).0, "FIM-005");

    // Without package awareness the same tree is judged by path alone.
    let out = Command::new(bin())
        .args(["fim", "check", "--format", "json", "--config"])
        .arg(&r.config)
        .arg("--package-root")
        .arg(r.root.join("nowhere"))
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(failures(&v).is_empty(), "{:#?}", failures(&v));
}

#[test]
fn this_machines_dpkg_files_verify_against_its_own_dpkg_database() {
    // Read-only: dpkg's own programs and /usr/bin/true (listed as bin/true by
    // coreutils on a merged-/usr system) against /var/lib/dpkg.
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("nodeward.toml");
    let files = ["/usr/bin/dpkg", "/usr/bin/dpkg-query", "/usr/bin/true"];
    fs::write(
        &config,
        format!(
            "[fim]\ndefaults = false\npaths = {files:?}\ndatabase = {:?}\nkey = {:?}\n",
            dir.path().join("b.nwfim").display().to_string(),
            dir.path().join("k").display().to_string(),
        ),
    )
    .unwrap();
    let run = |args: &[&str]| {
        Command::new(bin())
            .arg("fim")
            .args(args)
            .arg("--config")
            .arg(&config)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    };
    let out = run(&["init"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("3 package files verified"), "{t}");
    assert!(t.contains(", 0 mismatches"), "{t}");
    let out = run(&["check", "--paranoid", "--format", "json"]);
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(v["parts"]["fim"]["package_verified"], 3);
    // Only the package files under the watched paths are indexed.
    assert_eq!(v["parts"]["fim"]["package_files"], 3);
    let pass = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == "FIM-005")
        .unwrap();
    assert_eq!(pass["status"], "pass");
}

/// Writes an rpm-based package root's `var/lib/rpm/rpmdb.sqlite` with python's
/// sqlite3 and header blobs built by hand in rpm's format (as
/// tests/fixtures/audit/parts/services.py does), SHA-256 file digests
/// (FILEDIGESTALGO 8) and %config flags. Independent of nodeward's parser.
const RPMDB_PY: &str = r#"
import hashlib, json, os, sqlite3, struct, sys
INT32, STRING, BIN, STRING_ARRAY = 4, 6, 7, 8
def header(p):
    tags = [(1000, STRING, p["name"]), (1001, STRING, p["version"]), (1002, STRING, p["release"]),
            (1022, STRING, "x86_64"), (1008, INT32, [p["installtime"]]), (5011, INT32, [8])]
    dirs = sorted({f["path"].rsplit("/", 1)[0] + "/" for f in p["files"]})
    tags += [(1118, STRING_ARRAY, dirs),
             (1117, STRING_ARRAY, [f["path"].rsplit("/", 1)[1] for f in p["files"]]),
             (1116, INT32, [dirs.index(f["path"].rsplit("/", 1)[0] + "/") for f in p["files"]]),
             (1035, STRING_ARRAY, [hashlib.sha256(f["content"].encode()).hexdigest() for f in p["files"]]),
             (1037, INT32, [1 if f.get("config") else 0 for f in p["files"]])]
    entries, data = [], b""
    for tag, ty, v in tags:
        if ty == INT32:
            data += b"\0" * (-len(data) % 4)
            entries.append((tag, ty, len(data), len(v)))
            data += b"".join(struct.pack(">I", x) for x in v)
        elif ty == STRING:
            entries.append((tag, ty, len(data), 1))
            data += v.encode() + b"\0"
        else:
            entries.append((tag, ty, len(data), len(v)))
            data += b"".join(s.encode() + b"\0" for s in v)
    il = len(entries) + 1
    region = (63, BIN, len(data), 16)
    data += struct.pack(">IIiI", 63, BIN, -il * 16, 16)
    out = struct.pack(">II", il, len(data))
    for e in [region] + entries:
        out += struct.pack(">IIiI", *e)
    return out + data
path, spec = sys.argv[1], json.loads(sys.argv[2])
if os.path.exists(path):
    os.remove(path)
db = sqlite3.connect(path)
db.execute("PRAGMA journal_mode = WAL")
db.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)")
for p in spec:
    db.execute("INSERT INTO Packages (blob) VALUES (?)", (header(p),))
db.commit()
db.close()
"#;

#[test]
fn an_rpm_database_vouches_for_upgrades_and_catches_tampers() {
    let r = Root::new();
    let py = r.root.parent().unwrap().join("rpmdb.py");
    fs::write(&py, RPMDB_PY).unwrap();
    fs::create_dir_all(r.root.join("var/lib/rpm")).unwrap();
    let write_db = |ls_version: &str, ls_content: &str| {
        let spec = serde_json::json!([
            {"name": "coreutils", "version": ls_version, "release": "1.el9", "installtime": 1_700_000_000u32,
             "files": [{"path": "/usr/bin/ls", "content": ls_content}]},
            {"name": "bash", "version": "5.1.8", "release": "9.el9", "installtime": 1_700_000_000u32,
             "files": [{"path": "/bin/bash", "content": "bash 5.1.8\n"}]},
            {"name": "chrony", "version": "4.3", "release": "1.el9", "installtime": 1_700_000_000u32,
             "files": [{"path": "/etc/chrony.conf", "content": "pool 2.rhel.pool.ntp.org iburst\n", "config": true}]},
        ]);
        let out = Command::new("python3")
            .arg(&py)
            .arg(r.root.join("var/lib/rpm/rpmdb.sqlite"))
            .arg(spec.to_string())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", text(&out));
    };
    r.write("usr/bin/ls", b"ls 9.0\n");
    r.write("usr/bin/bash", b"bash 5.1.8\n");
    r.write("etc/chrony.conf", b"pool 2.rhel.pool.ntp.org iburst\n");
    write_db("9.0", "ls 9.0\n");
    let out = r.run(&["init"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(0), "{t}");
    assert!(t.contains("3 package files verified"), "{t}");
    assert!(t.contains(", 0 mismatches"), "{t}");

    r.write("usr/bin/ls", b"ls 9.1, rebuilt\n");
    write_db("9.1", "ls 9.1, rebuilt\n");
    r.write("usr/bin/bash", b"bash 5.1.8 with a backdoor\n");
    r.write("etc/chrony.conf", b"server 10.0.0.1 iburst\n");
    let (code, v) = r.check();
    assert_eq!(code, 1);
    let fails = failures(&v);
    assert_eq!(fails.len(), 3, "{fails:#?}");
    let ls = find(&fails, &r.root.join("usr/bin/ls"));
    assert_eq!(ls.1, "low", "{ls:?}");
    assert!(
        ls.2.contains("changed by the upgrade of package coreutils (9.0-1.el9 → 9.1-1.el9)"),
        "{ls:?}"
    );
    let bash = find(&fails, &r.root.join("usr/bin/bash"));
    assert_eq!(bash.1, "high", "{bash:?}");
    assert!(
        bash.2
            .contains("does not match the checksum of package bash (5.1.8-9.el9)"),
        "{bash:?}"
    );
    let conf = find(&fails, &r.root.join("etc/chrony.conf"));
    assert_eq!(conf.1, "medium", "{conf:?}");
    assert!(conf.2.contains("package chrony's conffile"), "{conf:?}");
}
