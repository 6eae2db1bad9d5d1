//! `nodeward ban scan FILE`: read a whole log once and report what `watch` would
//! count and ban, using the timestamps in the log (as `fail2ban-regex` does).

use super::lines::LineSplitter;
use super::source::{parse_line, Format};
use super::tracker::{Outcome, Tracker};
use super::BanSettings;
use crate::error::{Error, Result};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::net::IpAddr;
use std::path::Path;

/// What a scan found.
#[derive(Debug, Default, Serialize)]
pub struct ScanReport {
    /// File scanned.
    pub file: String,
    /// Bytes read.
    pub bytes: u64,
    /// Lines read.
    pub lines: u64,
    /// Lines dropped for being longer than the limit.
    pub too_long: u64,
    /// Failure lines.
    pub failures: u64,
    /// Failure lines by kind.
    pub by_kind: BTreeMap<&'static str, u64>,
    /// Distinct sources with failures.
    pub sources: usize,
    /// Bans `watch` would have issued with these settings, timed by the log.
    pub bans: u64,
    /// Distinct addresses banned at least once.
    pub banned_sources: usize,
    /// The sources with most failures (address, count), at most 10.
    pub top: Vec<(IpAddr, u64)>,
}

const HALF_YEAR: i64 = 183 * 86_400;

/// Scans `path` in `format` with `settings`.
pub fn scan(path: &Path, format: Format, settings: &BanSettings) -> Result<ScanReport> {
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut tracker = Tracker::new(settings.thresholds.clone());
    let mut report = ScanReport {
        file: path.display().to_string(),
        ..Default::default()
    };
    let mut per_source: HashMap<IpAddr, u64> = HashMap::new();
    let mut banned: HashSet<IpAddr> = HashSet::new();
    let mut splitter = LineSplitter::default();
    let mut buf = vec![0u8; 1 << 20];
    // Classic syslog has no year: carry one over when the clock jumps back by months.
    let (mut last_time, mut year_offset) = (0i64, 0i64);
    let mut on_line = |line: &[u8], report: &mut ScanReport| {
        report.lines += 1;
        let parsed = parse_line(format, line, &settings.patterns);
        if let Some(t) = parsed.time {
            let mut t = t + year_offset;
            if t < last_time - HALF_YEAR {
                year_offset += 365 * 86_400;
                t += 365 * 86_400;
            }
            last_time = t;
        }
        let Some(f) = parsed.failure else { return };
        report.failures += 1;
        *report.by_kind.entry(f.kind.name()).or_default() += 1;
        *per_source.entry(f.addr).or_default() += 1;
        if let Outcome::Ban { .. } = tracker.record(f.addr, last_time) {
            report.bans += 1;
            banned.insert(f.addr);
        }
    };
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(Error::io(path, e)),
        };
        report.bytes += n as u64;
        splitter.feed(&buf[..n], |l| on_line(l, &mut report));
    }
    splitter.finish(|l| on_line(l, &mut report));
    report.too_long = splitter.too_long;
    report.sources = per_source.len();
    report.banned_sources = banned.len();
    let mut top: Vec<(IpAddr, u64)> = per_source.into_iter().collect();
    top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    top.truncate(10);
    report.top = top;
    Ok(report)
}

/// Prints a report as text.
pub fn print_text(r: &ScanReport) {
    println!("{}: {} lines, {} bytes", r.file, r.lines, r.bytes);
    println!("failures: {} from {} sources", r.failures, r.sources);
    for (k, n) in &r.by_kind {
        println!("  {k:<22} {n}");
    }
    println!(
        "would ban: {} times, {} distinct sources",
        r.bans, r.banned_sources
    );
    if r.too_long > 0 {
        println!("lines over the length limit (ignored): {}", r.too_long);
    }
    for (a, n) in &r.top {
        println!("  top source {a}: {n}");
    }
}
