//! The `[firewall]` and `[ban]` tables of the config file, as written.
//!
//! These structs only mirror the TOML; [`crate::policy::Policy`] and
//! [`crate::ban::BanSettings`] turn them into checked models.

use crate::ports::PortList;
use nodeward_config::{load_sections, read_config_file, ConfigError, Duration, Rate};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The tables this crate owns.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct Sections {
    /// `[firewall]`.
    pub firewall: FirewallSection,
    /// `[ban]`.
    pub ban: BanSection,
}

/// Reads `path` and returns the `[firewall]` and `[ban]` tables (defaults when absent).
pub fn load(path: &Path) -> Result<Sections, ConfigError> {
    let text = read_config_file(path)?;
    load_sections(path, &text)
}

/// The top-level tables this crate owns (for `nodeward config check`).
pub const OWNED_TABLES: &[&str] = &["firewall", "ban"];

/// Validates the `[firewall]` and `[ban]` tables of a config text as `firewall
/// apply` and `ban watch` would (without touching the system).
pub fn check_text(path: &Path, text: &str) -> Result<(), ConfigError> {
    let sections: Sections = load_sections(path, text)?;
    crate::policy::Policy::from_section(path, &sections.firewall)?;
    crate::ban::BanSettings::from_sections(path, &sections)?;
    Ok(())
}

/// `[firewall]`: the declarative inbound (and optional outbound) policy.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FirewallSection {
    /// The SSH port, always allowed (from `ssh_from`, default everywhere).
    pub ssh_port: u16,
    /// Sources allowed to reach `ssh_port`; empty means everywhere.
    pub ssh_from: Vec<String>,
    /// Sources with full access, never banned.
    pub trusted: Vec<String>,
    /// Node profiles whose default ports are opened to everyone (`iota`, `ilp`, ...).
    pub profiles: Vec<String>,
    /// New connections per second (or minute...) allowed per source to public ports.
    pub new_conn_rate: Option<Rate>,
    /// `true`: outbound traffic is limited to `allow_out` (plus DNS replies, loopback, established).
    pub egress: bool,
    /// Inbound allow rules.
    pub allow: Vec<AllowSection>,
    /// Outbound allow rules (used only when `egress = true`).
    pub allow_out: Vec<AllowOutSection>,
    /// Where nodeward keeps firewall and ban state (default `/var/lib/nodeward`).
    pub state_dir: Option<PathBuf>,
    /// Where the confirmed ruleset is kept for boot (default `/etc/nodeward/firewall.nft`).
    pub persist_file: Option<PathBuf>,
}

impl Default for FirewallSection {
    fn default() -> Self {
        FirewallSection {
            ssh_port: 22,
            ssh_from: Vec::new(),
            trusted: Vec::new(),
            profiles: Vec::new(),
            new_conn_rate: Some(Rate {
                count: 30,
                per: std::time::Duration::from_secs(1),
            }),
            egress: false,
            allow: Vec::new(),
            allow_out: Vec::new(),
            state_dir: None,
            persist_file: None,
        }
    }
}

/// Transport protocol of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Proto {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}

impl Proto {
    /// The nftables keyword.
    pub fn as_str(self) -> &'static str {
        match self {
            Proto::Tcp => "tcp",
            Proto::Udp => "udp",
        }
    }
}

/// One `[[firewall.allow]]` rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowSection {
    /// `tcp` or `udp`.
    pub proto: Proto,
    /// Ports: `"14265,15600"`, `"3000-3999"`.
    pub ports: PortList,
    /// Allowed sources; absent means everywhere (IPv4 and IPv6).
    pub from: Option<Vec<String>>,
    /// Rate-limit new connections per source (default: yes when open to everywhere).
    pub rate_limit: Option<bool>,
}

/// One `[[firewall.allow_out]]` rule.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AllowOutSection {
    /// `tcp` or `udp`.
    pub proto: Proto,
    /// Destination ports.
    pub ports: PortList,
    /// Allowed destinations; absent means everywhere.
    pub to: Option<Vec<String>>,
}

