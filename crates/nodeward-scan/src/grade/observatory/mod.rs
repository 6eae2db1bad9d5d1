//! MDN HTTP Observatory (v2) scoring: ten tests, each giving one outcome with
//! a score modifier; baseline 100; bonuses count only when the score without
//! them is at least 90; grade from the score rounded down to a multiple of 5.

mod cookies;
mod cors;
mod csp;
mod exchange;
mod framing;
mod hsts;
mod html;
mod preload;
mod redirection;
mod referrer;
mod run;
mod sri;

pub use exchange::{Exchange, Redirection};
pub(crate) use hsts::hsts_max_age;
pub use hsts::SIX_MONTHS;
pub use preload::PreloadList;
pub use run::run_all;

/// The Origin header the probe sends, to see whether CORS reflects any origin.
pub const PROBE_ORIGIN: &str = "https://nodeward-probe.invalid";

/// The outcome of one test, with its Observatory name and modifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestResult {
    /// Test name (`content-security-policy`).
    pub test: &'static str,
    /// Outcome name as Observatory spells it (`csp-not-implemented`).
    pub outcome: &'static str,
    /// Score modifier.
    pub modifier: i64,
    /// Whether Observatory counts the test as passed.
    pub pass: bool,
    /// What was seen.
    pub evidence: String,
}

/// Score modifier of every outcome (from Observatory's score table).
pub fn modifier(outcome: &str) -> i64 {
    match outcome {
        "csp-implemented-with-no-unsafe-default-src-none" => 10,
        "csp-implemented-with-no-unsafe" => 5,
        "csp-implemented-with-unsafe-inline-in-style-src-only" => 0,
        "csp-implemented-with-insecure-scheme-in-passive-content-only" => -10,
        "csp-implemented-with-unsafe-eval" => -10,
        "csp-implemented-with-unsafe-inline" => -20,
        "csp-implemented-with-insecure-scheme" => -20,
        "csp-header-invalid"
        | "csp-not-implemented"
        | "csp-not-implemented-but-reporting-enabled" => -25,
        "cookies-secure-with-httponly-sessions-and-samesite" => 5,
        "cookies-secure-with-httponly-sessions" | "cookies-not-found" => 0,
        "cookies-without-secure-flag-but-protected-by-hsts" => -5,
        "cookies-session-without-secure-flag-but-protected-by-hsts" => -10,
        "cookies-without-secure-flag"
        | "cookies-samesite-flag-invalid"
        | "cookies-anticsrf-without-samesite-flag" => -20,
        "cookies-session-without-httponly-flag" => -30,
        "cookies-session-without-secure-flag" => -40,
        "cross-origin-resource-sharing-implemented-with-universal-access" => -50,
        "redirection-off-host-from-http" => -5,
        "redirection-not-to-https-on-initial-redirection" => -10,
        "redirection-not-to-https" | "redirection-missing" | "redirection-invalid-cert" => -20,
        "referrer-policy-private" => 5,
        "referrer-policy-unsafe" | "referrer-policy-header-invalid" => -5,
        "hsts-preloaded" => 5,
        "hsts-implemented-max-age-less-than-six-months" => -10,
        "hsts-not-implemented"
        | "hsts-header-invalid"
        | "hsts-not-implemented-no-https"
        | "hsts-invalid-cert" => -20,
        "sri-implemented-and-all-scripts-loaded-securely"
        | "sri-implemented-and-external-scripts-loaded-securely" => 5,
        "sri-not-implemented-but-external-scripts-loaded-securely" => -5,
        "sri-implemented-but-external-scripts-not-loaded-securely" => -20,
        "sri-not-implemented-and-external-scripts-not-loaded-securely" => -50,
        "x-content-type-options-not-implemented" | "x-content-type-options-header-invalid" => -5,
        "x-frame-options-implemented-via-csp" => 5,
        "x-frame-options-not-implemented" | "x-frame-options-header-invalid" => -20,
        "cross-origin-resource-policy-implemented-with-same-origin"
        | "cross-origin-resource-policy-implemented-with-same-site" => 10,
        "cross-origin-resource-policy-header-invalid" => -5,
        _ => 0,
    }
}

