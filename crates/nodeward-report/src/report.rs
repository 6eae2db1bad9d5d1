//! A whole report: target, score, grade and findings, as the JSON shape of DESIGN.md.

use crate::{Finding, Severity};
use serde::{Deserialize, Serialize};

/// The version of the JSON shape. Fields may be added; a rename bumps this.
pub const SCHEMA_VERSION: u32 = 1;

/// The output of one reporting command run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// Always [`SCHEMA_VERSION`].
    pub schema_version: u32,
    /// The command that produced it (`audit`, `scan`, ...).
    pub command: String,
    /// What was examined (host name, root directory, URL).
    pub target: String,
    /// Score 0-100 (headers may exceed 100 with extra credit), when the command scores.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<i64>,
    /// Letter grade, when the command grades.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grade: Option<String>,
    /// Per-part results (`scan` puts `tls`, `headers`, `ports` here).
    #[serde(skip_serializing_if = "serde_json::Map::is_empty", default)]
    pub parts: serde_json::Map<String, serde_json::Value>,
    /// Every finding, in check order.
    pub findings: Vec<Finding>,
}

impl Report {
    /// An empty report for `command` on `target`.
    pub fn new(command: impl Into<String>, target: impl Into<String>) -> Self {
        Report {
            schema_version: SCHEMA_VERSION,
            command: command.into(),
            target: target.into(),
            score: None,
            grade: None,
            parts: serde_json::Map::new(),
            findings: Vec::new(),
        }
    }

    /// Whether any finding failed at or above `threshold` (exit code 1 when true).
    pub fn fails_at(&self, threshold: Severity) -> bool {
        self.findings.iter().any(|f| f.fails_at(threshold))
    }

    /// Sets `score` and `grade` from the findings with the generic weighting of
    /// [`crate::score`] (left `None` when nothing weighted could be checked).
    pub fn set_score_from_findings(&mut self) {
        self.score = crate::score::score(&self.findings);
        self.grade = self
            .score
            .map(|s| crate::score::grade(s, &self.findings).to_string());
    }

    /// The stable JSON rendering, pretty-printed.
    pub fn to_json(&self) -> String {
        // Serialising plain data with string keys cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Status;

    fn finding(sev: Severity, status: Status) -> Finding {
        Finding {
            id: "T-001".into(),
            title: "t".into(),
            area: "test".into(),
            severity: sev,
            status,
            evidence: String::new(),
            remediation: String::new(),
            references: vec![],
        }
    }

    #[test]
    fn json_has_the_stable_shape() {
        let mut r = Report::new("audit", "host");
        r.score = Some(73);
        r.grade = Some("C".into());
        r.findings.push(finding(Severity::High, Status::Fail));
        let v: serde_json::Value = serde_json::from_str(&r.to_json()).unwrap();
        assert_eq!(v["schema_version"], 1);
        assert_eq!(v["command"], "audit");
        assert_eq!(v["findings"][0]["severity"], "high");
        assert_eq!(v["findings"][0]["status"], "fail");
        assert!(v.get("parts").is_none());
    }

    #[test]
    fn fail_on_threshold() {
        let mut r = Report::new("audit", "host");
        r.findings.push(finding(Severity::Medium, Status::Fail));
        r.findings.push(finding(Severity::Critical, Status::Warn));
        assert!(r.fails_at(Severity::Medium));
        assert!(!r.fails_at(Severity::High));
    }
}
