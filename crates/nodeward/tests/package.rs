//! The Debian package and `nodeward init`, end to end.
//!
//! `deb_package` builds the .deb ONCE per run with the real `scripts/package.sh`
//! (from the already-built binary: `NODEWARD_BIN`, which scripts/test.sh sets
//! to the release build, else this test's debug build; `--fast` compression,
//! same contents), then inspects it with dpkg-deb, runs lintian (Debian package
//! `lintian`), installs and purges it with dpkg into a scratch root (maintainer
//! scripts run chrootless with DPKG_ROOT, so the host's users stay untouched)
//! and verifies the installed units with `systemd-analyze verify --root`.
//! The `init_*` tests run `nodeward init` for every profile and feed the
//! result to `config check` and `firewall plan`.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PROFILES: &[&str] = &["iota", "hornet", "ilp", "cardano", "masternode", "jsonrpc"];

fn bin() -> PathBuf {
    std::env::var_os("NODEWARD_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_nodeward")))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    out
}

fn text(out: &Output) -> String {
    format!(
        "status {:?}\nstdout:\n{}\nstderr:\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(cmd: &mut Command) -> String {
    let out = run(cmd);
    assert!(out.status.success(), "{cmd:?} failed: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn nodeward() -> Command {
    Command::new(bin())
}

#[test]
fn init_every_profile_passes_config_check_and_firewall_plan() {
    let dir = tempfile::tempdir().unwrap();
    for profile in PROFILES {
        for domain in [None, Some("node.example.org")] {
            if *profile == "masternode" && domain.is_some() {
                continue;
            }
            let file = dir
                .path()
                .join(format!("{profile}-{}.toml", domain.is_some()));
            let mut cmd = nodeward();
            cmd.args(["init", "--profile", profile, "--config"])
                .arg(&file);
            if let Some(d) = domain {
                cmd.args(["--domain", d]);
            }
            let stdout = ok(&mut cmd);
            // The next steps, in order.
            let steps: Vec<usize> = [
                "nodeward audit",
                "firewall plan",
                "firewall apply",
                "firewall confirm",
                "nodeward-gateway",
                "fim init",
            ]
            .iter()
            .map(|s| {
                stdout
                    .find(s)
                    .unwrap_or_else(|| panic!("{s:?} missing in {stdout}"))
            })
            .collect();
            assert!(
                steps.windows(2).all(|w| w[0] < w[1]),
                "steps out of order: {stdout}"
            );
            let meta = std::fs::metadata(&file).unwrap();
            assert_eq!(meta.permissions().mode() & 0o777, 0o640, "{profile}");
            let body = std::fs::read_to_string(&file).unwrap();
            assert!(
                body.contains(&format!(
                    "profiles = [\"{}\"]",
                    if *profile == "jsonrpc" {
                        "ethereum"
                    } else {
                        profile
                    }
                )),
                "{body}"
            );
            if let Some(d) = domain {
                assert!(
                    body.contains(&format!("/etc/letsencrypt/live/{d}/fullchain.pem")),
                    "{body}"
                );
                assert!(body.contains("0.0.0.0:443"), "{body}");
            }
            let check = ok(nodeward().args(["config", "check", "--config"]).arg(&file));
            assert!(check.contains(": OK"), "{check}");
            let plan = ok(nodeward()
                .args(["firewall", "plan", "--config"])
                .arg(&file)
                .arg("--state-dir")
                .arg(dir.path()));
            assert!(plan.contains("table inet nodeward"), "{plan}");
        }
    }
    // The node URL given is the backend written.
    let file = dir.path().join("node.toml");
    ok(nodeward()
        .args([
            "init",
            "--profile",
            "jsonrpc",
            "--node",
            "http://10.1.2.3:8545",
            "--config",
        ])
        .arg(&file));
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains("backends = [\"http://10.1.2.3:8545\"]"));
    // The firewall opens the gateway's ports for profiles that do not.
    let plan = ok(nodeward()
        .args(["firewall", "plan", "--config"])
        .arg(&file)
        .arg("--state-dir")
        .arg(dir.path()));
    assert!(plan.contains("30303") && plan.contains("443"), "{plan}");
}

#[test]
fn init_refuses_to_overwrite_and_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("nodeward.toml");
    let mine = "# mine\n[audit]\nprofile = \"hornet\"\n";
    std::fs::write(&file, mine).unwrap();
    let out = run(nodeward()
        .args(["init", "--profile", "iota", "--config"])
        .arg(&file));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("already exists") && err.contains("not overwritten"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        mine,
        "the file was changed"
    );

    // The shipped all-comment default is replaced (and its group kept).
    let default = repo().join("dist/nodeward.toml");
    std::fs::copy(&default, &file).unwrap();
    ok(nodeward()
        .args(["init", "--profile", "iota", "--config"])
        .arg(&file));
    assert!(std::fs::read_to_string(&file)
        .unwrap()
        .contains("protocol = \"iri\""));

    for (args, what) in [
        (vec!["--node", "ftp://x"], "http://"),
        (vec!["--node", "http://a\"b"], "not allowed"),
        (vec!["--domain", "no_dots"], "not a DNS name"),
    ] {
        let f = dir.path().join("bad.toml");
        let out = run(nodeward()
            .args(["init", "--profile", "jsonrpc", "--config"])
            .arg(&f)
            .args(&args));
        assert_eq!(out.status.code(), Some(2), "{}", text(&out));
        assert!(
            String::from_utf8_lossy(&out.stderr).contains(what),
            "{}",
            text(&out)
        );
        assert!(!f.exists(), "a file was written for {args:?}");
    }
    let out = run(nodeward()
        .args(["init", "--profile", "bitcoin", "--config"])
        .arg(dir.path().join("x.toml")));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    // A missing directory is made (0750), as /etc/nodeward on a source install.
    let nested = dir.path().join("etc/nodeward/nodeward.toml");
    ok(nodeward()
        .args(["init", "--profile", "iota", "--config"])
        .arg(&nested));
    let meta = std::fs::metadata(nested.parent().unwrap()).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o750);
    // A directory where the file should be: refused, named.
    let out = run(nodeward()
        .args(["init", "--profile", "iota", "--config"])
        .arg(nested.parent().unwrap()));
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("not a regular file"),
        "{}",
        text(&out)
    );
}

