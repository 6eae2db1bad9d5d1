//! Renderers for a [`Report`]: `text` for people, `json` (stable), `html` (one
//! self-contained page) and `junit` (for CI). Every renderer works on any report,
//! including its `parts` map, so every reporting command shares them.

mod html;
mod junit;
mod order;
mod text;

use crate::Report;
use std::fmt;
use std::str::FromStr;

pub use html::render_many;
pub use order::{ordered_areas, status_rank};

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Grouped by area, failures first, remediation under each.
    Text,
    /// The stable JSON shape (`schema_version`).
    Json,
    /// One self-contained HTML page with a score gauge and per-area bars.
    Html,
    /// JUnit XML, one test suite per area, one test case per finding.
    Junit,
}

impl Format {
    /// Every format.
    pub const ALL: [Format; 4] = [Format::Text, Format::Json, Format::Html, Format::Junit];

    /// The name used on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Html => "html",
            Format::Junit => "junit",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for an unknown format name.
#[derive(Debug, thiserror::Error)]
#[error("unknown format {0:?} (expected text, json, html or junit)")]
pub struct UnknownFormat(pub String);

impl FromStr for Format {
    type Err = UnknownFormat;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .into_iter()
            .find(|f| f.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownFormat(s.to_string()))
    }
}

/// How to render.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RenderOptions {
    /// Use ANSI colours (text only). See [`stdout_wants_color`].
    pub color: bool,
}

/// Whether text written to stdout should be coloured: only when stdout is a
/// terminal, `NO_COLOR` is unset or empty, and `TERM` is not `dumb`.
pub fn stdout_wants_color() -> bool {
    use std::io::IsTerminal;
    color_allowed_by_env(
        std::env::var_os("NO_COLOR").as_deref(),
        std::env::var_os("TERM").as_deref(),
    ) && std::io::stdout().is_terminal()
}

/// The environment part of [`stdout_wants_color`] (<https://no-color.org>).
pub fn color_allowed_by_env(
    no_color: Option<&std::ffi::OsStr>,
    term: Option<&std::ffi::OsStr>,
) -> bool {
    let no_color_set = no_color.is_some_and(|v| !v.is_empty());
    let dumb = term.is_some_and(|t| t == "dumb");
    !no_color_set && !dumb
}

/// Renders `report` in `format`.
pub fn render(report: &Report, format: Format, options: RenderOptions) -> String {
    match format {
        Format::Text => text::render(report, options.color),
        Format::Json => {
            let mut s = report.to_json();
            s.push('\n');
            s
        }
        Format::Html => html::render(report),
        Format::Junit => junit::render(report),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;

    #[test]
    fn format_names_round_trip() {
        for f in Format::ALL {
            assert_eq!(f.as_str().parse::<Format>().unwrap(), f);
        }
        assert!("xml"
            .parse::<Format>()
            .unwrap_err()
            .to_string()
            .contains("xml"));
    }

    #[test]
    fn no_color_and_dumb_terminals_disable_colour() {
        assert!(color_allowed_by_env(None, Some(OsStr::new("xterm"))));
        assert!(color_allowed_by_env(Some(OsStr::new("")), None));
        assert!(!color_allowed_by_env(Some(OsStr::new("1")), None));
        assert!(!color_allowed_by_env(None, Some(OsStr::new("dumb"))));
    }
}
