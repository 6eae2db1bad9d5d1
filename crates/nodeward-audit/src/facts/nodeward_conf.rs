//! The parts of nodeward's own config file (/etc/nodeward/nodeward.toml on the
//! audited host) the audit needs to judge nodeward's firewall and bans: the SSH
//! port and open ports of `[firewall]`, the log sources of `[ban]`, and the
//! gateway's public listeners and autoban, and where `[fim]` keeps its
//! baseline. Read leniently (other keys are left
//! to `nodeward config check`), and a file that does not parse is reported with
//! its reason, never a panic or an audit failure.

use crate::host::Host;
use serde::Deserialize;
use std::collections::BTreeSet;
use std::net::SocketAddr;

/// The default config path on the audited host.
pub const PATH: &str = "/etc/nodeward/nodeward.toml";

/// What the audit reads from the config file.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct NodewardConf {
    /// `[firewall]`, when present.
    pub firewall: Option<FirewallPart>,
    /// `[ban]`, when present.
    pub ban: Option<BanPart>,
    /// `[gateway]`.
    pub gateway: GatewayPart,
    /// `[[listener]]`.
    pub listener: Vec<ListenerPart>,
    /// `[fim]`, when present.
    pub fim: Option<FimPart>,
}

/// `[fim]` keys the audit uses.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct FimPart {
    /// `database`: where `nodeward fim` keeps its baseline.
    pub database: Option<String>,
}

/// `[firewall]` keys the audit uses.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct FirewallPart {
    /// `ssh_port` (nodeward's default 22).
    pub ssh_port: Option<u16>,
    /// `profiles` whose ports are opened.
    pub profiles: Vec<String>,
    /// `[[firewall.allow]]`.
    pub allow: Vec<AllowPart>,
    /// `state_dir`.
    pub state_dir: Option<String>,
}

/// A `[[firewall.allow]]` rule.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct AllowPart {
    /// `tcp` or `udp`.
    pub proto: String,
    /// `"80,443"`, `"3000-3999"` or a number.
    pub ports: PortsValue,
    /// Sources; absent means everywhere.
    #[serde(default)]
    pub from: Option<Vec<String>>,
}

/// A port list written as a number or a string.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum PortsValue {
    /// `8080`.
    Number(u16),
    /// `"80,443"`.
    Text(String),
}

impl PortsValue {
    /// As text.
    pub fn text(&self) -> String {
        match self {
            PortsValue::Number(n) => n.to_string(),
            PortsValue::Text(t) => t.clone(),
        }
    }
}

impl AllowPart {
    /// Whether the rule admits every source (no `from`, or `0.0.0.0/0` / `::/0`).
    pub fn open_to_all(&self) -> bool {
        match &self.from {
            None => true,
            Some(f) => f
                .iter()
                .any(|s| matches!(s.trim(), "0.0.0.0/0" | "::/0" | "0/0" | "any")),
        }
    }
}

/// `[ban]` keys the audit uses.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct BanPart {
    /// Syslog-format auth logs (only sshd lines count).
    pub logs: Vec<String>,
    /// `sshd -E` files.
    pub sshd_logs: Vec<String>,
    /// Gateway violation logs.
    pub gateway_logs: Vec<String>,
    /// `auto`, `on` or `off` (default auto).
    pub journald: Option<String>,
}

/// `[gateway]` keys the audit uses.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct GatewayPart {
    /// `[gateway.autoban]`.
    pub autoban: Option<AutobanPart>,
}

/// `[gateway.autoban]` keys the audit uses.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default)]
pub struct AutobanPart {
    /// Where counted violations are appended (for `nodeward ban`).
    pub violations_log: Option<String>,
}

/// A `[[listener]]`.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
pub struct ListenerPart {
    /// `IP:port`.
    pub bind: String,
}

/// How `nodeward ban watch` would follow sshd failures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SshdSource {
    /// Log files (`ban.logs`, `ban.sshd_logs`).
    Files(Vec<String>),
    /// The systemd journal (`journald = "on"`, or `auto` with no files).
    Journal(String),
    /// None, with the reason.
    None(String),
}

impl NodewardConf {
    /// Parses config text; the error names the file and what is wrong.
    pub fn parse(path: &str, text: &str) -> Result<NodewardConf, String> {
        toml::from_str(text).map_err(|e| {
            let at = e
                .span()
                .map(|r| {
                    let before = text.get(..r.start).unwrap_or(text);
                    format!(":{}", before.matches('\n').count() + 1)
                })
                .unwrap_or_default();
            format!("{path}{at}: {}", e.message())
        })
    }

