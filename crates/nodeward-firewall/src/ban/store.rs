//! Active bans and offence counts, persisted atomically so a restart restores them.
//!
//! Several processes change the store (`ban watch`, `ban add`, `ban remove`): every
//! change goes through [`BanStore::update`], which holds the store's lock
//! ([`super::lock`]) from loading to the atomic save, so no change is lost.

use super::lock::StoreLock;
use crate::error::Result;
use crate::ruleset::BanElement;
use crate::state::{read_json, write_json};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// One ban.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct BanRecord {
    /// When it started (Unix seconds).
    pub since: u64,
    /// When it ends (Unix seconds).
    pub until: u64,
    /// Why (`sshd: 5 failures`, `manual`).
    pub reason: String,
}

/// The persisted ban state (`<state_dir>/ban/bans.json`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct BanStore {
    /// Bans by address (expired ones are dropped on save).
    #[serde(default)]
    pub bans: BTreeMap<IpAddr, BanRecord>,
    /// How many times each address has been banned (drives growing bans).
    #[serde(default)]
    pub offences: BTreeMap<IpAddr, u32>,
}

/// The most offence records kept.
const MAX_OFFENCES: usize = 100_000;

impl BanStore {
    /// The file under `state_dir`.
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join("ban").join("bans.json")
    }

    /// Loads the store (empty when missing).
    pub fn load(state_dir: &Path) -> Result<Self> {
        Ok(read_json(&Self::path(state_dir))?.unwrap_or_default())
    }

    /// Changes the store under its lock: loads what is on disk now, applies
    /// `change`, saves atomically (dropping bans that ended before `now`) and
    /// unlocks. Nothing is saved when `change` fails.
    pub fn update<T>(
        state_dir: &Path,
        now: u64,
        change: impl FnOnce(&mut BanStore) -> Result<T>,
    ) -> Result<T> {
        let _lock = StoreLock::acquire(state_dir)?;
        let mut store = Self::load(state_dir)?;
        let out = change(&mut store)?;
        store.save(state_dir, now)?;
        Ok(out)
    }

    /// Saves atomically, dropping bans that ended before `now` (the caller holds the lock).
    fn save(&mut self, state_dir: &Path, now: u64) -> Result<()> {
        self.bans.retain(|_, b| b.until > now);
        if self.offences.len() > MAX_OFFENCES {
            let keep: Vec<IpAddr> = self.bans.keys().copied().collect();
            self.offences.retain(|a, _| keep.contains(a));
        }
        write_json(&Self::path(state_dir), self)
    }

    /// Bans still active at `now`, as elements for the nft sets.
    pub fn active_elements(&self, now: u64) -> Vec<BanElement> {
        self.bans
            .iter()
            .filter(|(_, b)| b.until > now)
            .map(|(a, b)| BanElement {
                addr: *a,
                remaining: Duration::from_secs(b.until - now),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_updates_all_survive() {
        let dir = tempfile::tempdir().unwrap();
        let now = 1_000;
        let threads: Vec<_> = (0..8u8)
            .map(|t| {
                let dir = dir.path().to_path_buf();
                std::thread::spawn(move || {
                    for i in 0..20u8 {
                        BanStore::update(&dir, now, |s| {
                            s.bans.insert(
                                IpAddr::from([192, 0, t, i]),
                                BanRecord {
                                    since: now,
                                    until: now + 60,
                                    reason: "t".into(),
                                },
                            );
                            Ok(())
                        })
                        .unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(BanStore::load(dir.path()).unwrap().bans.len(), 160);
        // A failed change saves nothing.
        let err = BanStore::update(dir.path(), now, |s| {
            s.bans.clear();
            Err::<(), _>(crate::Error::Usage("no".into()))
        });
        assert!(err.is_err());
        assert_eq!(BanStore::load(dir.path()).unwrap().bans.len(), 160);
    }
}
