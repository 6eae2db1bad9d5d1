//! Judging each backend against the rest of its pool.
//!
//! - The pool's head is the highest head that a quorum of nodes reach (by
//!   default half of those that answered, rounded up): with three or more
//!   nodes, one node reporting head + 1000 cannot move it, and is itself
//!   flagged `ahead_of_pool`. With two nodes a lagging node and a lying one
//!   cannot be told apart; the higher head is believed, since lag is by far
//!   the more common fault (set `quorum = 2` to believe only agreement).
//! - Lag is measured against that head (and, for IRI, also within the node:
//!   latest minus solid milestone).
//! - A condition every answering node shares (a chain halt, a stalled
//!   coordinator, a network-wide peer loss) ejects nobody: the pool is
//!   flagged instead.
//! - No single reason may take out more than `max_ejected_share` of the
//!   pool; the least bad are kept (at reduced weight) and say why.
//!
//! Hard failures (unreachable, invalid answers, TLS) are never kept in.

use super::{Exclusion, Level, Observation};

/// Reasons that, when every answering node has them, describe the chain or
/// the network rather than a node.
const POOL_WIDE: [&str; 3] = ["lag", "syncing", "peers"];

/// Limits for the lag judgement (from the check kind, per backend).
#[derive(Debug, Clone, Copy)]
pub struct LagLimits {
    /// Critical above this.
    pub max_lag: u64,
    /// Warning above this.
    pub warn_lag: Option<u64>,
    /// Critical when claiming more than this above the pool's head.
    pub max_ahead: u64,
}

impl LagLimits {
    /// The limits of a check kind that reports chain heads, with the
    /// backend's own `max_lag` override.
    pub fn for_backend(
        kind: &super::CheckKind,
        spec: &crate::backend::BackendSpec,
    ) -> Option<LagLimits> {
        let (max_lag, warn_lag, max_ahead) = kind.lag_limits()?;
        Some(LagLimits {
            max_lag: spec.overrides.max_lag.unwrap_or(max_lag),
            warn_lag,
            max_ahead,
        })
    }
}

/// One backend's input to a judgement.
#[derive(Debug, Clone)]
pub struct Input {
    /// What its check saw.
    pub observation: Observation,
    /// Its lag limits, for kinds that report heads.
    pub lag: Option<LagLimits>,
}

/// One backend's verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Pass, warn or critical.
    pub level: Level,
    /// Every reason, with value and threshold.
    pub exclusions: Vec<Exclusion>,
    /// How judging changed the node's own result.
    pub notes: Vec<String>,
}

/// The pool's side of a judgement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PoolView {
    /// The head a quorum reaches (None: too few answers to say).
    pub head: Option<u64>,
    /// Conditions every answering node shared (nobody was ejected for them).
    pub pool_wide: Vec<String>,
}

