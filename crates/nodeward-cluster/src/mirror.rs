//! What this instance last saw in etcd, so that a resync after a lost watch
//! (etcd restarted, revision compacted, network cut) turns a fresh snapshot
//! into exactly the puts and deletes that were missed: nothing stale stays,
//! nothing made locally and not yet written is dropped.

use crate::keys::Kind;
use std::collections::HashMap;

/// One change to hand to the gateway.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// `name` of `kind` now holds `value`.
    Put(Kind, String, Vec<u8>),
    /// `name` of `kind` is gone.
    Delete(Kind, String),
}

/// The replicated keys as last seen, with the revision they are as of.
#[derive(Debug, Default)]
pub struct Mirror {
    known: HashMap<(Kind, String), Vec<u8>>,
    revision: i64,
}

impl Mirror {
    /// The etcd revision the mirror is up to date with.
    pub fn revision(&self) -> i64 {
        self.revision
    }

    /// Replaces the mirror with a full snapshot taken at `revision`; returns
    /// the changes against what was known.
    pub fn resync(&mut self, revision: i64, entries: Vec<(Kind, String, Vec<u8>)>) -> Vec<Change> {
        let mut next: HashMap<(Kind, String), Vec<u8>> = HashMap::with_capacity(entries.len());
        for (k, n, v) in entries {
            next.insert((k, n), v);
        }
        let mut changes = Vec::new();
        for (key, _) in self.known.iter() {
            if !next.contains_key(key) {
                changes.push(Change::Delete(key.0, key.1.clone()));
            }
        }
        for (key, value) in &next {
            if self.known.get(key) != Some(value) {
                changes.push(Change::Put(key.0, key.1.clone(), value.clone()));
            }
        }
        self.known = next;
        self.revision = revision;
        changes
    }

    /// Applies one watched event at `revision`; `None` when it changes nothing.
    pub fn event(&mut self, revision: i64, change: Change) -> Option<Change> {
        self.revision = self.revision.max(revision);
        match &change {
            Change::Put(k, n, v) => {
                if self.known.get(&(*k, n.clone())) == Some(v) {
                    return None;
                }
                self.known.insert((*k, n.clone()), v.clone());
            }
            Change::Delete(k, n) => {
                self.known.remove(&(*k, n.clone()))?;
            }
        }
        Some(change)
    }

    /// How many keys are known.
    pub fn len(&self) -> usize {
        self.known.len()
    }

    /// Whether no key is known.
    pub fn is_empty(&self) -> bool {
        self.known.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resync_reports_what_was_missed() {
        let mut m = Mirror::default();
        let first = m.resync(
            5,
            vec![
                (Kind::Ban, "10.0.0.1".into(), b"a".to_vec()),
                (Kind::Registration, "p/x".into(), b"r".to_vec()),
            ],
        );
        assert_eq!(first.len(), 2);
        assert_eq!(
            m.event(6, Change::Put(Kind::Ban, "10.0.0.1".into(), b"a".to_vec())),
            None
        );
        // While the watch was lost: the ban expired, a registration changed, one was added.
        let mut missed = m.resync(
            9,
            vec![
                (Kind::Registration, "p/x".into(), b"r2".to_vec()),
                (Kind::Registration, "p/y".into(), b"s".to_vec()),
            ],
        );
        missed.sort_by_key(|c| format!("{c:?}"));
        assert_eq!(
            missed,
            vec![
                Change::Delete(Kind::Ban, "10.0.0.1".into()),
                Change::Put(Kind::Registration, "p/x".into(), b"r2".to_vec()),
                Change::Put(Kind::Registration, "p/y".into(), b"s".to_vec()),
            ]
        );
        assert_eq!(m.revision(), 9);
        assert_eq!(m.event(10, Change::Delete(Kind::Ban, "nope".into())), None);
        assert_eq!(m.len(), 2);
    }
}
