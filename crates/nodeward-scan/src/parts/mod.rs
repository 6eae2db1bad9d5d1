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

/// Every finding ID `nodeward scan` can report (documented in docs/checks.md).
pub const FINDING_IDS: &[&str] = &[
    "TLS-000", "TLS-001", "TLS-002", "TLS-003", "TLS-004", "TLS-005", "TLS-006", "TLS-007",
    "TLS-008", "TLS-009", "TLS-010", "TLS-011", "HDR-000", "HDR-001", "HDR-002", "HDR-003",
    "HDR-004", "HDR-005", "HDR-006", "HDR-007", "HDR-008", "HDR-009", "HDR-010", "HDR-011",
    "PORT-000", "PORT-001", "PORT-002", "PORT-003", "NODE-001", "NODE-002",
];

#[cfg(test)]
mod tests {
    #[test]
    fn every_finding_id_is_documented() {
        let doc =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/checks.md"))
                .unwrap();
        let scan = doc
            .split("## Scan checks")
            .nth(1)
            .expect("docs/checks.md has a Scan checks section");
        for id in super::FINDING_IDS {
            let documented = scan.contains(id)
                || (id.starts_with("HDR-0")
                    && ("HDR-001".."HDR-011").contains(id)
                    && scan.contains("HDR-001 … HDR-010"));
            assert!(documented, "docs/checks.md lacks {id}");
        }
    }
}
