//! `nodeward fim` in operation: the daily check's systemd units pass
//! `systemd-analyze verify` (on copies that run the built binary) and their
//! command exits non-zero with the report on standard output when something
//! changed; the progress bar is drawn on a terminal (a real pty) and never
//! when standard error is piped.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_nodeward")
}

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .and_then(Path::parent)
        .expect("repository root")
}

fn unit(name: &str) -> String {
    let path = repo_root().join("dist").join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A watched tree with a config; the baseline and key live beside it.
struct Watched {
    dir: tempfile::TempDir,
    config: PathBuf,
}

impl Watched {
    fn new(big_file_mib: usize) -> Watched {
        let dir = tempfile::tempdir().unwrap();
        let tree = dir.path().join("tree");
        fs::create_dir_all(tree.join("etc")).unwrap();
        for i in 0..200 {
            fs::write(tree.join(format!("etc/f{i}.conf")), format!("n = {i}\n")).unwrap();
        }
        fs::write(tree.join("big.bin"), vec![7u8; big_file_mib << 20]).unwrap();
        let config = dir.path().join("nodeward.toml");
        fs::write(
            &config,
            format!(
                "[fim]\ndefaults = false\npaths = [{:?}]\ndatabase = {:?}\nkey = {:?}\n",
                tree.display().to_string(),
                dir.path()
                    .join("state/baseline.nwfim")
                    .display()
                    .to_string(),
                dir.path().join("fim.key").display().to_string()
            ),
        )
        .unwrap();
        Watched { dir, config }
    }

    fn fim(&self, args: &[&str]) -> Output {
        Command::new(bin())
            .arg("fim")
            .args(args)
            .arg("-c")
            .arg(&self.config)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }
}

#[test]
fn daily_check_units_verify_and_their_command_fails_on_a_change() {
    let service = unit("nodeward-fim-check.service");
    for line in [
        "Type=oneshot",
        "ExecStart=/usr/local/bin/nodeward fim check --config /etc/nodeward/nodeward.toml",
        "StandardOutput=journal",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=read-only",
        "PrivateTmp=yes",
        "ReadWritePaths=/var/lib/nodeward/fim",
        "CapabilityBoundingSet=CAP_DAC_READ_SEARCH",
        "UMask=0077",
    ] {
        assert!(
            service.lines().any(|l| l == line),
            "nodeward-fim-check.service lacks {line}"
        );
    }
    let timer = unit("nodeward-fim-check.timer");
    for line in [
        "OnCalendar=daily",
        "Persistent=true",
        "RandomizedDelaySec=1h",
        "WantedBy=timers.target",
    ] {
        assert!(
            timer.lines().any(|l| l == line),
            "nodeward-fim-check.timer lacks {line}"
        );
    }

    // The unit's own command line, with the test's config: 0 when nothing
    // changed, 1 with the change in the report on stdout (the journal).
    let w = Watched::new(1);
    assert!(w.fim(&["init"]).status.success());
    let exec: Vec<String> = service
        .lines()
        .find_map(|l| l.strip_prefix("ExecStart="))
        .unwrap()
        .split_whitespace()
        .map(|a| match a {
            "/usr/local/bin/nodeward" => bin().to_string(),
            "/etc/nodeward/nodeward.toml" => w.config.display().to_string(),
            other => other.to_string(),
        })
        .collect();
    let run = || Command::new(&exec[0]).args(&exec[1..]).output().unwrap();
    let out = run();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    fs::write(w.dir.path().join("tree/etc/f3.conf"), "n = 333\n").unwrap();
    let out = run();
    assert_eq!(out.status.code(), Some(1), "{out:?}");
    let report = String::from_utf8_lossy(&out.stdout);
    assert!(report.contains("f3.conf"), "{report}");

    let Ok(found) = Command::new("systemd-analyze").arg("--version").output() else {
        eprintln!("SKIP systemd-analyze verify: systemd-analyze is not installed here");
        return;
    };
    assert!(found.status.success());
    // verify checks that ExecStart's program exists: copies run the built binary.
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("nodeward-fim-check.service");
    let t = dir.path().join("nodeward-fim-check.timer");
    fs::write(&s, service.replace("/usr/local/bin/nodeward", bin())).unwrap();
    fs::write(&t, &timer).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&s)
        .arg(&t)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("nodeward-fim"), "verify complained: {err}");
}

#[test]
fn progress_bar_on_a_terminal_only() {
    let w = Watched::new(48);
    // Piped standard error: no bar, no escape codes.
    let out = w.fim(&["init"]);
    assert!(out.status.success(), "{out:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("entries") && !err.contains('\x1b'), "{err}");
    assert!(String::from_utf8_lossy(&out.stdout).contains("baseline of 203 entries"));

    // A real pseudo-terminal (python3's pty.spawn, program and arguments as argv).
    let out = Command::new("python3")
        .args([
            "-c",
            "import pty, sys; sys.exit(pty.spawn(sys.argv[1:]) >> 8)",
        ])
        .arg(bin())
        .args(["fim", "check", "--paranoid", "-c"])
        .arg(&w.config)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let seen = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{seen}");
    // The first frame is drawn at once; which phase it shows depends on the
    // machine's speed (the walk of 203 entries may be over by then).
    assert!(
        seen.contains("listing: ") || seen.contains("/203 entries"),
        "{seen}"
    );
    // Cleared before the report is printed.
    assert!(seen.contains("\x1b[2K"), "{seen}");
}
