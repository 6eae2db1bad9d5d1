//! The status page's content: backends, traffic chart, refusals, bans,
//! certificates and the last audit, from the live state.

use super::audit::{self, LastAudit};
use super::html::esc;
use crate::refusal::Reason;
use crate::state::Shared;
use crate::timefmt::rfc3339;
use serde_json::Value;
use std::fmt::Write;
use std::time::SystemTime;

/// Renders the page body; `csrf` goes into every form, `notice` on top.
pub fn render(shared: &Shared, csrf: &str, notice: Option<&str>) -> String {
    let mut out = String::with_capacity(32 * 1024);
    let _ = write!(
        out,
        "<header><div><h1>nodeward gateway</h1><div class=\"mute\">version {} · up {} · config {}</div></div>\
<form method=\"post\" action=\"/ui/logout\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
<button id=\"logout\" type=\"submit\">Log out</button></form></header>",
        env!("CARGO_PKG_VERSION"),
        humantime::format_duration(std::time::Duration::from_secs(shared.started.elapsed().as_secs())),
        esc(&shared.config_path.display().to_string()),
        esc(csrf)
    );
    if let Some(n) = notice {
        let _ = write!(out, "<p id=\"notice\" class=\"notice\">{}</p>", esc(n));
    }
    backends(shared, &mut out);
    let _ = write!(
        out,
        "<section id=\"traffic\"><h2>Requests per minute, last hour</h2>{}</section>",
        super::chart::render(shared.metrics.last_hour(crate::minutes::current()))
    );
    refusals(shared, &mut out);
    bans(shared, csrf, &mut out);
    certificates(shared, &mut out);
    last_audit(shared, &mut out);
    out
}

fn backends(shared: &Shared, out: &mut String) {
    out.push_str("<section id=\"backends\"><h2>Backends</h2><table><thead><tr><th>pool</th><th>backend</th><th>address</th><th>health</th><th>latency</th><th>requests</th><th>failures</th><th>last check</th></tr></thead><tbody>");
    let mut any = false;
    for pool in shared.registry.pools().iter() {
        let status = crate::admin::pools::pool_status(pool);
        let name = status["name"].as_str().unwrap_or("");
        for b in status["backends"].as_array().into_iter().flatten() {
            any = true;
            let s = |k: &str| b[k].as_str().unwrap_or("").to_string();
            let serving = b["serving"].as_bool().unwrap_or(false);
            let latency = b["latency_ewma_ms"]
                .as_f64()
                .filter(|v| *v > 0.0)
                .map_or("—".to_string(), |v| format!("{v:.1} ms"));
            let check = match &b["last_check"] {
                Value::Object(c) => format!(
                    "{} ({} ms)",
                    c.get("level").and_then(Value::as_str).unwrap_or(""),
                    c.get("elapsed_ms").and_then(Value::as_u64).unwrap_or(0)
                ),
                _ => "—".into(),
            };
            let _ = write!(
                out,
                "<tr class=\"backend\" data-pool=\"{}\" data-backend=\"{}\" data-state=\"{}\" data-serving=\"{serving}\"><td>{}</td><td>{}</td><td>{}</td><td class=\"{}\">{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(name),
                esc(&s("id")),
                esc(&s("state")),
                esc(name),
                esc(&s("id")),
                esc(&s("address")),
                if serving { "ok" } else { "bad" },
                esc(&s("state")),
                latency,
                b["requests"].as_u64().unwrap_or(0),
                b["failures"].as_u64().unwrap_or(0),
                esc(&check),
            );
        }
    }
    if !any {
        out.push_str("<tr><td colspan=\"8\" class=\"mute\">No backends configured.</td></tr>");
    }
    out.push_str("</tbody></table></section>");
}

fn refusals(shared: &Shared, out: &mut String) {
    out.push_str("<section id=\"refusals\"><h2>Refusals by reason (since start)</h2><table><thead><tr><th>reason</th><th>count</th></tr></thead><tbody>");
    let mut any = false;
    for r in Reason::ALL {
        let n = shared.metrics.rejections(r);
        if n > 0 {
            any = true;
            let _ = write!(
                out,
                "<tr class=\"refusal\" data-reason=\"{0}\" data-count=\"{n}\"><td>{0}</td><td>{n}</td></tr>",
                r.code()
            );
        }
    }
    if !any {
        out.push_str("<tr><td colspan=\"2\" class=\"mute\">No refusals since start.</td></tr>");
    }
    out.push_str("</tbody></table></section>");
}

