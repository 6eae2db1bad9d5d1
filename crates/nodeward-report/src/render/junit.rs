//! The JUnit XML renderer: one `<testsuite>` per area, one `<testcase>` per finding.
//! `fail` becomes `<failure>`, `error` becomes `<error>`, `skip` and `manual`
//! become `<skipped>`; `warn` passes with its evidence in `<system-out>`.

use super::order::ordered_areas;
use crate::score::StatusCounts;
use crate::{Report, Status};
use std::fmt::Write;

/// Escapes text for XML content and attributes, dropping characters XML 1.0 forbids.
pub(crate) fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('?'),
            c => out.push(c),
        }
    }
    out
}

/// Renders `report` as JUnit XML.
pub fn render(report: &Report) -> String {
    let counts = StatusCounts::of(&report.findings);
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        out,
        "<testsuites name=\"nodeward {} {}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">",
        xml_escape(&report.command),
        xml_escape(&report.target),
        counts.total(),
        counts.fail,
        counts.error,
        counts.skip + counts.manual
    );
    for (summary, findings) in ordered_areas(&report.findings) {
        let c = summary.counts;
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\" errors=\"{}\" skipped=\"{}\">",
            xml_escape(&summary.area),
            c.total(),
            c.fail,
            c.error,
            c.skip + c.manual
        );
        for f in findings {
            let _ = write!(
                out,
                "    <testcase classname=\"nodeward.{}.{}\" name=\"{} {}\"",
                xml_escape(&report.command),
                xml_escape(&f.area),
                xml_escape(&f.id),
                xml_escape(&f.title)
            );
            let body = format!(
                "severity: {}\nevidence: {}\nremediation: {}",
                f.severity, f.evidence, f.remediation
            );
            match f.status {
                Status::Pass => out.push_str("/>\n"),
                Status::Warn => {
                    let _ = writeln!(
                        out,
                        ">\n      <system-out>warn: {}</system-out>\n    </testcase>",
                        xml_escape(&body)
                    );
                }
                Status::Fail | Status::Error => {
                    let tag = if f.status == Status::Fail {
                        "failure"
                    } else {
                        "error"
                    };
                    let _ = writeln!(
                        out,
                        ">\n      <{tag} type=\"{}\" message=\"{}\">{}</{tag}>\n    </testcase>",
                        f.severity,
                        xml_escape(&f.evidence),
                        xml_escape(&body)
                    );
                }
                Status::Skip | Status::Manual => {
                    let _ = writeln!(
                        out,
                        ">\n      <skipped message=\"{}: {}\"/>\n    </testcase>",
                        f.status,
                        xml_escape(&f.evidence)
                    );
                }
            }
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Finding, Severity};

    #[test]
    fn statuses_map_to_junit_elements_and_text_is_escaped() {
        let mut r = Report::new("audit", "h<1>");
        for (id, status) in [
            ("A-1", Status::Fail),
            ("A-2", Status::Error),
            ("A-3", Status::Skip),
            ("A-4", Status::Pass),
        ] {
            r.findings.push(Finding {
                id: id.into(),
                title: "x & y".into(),
                area: "a".into(),
                severity: Severity::High,
                status,
                evidence: "\"quoted\" \u{1}".into(),
                remediation: "do <this>".into(),
                references: vec![],
            });
        }
        let xml = render(&r);
        assert!(xml.contains("tests=\"4\" failures=\"1\" errors=\"1\" skipped=\"1\""));
        assert!(xml.contains("<failure type=\"high\""));
        assert!(xml.contains("<error type=\"high\""));
        assert!(xml.contains("<skipped message=\"skip: "));
        assert!(xml.contains("name=\"A-4 x &amp; y\"/>"));
        assert!(xml.contains("h&lt;1&gt;"));
        assert!(xml.contains("do &lt;this&gt;"));
        assert!(!xml.contains('\u{1}'));
    }
}
