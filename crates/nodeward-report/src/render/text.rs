//! The text renderer: grouped by area, failures first, remediation under each.

use super::order::ordered_areas;
use crate::score::StatusCounts;
use crate::{Finding, Report, Severity, Status};
use std::fmt::Write;

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";

fn status_colour(status: Status) -> &'static str {
    match status {
        Status::Pass => "\x1b[32m",
        Status::Fail => "\x1b[31;1m",
        Status::Warn => "\x1b[33m",
        Status::Error => "\x1b[35m",
        Status::Manual => "\x1b[36m",
        Status::Skip => "\x1b[90m",
    }
}

fn grade_colour(grade: &str) -> &'static str {
    match grade.chars().next() {
        Some('A') => "\x1b[32;1m",
        Some('B') | Some('C') => "\x1b[33;1m",
        _ => "\x1b[31;1m",
    }
}

struct Painter {
    on: bool,
}

impl Painter {
    fn paint(&self, code: &str, text: &str) -> String {
        if self.on {
            format!("{code}{text}{RESET}")
        } else {
            text.to_string()
        }
    }
}

/// Renders `report` as text; `color` adds ANSI colours.
pub fn render(report: &Report, color: bool) -> String {
    let p = Painter { on: color };
    let mut out = String::new();
    let _ = write!(
        out,
        "{} {} — {}",
        p.paint(BOLD, "nodeward"),
        report.command,
        report.target
    );
    match (&report.score, &report.grade) {
        (Some(score), Some(grade)) => {
            let _ = write!(
                out,
                "\nscore {}/100  grade {}",
                p.paint(BOLD, &score.to_string()),
                p.paint(grade_colour(grade), grade)
            );
        }
        (Some(score), None) => {
            let _ = write!(out, "\nscore {}", p.paint(BOLD, &score.to_string()));
        }
        (None, Some(grade)) => {
            let _ = write!(out, "\ngrade {}", p.paint(grade_colour(grade), grade));
        }
        (None, None) => {}
    }
    out.push('\n');

    if !report.parts.is_empty() {
        out.push('\n');
        for (name, value) in &report.parts {
            let _ = writeln!(
                out,
                "{} {}",
                p.paint(BOLD, &format!("{name}:")),
                summarise(value)
            );
        }
    }

    for (summary, findings) in ordered_areas(&report.findings) {
        out.push('\n');
        let score = summary
            .score
            .map(|s| format!(" score {s}"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "{}{}  {}",
            p.paint(BOLD, &format!("== {} ==", summary.area)),
            score,
            p.paint(DIM, &counts_line(&summary.counts))
        );
        for f in findings {
            write_finding(&mut out, &p, f);
        }
    }

    let counts = StatusCounts::of(&report.findings);
    let _ = writeln!(
        out,
        "\n{} findings: {}",
        counts.total(),
        counts_line(&counts)
    );
    out
}

fn write_finding(out: &mut String, p: &Painter, f: &Finding) {
    let status = format!("{:<6}", f.status.as_str().to_uppercase());
    let _ = writeln!(
        out,
        "  {} {:<8} {:<9} {}",
        p.paint(status_colour(f.status), &status),
        severity_label(f.severity),
        f.id,
        one_line(&f.title)
    );
    if !f.evidence.is_empty() {
        write_block(out, p, "seen", &f.evidence);
    }
    if !matches!(f.status, Status::Pass | Status::Skip) && !f.remediation.is_empty() {
        write_block(out, p, "fix", &f.remediation);
    }
}

fn write_block(out: &mut String, p: &Painter, label: &str, text: &str) {
    let label = p.paint(DIM, &format!("{label}:"));
    for (i, line) in sanitise(text).lines().enumerate() {
        if i == 0 {
            let _ = writeln!(out, "{:<26}{label} {line}", "");
        } else {
            let _ = writeln!(out, "{:<26}     {line}", "");
        }
    }
}

fn severity_label(s: Severity) -> &'static str {
    s.as_str()
}

fn counts_line(c: &StatusCounts) -> String {
    let mut parts = Vec::new();
    for (n, name) in [
        (c.fail, "fail"),
        (c.error, "error"),
        (c.warn, "warn"),
        (c.manual, "manual"),
        (c.skip, "skip"),
        (c.pass, "pass"),
    ] {
        if n > 0 {
            parts.push(format!("{n} {name}"));
        }
    }
    parts.join(", ")
}

/// Removes terminal control characters from text that came from the inspected
/// system, so evidence cannot drive the operator's terminal.
fn sanitise(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() && c != '\n' && c != '\t' {
                '?'
            } else {
                c
            }
        })
        .collect()
}

fn one_line(text: &str) -> String {
    sanitise(text).replace(['\n', '\t'], " ")
}

/// A one-line summary of a part value: scalars as they are, objects as `k=v` pairs.
fn summarise(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::String(s) => one_line(s),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{k}={}", summarise_inner(v)))
            .collect::<Vec<_>>()
            .join("  "),
        other => summarise_inner(other),
    }
}

fn summarise_inner(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::String(s) => one_line(s),
        Value::Array(items) => items
            .iter()
            .map(summarise_inner)
            .collect::<Vec<_>>()
            .join(","),
        other => one_line(&other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(id: &str, area: &str, severity: Severity, status: Status) -> Finding {
        Finding {
            id: id.into(),
            title: format!("title {id}"),
            area: area.into(),
            severity,
            status,
            evidence: format!("evidence {id}"),
            remediation: format!("fix {id}"),
            references: vec![],
        }
    }

    #[test]
    fn groups_by_area_with_failures_first_and_fixes_under_failures() {
        let mut r = Report::new("audit", "host1");
        r.score = Some(50);
        r.grade = Some("F".into());
        r.findings = vec![
            f("K-1", "kernel", Severity::Low, Status::Pass),
            f("S-1", "ssh", Severity::Medium, Status::Pass),
            f("S-2", "ssh", Severity::High, Status::Fail),
            f("K-2", "kernel", Severity::Low, Status::Fail),
        ];
        let text = render(&r, false);
        assert!(!text.contains('\x1b'));
        let ssh = text.find("== ssh ==").unwrap();
        let kernel = text.find("== kernel ==").unwrap();
        assert!(
            ssh < kernel,
            "area with the high failure comes first:\n{text}"
        );
        assert!(text.find("S-2").unwrap() < text.find("S-1").unwrap());
        assert!(text.contains("fix: fix S-2"));
        assert!(!text.contains("fix: fix S-1"), "no fix under a pass");
        assert!(text.contains("score 50/100  grade F"));
    }

    #[test]
    fn colour_only_when_asked_and_control_chars_removed() {
        let mut r = Report::new("audit", "h");
        let mut bad = f("S-1", "ssh", Severity::High, Status::Fail);
        bad.evidence = "evil \x1b[2J here".into();
        r.findings.push(bad);
        let plain = render(&r, false);
        assert!(!plain.contains('\x1b'));
        assert!(plain.contains("evil ?[2J here"));
        assert!(render(&r, true).contains("\x1b[31;1m"));
    }

    #[test]
    fn parts_are_summarised() {
        let mut r = Report::new("scan", "https://x");
        r.parts
            .insert("tls".into(), serde_json::json!({"grade": "A"}));
        r.parts
            .insert("ports".into(), serde_json::json!({"open": [80, 443]}));
        let text = render(&r, false);
        assert!(text.contains("tls: grade=A"), "{text}");
        assert!(text.contains("ports: open=80,443"), "{text}");
    }
}
