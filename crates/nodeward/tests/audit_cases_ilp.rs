//! `nodeward audit --profile ilp` on the ILP fixture roots written by
//! tests/fixtures/audit/parts/ilp.py: the connector's admin API, moneyd-gui,
//! PM2's user and the package versions (ILP-001 … ILP-004); and, in `live`,
//! the live audit of a real ilp-connector in a network namespace.

mod common_audit;
mod common_ilp;

use common_audit::*;

fn ilp_audit(root: &str) -> Run {
    let root = fixture(root);
    audit(&[
        "--root",
        root.to_str().unwrap(),
        "--profile",
        "ilp",
        "--format",
        "json",
        "--fail-on",
        "info",
    ])
}

fn evidence(run: &Run, id: &str) -> String {
    run.finding(id)["evidence"].as_str().unwrap().to_string()
}

#[test]
fn good_connector_passes_every_ilp_check_and_the_whole_hardened_audit() {
    let run = ilp_audit("cases/ilp-good");
    assert_eq!(run.code, 0, "{}", run.stderr);
    // The hardened base plus a loopback admin API and PM2 as `ilp`: every
    // offline check passes, the versions are left to a person.
    assert_statuses(
        &run,
        "pass",
        &[
            ("FW-004", "skip"),
            ("FW-005", "skip"),
            ("TIME-001", "skip"),
            ("ACC-009", "skip"),
            ("RST-001", "skip"),
            ("ILP-004", "manual"),
            // The ilp profile names no key files or data directory these roots have.
            ("KEY-001", "skip"),
            ("KEY-002", "skip"),
            ("PERM-003", "skip"),
        ],
    );
    let admin = evidence(&run, "ILP-001");
    assert!(
        admin.contains("admin API on 127.0.0.1 (/opt/ilp/ecosystem.config.js:9) port 7769"),
        "{admin}"
    );
    assert_eq!(
        evidence(&run, "ILP-003"),
        "/etc/systemd/system/pm2-ilp.service:7: User=ilp"
    );
    let gui = evidence(&run, "ILP-002");
    assert!(
        gui.contains("it binds 127.0.0.1: /usr/lib/node_modules/moneyd-gui/src/app.js:2"),
        "{gui}"
    );
    let v = evidence(&run, "ILP-004");
    assert!(
        v.contains("ilp-connector 23.0.2 (/usr/lib/node_modules/ilp-connector/package.json)")
            && v.contains("pm2 5.3.1")
            && v.contains("ilp-plugin-btp 1.5.0"),
        "{v}"
    );
    // The hardened fixture itself carries the same ILP setup.
    let h = ilp_audit("hardened");
    for id in ["ILP-001", "ILP-002", "ILP-003"] {
        assert_eq!(h.statuses()[id], "pass", "{id}: {}", evidence(&h, id));
    }
}

#[test]
fn public_admin_api_gui_and_root_pm2_fail() {
    let run = ilp_audit("cases/ilp-bad");
    assert_eq!(run.code, 1);
    let s = run.statuses();
    assert_eq!(s["ILP-001"], "fail");
    assert_eq!(s["ILP-002"], "fail", "{}", evidence(&run, "ILP-002"));
    assert_eq!(s["ILP-003"], "fail");
    assert_eq!(s["ILP-004"], "manual");
    let admin = evidence(&run, "ILP-001");
    assert!(
        admin.contains("admin API on 0.0.0.0 (/root/ecosystem.config.js:8) port 7769 (/root/ecosystem.config.js:9)"),
        "{admin}"
    );
    // Without CONNECTOR_ADMIN_API_PORT the connector's own default applies.
    assert!(admin.contains("port 7780 (default)"), "{admin}");
    // The checkout's own code decides where moneyd-gui binds.
    let gui = evidence(&run, "ILP-002");
    assert!(
        gui.contains("/root/ecosystem.config.js starts moneyd-gui on port 7770 (/root/ecosystem.config.js:15)")
            && gui.contains("/opt/moneyd-gui/src/app.js:2: .listen(process.env.PORT || 7770) (every interface)"),
        "{gui}"
    );
    let pm2 = evidence(&run, "ILP-003");
    assert!(
        pm2.contains("/etc/systemd/system/pm2-root.service:7: User=root")
            && pm2.contains("/root/.pm2/dump.pm2: root's PM2 saved 2 process(es)"),
        "{pm2}"
    );
    let v = evidence(&run, "ILP-004");
    assert!(
        v.contains("ilp-connector 22.0.0")
            && v.contains("moneyd-gui 0.1.0 (/opt/moneyd-gui/package.json)"),
        "{v}"
    );
    // The weak fixture carries the same bad setup.
    let w = ilp_audit("weak");
    for (id, want) in [
        ("ILP-001", "fail"),
        ("ILP-002", "fail"),
        ("ILP-003", "fail"),
    ] {
        assert_eq!(w.statuses()[id], want, "{id}: {}", evidence(&w, id));
    }
}

