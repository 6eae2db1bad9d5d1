//! The ban engine: log sources, failure parsing, counting, bans in nftables sets.
//!
//! A line flows: source ([`follow`], [`journal`]) -> [`lines`] (bounded) ->
//! [`source::parse_line`] ([`syslog`], [`sshd`], [`gateway`], [`patterns`]) ->
//! [`tracker`] -> ban: [`store`] (persisted) and [`nftset`] (kernel, with timeout).

pub mod follow;
pub mod gateway;
pub mod journal;
pub mod lines;
pub mod lock;
pub mod manage;
pub mod nftset;
pub mod patterns;
pub mod scan;
pub mod source;
pub mod sshd;
pub mod store;
pub mod syslog;
pub mod tracker;
pub mod watch;

pub use store::BanStore;

use crate::config::{JournalMode, Sections};
use nodeward_config::ConfigError;
use patterns::Patterns;
use std::path::{Path, PathBuf};
use tracker::Thresholds;

/// The checked `[ban]` settings.
#[derive(Debug, Clone)]
pub struct BanSettings {
    /// Counting thresholds and the never-ban list.
    pub thresholds: Thresholds,
    /// Syslog-format files.
    pub logs: Vec<PathBuf>,
    /// Bare sshd message files (`sshd -E`).
    pub sshd_logs: Vec<PathBuf>,
    /// Gateway violation files.
    pub gateway_logs: Vec<PathBuf>,
    /// Journal use.
    pub journald: JournalMode,
    /// Extra patterns.
    pub patterns: Patterns,
}

impl BanSettings {
    /// Checks the `[ban]` table (and takes `firewall.trusted` as never-ban).
    pub fn from_sections(path: &Path, s: &Sections) -> Result<Self, ConfigError> {
        let b = &s.ban;
        let bad = |key: &str, msg: String| ConfigError::invalid(path, format!("ban.{key}"), msg);
        if b.maxretry == 0 {
            return Err(bad("maxretry", "must be at least 1".into()));
        }
        if b.findtime.get().as_secs() == 0 {
            return Err(bad("findtime", "must be at least 1s".into()));
        }
        if b.bantime.get().as_secs() == 0 {
            return Err(bad("bantime", "must be at least 1s".into()));
        }
        if b.max_bantime < b.bantime {
            return Err(bad(
                "max_bantime",
                format!("{} is shorter than bantime {}", b.max_bantime, b.bantime),
            ));
        }
        if b.bantime_factor == 0 {
            return Err(bad(
                "bantime_factor",
                "must be at least 1 (1 = bans do not grow)".into(),
            ));
        }
        let mut ignore = Vec::new();
        for (i, t) in s.firewall.trusted.iter().enumerate() {
            ignore
                .push(crate::addr::parse_net(t).map_err(|m| {
                    ConfigError::invalid(path, format!("firewall.trusted[{i}]"), m)
                })?);
        }
        for (i, t) in b.ignore.iter().enumerate() {
            ignore.push(crate::addr::parse_net(t).map_err(|m| bad(&format!("ignore[{i}]"), m))?);
        }
        let patterns =
            Patterns::compile(&b.patterns).map_err(|(i, m)| bad(&format!("patterns[{i}]"), m))?;
        Ok(BanSettings {
            thresholds: Thresholds {
                maxretry: b.maxretry,
                findtime: b.findtime.get().as_secs(),
                bantime: b.bantime.get().as_secs(),
                factor: b.bantime_factor,
                max_bantime: b.max_bantime.get().as_secs(),
                ignore,
            },
            logs: b.logs.clone(),
            sshd_logs: b.sshd_logs.clone(),
            gateway_logs: b.gateway_logs.clone(),
            journald: b.journald,
            patterns,
        })
    }
}

/// Puts the persisted active bans back into the kernel (after a restart or a roll-back);
/// returns how many. Does nothing (and creates no table) when there are none.
pub fn reload_active_bans(state_dir: &Path) -> crate::error::Result<usize> {
    let elements = BanStore::load(state_dir)?.active_elements(crate::state::unix_now());
    nftset::add(&elements)?;
    Ok(elements.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use nodeward_config::load_sections;

    #[test]
    fn settings_are_checked() {
        let p = Path::new("n.toml");
        let ok: Sections = load_sections(
            p,
            "[firewall]\ntrusted=[\"203.0.113.7\"]\n[ban]\nmaxretry=3\n",
        )
        .unwrap();
        let s = BanSettings::from_sections(p, &ok).unwrap();
        assert_eq!(s.thresholds.maxretry, 3);
        assert_eq!(s.thresholds.ignore.len(), 1);
        for (text, key) in [
            ("[ban]\nmaxretry=0\n", "ban.maxretry"),
            (
                "[ban]\nbantime=\"1h\"\nmax_bantime=\"1m\"\n",
                "ban.max_bantime",
            ),
            ("[ban]\nignore=[\"1.2.3.4/40\"]\n", "ban.ignore[0]"),
            ("[ban]\npatterns=[\"no host\"]\n", "ban.patterns[0]"),
        ] {
            let s: Sections = load_sections(p, text).unwrap();
            let msg = BanSettings::from_sections(p, &s).unwrap_err().to_string();
            assert!(msg.contains(key), "{msg}");
        }
    }
}
