//! `nodeward check` is a monitoring plugin: usage errors are UNKNOWN (exit 3),
//! as the Nagios plugin guidelines require, while other commands exit 2.

use std::process::Command;

fn run(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_nodeward"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_usage_errors_are_unknown() {
    let (code, err) = run(&["check", "tls", "--no-such-flag"]);
    assert_eq!(code, Some(3), "{err}");
    assert!(err.contains("--no-such-flag"));
    let (code, _) = run(&["check", "no-such-kind"]);
    assert_eq!(code, Some(3));
    let (code, _) = run(&["check", "tls"]);
    assert_eq!(code, Some(3), "missing --host");
}

#[test]
fn other_commands_keep_exit_2_and_help_exits_0() {
    assert_eq!(run(&["gateway", "--no-such-flag"]).0, Some(2));
    assert_eq!(run(&["no-such-command"]).0, Some(2));
    assert_eq!(run(&["--help"]).0, Some(0));
    assert_eq!(run(&["check", "--help"]).0, Some(0));
}