fn bans(shared: &Shared, csrf: &str, out: &mut String) {
    let now = SystemTime::now();
    out.push_str("<section id=\"bans\"><h2>Active bans</h2><table><thead><tr><th>source</th><th>until</th><th>left</th><th>offences</th><th>by</th><th></th></tr></thead><tbody>");
    let list = shared.bans.list();
    for (ip, b) in &list {
        let left = b.until.duration_since(now).map_or(0, |d| d.as_secs());
        let _ = write!(
            out,
            "<tr class=\"ban\" data-source=\"{ip}\"><td>{ip}</td><td><time datetime=\"{until}\">{until}</time></td><td>{}</td><td>{}</td><td>{}</td>\
<td><form method=\"post\" action=\"/ui/bans/lift\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
<input type=\"hidden\" name=\"source\" value=\"{ip}\"><button class=\"lift\" type=\"submit\">Lift</button></form></td></tr>",
            humantime::format_duration(std::time::Duration::from_secs(left)),
            b.offences,
            if b.manual { "admin" } else { "autoban" },
            esc(csrf),
            until = rfc3339(b.until),
        );
    }
    if list.is_empty() {
        out.push_str("<tr><td colspan=\"6\" class=\"mute\">No source is banned.</td></tr>");
    }
    out.push_str("</tbody></table></section>");
}

fn certificates(shared: &Shared, out: &mut String) {
    out.push_str("<section id=\"certificates\"><h2>Certificates</h2><table><thead><tr><th>listener</th><th>subject</th><th>expires</th><th>days left</th></tr></thead><tbody>");
    let mut any = false;
    // The files are read again at each load, so renewed certificates show.
    for l in &shared.listeners {
        let Some(tls) = &l.tls else { continue };
        any = true;
        match super::certs::read(&tls.cert) {
            Ok(c) => {
                let until = SystemTime::UNIX_EPOCH
                    + std::time::Duration::from_secs(c.not_after.max(0) as u64);
                let class = if c.days_left < 7 {
                    "bad"
                } else if c.days_left < 21 {
                    "warn"
                } else {
                    "ok"
                };
                let _ = write!(
                    out,
                    "<tr class=\"cert\" data-listener=\"{bind}\" data-days-left=\"{d}\"><td>{bind}</td><td>{}</td><td><time datetime=\"{until}\">{until}</time></td><td class=\"{class}\">{d}</td></tr>",
                    esc(&c.subject),
                    bind = l.bind,
                    d = c.days_left,
                    until = rfc3339(until),
                );
            }
            Err(e) => {
                let _ = write!(
                    out,
                    "<tr class=\"cert\" data-listener=\"{bind}\" data-error=\"1\"><td>{bind}</td><td colspan=\"3\" class=\"bad\">{}</td></tr>",
                    esc(&e),
                    bind = l.bind
                );
            }
        }
    }
    if !any {
        out.push_str("<tr><td colspan=\"4\" class=\"mute\">No listener terminates TLS.</td></tr>");
    }
    out.push_str("</tbody></table></section>");
}

fn last_audit(shared: &Shared, out: &mut String) {
    let state_dir = shared.runtime.load().global.state_dir.clone();
    out.push_str("<section id=\"audit\"><h2>Last audit</h2>");
    match audit::load(&state_dir) {
        LastAudit::Missing(path) => {
            let _ = write!(
                out,
                "<p id=\"audit-missing\" class=\"mute\">No audit saved yet ({} does not exist). Run <code>nodeward audit --save</code>.</p>",
                esc(&path.display().to_string())
            );
        }
        LastAudit::Unreadable(path, why) => {
            let _ = write!(
                out,
                "<p id=\"audit-error\" class=\"bad\">The saved audit {} cannot be read: {}. Run <code>nodeward audit --save</code> again.</p>",
                esc(&path.display().to_string()),
                esc(&why)
            );
        }
        LastAudit::Found(report, saved) => {
            let score = report
                .score
                .map_or("not scored".to_string(), |s| format!("{s}/100"));
            let _ = write!(
                out,
                "<p><span id=\"audit-score\" class=\"score\" data-score=\"{}\">{}</span> <span class=\"mute\">grade {} · {} · saved {}</span></p>",
                report.score.map_or(String::new(), |s| s.to_string()),
                score,
                esc(report.grade.as_deref().unwrap_or("—")),
                esc(&report.target),
                saved.map_or("—".into(), rfc3339),
            );
            let failing: Vec<_> = report
                .findings
                .iter()
                .filter(|f| audit::failing(f.status))
                .collect();
            if failing.is_empty() {
                out.push_str("<p class=\"ok\">No failing checks.</p>");
            } else {
                out.push_str("<table><thead><tr><th>check</th><th>severity</th><th>status</th><th>title</th></tr></thead><tbody>");
                for f in failing {
                    let _ = write!(
                        out,
                        "<tr class=\"failing\" data-id=\"{0}\"><td><code>{0}</code></td><td>{1}</td><td class=\"bad\">{2}</td><td>{3}</td></tr>",
                        esc(&f.id),
                        f.severity.as_str(),
                        f.status.as_str(),
                        esc(&f.title)
                    );
                }
                out.push_str("</tbody></table>");
            }
        }
    }
    out.push_str("</section>");
}