#[test]
fn moneyd_admin_port_argument_enables_the_api() {
    let run = ilp_audit("cases/ilp-moneyd");
    let s = run.statuses();
    assert_eq!(s["ILP-001"], "fail");
    let admin = evidence(&run, "ILP-001");
    assert!(
        admin.contains("moneyd (/root/.pm2/dump.pm2 (moneyd)): admin API on ::")
            && admin.contains("port 7769 (/root/.pm2/dump.pm2)"),
        "{admin}"
    );
    // moneyd-gui is started but not found installed: where it binds is unknown.
    assert_eq!(s["ILP-002"], "warn");
    let gui = evidence(&run, "ILP-002");
    assert!(
        gui.contains("no installed moneyd-gui src/app.js found"),
        "{gui}"
    );
    assert_eq!(s["ILP-003"], "fail", "{}", evidence(&run, "ILP-003"));
    assert!(evidence(&run, "ILP-004").contains("moneyd 4.4.0"));
}

#[test]
fn broken_pm2_files_are_errors_not_passes() {
    let run = ilp_audit("cases/ilp-broken");
    assert!(run.code == 0 || run.code == 1, "{}", run.stderr);
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
    let s = run.statuses();
    for id in ["ILP-001", "ILP-002", "ILP-003"] {
        assert_eq!(s[id], "error", "{id}: {}", evidence(&run, id));
        let ev = evidence(&run, id);
        assert!(
            ev.contains("/opt/ilp/ecosystem.config.js: binary content")
                && ev.contains("/root/.pm2/dump.pm2: not a PM2 process list"),
            "{ev}"
        );
    }
    assert_eq!(s["ILP-004"], "skip");
}

#[test]
fn other_profiles_skip_the_ilp_checks_with_the_reason() {
    let root = fixture("cases/ilp-bad");
    let run = audit(&[
        "--root",
        root.to_str().unwrap(),
        "--profile",
        "hornet",
        "--format",
        "json",
    ]);
    for id in ["ILP-001", "ILP-002", "ILP-003", "ILP-004"] {
        assert_eq!(run.statuses()[id], "skip");
        assert_eq!(
            evidence(&run, id),
            "only with --profile ilp (the profile is hornet)"
        );
    }
}

mod live {
    //! The live audit (`nodeward audit --profile ilp` without `--root`) of a
    //! REAL ilp-connector: each scenario runs the connector and the audit in
    //! a network namespace the test creates, so an admin API on 0.0.0.0 is
    //! public only inside it. Needs root (ip netns) and scripts/ilp-node.sh.

    use super::common_audit::{bin, is_root, Run};
    use crate::common_ilp::{Connector, Gui, Pm2, Setup};
    use std::process::Command;

    /// The process table is the machine's, not the namespace's: scenarios
    /// that start ILP processes run one at a time.
    static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

