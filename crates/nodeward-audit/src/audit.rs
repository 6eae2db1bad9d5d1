//! Running the selected checks against a host into a scored [`Report`].

use crate::checks::{run_check, Check, Ctx};
use crate::host::{Host, Mode};
use crate::profile::Profile;
use nodeward_report::{Report, Status};

/// Audits `host` with `checks` under `profile`.
pub fn audit(host: &dyn Host, profile: &Profile, checks: &[Check]) -> Report {
    let ctx = Ctx::new(host, profile);
    let mut report = Report::new("audit", host.describe());
    report.findings = match host.unusable() {
        // Nothing can be read: every check says why instead of guessing.
        Some(problem) => checks
            .iter()
            .map(|c| {
                let mut f = run_check(c, &ctx);
                if f.status != Status::Manual {
                    f.status = Status::Error;
                    f.evidence = problem.clone();
                }
                f
            })
            .collect(),
        None => checks.iter().map(|c| run_check(c, &ctx)).collect(),
    };
    report.set_score_from_findings();
    report.parts.insert(
        "host".into(),
        serde_json::json!({
            "mode": if host.mode() == Mode::Live { "live" } else { "offline" },
            "profile": profile.name,
        }),
    );
    report
}