/// Judges a round of observations.
pub fn judge(
    inputs: &[Input],
    max_ejected_share: f64,
    quorum: Option<usize>,
) -> (Vec<Verdict>, PoolView) {
    let mut view = PoolView {
        head: pool_head(inputs, quorum),
        pool_wide: Vec::new(),
    };
    let mut verdicts: Vec<Verdict> = inputs
        .iter()
        .map(|i| Verdict {
            level: Level::Pass,
            exclusions: with_lag(i, view.head),
            notes: Vec::new(),
        })
        .collect();
    let reached: Vec<usize> = (0..inputs.len())
        .filter(|&i| inputs[i].observation.reached())
        .collect();
    // Conditions every answering node shares eject nobody.
    for reason in POOL_WIDE {
        let all = !reached.is_empty()
            && reached.iter().all(|&i| {
                verdicts[i]
                    .exclusions
                    .iter()
                    .any(|e| e.reason == reason && e.level == Level::Critical)
            });
        if all {
            let example = verdicts[reached[0]]
                .exclusions
                .iter()
                .find(|e| e.reason == reason)
                .map(Exclusion::describe)
                .unwrap_or_default();
            view.pool_wide.push(format!(
                "every answering node fails {reason} (e.g. {example}): nobody is ejected for it"
            ));
            for &i in &reached {
                for e in verdicts[i]
                    .exclusions
                    .iter_mut()
                    .filter(|e| e.reason == reason)
                {
                    e.level = Level::Warn;
                }
                verdicts[i].notes.push(format!(
                    "{reason} is shared by the whole pool: kept in service"
                ));
            }
        }
    }
    // At most a share of the pool out for any one reason.
    let cap = ((inputs.len() as f64) * max_ejected_share.clamp(0.0, 1.0)).floor() as usize;
    let mut reasons: Vec<&'static str> = verdicts
        .iter()
        .flat_map(|v| v.exclusions.iter())
        .filter(|e| e.level == Level::Critical && !e.is_hard())
        .map(|e| e.reason)
        .collect();
    reasons.sort_unstable();
    reasons.dedup();
    for reason in reasons {
        let mut failing: Vec<(usize, u64)> = verdicts
            .iter()
            .enumerate()
            .filter(|(_, v)| !v.exclusions.iter().any(Exclusion::is_hard))
            .filter_map(|(i, v)| {
                v.exclusions
                    .iter()
                    .find(|e| e.reason == reason && e.level == Level::Critical)
                    .map(|e| (i, e.value.parse::<u64>().unwrap_or(u64::MAX)))
            })
            .collect();
        if failing.len() <= cap {
            continue;
        }
        // Worst first; the least bad beyond the cap stay in.
        failing.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        for &(i, _) in &failing[cap..] {
            for e in verdicts[i]
                .exclusions
                .iter_mut()
                .filter(|e| e.reason == reason)
            {
                e.level = Level::Warn;
            }
            verdicts[i].notes.push(format!(
                "kept in service: at most {cap} of {} backends may be out for {reason}",
                inputs.len()
            ));
        }
    }
    for v in &mut verdicts {
        v.level = v
            .exclusions
            .iter()
            .map(|e| e.level)
            .max()
            .unwrap_or(Level::Pass);
    }
    (verdicts, view)
}

/// The highest head that a quorum of answering nodes reach.
fn pool_head(inputs: &[Input], quorum: Option<usize>) -> Option<u64> {
    let mut heads: Vec<u64> = inputs
        .iter()
        .filter(|i| i.observation.reached())
        .filter_map(|i| i.observation.head)
        .collect();
    if heads.is_empty() {
        return None;
    }
    let q = quorum.unwrap_or(heads.len().div_ceil(2)).max(1);
    if heads.len() < q {
        return None;
    }
    heads.sort_unstable_by(|a, b| b.cmp(a));
    Some(heads[q - 1])
}