/// Whether `ban watch` follows the systemd journal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum JournalMode {
    /// When no sshd log files are configured and `journalctl` works.
    #[default]
    Auto,
    /// Always (error when journalctl is unavailable).
    On,
    /// Never.
    Off,
}

/// `[ban]`: which logs to follow and when to ban.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct BanSection {
    /// Failures within `findtime` that trigger a ban.
    pub maxretry: u32,
    /// The window failures are counted in.
    pub findtime: Duration,
    /// Length of a first ban.
    pub bantime: Duration,
    /// Each further ban of the same source lasts this many times longer.
    pub bantime_factor: u32,
    /// Upper bound for grown bans.
    pub max_bantime: Duration,
    /// Syslog-format auth logs (`/var/log/auth.log`); journald when empty and available.
    pub logs: Vec<PathBuf>,
    /// Files written by `sshd -E` (bare sshd messages without a syslog prefix).
    pub sshd_logs: Vec<PathBuf>,
    /// Gateway violation logs (JSON lines with `ts`, `client_ip`, `reason`).
    pub gateway_logs: Vec<PathBuf>,
    /// Follow journald (`auto`, `on`, `off`).
    pub journald: JournalMode,
    /// Extra failure patterns for sshd messages; `<HOST>` marks the address.
    pub patterns: Vec<String>,
    /// Extra sources never banned (in addition to `firewall.trusted` and loopback).
    pub ignore: Vec<String>,
}

impl Default for BanSection {
    fn default() -> Self {
        let secs = |s| Duration(std::time::Duration::from_secs(s));
        BanSection {
            maxretry: 5,
            findtime: secs(600),
            bantime: secs(3600),
            bantime_factor: 2,
            max_bantime: secs(7 * 86_400),
            logs: Vec::new(),
            sshd_logs: Vec::new(),
            gateway_logs: Vec::new(),
            journald: JournalMode::Auto,
            patterns: Vec::new(),
            ignore: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_example_parses() {
        let text = r#"
[gateway]
whatever = 1

[firewall]
ssh_port = 22
trusted = ["203.0.113.7/32"]
egress = false

[[firewall.allow]]
proto = "tcp"
ports = "14265,15600"
from = ["0.0.0.0/0", "::/0"]

[ban]
maxretry = 5
findtime = "10m"
bantime = "1h"
logs = ["/var/log/auth.log"]
"#;
        let s: Sections = load_sections(Path::new("n.toml"), text).unwrap();
        assert_eq!(s.firewall.allow[0].ports.to_string(), "14265,15600");
        assert_eq!(s.ban.findtime.get().as_secs(), 600);
    }

    #[test]
    fn bad_ports_name_the_line() {
        let text = "[firewall]\n[[firewall.allow]]\nproto = \"tcp\"\nports = \"4000-3000\"\n";
        let err = load_sections::<Sections>(Path::new("n.toml"), text).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("n.toml:4:"), "{msg}");
        assert!(msg.contains("impossible"), "{msg}");
    }

    #[test]
    fn check_text_validates_both_tables() {
        let p = Path::new("n.toml");
        assert!(check_text(p, "[firewall]\nssh_port = 22\n[ban]\nmaxretry = 3\n").is_ok());
        let msg = check_text(p, "[firewall]\ntrusted = [\"nope\"]\n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("firewall.trusted[0]"), "{msg}");
        let msg = check_text(p, "[ban]\nmaxretry = 0\n")
            .unwrap_err()
            .to_string();
        assert!(msg.contains("ban.maxretry"), "{msg}");
    }

    #[test]
    fn unknown_keys_are_refused() {
        let text = "[ban]\nmaxretries = 5\n";
        let msg = load_sections::<Sections>(Path::new("n.toml"), text)
            .unwrap_err()
            .to_string();
        assert!(msg.contains("maxretries"), "{msg}");
    }
}
