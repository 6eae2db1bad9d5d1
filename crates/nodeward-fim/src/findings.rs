//! Turns a comparison into the shared report: one finding per change (FIM-001
//! added, FIM-002 removed, FIM-003 changed, FIM-004 could not be verified,
//! FIM-005 a package file that does not match its package's checksum although
//! unchanged since the baseline), and a passing finding for each kind when
//! nothing of it was found.

use crate::diff::{describe, Change};
use crate::entry::{display_path, Entry};
use crate::scan::Scan;
use crate::severity::classify;
use crate::vouch::Vouch;
use nodeward_report::{Finding, Report, Severity, Status};

struct Kind {
    id: &'static str,
    title: &'static str,
    remediation: &'static str,
}

const ADDED: Kind = Kind {
    id: "FIM-001",
    title: "No entry added since the baseline",
    remediation: "If you made or expected this change (a package install, your own edit), accept it with `nodeward fim update`; otherwise find out who created it before anything else.",
};
const REMOVED: Kind = Kind {
    id: "FIM-002",
    title: "No entry removed since the baseline",
    remediation: "If the removal was intended, accept it with `nodeward fim update`; otherwise restore the file from a trusted source and find out who removed it.",
};
const CHANGED: Kind = Kind {
    id: "FIM-003",
    title: "No entry changed since the baseline",
    remediation: "Compare the file with its package or your configuration management; accept an expected change with `nodeward fim update`, otherwise treat the host as compromised until explained.",
};
const UNVERIFIED: Kind = Kind {
    id: "FIM-004",
    title: "Every entry could be verified",
    remediation: "Run the check as root; a file that changes while it is read (a log, a database) belongs in [fim] exclude.",
};

const PACKAGE: Kind = Kind {
    id: "FIM-005",
    title: "Package files match their package's checksums",
    remediation: "Reinstall the package from a trusted mirror (`apt-get install --reinstall PACKAGE`) after finding out who changed the file; `dpkg --verify PACKAGE` shows the same mismatch.",
};

/// What the package database adds to a report.
pub struct PackageContext<'a> {
    /// Judges changes.
    pub vouch: &'a Vouch<'a>,
    /// Package files that match no owner's checksum (sorted).
    pub mismatches: &'a [Vec<u8>],
    /// Package files indexed, and packages.
    pub files: usize,
    /// Installed packages read.
    pub packages: usize,
}

fn finding(kind: &Kind, severity: Severity, status: Status, evidence: String) -> Finding {
    Finding {
        id: kind.id.into(),
        title: kind.title.into(),
        area: "fim".into(),
        severity,
        status,
        evidence,
        remediation: kind.remediation.into(),
        references: vec!["Cardano stake-pool guide: host intrusion detection (AIDE)".into()],
    }
}

fn entry_summary(e: &Entry) -> String {
    let mut s = format!(
        "{} {:04o} {}:{} {} bytes",
        e.kind.as_str(),
        e.mode,
        e.uid,
        e.gid,
        e.size
    );
    if let Some(t) = &e.link_target {
        s.push_str(&format!(" -> {}", display_path(t)));
    }
    if let Some(c) = &e.capabilities {
        s.push_str(&format!(" caps {c}"));
    }
    s
}

/// The report of a check: `changes` between the baseline and `scan`.
pub fn report(
    target: &str,
    changes: &[Change],
    scan: &Scan,
    packages: Option<&PackageContext<'_>>,
) -> Report {
    let mut report = Report::new("fim", target);
    let mut counts = [0usize; 4];
    for change in changes {
        let (severity, why) = match packages {
            Some(p) => p.vouch.judge(change),
            None => classify(change),
        };
        let path = display_path(change.path());
        let (kind, idx, evidence) = match change {
            Change::Added(e) => (&ADDED, 0, format!("{path}: {why}: {}", entry_summary(e))),
            Change::Removed(e) => (
                &REMOVED,
                1,
                format!("{path}: {why}: was {}", entry_summary(e)),
            ),
            Change::Changed { attrs, .. } => (
                &CHANGED,
                2,
                format!(
                    "{path}: {why}: {}",
                    attrs.iter().map(describe).collect::<Vec<_>>().join("; ")
                ),
            ),
            Change::Unverified { entry } => (
                &UNVERIFIED,
                3,
                format!("{path}: {}", crate::diff::content_text(&entry.content)),
            ),
        };
        counts[idx] += 1;
        report
            .findings
            .push(finding(kind, severity, Status::Fail, evidence));
    }
    for (path, reason) in &scan.problems {
        counts[3] += 1;
        report.findings.push(finding(
            &UNVERIFIED,
            Severity::Medium,
            Status::Error,
            format!("{}: {reason}", path.display()),
        ));
    }
    for path in &scan.vanished {
        counts[3] += 1;
        report.findings.push(finding(
            &UNVERIFIED,
            Severity::Low,
            Status::Warn,
            format!("{}: vanished while the check ran", path.display()),
        ));
    }
    let entries = scan.entries.len();
    let mut standing = 0usize;
    if let Some(p) = packages {
        let changed: std::collections::HashSet<&[u8]> = changes.iter().map(|c| c.path()).collect();
        for path in p.mismatches {
            if changed.contains(path.as_slice()) {
                continue;
            }
            standing += 1;
            report.findings.push(finding(
                &PACKAGE,
                Severity::High,
                Status::Fail,
                p.vouch.standing(path),
            ));
        }
        if standing == 0 {
            report.findings.push(finding(
                &PACKAGE,
                Severity::Info,
                Status::Pass,
                format!(
                    "none among {} package files of {} packages",
                    p.files, p.packages
                ),
            ));
        }
    }
    for (kind, n) in [
        (&ADDED, counts[0]),
        (&REMOVED, counts[1]),
        (&CHANGED, counts[2]),
        (&UNVERIFIED, counts[3]),
    ] {
        if n == 0 {
            report.findings.push(finding(
                kind,
                Severity::Info,
                Status::Pass,
                format!("none among {entries} entries"),
            ));
        }
    }
    report.findings.sort_by(|a, b| a.id.cmp(&b.id));
    report.parts.insert(
        "fim".into(),
        serde_json::json!({
            "entries": entries,
            "hashed": scan.hashed,
            "added": counts[0],
            "removed": counts[1],
            "changed": counts[2],
            "unverified": counts[3],
            "package_mismatches": standing,
            "package_files": packages.map(|p| p.files),
            "package_verified": scan.package_verified,
        }),
    );
    report
}