/// The node's own findings plus lag and ahead-of-pool against `head`.
fn with_lag(input: &Input, head: Option<u64>) -> Vec<Exclusion> {
    let mut out = input.observation.findings.clone();
    let (Some(limits), true) = (input.lag, input.observation.reached()) else {
        return out;
    };
    let obs = &input.observation;
    if let (Some(h), Some(mine)) = (head, obs.head) {
        if mine > h.saturating_add(limits.max_ahead) {
            out.push(Exclusion::critical(
                "ahead_of_pool",
                (mine - h).to_string(),
                limits.max_ahead.to_string(),
            ));
        }
    }
    let own = match (obs.head, obs.synced) {
        (Some(latest), Some(synced)) => latest.saturating_sub(synced),
        _ => 0,
    };
    let behind_pool = match (head, obs.synced) {
        (Some(h), Some(synced)) => h.saturating_sub(synced),
        _ => 0,
    };
    let lag = own.max(behind_pool);
    if lag > limits.max_lag {
        out.push(Exclusion::critical(
            "lag",
            lag.to_string(),
            limits.max_lag.to_string(),
        ));
    } else if let Some(w) = limits.warn_lag.filter(|&w| lag > w) {
        out.push(Exclusion::warn("lag", lag.to_string(), w.to_string()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: LagLimits = LagLimits {
        max_lag: 5,
        warn_lag: None,
        max_ahead: 5,
    };

    fn node(head: u64, synced: u64) -> Input {
        Input {
            observation: Observation {
                head: Some(head),
                synced: Some(synced),
                ..Default::default()
            },
            lag: Some(LIMITS),
        }
    }

    fn down() -> Input {
        Input {
            observation: Observation::failed(
                "unreachable",
                "connection refused".into(),
                Default::default(),
            ),
            lag: Some(LIMITS),
        }
    }

    fn levels(v: &[Verdict]) -> Vec<Level> {
        v.iter().map(|v| v.level).collect()
    }

    #[test]
    fn one_inflated_head_does_not_move_the_pool_head_and_is_flagged() {
        let (v, view) = judge(
            &[node(1000, 1000), node(1000, 1000), node(2000, 2000)],
            0.5,
            None,
        );
        assert_eq!(view.head, Some(1000));
        assert_eq!(levels(&v), [Level::Pass, Level::Pass, Level::Critical]);
        let e = &v[2].exclusions[0];
        assert_eq!(
            (e.reason, e.value.as_str(), e.threshold.as_str()),
            ("ahead_of_pool", "1000", "5")
        );
    }

    #[test]
    fn a_lagging_node_is_critical_with_value_and_threshold() {
        let (v, view) = judge(
            &[node(1000, 1000), node(1001, 1001), node(500, 500)],
            0.5,
            None,
        );
        assert_eq!(view.head, Some(1000));
        assert_eq!(levels(&v), [Level::Pass, Level::Pass, Level::Critical]);
        assert_eq!(v[2].exclusions[0].describe(), "lag: 500 (limit 5)");
        // IRI: the node's own latest - solid counts too.
        let (v, _) = judge(
            &[node(1000, 1000), node(1000, 1000), node(1000, 900)],
            0.5,
            None,
        );
        assert_eq!(levels(&v), [Level::Pass, Level::Pass, Level::Critical]);
    }

    #[test]
    fn a_condition_every_node_shares_ejects_nobody() {
        // Every node 50 milestones behind its own latest: a stalled coordinator.
        let (v, view) = judge(
            &[node(1000, 950), node(1000, 950), node(1000, 949)],
            0.5,
            None,
        );
        assert_eq!(levels(&v), [Level::Warn, Level::Warn, Level::Warn]);
        assert_eq!(view.pool_wide.len(), 1);
        assert!(view.pool_wide[0].contains("lag"), "{:?}", view.pool_wide);
        // Down nodes do not count as "every node", and stay out.
        let (v, view) = judge(&[node(1000, 950), down()], 0.5, None);
        assert_eq!(levels(&v), [Level::Warn, Level::Critical]);
        assert_eq!(view.pool_wide.len(), 1);
    }

    #[test]
    fn at_most_a_share_of_the_pool_is_out_for_one_reason() {
        // Four of six behind: with a 50 % cap only three go, the least behind stays.
        let inputs = [
            node(1000, 1000),
            node(1000, 1000),
            node(1000, 990),
            node(1000, 900),
            node(1000, 980),
            node(1000, 800),
        ];
        let (v, _) = judge(&inputs, 0.5, None);
        assert_eq!(
            levels(&v),
            [
                Level::Pass,
                Level::Pass,
                Level::Warn,
                Level::Critical,
                Level::Critical,
                Level::Critical
            ]
        );
        assert!(v[2].notes[0].contains("at most 3 of 6"), "{:?}", v[2].notes);
        // Hard failures are never kept in by the cap.
        let (v, _) = judge(&[down(), down(), node(1000, 1000)], 0.34, None);
        assert_eq!(levels(&v), [Level::Critical, Level::Critical, Level::Pass]);
    }

    #[test]
    fn a_cluster_majority_verdict_is_capped_like_any_reason() {
        // The cluster's majority says both nodes are critical: with a 50 %
        // cap one stays in (the last healthy one is never taken out by it).
        let mut inputs = [node(1000, 1000), node(1000, 1000)];
        for i in &mut inputs {
            i.observation.findings.push(Exclusion::critical(
                super::super::checker::CLUSTER_MAJORITY,
                "2 of 3 instances",
                "",
            ));
        }
        let (v, _) = judge(&inputs, 0.5, None);
        assert_eq!(levels(&v), [Level::Critical, Level::Warn]);
        assert!(
            v[1].notes[0].contains("cluster_majority"),
            "{:?}",
            v[1].notes
        );
    }

    #[test]
    fn two_nodes_and_quorums() {
        // Two nodes: the higher head is believed.
        let (v, view) = judge(&[node(1000, 1000), node(500, 500)], 0.5, None);
        assert_eq!(view.head, Some(1000));
        assert_eq!(levels(&v), [Level::Pass, Level::Critical]);
        // Demanding agreement of both: the lower head, and the higher one flagged.
        let (v, view) = judge(&[node(1000, 1000), node(500, 500)], 0.5, Some(2));
        assert_eq!(view.head, Some(500));
        assert_eq!(levels(&v), [Level::Critical, Level::Pass]);
        let (_, view) = judge(&[node(1000, 1000), node(500, 500)], 0.5, Some(3));
        assert_eq!(view.head, None);
    }
}