/// Builds the .deb (the one build of this run) into `out`.
fn build_deb(out: &Path) -> PathBuf {
    let stdout = ok(Command::new("bash")
        .arg(repo().join("scripts/package.sh"))
        .arg("--binary")
        .arg(bin())
        .arg("--out")
        .arg(out)
        .arg("--fast"));
    PathBuf::from(
        stdout
            .lines()
            .last()
            .expect("package.sh printed no path")
            .trim(),
    )
}

#[test]
fn deb_package() {
    let work = tempfile::tempdir().unwrap();
    let deb = build_deb(work.path());
    assert!(deb.is_file(), "{}", deb.display());

    // Contents and modes.
    let listing = ok(Command::new("dpkg-deb").arg("-c").arg(&deb));
    let entry = |path: &str| -> String {
        listing
            .lines()
            .find(|l| l.ends_with(&format!(" ./{path}")) || l.ends_with(&format!(" ./{path}/")))
            .unwrap_or_else(|| panic!("{path} not in the package:\n{listing}"))
            .to_string()
    };
    assert!(entry("usr/bin/nodeward").starts_with("-rwxr-xr-x root/root"));
    assert!(entry("etc/nodeward/nodeward.toml").starts_with("-rw-r----- root/root"));
    assert!(entry("etc/nodeward").starts_with("drwxr-x--- root/root"));
    for unit in [
        "nodeward-gateway.service",
        "nodeward-ban.service",
        "nodeward-firewall.service",
    ] {
        assert!(entry(&format!("lib/systemd/system/{unit}")).starts_with("-rw-r--r-- root/root"));
    }
    for f in [
        "usr/share/man/man1/nodeward.1.gz",
        "usr/share/man/man1/nodeward-gateway.1.gz",
        "usr/share/man/man1/nodeward-init.1.gz",
        "usr/share/man/man1/nodeward-firewall.1.gz",
        "usr/share/man/man1/nodeward-firewall-apply.1.gz",
        "usr/share/bash-completion/completions/nodeward",
        "usr/share/zsh/vendor-completions/_nodeward",
        "usr/share/fish/vendor_completions.d/nodeward.fish",
        "usr/lib/sysusers.d/nodeward.conf",
        "usr/share/doc/nodeward/copyright",
        "usr/share/doc/nodeward/configuration.md",
    ] {
        assert!(entry(f).starts_with("-rw-r--r-- root/root"), "{f}");
    }
    assert!(!listing.contains("usr/local"), "{listing}");
    assert!(
        !listing.contains("nodeward-generate"),
        "the hidden command got a page"
    );

    // Control data: conffile, maintainer scripts that never enable or start.
    let conffiles = ok(Command::new("dpkg-deb")
        .arg("-I")
        .arg(&deb)
        .arg("conffiles"));
    assert_eq!(conffiles.trim(), "/etc/nodeward/nodeward.toml");
    assert_eq!(
        ok(Command::new("dpkg-deb").arg("-f").arg(&deb).arg("Package")).trim(),
        "nodeward"
    );
    for script in ["postinst", "prerm", "postrm"] {
        let body = ok(Command::new("dpkg-deb").arg("-I").arg(&deb).arg(script));
        for forbidden in [
            "systemctl enable",
            "systemctl start",
            "deb-systemd-invoke start",
            "systemctl restart",
        ] {
            assert!(!body.contains(forbidden), "{script} has {forbidden:?}");
        }
    }

    // The binary is stripped and the units point at /usr/bin.
    let x = work.path().join("x");
    ok(Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&x));
    let sections = ok(Command::new("objdump")
        .arg("-h")
        .arg(x.join("usr/bin/nodeward")));
    assert!(
        !sections.contains(".debug_line") && !sections.contains(".symtab"),
        "{sections}"
    );
    for unit in std::fs::read_dir(x.join("lib/systemd/system")).unwrap() {
        let path = unit.unwrap().path();
        let body = std::fs::read_to_string(&path).unwrap();
        assert!(!body.contains("/usr/local"), "{body}");
        // Services run the packaged binary; a timer only names its service.
        if path.extension().is_some_and(|e| e == "service") {
            assert!(body.contains("ExecStart=/usr/bin/nodeward"), "{body}");
        }
    }
    let man = ok(Command::new("man")
        .arg("-l")
        .arg(x.join("usr/share/man/man1/nodeward-gateway.1.gz"))
        .env("MANWIDTH", "80"));
    assert!(
        man.contains("nodeward gateway") && man.contains("--config"),
        "{man}"
    );
    // Every page a page points at (SUBCOMMANDS: nodeward-firewall-plan(1), ...) is there.
    let man1 = x.join("usr/share/man/man1");
    for page in [
        "nodeward",
        "nodeward-firewall",
        "nodeward-gateway",
        "nodeward-gateway-bans",
        "nodeward-check",
    ] {
        let rendered = ok(Command::new("man")
            .arg("-l")
            .arg(man1.join(format!("{page}.1.gz")))
            .env("MANWIDTH", "200"));
        let refs: Vec<&str> = rendered
            .split_whitespace()
            .filter_map(|w| w.strip_suffix("(1)"))
            .filter(|w| w.starts_with("nodeward"))
            .collect();
        assert!(refs.len() > 1, "{page}: no references in\n{rendered}");
        for r in refs {
            assert!(
                man1.join(format!("{r}.1.gz")).is_file(),
                "{page} points at {r}(1), which is missing"
            );
        }
    }

    // lintian: no errors.
    let out = run(Command::new("lintian")
        .arg("--tag-display-limit")
        .arg("0")
        .arg(&deb));
    let report = text(&out);
    assert!(
        !report.lines().any(|l| l.starts_with("E: ")),
        "lintian errors:\n{report}"
    );

    // Install into a scratch root; maintainer scripts see DPKG_ROOT.
    let root = work.path().join("root");
    for d in ["var/lib/dpkg/info", "var/lib/dpkg/updates", "etc"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::write(root.join("var/lib/dpkg/status"), "").unwrap();
    let host_group = std::fs::read_to_string("/etc/group").unwrap();
    let dpkg = |args: &[&str]| {
        ok(Command::new("dpkg")
            .arg(format!("--root={}", root.display()))
            .args([
                "--force-script-chrootless",
                "--force-depends",
                "--log=/dev/null",
            ])
            .args(args))
    };
    dpkg(&["-i", deb.to_str().unwrap()]);
    assert_eq!(
        std::fs::read_to_string("/etc/group").unwrap(),
        host_group,
        "host groups changed"
    );
    let group = std::fs::read_to_string(root.join("etc/group")).unwrap();
    let gid: u32 = group
        .lines()
        .find_map(|l| l.strip_prefix("nodeward:x:"))
        .and_then(|rest| rest.split(':').next())
        .and_then(|g| g.parse().ok())
        .unwrap_or_else(|| panic!("no nodeward group: {group}"));
    assert!(std::fs::read_to_string(root.join("etc/passwd"))
        .unwrap()
        .contains("nodeward:x:"));
    let cfg = root.join("etc/nodeward/nodeward.toml");
    let meta = std::fs::metadata(&cfg).unwrap();
    assert_eq!(
        (meta.mode() & 0o777, meta.uid(), meta.gid()),
        (0o640, 0, gid)
    );
    let meta = std::fs::metadata(root.join("etc/nodeward")).unwrap();
    assert_eq!((meta.mode() & 0o777, meta.gid()), (0o750, gid));
    assert!(
        ok(Command::new(root.join("usr/bin/nodeward")).arg("--version")).starts_with("nodeward ")
    );

    // The first hour: init replaces the shipped all-comment default, keeps its group.
    ok(Command::new(root.join("usr/bin/nodeward"))
        .args(["init", "--profile", "hornet", "--config"])
        .arg(&cfg));
    let meta = std::fs::metadata(&cfg).unwrap();
    assert_eq!((meta.mode() & 0o777, meta.gid()), (0o640, gid));
    ok(Command::new(root.join("usr/bin/nodeward"))
        .args(["config", "check", "--config"])
        .arg(&cfg));

    // The installed units verify (against the host's own systemd units, copied in).
    ok(Command::new("cp")
        .arg("-rn")
        .arg("/lib/systemd/system/.")
        .arg(root.join("lib/systemd/system/")));
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::copy("/bin/kill", root.join("bin/kill")).unwrap();
    let units: Vec<String> = [
        "nodeward-gateway.service",
        "nodeward-ban.service",
        "nodeward-firewall.service",
    ]
    .iter()
    .map(|u| format!("/lib/systemd/system/{u}"))
    .collect();
    let out = run(Command::new("systemd-analyze")
        .arg("verify")
        .arg(format!("--root={}", root.display()))
        .args(&units));
    assert!(
        out.status.success() && out.stderr.is_empty(),
        "systemd-analyze verify: {}",
        text(&out)
    );
    // Nothing was enabled.
    assert!(!root.join("etc/systemd/system").exists());

    // Purge: binary, config and state go; the user stays (policy).
    std::fs::create_dir_all(root.join("var/lib/nodeward/ban")).unwrap();
    std::fs::write(root.join("var/lib/nodeward/ban/bans.json"), "{}").unwrap();
    dpkg(&["--purge", "nodeward"]);
    for gone in [
        "usr/bin/nodeward",
        "etc/nodeward",
        "var/lib/nodeward",
        "usr/share/man/man1/nodeward.1.gz",
    ] {
        assert!(!root.join(gone).exists(), "{gone} left after purge");
    }
    assert!(std::fs::read_to_string(root.join("etc/group"))
        .unwrap()
        .contains("nodeward:x:"));
    let status = run(Command::new("dpkg-query")
        .arg(format!(
            "--admindir={}",
            root.join("var/lib/dpkg").display()
        ))
        .args(["-W", "-f", "${Status}", "nodeward"]));
    assert!(
        !String::from_utf8_lossy(&status.stdout).contains("installed ok"),
        "{}",
        text(&status)
    );
    assert!(
        !String::from_utf8_lossy(&status.stdout).contains("ok installed"),
        "{}",
        text(&status)
    );
    assert_eq!(
        std::fs::read_to_string("/etc/group").unwrap(),
        host_group,
        "host groups changed"
    );
}