    fn serial() -> std::sync::MutexGuard<'static, ()> {
        SERIAL.lock().unwrap_or_else(|e| e.into_inner())
    }

    struct Netns(String);

    impl Netns {
        fn new(tag: &str) -> Netns {
            let name = format!("nwilp-{}-{tag}", std::process::id());
            for args in [
                vec!["netns", "add", &name],
                vec!["-n", &name, "link", "set", "lo", "up"],
            ] {
                let st = Command::new("ip").args(&args).status().unwrap();
                assert!(st.success(), "ip {args:?}");
            }
            Netns(name)
        }
    }

    impl Drop for Netns {
        fn drop(&mut self) {
            let _ = Command::new("ip").args(["netns", "del", &self.0]).status();
        }
    }

    fn live_audit(ns: &Netns) -> Run {
        Run::from(
            Command::new("ip")
                .args(["netns", "exec", &ns.0, bin()])
                .args([
                    "audit",
                    "--profile",
                    "ilp",
                    "--only",
                    "ilp",
                    "--format",
                    "json",
                ])
                .output()
                .unwrap(),
        )
    }

    #[test]
    fn admin_api_on_every_interface_fails_and_on_loopback_passes() {
        assert!(is_root(), "this test needs root (ip netns); run it as root");
        let _one = serial();
        // Public: CONNECTOR_ADMIN_API_HOST=0.0.0.0 on a random port, which
        // the audit learns from the process's environment.
        let ns = Netns::new("public");
        let c = Connector::start(Setup {
            admin_host: "0.0.0.0",
            netns: Some(ns.0.clone()),
            ..Setup::default()
        });
        let run = live_audit(&ns);
        let s = run.statuses();
        let ev = run.finding("ILP-001")["evidence"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(s["ILP-001"], "fail", "{ev}\n{}", run.stderr);
        assert!(
            ev.contains(&format!(
                "admin API listens publicly: {}/tcp on 0.0.0.0 (node pid",
                c.admin_port
            )),
            "{ev}"
        );
        // No moneyd-gui runs: the live check says so instead of passing.
        assert_eq!(s["ILP-002"], "skip");
        assert_eq!(
            run.finding("ILP-002")["evidence"],
            "no moneyd-gui process runs"
        );
        drop(c);
        drop(ns);

        let ns = Netns::new("loopback");
        let c = Connector::start(Setup {
            netns: Some(ns.0.clone()),
            ..Setup::default()
        });
        let run = live_audit(&ns);
        let ev = run.finding("ILP-001")["evidence"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(run.statuses()["ILP-001"], "pass", "{ev}");
        assert!(
            ev.contains(&format!(
                "admin API loopback-only: {}/tcp on 127.0.0.1 (node pid",
                c.admin_port
            )),
            "{ev}"
        );
    }

    fn pm2_audit() -> Run {
        Run::from(
            Command::new(bin())
                .args([
                    "audit",
                    "--profile",
                    "ilp",
                    "--only",
                    "ILP-003",
                    "--format",
                    "json",
                ])
                .output()
                .unwrap(),
        )
    }

    #[test]
    fn pm2_daemon_as_root_fails_and_as_nobody_passes() {
        assert!(
            is_root(),
            "this test needs root (to start PM2 as root and as nobody)"
        );
        let _one = serial();
        let pm2 = Pm2::start(0);
        let run = pm2_audit();
        let ev = run.finding("ILP-003")["evidence"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(run.statuses()["ILP-003"], "fail", "{ev}");
        assert!(ev.starts_with("PM2 runs as root: PM2 v"), "{ev}");
        assert!(
            ev.contains(&format!(
                "God Daemon ({}) pid {} uid 0",
                pm2_home(&pm2),
                pm2.pid()
            )),
            "{ev}"
        );
        drop(pm2);

        let pm2 = Pm2::start(65534);
        let run = pm2_audit();
        let ev = run.finding("ILP-003")["evidence"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(run.statuses()["ILP-003"], "pass", "{ev}");
        assert!(ev.contains(&format!("pid {} uid 65534", pm2.pid())), "{ev}");
    }

    fn pm2_home(p: &Pm2) -> String {
        p.home_path()
    }

    #[test]
    fn real_moneyd_gui_on_loopback_passes() {
        assert!(is_root(), "this test needs root (ip netns); run it as root");
        let _one = serial();
        let ns = Netns::new("gui");
        let c = Connector::start(Setup {
            netns: Some(ns.0.clone()),
            ..Setup::default()
        });
        // moneyd-gui 0.1.2 from npm binds 127.0.0.1 in its own code.
        let gui = Gui::start(&ns.0, c.admin_port);
        let run = live_audit(&ns);
        let ev = run.finding("ILP-002")["evidence"]
            .as_str()
            .unwrap()
            .to_string();
        assert_eq!(run.statuses()["ILP-002"], "pass", "{ev}");
        assert_eq!(
            ev,
            format!("moneyd-gui loopback-only: {}/tcp on 127.0.0.1", gui.port)
        );
    }
}
