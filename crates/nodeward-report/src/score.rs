//! Generic scoring: a 0-100 score from severity-weighted findings, a letter grade,
//! and per-area summaries. Any command that scores its findings uses these, so the
//! weighting documented in docs/checks.md holds everywhere.

use crate::{Finding, Severity, Status};

/// The weight a finding of `severity` carries in the score.
///
/// `info` weighs nothing: it is reported but never moves the score.
pub fn severity_weight(severity: Severity) -> u32 {
    match severity {
        Severity::Info => 0,
        Severity::Low => 1,
        Severity::Medium => 3,
        Severity::High => 6,
        Severity::Critical => 10,
    }
}

/// The share of its weight a finding earns: pass earns all of it, warn half,
/// fail none. `None` means the finding does not count (skip, error, manual).
fn earned_fraction(status: Status) -> Option<f64> {
    match status {
        Status::Pass => Some(1.0),
        Status::Warn => Some(0.5),
        Status::Fail => Some(0.0),
        Status::Skip | Status::Error | Status::Manual => None,
    }
}

/// Earned and possible weight of `findings` (see [`score`]).
pub fn weights<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> (f64, f64) {
    let mut earned = 0.0;
    let mut possible = 0.0;
    for f in findings {
        if let Some(frac) = earned_fraction(f.status) {
            let w = f64::from(severity_weight(f.severity));
            earned += w * frac;
            possible += w;
        }
    }
    (earned, possible)
}

/// The score 0-100: earned weight over possible weight, rounded.
///
/// Pass earns the finding's full weight, warn half, fail nothing; skip, error
/// and manual findings are left out. `None` when nothing weighted could be checked.
pub fn score<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Option<i64> {
    let (earned, possible) = weights(findings);
    if possible <= 0.0 {
        return None;
    }
    Some((100.0 * earned / possible).round() as i64)
}

/// Letter grades from best to worst with the lowest score each needs.
pub const GRADE_THRESHOLDS: [(&str, i64); 6] = [
    ("A+", 95),
    ("A", 90),
    ("B", 80),
    ("C", 70),
    ("D", 60),
    ("F", i64::MIN),
];

/// The grade a failed critical finding caps the result at.
pub const CRITICAL_FAIL_CAP: &str = "D";

/// The letter grade for `score` (A+ >= 95, A >= 90, B >= 80, C >= 70, D >= 60, else F).
pub fn grade_for_score(score: i64) -> &'static str {
    GRADE_THRESHOLDS
        .iter()
        .find(|(_, min)| score >= *min)
        .map(|(g, _)| *g)
        .unwrap_or("F")
}

/// The grade of a whole result: [`grade_for_score`], capped at
/// [`CRITICAL_FAIL_CAP`] when any critical finding failed.
pub fn grade<'a>(score: i64, findings: impl IntoIterator<Item = &'a Finding>) -> &'static str {
    let by_score = grade_for_score(score);
    let critical_failed = findings
        .into_iter()
        .any(|f| f.status == Status::Fail && f.severity == Severity::Critical);
    if critical_failed && grade_rank(by_score) < grade_rank(CRITICAL_FAIL_CAP) {
        CRITICAL_FAIL_CAP
    } else {
        by_score
    }
}

/// Position of a grade in [`GRADE_THRESHOLDS`] (0 = best); unknown grades rank last.
fn grade_rank(grade: &str) -> usize {
    GRADE_THRESHOLDS
        .iter()
        .position(|(g, _)| *g == grade)
        .unwrap_or(GRADE_THRESHOLDS.len())
}

/// How many findings have each status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StatusCounts {
    /// Passed.
    pub pass: usize,
    /// Failed.
    pub fail: usize,
    /// Warned.
    pub warn: usize,
    /// Left to a person.
    pub manual: usize,
    /// Skipped.
    pub skip: usize,
    /// Could not be checked because of an error.
    pub error: usize,
}

impl StatusCounts {
    /// Counts the statuses of `findings`.
    pub fn of<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Self {
        let mut c = StatusCounts::default();
        for f in findings {
            c.add(f.status);
        }
        c
    }

