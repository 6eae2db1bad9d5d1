//! The requests-per-minute chart: inline SVG rendered on the server, one
//! line per command (the busiest few; the rest summed), no script needed.

use super::html::esc;
use crate::minutes::SLOTS;
use std::fmt::Write;

/// Lines drawn at most; quieter commands are summed into one.
const MAX_LINES: usize = 6;
/// Line colours (also used by the legend).
pub const COLORS: [&str; MAX_LINES + 1] = [
    "#2e90fa", "#12b76a", "#f79009", "#9e77ed", "#f04438", "#0bbfc2", "#98a2b3",
];

/// Renders the chart of `series` (command, per-minute counts, oldest first).
pub fn render(mut series: Vec<(String, [u64; SLOTS])>) -> String {
    series.sort_by_key(|(name, h)| (std::cmp::Reverse(h.iter().sum::<u64>()), name.clone()));
    if series.len() > MAX_LINES {
        let mut rest = [0u64; SLOTS];
        let n = series.len() - (MAX_LINES - 1);
        for (_, h) in series.drain(MAX_LINES - 1..) {
            for (r, v) in rest.iter_mut().zip(h) {
                *r += v;
            }
        }
        series.push((format!("{n} other commands"), rest));
    }
    let total: u64 = series.iter().flat_map(|(_, h)| h.iter()).sum();
    let peak = series
        .iter()
        .flat_map(|(_, h)| h.iter().copied())
        .max()
        .unwrap_or(0)
        .max(1);
    let (w, h, left, bottom) = (600.0_f64, 200.0_f64, 40.0_f64, 20.0_f64);
    let plot_w = w - left - 8.0;
    let plot_h = h - bottom - 10.0;
    let mut out = String::new();
    let _ = write!(
        out,
        "<svg id=\"chart\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"requests per minute, last hour\" data-total=\"{total}\" data-peak=\"{peak}\">"
    );
    // Axes and labels.
    let _ = write!(
        out,
        "<line x1=\"{left}\" y1=\"10\" x2=\"{left}\" y2=\"{y0}\" stroke=\"#98a2b3\"/>\
<line x1=\"{left}\" y1=\"{y0}\" x2=\"{x1}\" y2=\"{y0}\" stroke=\"#98a2b3\"/>\
<text x=\"{tx}\" y=\"16\" font-size=\"10\" text-anchor=\"end\" fill=\"#667085\">{peak}</text>\
<text x=\"{tx}\" y=\"{y0}\" font-size=\"10\" text-anchor=\"end\" fill=\"#667085\">0</text>\
<text x=\"{left}\" y=\"{ly}\" font-size=\"10\" fill=\"#667085\">−60 min</text>\
<text x=\"{x1}\" y=\"{ly}\" font-size=\"10\" text-anchor=\"end\" fill=\"#667085\">now</text>",
        y0 = 10.0 + plot_h,
        x1 = left + plot_w,
        tx = left - 4.0,
        ly = h - 4.0,
    );
    for (i, (name, counts)) in series.iter().enumerate() {
        let points: Vec<String> = counts
            .iter()
            .enumerate()
            .map(|(m, &v)| {
                let x = left + plot_w * m as f64 / (SLOTS - 1) as f64;
                let y = 10.0 + plot_h * (1.0 - v as f64 / peak as f64);
                format!("{x:.1},{y:.1}")
            })
            .collect();
        let _ = write!(
            out,
            "<polyline class=\"series\" data-command=\"{}\" data-total=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\" points=\"{}\"/>",
            esc(name),
            counts.iter().sum::<u64>(),
            COLORS[i.min(COLORS.len() - 1)],
            points.join(" ")
        );
    }
    out.push_str("</svg>");
    out.push_str("<ul class=\"legend\">");
    for (i, (name, counts)) in series.iter().enumerate() {
        let _ = write!(
            out,
            "<li data-series=\"{i}\"><svg width=\"12\" height=\"12\" aria-hidden=\"true\"><rect width=\"12\" height=\"12\" rx=\"2\" fill=\"{}\"/></svg> {} <span class=\"mute\">{}</span></li>",
            COLORS[i.min(COLORS.len() - 1)],
            esc(name),
            counts.iter().sum::<u64>()
        );
    }
    if series.is_empty() {
        out.push_str("<li class=\"mute\">No requests in the last hour.</li>");
    }
    out.push_str("</ul>");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_quiet_commands_and_escapes_names() {
        let mut series = Vec::new();
        for i in 0..9u64 {
            let mut h = [0u64; SLOTS];
            h[SLOTS - 1] = i + 1;
            series.push((format!("cmd<{i}>"), h));
        }
        let svg = render(series);
        assert_eq!(svg.matches("<polyline").count(), MAX_LINES);
        assert!(svg.contains("4 other commands"));
        assert!(svg.contains("cmd&lt;8&gt;"));
        assert!(svg.contains("data-total=\"45\""));
    }
}
