//! The check catalogue: one module per area, each a list of [`Check`]s with a
//! stable ID, and the runner that turns them into findings.

mod accounts;
mod auditd;
mod bruteforce;
mod context;
mod coredumps;
mod filesystems;
mod fim_state;
mod firewall;
mod ilp;
mod integrity;
mod kernel;
mod keyfiles;
mod logging;
mod mac;
mod manual;
mod nodedirs;
mod permissions;
mod restarts;
mod service_state;
mod services;
mod ssh;
mod time;
mod updates;

pub use context::Ctx;
pub use service_state::{Service, ServiceState};

use crate::host::{Unavailable, UnavailableKind};
use nodeward_report::{Finding, Severity, Status};

/// One check.
#[derive(Clone, Copy)]
pub struct Check {
    /// Stable ID (`SSH-001`); never reused for another meaning.
    pub id: &'static str,
    /// Area (`ssh`, `firewall`, ...).
    pub area: &'static str,
    /// How much a failure matters.
    pub severity: Severity,
    /// What is checked, one line.
    pub title: &'static str,
    /// What to change when it does not pass.
    pub remediation: &'static str,
    /// Where the requirement comes from.
    pub references: &'static [&'static str],
    /// The check itself.
    pub run: fn(&Ctx) -> Outcome,
}

impl std::fmt::Debug for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Check").field("id", &self.id).finish()
    }
}

/// The result of running one check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Status.
    pub status: Status,
    /// What was seen.
    pub evidence: String,
    /// A remediation more specific than the check's own, when known.
    pub remediation: Option<String>,
    /// A severity other than the check's own for this host (ACC-007 weighs
    /// nothing where MFA is not required), when it depends on the profile.
    pub severity: Option<Severity>,
}

impl Outcome {
    fn new(status: Status, evidence: impl Into<String>) -> Self {
        Outcome {
            status,
            evidence: evidence.into(),
            remediation: None,
            severity: None,
        }
    }
    /// Passed.
    pub fn pass(e: impl Into<String>) -> Self {
        Self::new(Status::Pass, e)
    }
    /// Failed.
    pub fn fail(e: impl Into<String>) -> Self {
        Self::new(Status::Fail, e)
    }
    /// Warned.
    pub fn warn(e: impl Into<String>) -> Self {
        Self::new(Status::Warn, e)
    }
    /// Skipped.
    pub fn skip(e: impl Into<String>) -> Self {
        Self::new(Status::Skip, e)
    }
    /// Could not check.
    pub fn error(e: impl Into<String>) -> Self {
        Self::new(Status::Error, e)
    }
    /// Left to a person.
    pub fn manual(e: impl Into<String>) -> Self {
        Self::new(Status::Manual, e)
    }
    /// With a severity other than the check's own.
    pub fn with_severity(mut self, severity: Severity) -> Self {
        self.severity = Some(severity);
        self
    }
    /// With a specific remediation.
    pub fn fix(mut self, remediation: impl Into<String>) -> Self {
        self.remediation = Some(remediation.into());
        self
    }
}

impl From<Unavailable> for Outcome {
    fn from(u: Unavailable) -> Self {
        match u.kind {
            UnavailableKind::Skip => Outcome::skip(u.reason),
            UnavailableKind::Error => Outcome::error(u.reason),
        }
    }
}

/// Every check, in report order.
pub fn catalogue() -> Vec<Check> {
    [
        ssh::CHECKS,
        firewall::CHECKS,
        time::CHECKS,
        updates::CHECKS,
        filesystems::CHECKS,
        mac::CHECKS,
        services::CHECKS,
        bruteforce::CHECKS,
        accounts::CHECKS,
        keyfiles::CHECKS,
        integrity::CHECKS,
        kernel::CHECKS,
        logging::CHECKS,
        coredumps::CHECKS,
        auditd::CHECKS,
        permissions::CHECKS,
        restarts::CHECKS,
        ilp::CHECKS,
        manual::CHECKS,
    ]
    .concat()
}

/// Runs one check into a finding; a panic inside a check becomes an `error`
/// finding instead of ending the audit.
pub fn run_check(check: &Check, ctx: &Ctx) -> Finding {
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (check.run)(ctx)))
        .unwrap_or_else(|_| {
            Outcome::error("internal error: the check panicked (please report this)")
        });
    Finding {
        id: check.id.to_string(),
        title: check.title.to_string(),
        area: check.area.to_string(),
        severity: outcome.severity.unwrap_or(check.severity),
        status: outcome.status,
        evidence: outcome.evidence,
        remediation: outcome
            .remediation
            .unwrap_or_else(|| check.remediation.to_string()),
        references: check.references.iter().map(|r| r.to_string()).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let all = catalogue();
        let mut ids: Vec<&str> = all.iter().map(|c| c.id).collect();
        ids.sort();
        let before = ids.len();
        ids.dedup();
        assert_eq!(before, ids.len(), "duplicate check IDs");
        for c in &all {
            let (prefix, num) = c.id.split_once('-').unwrap();
            assert!(prefix.chars().all(|ch| ch.is_ascii_uppercase()), "{}", c.id);
            assert_eq!(num.len(), 3, "{}", c.id);
            assert!(!c.remediation.is_empty() && !c.title.is_empty(), "{}", c.id);
        }
    }
}
