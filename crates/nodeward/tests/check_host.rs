//! `nodeward check disk|load|memory`: plugin output and thresholds on this host.

mod common_scan;

use common_scan::*;
use std::time::Duration;

const LIMIT: Duration = Duration::from_secs(10);

#[test]
fn disk_thresholds_and_perfdata() {
    // "@0:100" alerts inside 0..100, which every percentage is: always CRITICAL.
    let (code, line) = check(&["disk", "--path", "/", "-w", "101", "-c", "@0:100"], LIMIT);
    assert_eq!(code, 2, "{line}");
    assert!(
        line.starts_with("DISK CRITICAL - / ") && line.contains("| used_pct="),
        "{line}"
    );
    // "~:101" never alerts for a percentage.
    let (code, line) = check(
        &["disk", "--path", "/", "-w", "~:101", "-c", "~:101"],
        LIMIT,
    );
    assert_eq!(code, 0, "{line}");
    let (code, line) = check(&["disk", "--path", "/does/not/exist"], LIMIT);
    assert_eq!(code, 3, "{line}");
}

#[test]
fn load_and_memory() {
    let (code, line) = check(&["load", "-w", "1000,1000,1000", "-c", "2000"], LIMIT);
    assert_eq!(code, 0, "{line}");
    assert!(
        line.contains("| load1=") && line.contains("load15="),
        "{line}"
    );
    let (code, line) = check(&["load", "-w", "1,2"], LIMIT);
    assert_eq!(code, 3, "{line}");
    let (code, line) = check(&["memory", "-w", "@0:100", "-c", "101"], LIMIT);
    assert_eq!(code, 1, "{line}");
    assert!(
        line.starts_with("MEMORY WARNING") && line.contains("used_pct="),
        "{line}"
    );
}