    /// Adds one finding of `status`.
    pub fn add(&mut self, status: Status) {
        match status {
            Status::Pass => self.pass += 1,
            Status::Fail => self.fail += 1,
            Status::Warn => self.warn += 1,
            Status::Manual => self.manual += 1,
            Status::Skip => self.skip += 1,
            Status::Error => self.error += 1,
        }
    }

    /// All findings counted.
    pub fn total(&self) -> usize {
        self.pass + self.fail + self.warn + self.manual + self.skip + self.error
    }
}

/// One area's share of a report: its score, counts and weights.
#[derive(Debug, Clone, PartialEq)]
pub struct AreaSummary {
    /// The area name (`ssh`, `firewall`, ...).
    pub area: String,
    /// The area's own score, when anything weighted in it was checked.
    pub score: Option<i64>,
    /// Findings by status.
    pub counts: StatusCounts,
    /// Weight earned in this area.
    pub earned: f64,
    /// Weight that could be earned in this area.
    pub possible: f64,
    /// The most severe failed finding in this area, if any.
    pub worst_failure: Option<Severity>,
}

/// Per-area summaries, in the order each area first appears in `findings`.
pub fn area_summaries(findings: &[Finding]) -> Vec<AreaSummary> {
    let mut order: Vec<&str> = Vec::new();
    for f in findings {
        if !order.contains(&f.area.as_str()) {
            order.push(&f.area);
        }
    }
    order
        .into_iter()
        .map(|area| {
            let in_area: Vec<&Finding> = findings.iter().filter(|f| f.area == area).collect();
            let (earned, possible) = weights(in_area.iter().copied());
            AreaSummary {
                area: area.to_string(),
                score: score(in_area.iter().copied()),
                counts: StatusCounts::of(in_area.iter().copied()),
                earned,
                possible,
                worst_failure: in_area
                    .iter()
                    .filter(|f| f.status == Status::Fail)
                    .map(|f| f.severity)
                    .max(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(area: &str, severity: Severity, status: Status) -> Finding {
        Finding {
            id: "X-001".into(),
            title: "t".into(),
            area: area.into(),
            severity,
            status,
            evidence: String::new(),
            remediation: String::new(),
            references: vec![],
        }
    }

    #[test]
    fn score_weighs_by_severity_and_ignores_skips() {
        let findings = vec![
            f("a", Severity::High, Status::Pass),       // 6 of 6
            f("a", Severity::Medium, Status::Fail),     // 0 of 3
            f("b", Severity::Low, Status::Warn),        // 0.5 of 1
            f("b", Severity::Critical, Status::Skip),   // not counted
            f("b", Severity::Critical, Status::Manual), // not counted
            f("b", Severity::Info, Status::Fail),       // weight 0
        ];
        // 6.5 / 10
        assert_eq!(score(&findings), Some(65));
        let areas = area_summaries(&findings);
        assert_eq!(areas.len(), 2);
        assert_eq!(areas[0].score, Some(67));
        assert_eq!(areas[0].worst_failure, Some(Severity::Medium));
        assert_eq!(areas[1].counts.skip, 1);
    }

    #[test]
    fn nothing_scorable_has_no_score() {
        assert_eq!(score(&[f("a", Severity::High, Status::Skip)]), None);
    }

    #[test]
    fn grades_follow_thresholds_and_critical_caps() {
        assert_eq!(grade_for_score(100), "A+");
        assert_eq!(grade_for_score(95), "A+");
        assert_eq!(grade_for_score(94), "A");
        assert_eq!(grade_for_score(80), "B");
        assert_eq!(grade_for_score(60), "D");
        assert_eq!(grade_for_score(59), "F");
        let crit = [f("a", Severity::Critical, Status::Fail)];
        assert_eq!(grade(97, &crit), "D");
        assert_eq!(grade(40, &crit), "F");
        assert_eq!(grade(97, &[]), "A+");
    }
}
