//! Majority-critical ejection sharing in cluster mode.
//!
//! Each instance runs its own checks and publishes the backends its *own*
//! checks judge critical under `{prefix}/verdicts/{instance}/{pool}/{id}`, on
//! its instance lease (gone when it is). Every instance counts, per backend,
//! the live instances (`{prefix}/instances/`) that judge it critical; when
//! that is a strict majority of the live instances, the backend gets a
//! `cluster_majority` exclusion at the next check round even if this
//! instance's own check passes, and loses it when the majority goes away.
//! The exclusion goes through the pool's judgement like any reason, so the
//! `max_ejected_share` cap still keeps the last healthy backends in.
//! Verdicts that are only `cluster_majority` are never published (no echo).

use crate::state::Shared;
use nodeward_balance::health::checker::CLUSTER_MAJORITY;
use nodeward_balance::health::Level;
use nodeward_balance::BackendId;
use nodeward_cluster::{Cluster, Kind};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// A published verdict's value.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct VerdictValue {
    /// Why, as this instance's check said.
    reasons: String,
}

/// (pool, backend id)
type Target = (String, String);

/// What this instance knows of the cluster's verdicts.
#[derive(Debug, Default)]
pub struct Majority {
    inner: Mutex<Tables>,
}

#[derive(Debug, Default)]
struct Tables {
    live: HashSet<String>,
    verdicts: HashMap<String, HashMap<Target, String>>,
}

impl Majority {
    /// Instance `name` registered (`true`) or its lease ended (`false`).
    pub fn instance(&self, shared: &Shared, name: &str, alive: bool) {
        if self.record_instance(name, alive) {
            self.apply(shared);
        }
    }

    /// How many instances hold a live registration.
    pub fn live_instances(&self) -> usize {
        self.lock().live.len()
    }

    fn record_instance(&self, name: &str, alive: bool) -> bool {
        let mut t = self.lock();
        if alive {
            t.live.insert(name.to_string())
        } else {
            t.live.remove(name)
        }
    }

    /// Verdict key `name` (`{instance}/{pool}/{id}`) holds `value`, or is
    /// gone (`None`). A key that does not parse is an error (logged, counted).
    pub fn verdict(&self, shared: &Shared, name: &str, value: Option<&[u8]>) -> Result<(), String> {
        self.record_verdict(name, value)?;
        self.apply(shared);
        Ok(())
    }

    fn record_verdict(&self, name: &str, value: Option<&[u8]>) -> Result<(), String> {
        let mut parts = name.splitn(3, '/');
        let (Some(instance), Some(pool), Some(id)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(format!("verdict key {name:?} is not instance/pool/id"));
        };
        BackendId::parse(id).map_err(|e| format!("verdict key {name:?}: {e}"))?;
        let target = (pool.to_string(), id.to_string());
        {
            let mut t = self.lock();
            match value {
                Some(v) => {
                    let v: VerdictValue =
                        serde_json::from_slice(v).map_err(|e| format!("verdict {name:?}: {e}"))?;
                    t.verdicts
                        .entry(instance.to_string())
                        .or_default()
                        .insert(target, v.reasons);
                }
                None => {
                    if let Some(m) = t.verdicts.get_mut(instance) {
                        m.remove(&target);
                    }
                }
            }
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Per pool, the backends a strict majority of live instances judge critical.
    fn majorities(&self) -> HashMap<String, HashMap<BackendId, String>> {
        let t = self.lock();
        let live = t.live.len();
        let mut votes: HashMap<&Target, Vec<&str>> = HashMap::new();
        for (instance, targets) in &t.verdicts {
            if !t.live.contains(instance) {
                continue;
            }
            for target in targets.keys() {
                votes.entry(target).or_default().push(instance);
            }
        }
        let mut out: HashMap<String, HashMap<BackendId, String>> = HashMap::new();
        for ((pool, id), mut who) in votes {
            if who.len() * 2 <= live {
                continue;
            }
            let Ok(id) = BackendId::parse(id) else {
                continue;
            };
            who.sort_unstable();
            out.entry(pool.clone()).or_default().insert(
                id,
                format!("{} of {live} instances ({})", who.len(), who.join(", ")),
            );
        }
        out
    }

    fn apply(&self, shared: &Shared) {
        let mut m = self.majorities();
        for pool in shared.registry.pools().iter() {
            pool.balance
                .set_cluster_critical(m.remove(pool.name()).unwrap_or_default());
        }
    }
}

/// What this instance last published, so that only changes are written.
#[derive(Debug, Default)]
pub struct Published {
    lease: Option<String>,
    verdicts: HashMap<Target, String>,
}

/// Publishes this instance's own critical verdicts (called every sweep):
/// writes what changed, and everything again under a new lease.
pub fn publish(shared: &Shared, cluster: &Cluster, last: &mut Published) {
    let status = cluster.status();
    let Some(lease) = status.lease else {
        return;
    };
    let mut now: HashMap<Target, String> = HashMap::new();
    for pool in shared.registry.pools().iter() {
        for m in pool.balance.members().iter() {
            let Some(report) = m.core.health.report() else {
                continue;
            };
            let reasons: Vec<String> = report
                .exclusions
                .iter()
                .filter(|e| e.level == Level::Critical && e.reason != CLUSTER_MAJORITY)
                .map(|e| e.describe())
                .collect();
            if !reasons.is_empty() {
                now.insert(
                    (pool.name().to_string(), m.core.spec.id.to_string()),
                    reasons.join("; "),
                );
            }
        }
    }
    let fresh = last.lease.as_deref() != Some(lease.as_str());
    let key = |(pool, id): &Target| format!("{}/{pool}/{id}", status.instance);
    for (target, reasons) in &now {
        if fresh || last.verdicts.get(target) != Some(reasons) {
            let value = serde_json::to_vec(&VerdictValue {
                reasons: reasons.clone(),
            })
            .unwrap_or_default();
            cluster.put_on_lease(Kind::Verdict, &key(target), value);
        }
    }
    for target in last.verdicts.keys() {
        if !now.contains_key(target) {
            cluster.delete(Kind::Verdict, &key(target));
        }
    }
    last.lease = Some(lease);
    last.verdicts = now;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_strict_majority_of_live_instances_counts() {
        let m = Majority::default();
        let v = br#"{"reasons":"unreachable: refused"}"#;
        for i in ["a", "b", "c", "d"] {
            assert!(m.record_instance(i, true));
        }
        m.record_verdict("a/iri/b1", Some(v)).unwrap();
        m.record_verdict("b/iri/b1", Some(v)).unwrap();
        // 2 of 4 is not a strict majority.
        assert!(m.majorities().is_empty());
        m.record_verdict("c/iri/b1", Some(v)).unwrap();
        let got = m.majorities();
        let why = &got["iri"][&BackendId::parse("b1").unwrap()];
        assert!(why.starts_with("3 of 4 instances (a, b, c)"), "{why}");
        // A verdict of an instance whose lease ended does not count: 2 of 3.
        m.record_instance("c", false);
        let got = m.majorities();
        let why = &got["iri"][&BackendId::parse("b1").unwrap()];
        assert!(why.starts_with("2 of 3 instances (a, b)"), "{why}");
        m.record_verdict("b/iri/b1", None).unwrap();
        assert!(m.majorities().is_empty(), "1 of 3");
        // Garbage is refused.
        assert!(m.record_verdict("a/iri", Some(v)).is_err());
        assert!(m.record_verdict("a/iri/b1", Some(b"garbage")).is_err());
    }
}
