//! The HTML renderer: one self-contained page (inline CSS, inline SVG, a few lines
//! of inline script for the status filter; nothing loaded from anywhere) with a
//! score gauge, per-area bars, the `parts` of the report, and every finding with
//! its evidence and remediation.

use super::junit::xml_escape as esc;
use super::order::ordered_areas;
use crate::score::{AreaSummary, StatusCounts};
use crate::{Finding, Report, Status};
use std::fmt::Write;

const STYLE: &str = r#"
:root{--bg:#f5f7fa;--card:#fff;--ink:#1c2330;--mute:#667085;--line:#e4e7ec;
--pass:#12b76a;--fail:#f04438;--warn:#f79009;--error:#9e77ed;--manual:#2e90fa;--skip:#98a2b3}
@media (prefers-color-scheme:dark){:root{--bg:#0f141c;--card:#171e29;--ink:#e6e9ef;--mute:#98a2b3;--line:#273244}}
*{box-sizing:border-box}
body{margin:0;background:var(--bg);color:var(--ink);font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
main{max-width:1040px;margin:0 auto;padding:28px 20px 60px}
header{display:flex;gap:28px;align-items:center;flex-wrap:wrap;background:var(--card);border:1px solid var(--line);border-radius:16px;padding:24px 28px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:0}
.sub{color:var(--mute);font-size:13px;word-break:break-all}
.gauge text{font-weight:700;fill:var(--ink)}
.counts{display:flex;gap:8px;flex-wrap:wrap;margin-top:12px}
.pill{display:inline-block;border-radius:999px;padding:1px 10px;font-size:12px;font-weight:600;color:#fff;white-space:nowrap}
.s-pass{background:var(--pass)}.s-fail{background:var(--fail)}.s-warn{background:var(--warn)}
.s-error{background:var(--error)}.s-manual{background:var(--manual)}.s-skip{background:var(--skip)}
.sev{border:1px solid var(--line);color:var(--ink);background:transparent;font-weight:500}
.sev-critical{border-color:var(--fail);color:var(--fail)}.sev-high{border-color:#f97066;color:#f97066}
.sev-medium{border-color:var(--warn);color:var(--warn)}
section.card{background:var(--card);border:1px solid var(--line);border-radius:16px;padding:20px 24px;margin-top:18px}
.areas{display:grid;grid-template-columns:max-content 1fr max-content;gap:8px 14px;align-items:center;margin-top:12px}
.areas a{color:var(--ink);text-decoration:none;font-weight:600}
.bar{display:flex;height:12px;border-radius:6px;overflow:hidden;background:var(--line)}
.bar span{display:block;height:100%}
.ascore{font-variant-numeric:tabular-nums;color:var(--mute);font-size:13px;min-width:64px;text-align:right}
.parts{display:grid;grid-template-columns:repeat(auto-fill,minmax(200px,1fr));gap:12px;margin-top:12px}
.part{border:1px solid var(--line);border-radius:12px;padding:10px 14px}
.part b{display:block;text-transform:uppercase;font-size:12px;color:var(--mute);letter-spacing:.04em}
.part div{font-size:14px;word-break:break-word}
.filters{display:flex;gap:8px;flex-wrap:wrap;margin-top:12px}
.filters label{cursor:pointer;font-size:13px;user-select:none}
details{border-top:1px solid var(--line);padding:8px 0}
details:first-of-type{border-top:0}
summary{cursor:pointer;display:flex;gap:10px;align-items:center;flex-wrap:wrap;list-style:none}
summary::-webkit-details-marker{display:none}
summary code{font-weight:600}
.body{margin:8px 0 4px 4px;padding-left:14px;border-left:3px solid var(--line)}
.body h4{margin:8px 0 2px;font-size:12px;text-transform:uppercase;color:var(--mute);letter-spacing:.04em}
pre{white-space:pre-wrap;word-break:break-word;margin:0;font:13px/1.45 ui-monospace,SFMono-Regular,Menlo,monospace}
.area-head{display:flex;justify-content:space-between;align-items:baseline;margin-bottom:6px}
footer{color:var(--mute);font-size:12px;margin-top:24px;text-align:center}
.page-title{font-size:24px;margin:0 0 8px}.note{border-left:4px solid var(--warn);padding:6px 12px;background:var(--card)}
.toc{display:flex;gap:14px;flex-wrap:wrap;margin:10px 0}.toc a{color:var(--ink);font-weight:600}
.report{margin-top:28px}
"#;

const SCRIPT: &str = r#"
document.querySelectorAll('.filters input').forEach(function(box){
  box.addEventListener('change',function(){
    document.querySelectorAll('details.f-'+box.value).forEach(function(d){d.hidden=!box.checked;});
  });
});
"#;

const STATUSES: [Status; 6] = [
    Status::Fail,
    Status::Error,
    Status::Warn,
    Status::Manual,
    Status::Skip,
    Status::Pass,
];

fn count(c: &StatusCounts, s: Status) -> usize {
    match s {
        Status::Pass => c.pass,
        Status::Fail => c.fail,
        Status::Warn => c.warn,
        Status::Manual => c.manual,
        Status::Skip => c.skip,
        Status::Error => c.error,
    }
}

fn score_colour(score: i64) -> &'static str {
    if score >= 90 {
        "var(--pass)"
    } else if score >= 70 {
        "var(--warn)"
    } else {
        "var(--fail)"
    }
}

/// An SVG ring gauge for a 0-100 score (values over 100 draw a full ring).
fn gauge(score: Option<i64>, grade: Option<&str>) -> String {
    const R: f64 = 54.0;
    let circumference = 2.0 * std::f64::consts::PI * R;
    let (dash, colour, label) = match score {
        Some(s) => (
            circumference * (s.clamp(0, 100) as f64) / 100.0,
            score_colour(s),
            s.to_string(),
        ),
        None => (0.0, "var(--skip)", "–".to_string()),
    };
    let grade = grade.map(esc).unwrap_or_default();
    format!(
        r#"<svg class="gauge" width="150" height="150" viewBox="0 0 140 140" role="img" aria-label="score {label}">
<circle cx="70" cy="70" r="{R}" fill="none" stroke="var(--line)" stroke-width="14"/>
<circle cx="70" cy="70" r="{R}" fill="none" stroke="{colour}" stroke-width="14" stroke-linecap="round"
 stroke-dasharray="{dash:.1} {circumference:.1}" transform="rotate(-90 70 70)"/>
<text x="70" y="70" text-anchor="middle" font-size="34">{label}</text>
<text x="70" y="96" text-anchor="middle" font-size="18" fill="{colour}" style="fill:{colour}">{grade}</text>
</svg>"#
    )
}

fn pill(status: Status) -> String {
    format!("<span class=\"pill s-{0}\">{0}</span>", status.as_str())
}

fn area_anchor(prefix: &str, area: &str) -> String {
    let slug: String = area
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    format!("{prefix}area-{slug}")
}

fn area_bar(summary: &AreaSummary) -> String {
    let total = summary.counts.total().max(1) as f64;
    let mut bar = String::from("<div class=\"bar\">");
    for s in STATUSES {
        let n = count(&summary.counts, s);
        if n > 0 {
            let _ = write!(
                bar,
                "<span class=\"s-{0}\" style=\"width:{1:.2}%\" title=\"{2} {0}\"></span>",
                s.as_str(),
                100.0 * n as f64 / total,
                n
            );
        }
    }
    bar.push_str("</div>");
    bar
}

fn part_value(value: &serde_json::Value) -> String {
    use serde_json::Value;
    match value {
        Value::String(s) => esc(s),
        Value::Array(items) => items.iter().map(part_value).collect::<Vec<_>>().join(", "),
        Value::Object(map) => map
            .iter()
            .map(|(k, v)| format!("{}: <strong>{}</strong>", esc(k), part_value(v)))
            .collect::<Vec<_>>()
            .join("<br>"),
        other => esc(&other.to_string()),
    }
}

fn reference(r: &str) -> String {
    if r.starts_with("https://") || r.starts_with("http://") {
        format!("<a href=\"{0}\" rel=\"noreferrer\">{0}</a>", esc(r))
    } else {
        esc(r)
    }
}

fn finding(out: &mut String, f: &Finding) {
    let open = if f.status == Status::Fail {
        " open"
    } else {
        ""
    };
    let _ = write!(
        out,
        "<details class=\"f-{status}\"{open}><summary>{pill}<span class=\"pill sev sev-{sev}\">{sev}</span><code>{id}</code><span>{title}</span></summary><div class=\"body\">",
        status = f.status.as_str(),
        pill = pill(f.status),
        sev = f.severity.as_str(),
        id = esc(&f.id),
        title = esc(&f.title),
    );
    if !f.evidence.is_empty() {
        let _ = write!(out, "<h4>Seen</h4><pre>{}</pre>", esc(&f.evidence));
    }
    if !f.remediation.is_empty() && f.status != Status::Pass {
        let _ = write!(out, "<h4>Fix</h4><pre>{}</pre>", esc(&f.remediation));
    }
    if !f.references.is_empty() {
        let refs: Vec<String> = f.references.iter().map(|r| reference(r)).collect();
        let _ = write!(out, "<h4>References</h4><div>{}</div>", refs.join("<br>"));
    }
    out.push_str("</div></details>\n");
}

/// Renders `report` as one self-contained HTML page.
pub fn render(report: &Report) -> String {
    let title = format!("nodeward {} — {}", report.command, report.target);
    let mut out = String::new();
    head(&mut out, &title);
    section(&mut out, report, "");
    tail(&mut out, report);
    out
}

/// Renders several reports (audit, scan, fim, ...) into one self-contained
/// page, each under its own heading, with `notes` (inputs that were missing
/// or unreadable) on top.
pub fn render_many(title: &str, reports: &[(String, Report)], notes: &[String]) -> String {
    let mut out = String::new();
    head(&mut out, title);
    let _ = write!(out, "<h1 class=\"page-title\">{}</h1>", esc(title));
    for n in notes {
        let _ = write!(out, "<p class=\"note\">{}</p>", esc(n));
    }
    if !reports.is_empty() {
        out.push_str("<nav class=\"toc\">");
        for (i, (label, r)) in reports.iter().enumerate() {
            let _ = write!(
                out,
                "<a href=\"#r{i}\">{} <span class=\"sub\">{}</span></a>",
                esc(label),
                r.score.map(|s| format!("{s}/100")).unwrap_or_default()
            );
        }
        out.push_str("</nav>");
    }
    for (i, (label, r)) in reports.iter().enumerate() {
        let _ = write!(
            out,
            "<div class=\"report\" id=\"r{i}\" data-command=\"{}\">",
            esc(label)
        );
        section(&mut out, r, &format!("r{i}-"));
        out.push_str("</div>\n");
    }
    let total: usize = reports.iter().map(|(_, r)| r.findings.len()).sum();
    let _ = writeln!(
        out,
        "<footer>{} reports · {total} findings</footer></main><script>{SCRIPT}</script></body></html>",
        reports.len()
    );
    out
}

fn head(out: &mut String, title: &str) {
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\
<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">\
<title>{}</title><style>{STYLE}</style></head><body><main>\n",
        esc(title)
    );
}

fn tail(out: &mut String, report: &Report) {
    let counts = StatusCounts::of(&report.findings);
    let _ = writeln!(
        out,
        "<footer>{} findings · schema version {}</footer></main><script>{SCRIPT}</script></body></html>",
        counts.total(),
        report.schema_version
    );
}

/// One report's header, parts, area summary and findings; anchors start with `prefix`.
fn section(out: &mut String, report: &Report, prefix: &str) {
    let counts = StatusCounts::of(&report.findings);
    // Header: gauge, title, counts.
    let _ = write!(
        out,
        "<header>{}<div><h1>nodeward {}</h1><div class=\"sub\">{}</div><div class=\"counts\">",
        gauge(report.score, report.grade.as_deref()),
        esc(&report.command),
        esc(&report.target)
    );
    for s in STATUSES {
        let n = count(&counts, s);
        if n > 0 {
            let _ = write!(
                out,
                "<span class=\"pill s-{}\">{n} {}</span>",
                s.as_str(),
                s.as_str()
            );
        }
    }
    out.push_str("</div></div></header>\n");

    if !report.parts.is_empty() {
        out.push_str("<section class=\"card\"><h2>Parts</h2><div class=\"parts\">");
        for (name, value) in &report.parts {
            let _ = write!(
                out,
                "<div class=\"part\"><b>{}</b><div>{}</div></div>",
                esc(name),
                part_value(value)
            );
        }
        out.push_str("</div></section>\n");
    }

    let areas = ordered_areas(&report.findings);
    if !areas.is_empty() {
        out.push_str("<section class=\"card\"><h2>Areas</h2><div class=\"areas\">");
        for (summary, _) in &areas {
            let score = summary
                .score
                .map(|s| format!("{s}/100"))
                .unwrap_or_else(|| "not scored".into());
            let _ = write!(
                out,
                "<a href=\"#{}\">{}</a>{}<span class=\"ascore\">{}</span>",
                area_anchor(prefix, &summary.area),
                esc(&summary.area),
                area_bar(summary),
                score
            );
        }
        out.push_str("</div><div class=\"filters\">");
        for s in STATUSES {
            if count(&counts, s) > 0 {
                let _ = write!(
                    out,
                    "<label><input type=\"checkbox\" value=\"{0}\" checked> {1}</label>",
                    s.as_str(),
                    pill(s)
                );
            }
        }
        out.push_str("</div></section>\n");
    }

    for (summary, findings) in &areas {
        let score = summary
            .score
            .map(|s| format!("score {s}/100"))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "<section class=\"card\" id=\"{}\"><div class=\"area-head\"><h2>{}</h2><span class=\"ascore\">{}</span></div>",
            area_anchor(prefix, &summary.area),
            esc(&summary.area),
            score
        );
        for f in findings {
            finding(out, f);
        }
        out.push_str("</section>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Severity;

    #[test]
    fn page_is_self_contained_escaped_and_shows_everything() {
        let mut r = Report::new("audit", "<host>");
        r.score = Some(72);
        r.grade = Some("C".into());
        r.parts
            .insert("tls".into(), serde_json::json!({"grade": "A<b>"}));
        r.findings.push(Finding {
            id: "SSH-001".into(),
            title: "PasswordAuthentication <off>".into(),
            area: "ssh".into(),
            severity: Severity::High,
            status: Status::Fail,
            evidence: "/etc/ssh/sshd_config:3: PasswordAuthentication yes".into(),
            remediation: "set it to no".into(),
            references: vec!["https://example.org/x".into(), "CIS 5.2".into()],
        });
        let html = render(&r);
        assert!(html.starts_with("<!DOCTYPE html>"));
        assert!(!html.contains("<host>"));
        assert!(html.contains("&lt;host&gt;"));
        assert!(html.contains("A&lt;b&gt;"));
        assert!(html.contains("stroke-dasharray"));
        assert!(html.contains(">72<"));
        assert!(html.contains("id=\"area-ssh\""));
        assert!(html.contains("set it to no"));
        assert!(!html.contains("src=\"http"), "nothing loaded from outside");
        assert!(!html.contains("<link"), "no external stylesheet");
    }
}
