//! Whether nodeward's own firewall (table `inet nodeward`) survives a reboot:
//! `nodeward firewall confirm` persists the ruleset to
//! /etc/nodeward/firewall.nft and `nodeward-firewall.service` (a oneshot wanted
//! by sysinit.target) loads it at boot. An /etc/nftables.conf that loads the
//! same file or table (with nftables.service enabled) counts too.

use super::nftables::{analyse_nft, InputPolicy};
use super::systemd::EnabledUnits;
use crate::host::Host;

/// Where `nodeward firewall confirm` persists the ruleset.
pub const RULESET_FILE: &str = "/etc/nodeward/firewall.nft";
/// The unit that loads it at boot.
pub const BOOT_UNIT: &str = "nodeward-firewall.service";
/// nodeward's nftables table, as `FAMILY NAME`.
pub const TABLE: &str = "inet nodeward";

/// Whether a ruleset holds nodeward's firewall: an input chain of table
/// `inet nodeward` other than `ban_input` (which `nodeward ban watch` creates
/// on its own, with policy accept, to drop banned sources only).
pub fn has_firewall(p: &InputPolicy) -> bool {
    let prefix = format!("table {TABLE} chain ");
    p.chains
        .iter()
        .any(|c| c.starts_with(&prefix) && !c[prefix.len()..].starts_with("ban_input:"))
}

/// What /etc/nodeward/firewall.nft holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RulesetFile {
    /// Not there.
    Missing,
    /// There but unreadable (binary, too large, permission), with the reason.
    Unreadable(String),
    /// There, without nodeward's firewall (no input chain of `table inet nodeward`).
    NoTable,
    /// The persisted table and what its input chains do.
    Table(InputPolicy),
}

/// How nodeward's firewall is persisted on a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Persistence {
    /// The persisted ruleset file.
    pub file: RulesetFile,
    /// The link enabling `nodeward-firewall.service` at boot.
    pub unit: Option<String>,
    /// Another boot path that loads the table (nftables.service with an
    /// /etc/nftables.conf naming it), described.
    pub other_loader: Option<String>,
}

impl Persistence {
    /// Reads the file and the boot links of `host`.
    pub fn read(host: &dyn Host, units: &EnabledUnits) -> Persistence {
        let file = match host.read_text(RULESET_FILE) {
            Ok(text) => {
                let p = analyse_nft(&text);
                if has_firewall(&p) {
                    RulesetFile::Table(p)
                } else {
                    RulesetFile::NoTable
                }
            }
            Err(e) if e.is_missing() => RulesetFile::Missing,
            Err(e) => RulesetFile::Unreadable(e.reason),
        };
        let unit = units.enabled(BOOT_UNIT).map(String::from);
        let other_loader = units.enabled("nftables.service").and_then(|link| {
            let conf = host.read_text("/etc/nftables.conf").ok()?;
            let names_it = conf.contains(RULESET_FILE) || has_firewall(&analyse_nft(&conf));
            names_it.then(|| {
                format!("nftables.service enabled ({link}) and /etc/nftables.conf loads {TABLE}")
            })
        });
        Persistence {
            file,
            unit,
            other_loader,
        }
    }

    /// `Some(evidence)` when the table is loaded at boot.
    pub fn persisted(&self) -> Option<String> {
        match (&self.file, &self.unit) {
            (RulesetFile::Table(_), Some(link)) => Some(format!(
                "{RULESET_FILE} holds table {TABLE}, loaded at boot by {BOOT_UNIT} ({link})"
            )),
            _ => self.other_loader.clone(),
        }
    }

    /// Why the table is not loaded at boot (when [`Self::persisted`] is `None`).
    pub fn gap(&self) -> String {
        let file = match &self.file {
            RulesetFile::Missing => format!("{RULESET_FILE} does not exist"),
            RulesetFile::Unreadable(why) => format!("{RULESET_FILE} cannot be read: {why}"),
            RulesetFile::NoTable => {
                format!("{RULESET_FILE} holds no input chain of table {TABLE}")
            }
            RulesetFile::Table(_) => format!("{RULESET_FILE} holds table {TABLE}"),
        };
        let unit = match &self.unit {
            Some(link) => format!("{BOOT_UNIT} is enabled ({link})"),
            None => format!("{BOOT_UNIT} is not enabled"),
        };
        format!("{file} and {unit}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ban_sets_alone_are_not_the_firewall() {
        // What `nodeward ban watch` loads by itself.
        let bans = analyse_nft("table inet nodeward {\n\tset ban4 {\n\t\ttype ipv4_addr\n\t}\n\tchain ban_input {\n\t\ttype filter hook input priority filter - 10; policy accept;\n\t\tip saddr @ban4 drop\n\t}\n}\n");
        assert!(bans.tables.contains(&TABLE.to_string()));
        assert!(!has_firewall(&bans));
        let fw = analyse_nft("table inet nodeward {\n\tchain ban_input {\n\t\ttype filter hook input priority -10; policy accept;\n\t}\n\tchain input {\n\t\ttype filter hook input priority 0; policy drop;\n\t}\n}\n");
        assert!(has_firewall(&fw));
        let other = analyse_nft("table inet filter {\n\tchain input {\n\t\ttype filter hook input priority 0; policy drop;\n\t}\n}\n");
        assert!(!has_firewall(&other));
    }
}
