//! Rendering of scan reports: text for people, the stable JSON, and one HTML page.
//!
//! (A stop-gap until nodeward-report's shared renderers land; the JSON is
//! nodeward-report's own.)

use nodeward_report::{Report, Status};
use std::fmt::Write;

/// An output format of `nodeward scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Grades per part, then failures first with the fix under each.
    Text,
    /// The stable JSON shape (`schema_version` 1).
    Json,
    /// One self-contained HTML page.
    Html,
}

fn rank(s: Status) -> u8 {
    match s {
        Status::Fail => 0,
        Status::Error => 1,
        Status::Warn => 2,
        Status::Manual => 3,
        Status::Skip => 4,
        Status::Pass => 5,
    }
}

fn part_summary(name: &str, v: &serde_json::Value) -> String {
    let grade = v.get("grade").and_then(|g| g.as_str()).unwrap_or("-");
    let mut s = format!("{name}: grade {grade}");
    if let Some(score) = v.get("score").and_then(|x| x.as_i64()) {
        let _ = write!(s, ", score {score}");
    }
    if let Some(open) = v.get("open").and_then(|x| x.as_array()) {
        let ports: Vec<String> = open.iter().map(|p| p.to_string()).collect();
        let _ = write!(s, ", open [{}]", ports.join(", "));
    }
    if let Some(e) = v.get("error").and_then(|x| x.as_str()) {
        let _ = write!(s, ", error: {e}");
    }
    s
}

/// Renders `report` as text, JSON or HTML.
pub fn render(report: &Report, format: Format) -> String {
    match format {
        Format::Json => format!("{}\n", report.to_json()),
        Format::Text => text(report),
        Format::Html => html(report),
    }
}

fn sorted(report: &Report) -> Vec<&nodeward_report::Finding> {
    let mut f: Vec<_> = report.findings.iter().collect();
    f.sort_by_key(|x| (rank(x.status), std::cmp::Reverse(x.severity)));
    f
}

fn text(report: &Report) -> String {
    let mut out = format!("nodeward scan {}\n", report.target);
    for (name, v) in &report.parts {
        let _ = writeln!(out, "  {}", part_summary(name, v));
        if let Some(a) = v.get("arithmetic").and_then(|a| a.as_str()) {
            let _ = writeln!(out, "    {}", a.replace("; ", "\n    "));
        }
    }
    out.push('\n');
    for f in sorted(report) {
        let _ = writeln!(
            out,
            "{:<5} {:<8} {:<9} {}",
            f.status.as_str().to_uppercase(),
            f.severity.as_str(),
            f.id,
            f.title
        );
        if !f.evidence.is_empty() {
            let _ = writeln!(out, "      seen: {}", f.evidence);
        }
        if !f.remediation.is_empty() {
            let _ = writeln!(out, "      fix:  {}", f.remediation);
        }
    }
    out
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

fn html(report: &Report) -> String {
    let mut out = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>nodeward scan {}</title>\
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:4px 8px;text-align:left;vertical-align:top}}\
.fail{{color:#b00}}.pass{{color:#070}}.warn{{color:#a60}}</style></head><body><h1>nodeward scan {}</h1><ul>",
        esc(&report.target),
        esc(&report.target)
    );
    for (name, v) in &report.parts {
        let _ = write!(out, "<li>{}</li>", esc(&part_summary(name, v)));
    }
    out.push_str("</ul><table><tr><th>status</th><th>severity</th><th>id</th><th>check</th><th>evidence</th><th>fix</th></tr>");
    for f in sorted(report) {
        let _ = write!(
            out,
            "<tr class=\"{}\"><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            f.status.as_str(),
            f.status.as_str(),
            f.severity.as_str(),
            esc(&f.id),
            esc(&f.title),
            esc(&f.evidence),
            esc(&f.remediation)
        );
    }
    out.push_str("</table></body></html>\n");
    out
}
