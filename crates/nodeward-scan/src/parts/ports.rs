//! The ports part: a TCP connect scan compared with the expected open ports.

use super::{finding, PartOutcome};
use nodeward_probe::portscan::{self, ScanOptions};
use nodeward_probe::tcp;
use nodeward_report::{Severity, Status};
use serde_json::json;
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

const AREA: &str = "ports";

/// Scans `ports` on `host`; open ports not in `expected` are failures, open
/// `api_ports` (the profile's private node API) are critical ones.
pub async fn run(
    host: &str,
    ports: &[u16],
    expected: &[u16],
    api_ports: &[u16],
    concurrency: usize,
    timeout: Duration,
) -> PartOutcome {
    let ip = match tcp::resolve(host, 0, timeout).await {
        Ok(addrs) => addrs[0].ip(),
        Err(e) => {
            return PartOutcome {
                findings: vec![finding(
                    "PORT-000",
                    AREA,
                    "Host resolvable for the port scan",
                    Severity::High,
                    Status::Error,
                    e.to_string(),
                    "Check the host name.",
                    "",
                )],
                json: json!({"open": null, "error": e.to_string()}),
            }
        }
    };
    let opts = ScanOptions {
        concurrency,
        max_timeout: timeout
            .min(Duration::from_millis(1500))
            .max(Duration::from_millis(200)),
        ..Default::default()
    };
    let tty = std::io::stderr().is_terminal();
    let progress: Arc<dyn Fn(usize, usize) + Send + Sync> = Arc::new(move |done, total| {
        if tty {
            let width = 30;
            let filled = done * width / total.max(1);
            eprint!(
                "\rports [{}{}] {done}/{total}",
                "#".repeat(filled),
                " ".repeat(width - filled)
            );
            if done == total {
                eprintln!();
            }
            let _ = std::io::stderr().flush();
        }
    });
    let start = Instant::now();
    let result = portscan::scan(ip, ports, &opts, progress).await;
    let elapsed = start.elapsed();
    let unexpected: Vec<u16> = result
        .open
        .iter()
        .copied()
        .filter(|p| !expected.contains(p))
        .collect();
    let missing: Vec<u16> = expected
        .iter()
        .copied()
        .filter(|p| ports.contains(p) && !result.open.contains(p))
        .collect();
    let exposed_api: Vec<u16> = api_ports
        .iter()
        .copied()
        .filter(|p| result.open.contains(p))
        .collect();
    let mut findings = vec![
        finding("PORT-001", AREA, "Only expected ports open", Severity::High,
            if unexpected.is_empty() { Status::Pass } else { Status::Fail },
            format!("open: {:?}; expected: {:?}; unexpected: {:?} ({} ports scanned in {:.2} s, {} filtered)", result.open, expected, unexpected, ports.len(), elapsed.as_secs_f64(), result.filtered.len()),
            "Close or firewall the unexpected ports (nodeward firewall), or add them to --expect.", ""),
        finding("PORT-002", AREA, "Expected ports answer", Severity::Low,
            if missing.is_empty() { Status::Pass } else { Status::Warn },
            if missing.is_empty() { "every expected port that was scanned is open".to_string() } else { format!("expected but not open: {missing:?}") },
            "Start the service or remove the port from --expect.", ""),
    ];
    if !api_ports.is_empty() {
        findings.push(finding(
            "PORT-003",
            AREA,
            "Node API ports not reachable from outside",
            Severity::Critical,
            if exposed_api.is_empty() {
                Status::Pass
            } else {
                Status::Fail
            },
            if exposed_api.is_empty() {
                format!("API ports {api_ports:?} closed or filtered")
            } else {
                format!("node API reachable on {exposed_api:?}")
            },
            "Bind the node API to 127.0.0.1 and publish it only through nodeward gateway.",
            "",
        ));
    }
    let grade = if unexpected.is_empty() { "A" } else { "F" };
    PartOutcome {
        findings,
        json: json!({"grade": grade, "open": result.open, "expected": expected, "unexpected": unexpected,
            "scanned": ports.len(), "filtered": result.filtered.len(), "seconds": elapsed.as_secs_f64()}),
    }
}
