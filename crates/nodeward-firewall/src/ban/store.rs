//! Active bans and offence counts, persisted atomically so a restart restores them.

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

    /// Saves atomically, dropping bans that ended before `now`.
    pub fn save(&mut self, state_dir: &Path, now: u64) -> Result<()> {
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
