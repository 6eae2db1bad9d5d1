//! The order findings are shown in: areas with the worst failures first, and
//! inside an area failures first, then errors, warnings, manual items, skips, passes.

use crate::score::{area_summaries, AreaSummary};
use crate::{Finding, Status};

/// Sort key of a status: lower is shown first.
pub fn status_rank(status: Status) -> u8 {
    match status {
        Status::Fail => 0,
        Status::Error => 1,
        Status::Warn => 2,
        Status::Manual => 3,
        Status::Skip => 4,
        Status::Pass => 5,
    }
}

/// Areas with their findings, in display order: areas whose worst failure is most
/// severe first (areas without failures keep their report order after them), and
/// within each area by status rank, then severity (most severe first), then ID.
pub fn ordered_areas(findings: &[Finding]) -> Vec<(AreaSummary, Vec<&Finding>)> {
    let mut areas: Vec<(usize, AreaSummary)> =
        area_summaries(findings).into_iter().enumerate().collect();
    areas.sort_by(|(ia, a), (ib, b)| {
        b.worst_failure
            .cmp(&a.worst_failure)
            .then(b.counts.fail.cmp(&a.counts.fail))
            .then(ia.cmp(ib))
    });
    areas
        .into_iter()
        .map(|(_, summary)| {
            let mut in_area: Vec<&Finding> =
                findings.iter().filter(|f| f.area == summary.area).collect();
            in_area.sort_by(|a, b| {
                status_rank(a.status)
                    .cmp(&status_rank(b.status))
                    .then(b.severity.cmp(&a.severity))
                    .then(a.id.cmp(&b.id))
            });
            (summary, in_area)
        })
        .collect()
}
