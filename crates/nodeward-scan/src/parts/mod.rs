//! The parts of a scan, each producing findings and one `parts` entry.

pub mod headers;
pub mod node;
pub mod ports;
pub mod tls;

use nodeward_report::{Finding, Severity, Status};

/// What one part contributes to the report.
#[derive(Debug, Clone)]
pub struct PartOutcome {
    /// Findings in check order.
    pub findings: Vec<Finding>,
    /// The `parts.<name>` JSON object.
    pub json: serde_json::Value,
}

/// Builds a finding.
#[allow(clippy::too_many_arguments)]
pub(crate) fn finding(
    id: &str,
    area: &str,
    title: &str,
    severity: Severity,
    status: Status,
    evidence: impl Into<String>,
    remediation: &str,
    reference: &str,
) -> Finding {
    Finding {
        id: id.to_string(),
        title: title.to_string(),
        area: area.to_string(),
        severity,
        status,
        evidence: evidence.into(),
        remediation: if status == Status::Pass {
            String::new()
        } else {
            remediation.to_string()
        },
        references: if reference.is_empty() {
            vec![]
        } else {
            vec![reference.to_string()]
        },
    }
}
