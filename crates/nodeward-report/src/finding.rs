//! One checked item: what was looked at, what was seen and what to do about it.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// How much a failed finding matters. Ordered from least to most severe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing; never a risk on its own.
    Info,
    /// A small weakness.
    Low,
    /// A weakness an attacker can use with some effort.
    Medium,
    /// A weakness that is commonly exploited.
    High,
    /// Direct exposure of funds, keys or the host.
    Critical,
}

impl Severity {
    /// Every severity, least severe first.
    pub const ALL: [Severity; 5] = [
        Severity::Info,
        Severity::Low,
        Severity::Medium,
        Severity::High,
        Severity::Critical,
    ];

    /// The lowercase name used in JSON and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error for a severity name that is not one of the five.
#[derive(Debug, thiserror::Error)]
#[error("unknown severity {0:?} (expected info, low, medium, high or critical)")]
pub struct UnknownSeverity(pub String);

impl FromStr for Severity {
    type Err = UnknownSeverity;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Severity::ALL
            .into_iter()
            .find(|sev| sev.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownSeverity(s.to_string()))
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// The check ran and the host/target meets it.
    Pass,
    /// The check ran and the host/target does not meet it.
    Fail,
    /// Not a failure, but worth a look.
    Warn,
    /// Software cannot verify this; a person must (kept so the checklist is complete).
    Manual,
    /// The check did not apply or could not read what it needs; evidence says why.
    Skip,
    /// The check itself failed (unreadable or broken input); evidence says why.
    Error,
}

impl Status {
    /// The lowercase name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Fail => "fail",
            Status::Warn => "warn",
            Status::Manual => "manual",
            Status::Skip => "skip",
            Status::Error => "error",
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One checked item with a stable ID (`SSH-001`, `TLS-010`), documented in docs/checks.md.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Stable identifier; never reused for another meaning.
    pub id: String,
    /// One line saying what is checked.
    pub title: String,
    /// The area the check belongs to (`ssh`, `firewall`, `tls`, ...).
    pub area: String,
    /// How much a failure matters.
    pub severity: Severity,
    /// The outcome.
    pub status: Status,
    /// What was seen: a file:line, a command's output, a measured value.
    pub evidence: String,
    /// Exactly what to change when the check does not pass.
    pub remediation: String,
    /// Links or document names that explain the check.
    pub references: Vec<String>,
}

impl Finding {
    /// Whether this finding counts as a failure at or above `threshold`
    /// (what `--fail-on` decides). Only `fail` counts; `warn` never does.
    pub fn fails_at(&self, threshold: Severity) -> bool {
        self.status == Status::Fail && self.severity >= threshold
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_parses_case_insensitively_and_rejects_unknown() {
        assert_eq!("HIGH".parse::<Severity>().unwrap(), Severity::High);
        let err = "severe".parse::<Severity>().unwrap_err();
        assert!(err.to_string().contains("severe"));
    }

    #[test]
    fn severity_is_ordered() {
        assert!(Severity::Critical > Severity::High);
        assert!(Severity::Info < Severity::Low);
    }
}
