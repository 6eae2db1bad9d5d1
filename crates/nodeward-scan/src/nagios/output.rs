//! Plugin states, performance data and the status line.

use super::Range;
use std::fmt::Write;

/// The four plugin states, with their exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum State {
    /// 0: all good.
    Ok,
    /// 1: above the warning threshold.
    Warning,
    /// 2: above the critical threshold, or the service is broken.
    Critical,
    /// 3: the check could not decide (bad arguments, network error before any answer).
    Unknown,
}

impl State {
    /// The exit code (0..3).
    pub fn code(self) -> u8 {
        match self {
            State::Ok => 0,
            State::Warning => 1,
            State::Critical => 2,
            State::Unknown => 3,
        }
    }

    /// `OK`, `WARNING`, ...
    pub fn label(self) -> &'static str {
        match self {
            State::Ok => "OK",
            State::Warning => "WARNING",
            State::Critical => "CRITICAL",
            State::Unknown => "UNKNOWN",
        }
    }

    /// The state a value gets against warning and critical thresholds.
    pub fn from_thresholds(value: f64, warn: Option<&Range>, crit: Option<&Range>) -> State {
        if crit.is_some_and(|c| c.alerts(value)) {
            State::Critical
        } else if warn.is_some_and(|w| w.alerts(value)) {
            State::Warning
        } else {
            State::Ok
        }
    }

    /// The worse of two states (UNKNOWN ranks between WARNING and CRITICAL only
    /// when nothing is critical, as the guidelines order them by exit code).
    pub fn worst(self, other: State) -> State {
        let rank = |s: State| match s {
            State::Ok => 0,
            State::Warning => 1,
            State::Unknown => 2,
            State::Critical => 3,
        };
        if rank(other) > rank(self) {
            other
        } else {
            self
        }
    }
}

/// One `label=value[UOM];warn;crit;min;max` item.
#[derive(Debug, Clone)]
pub struct PerfData {
    /// Label (quoted when it has spaces or `=`).
    pub label: String,
    /// Value.
    pub value: f64,
    /// Unit of measure (`s`, `%`, `B`, `c` or empty).
    pub uom: &'static str,
    /// Warning range, as given.
    pub warn: Option<String>,
    /// Critical range, as given.
    pub crit: Option<String>,
    /// Minimum possible value.
    pub min: Option<f64>,
    /// Maximum possible value.
    pub max: Option<f64>,
}

impl PerfData {
    /// A perfdata item with no thresholds and no bounds.
    pub fn new(label: &str, value: f64, uom: &'static str) -> Self {
        PerfData {
            label: label.to_string(),
            value,
            uom,
            warn: None,
            crit: None,
            min: None,
            max: None,
        }
    }

    /// Adds the thresholds.
    pub fn thresholds(mut self, warn: Option<&Range>, crit: Option<&Range>) -> Self {
        self.warn = warn.map(|r| r.as_str().to_string());
        self.crit = crit.map(|r| r.as_str().to_string());
        self
    }

    /// Adds min and max.
    pub fn bounds(mut self, min: Option<f64>, max: Option<f64>) -> Self {
        self.min = min;
        self.max = max;
        self
    }

    fn render(&self) -> String {
        let label = if self.label.contains([' ', '=', '\'']) {
            format!("'{}'", self.label.replace('\'', "''"))
        } else {
            self.label.clone()
        };
        let num = |v: f64| {
            if v.fract() == 0.0 && v.abs() < 1e15 {
                format!("{}", v as i64)
            } else {
                format!("{v:.6}")
                    .trim_end_matches('0')
                    .trim_end_matches('.')
                    .to_string()
            }
        };
        let mut s = format!("{label}={}{}", num(self.value), self.uom);
        let _ = write!(
            s,
            ";{};{};{};{}",
            self.warn.as_deref().unwrap_or(""),
            self.crit.as_deref().unwrap_or(""),
            self.min.map(num).unwrap_or_default(),
            self.max.map(num).unwrap_or_default()
        );
        s.trim_end_matches(';').to_string()
    }
}

/// What a check prints and returns.
#[derive(Debug, Clone)]
pub struct PluginOutput {
    /// Service name in the status line (`TLS`, `HTTP`).
    pub service: &'static str,
    /// Overall state.
    pub state: State,
    /// The human-readable summary (one line).
    pub summary: String,
    /// Performance data.
    pub perf: Vec<PerfData>,
}

impl PluginOutput {
    /// An UNKNOWN result with a reason.
    pub fn unknown(service: &'static str, why: impl Into<String>) -> Self {
        PluginOutput {
            service,
            state: State::Unknown,
            summary: why.into(),
            perf: Vec::new(),
        }
    }

    /// The one status line: `SERVICE STATE - summary | perfdata`.
    pub fn line(&self) -> String {
        let summary = self.summary.replace(['\n', '\r'], " ").replace('|', "/");
        let mut line = format!("{} {} - {}", self.service, self.state.label(), summary);
        if !self.perf.is_empty() {
            line.push_str(" |");
            for p in &self.perf {
                line.push(' ');
                line.push_str(&p.render());
            }
        }
        line
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_line_and_perfdata() {
        let w: Range = "0.5".parse().unwrap();
        let c: Range = "1".parse().unwrap();
        let out = PluginOutput {
            service: "HTTP",
            state: State::from_thresholds(0.75, Some(&w), Some(&c)),
            summary: "200 OK in 0.750 s | odd".into(),
            perf: vec![
                PerfData::new("time", 0.75, "s")
                    .thresholds(Some(&w), Some(&c))
                    .bounds(Some(0.0), None),
                PerfData::new("size", 120.0, "B"),
            ],
        };
        assert_eq!(
            out.line(),
            "HTTP WARNING - 200 OK in 0.750 s / odd | time=0.75s;0.5;1;0 size=120B"
        );
        assert_eq!(out.state.code(), 1);
    }

    #[test]
    fn worst_state() {
        assert_eq!(State::Ok.worst(State::Unknown), State::Unknown);
        assert_eq!(State::Critical.worst(State::Unknown), State::Critical);
    }
}
