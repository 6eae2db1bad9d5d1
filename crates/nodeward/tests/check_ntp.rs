//! `nodeward check ntp` against a test SNTP responder on 127.0.0.1.

mod common_scan;

use common_scan::*;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(20);

fn ntp(server: &NtpServer, extra: &[&str]) -> (i32, String) {
    let port = server.port.to_string();
    let mut args = vec![
        "ntp",
        "-H",
        "127.0.0.1",
        "-p",
        &port,
        "--no-kernel",
        "-t",
        "2s",
    ];
    args.extend_from_slice(extra);
    check(&args, LIMIT)
}

#[test]
fn small_offset_is_ok() {
    let s = NtpServer::start(NtpMode::Offset(0.0));
    let (code, line) = ntp(&s, &["-w", "0.5", "-c", "1"]);
    assert_eq!(code, 0, "{line}");
    assert!(line.starts_with("NTP OK - offset"), "{line}");
    assert!(
        line.contains("| offset=") && line.contains("s;0.5;1 delay="),
        "{line}"
    );
}

#[test]
fn offsets_beyond_thresholds_warn_and_crit() {
    let s = NtpServer::start(NtpMode::Offset(0.75));
    let (code, line) = ntp(&s, &["-w", "0.5", "-c", "1"]);
    assert_eq!(code, 1, "{line}");
    let s = NtpServer::start(NtpMode::Offset(-3.0));
    let (code, line) = ntp(&s, &["-w", "0.5", "-c", "1"]);
    assert_eq!(code, 2, "{line}");
    // The measured offset is -3 s give or take half the round trip.
    let offset: f64 = line
        .split("offset ")
        .nth(1)
        .and_then(|t| t.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no offset in {line}"));
    assert!((offset + 3.0).abs() < 0.5, "{line}");
}

#[test]
fn bad_replies_and_silence_are_unknown() {
    let s = NtpServer::start(NtpMode::WrongOrigin);
    let (code, line) = ntp(&s, &[]);
    assert_eq!(code, 3, "{line}");
    assert!(line.contains("origin timestamp"), "{line}");
    let s = NtpServer::start(NtpMode::Silent);
    let start = std::time::Instant::now();
    let (code, line) = ntp(&s, &[]);
    assert_eq!(code, 3, "{line}");
    assert!(line.contains("timed out"), "{line}");
    assert!(start.elapsed() < Duration::from_secs(6));
}

#[test]
fn kernel_sync_status_is_reported() {
    let s = NtpServer::start(NtpMode::Offset(0.0));
    let port = s.port.to_string();
    let (code, line) = check(&["ntp", "-H", "127.0.0.1", "-p", &port, "-t", "2s"], LIMIT);
    assert!(line.contains("kernel clock"), "{line}");
    // OK when the kernel is synchronised, WARNING when it is not; never worse.
    assert!(code == 0 || code == 1, "{line}");
}