/// The total: score, grade, and the arithmetic that led there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Score {
    /// Final score (>= 0, may exceed 100).
    pub score: i64,
    /// Letter grade.
    pub grade: &'static str,
    /// 100 plus all penalties.
    pub without_bonus: i64,
    /// Whether the bonuses were counted (`without_bonus >= 90`).
    pub bonus_counted: bool,
    /// One line per test: `-25 content-security-policy: csp-not-implemented`.
    pub arithmetic: Vec<String>,
}

/// Minimum score before extra credit is given.
pub const MINIMUM_SCORE_FOR_EXTRA_CREDIT: i64 = 90;

/// Adds the modifiers up the way Observatory does.
pub fn score(results: &[TestResult]) -> Score {
    let with_bonus: i64 = 100 + results.iter().map(|r| r.modifier).sum::<i64>();
    let without_bonus: i64 = 100 + results.iter().map(|r| r.modifier.min(0)).sum::<i64>();
    let bonus_counted = without_bonus >= MINIMUM_SCORE_FOR_EXTRA_CREDIT;
    let score = if bonus_counted {
        with_bonus
    } else {
        without_bonus
    }
    .max(0);
    let mut arithmetic = vec!["100 baseline".to_string()];
    for r in results {
        let note = if r.modifier > 0 && !bonus_counted {
            " (bonus not counted: score below 90)"
        } else {
            ""
        };
        arithmetic.push(format!("{:+} {}: {}{note}", r.modifier, r.test, r.outcome));
    }
    arithmetic.push(format!("= {score} ({})", grade(score)));
    Score {
        score,
        grade: grade(score),
        without_bonus,
        bonus_counted,
        arithmetic,
    }
}

/// Observatory's grade chart.
pub fn grade(score: i64) -> &'static str {
    let s = score.max(0);
    let bucket = (s - s % 5).min(100);
    match bucket {
        100 => "A+",
        90 | 95 => "A",
        85 => "A-",
        80 => "B+",
        70 | 75 => "B",
        65 => "B-",
        60 => "C+",
        50 | 55 => "C",
        45 => "C-",
        40 => "D+",
        30 | 35 => "D",
        25 => "D-",
        _ => "F",
    }
}

#[cfg(test)]
mod unit {
    use super::*;

    fn r(outcome: &'static str) -> TestResult {
        TestResult {
            test: "t",
            outcome,
            modifier: modifier(outcome),
            pass: true,
            evidence: String::new(),
        }
    }

    #[test]
    fn grade_chart() {
        assert_eq!(grade(135), "A+");
        assert_eq!(grade(100), "A+");
        assert_eq!(grade(99), "A");
        assert_eq!(grade(89), "A-");
        assert_eq!(grade(64), "C+");
        assert_eq!(grade(24), "F");
        assert_eq!(grade(-10), "F");
    }

    #[test]
    fn extra_credit_only_from_ninety() {
        // 100 - 5 + 10 = 105: bonus counted.
        let s = score(&[
            r("x-content-type-options-not-implemented"),
            r("csp-implemented-with-no-unsafe-default-src-none"),
        ]);
        assert_eq!((s.score, s.grade, s.bonus_counted), (105, "A+", true));
        // 100 - 20 + 10 = 80 with bonus, but 80 < 90 so bonus dropped: 80.
        let s = score(&[
            r("hsts-not-implemented"),
            r("csp-implemented-with-no-unsafe-default-src-none"),
        ]);
        assert_eq!((s.score, s.grade, s.bonus_counted), (80, "B+", false));
        // Never below zero.
        let s = score(&[
            r("sri-not-implemented-and-external-scripts-not-loaded-securely"),
            r("cross-origin-resource-sharing-implemented-with-universal-access"),
            r("csp-not-implemented"),
        ]);
        assert_eq!(s.score, 0);
    }
}