    /// The sshd source of `[ban]`; `journal_available` says whether this host
    /// has a systemd journal for `journald = "auto"`.
    pub fn sshd_source(&self, journal_available: bool) -> SshdSource {
        let Some(ban) = &self.ban else {
            return if journal_available {
                SshdSource::Journal("no [ban] table: journald (auto) is followed".into())
            } else {
                SshdSource::None("no [ban] table and no systemd journal".into())
            };
        };
        let mut files: Vec<String> = ban.logs.clone();
        files.extend(ban.sshd_logs.iter().cloned());
        let mode = ban.journald.as_deref().unwrap_or("auto");
        match mode {
            "on" => SshdSource::Journal("ban.journald = \"on\"".into()),
            _ if !files.is_empty() => SshdSource::Files(files),
            "auto" if journal_available => {
                SshdSource::Journal("ban.journald = \"auto\" and no log files: journald".into())
            }
            "auto" => SshdSource::None(
                "ban.logs and ban.sshd_logs are empty and there is no systemd journal".into(),
            ),
            "off" => SshdSource::None(
                "ban.journald = \"off\" and ban.logs and ban.sshd_logs are empty".into(),
            ),
            other => SshdSource::None(format!(
                "ban.journald = {other:?} is not auto, on or off (ban watch refuses the config)"
            )),
        }
    }

    /// Ports of `[[listener]]` binds on public (non-loopback) addresses, with
    /// the binds that do not parse.
    pub fn public_listener_ports(&self) -> (BTreeSet<u16>, Vec<String>) {
        let mut ports = BTreeSet::new();
        let mut bad = Vec::new();
        for l in &self.listener {
            match l.bind.parse::<SocketAddr>() {
                Ok(a) if crate::facts::sockets::is_public(&a.ip()) => {
                    ports.insert(a.port());
                }
                Ok(_) => {}
                Err(_) => bad.push(l.bind.clone()),
            }
        }
        (ports, bad)
    }

    /// Whether `[ban] gateway_logs` follows the log the gateway's autoban writes.
    pub fn gateway_feeds_ban(&self) -> Result<String, String> {
        let logs = self
            .ban
            .as_ref()
            .map(|b| b.gateway_logs.clone())
            .unwrap_or_default();
        if logs.is_empty() {
            return Err("ban.gateway_logs is empty".into());
        }
        match self
            .gateway
            .autoban
            .as_ref()
            .and_then(|a| a.violations_log.clone())
        {
            Some(v) if logs.contains(&v) => Ok(format!("ban.gateway_logs follows {v}")),
            Some(v) => Err(format!(
                "ban.gateway_logs ({}) does not include the gateway's violations_log {v}",
                logs.join(", ")
            )),
            None => Err(format!(
                "ban.gateway_logs ({}) is set but [gateway.autoban] violations_log is not, so the gateway writes nothing there",
                logs.join(", ")
            )),
        }
    }
}

/// Reads the config at `path` on `host`: `Ok(None)` when it does not exist,
/// `Err(reason)` when it cannot be read or parsed.
pub fn read(host: &dyn Host, path: &str) -> Result<Option<NodewardConf>, String> {
    match host.read_text(path) {
        Ok(text) => NodewardConf::parse(path, &text).map(Some),
        Err(e) if e.is_missing() => Ok(None),
        Err(e) => Err(e.reason),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_parts_and_ignores_the_rest() {
        let c = NodewardConf::parse(
            "n.toml",
            "[gateway]\nmax_connections = 10\n[gateway.autoban]\nthreshold = 5\nviolations_log = \"/var/log/nw/v.jsonl\"\n\
             [[listener]]\nbind = \"0.0.0.0:443\"\n[[listener]]\nbind = \"127.0.0.1:8080\"\n[[listener]]\nbind = \"[::]:80\"\n\
             [[listener]]\nbind = \"nonsense\"\n\
             [firewall]\nssh_port = 2222\n[[firewall.allow]]\nproto = \"tcp\"\nports = \"9000-9001\"\n\
             [ban]\nmaxretry = 3\ngateway_logs = [\"/var/log/nw/v.jsonl\"]\n",
        )
        .unwrap();
        let (ports, bad) = c.public_listener_ports();
        assert_eq!(ports.into_iter().collect::<Vec<_>>(), vec![80, 443]);
        assert_eq!(bad, vec!["nonsense".to_string()]);
        assert!(c.gateway_feeds_ban().is_ok());
        assert!(c.firewall.as_ref().unwrap().allow[0].open_to_all());
        assert_eq!(
            c.sshd_source(true),
            SshdSource::Journal("ban.journald = \"auto\" and no log files: journald".into())
        );
        assert!(matches!(c.sshd_source(false), SshdSource::None(_)));
    }

    #[test]
    fn bad_files_say_where() {
        let e =
            NodewardConf::parse("/etc/nodeward/nodeward.toml", "[ban]\nlogs = 5\n").unwrap_err();
        assert!(e.starts_with("/etc/nodeward/nodeward.toml:2: "), "{e}");
        let e = NodewardConf::parse("n.toml", "[ban\n").unwrap_err();
        assert!(e.contains("n.toml"), "{e}");
        let c = NodewardConf::parse(
            "n.toml",
            "[ban]\njournald = \"off\"\nsshd_logs = [\"/var/log/sshd.log\"]\n",
        )
        .unwrap();
        assert_eq!(
            c.sshd_source(true),
            SshdSource::Files(vec!["/var/log/sshd.log".into()])
        );
        let c = NodewardConf::parse("n.toml", "[ban]\njournald = \"off\"\n").unwrap();
        assert!(matches!(c.sshd_source(true), SshdSource::None(_)));
    }
}
