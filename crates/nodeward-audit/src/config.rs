//! The `[audit]` table of nodeward's config file.

use crate::profile::{AllowedPort, Profile};
use nodeward_config::{load_sections, read_config_file, ConfigError};
use serde::Deserialize;
use std::path::Path;

/// The tables `nodeward audit` owns.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AuditSections {
    /// `[audit]`.
    pub audit: AuditConfig,
}

/// A port in `allowed_ports`: `8080` (TCP), `"8080/udp"`, or a range
/// `"3000-3999/tcp"` (both ends included).
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(untagged)]
pub enum PortSpec {
    /// A TCP port.
    Number(u16),
    /// `PORT`, `LOW-HIGH`, either with `/tcp` or `/udp`.
    Text(String),
}

/// `[audit]`: which profile, and how the operator extends it.
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, deny_unknown_fields)]
pub struct AuditConfig {
    /// Profile name (overridden by `--profile`).
    pub profile: Option<String>,
    /// Extra ports allowed to listen publicly.
    pub allowed_ports: Vec<PortSpec>,
    /// Extra process names that are the node.
    pub node_processes: Vec<String>,
    /// Extra node API ports that must not be public.
    pub api_ports: Vec<u16>,
    /// Whether SSH logins must use a second factor (overrides the profile's default).
    pub require_mfa: Option<bool>,
}

impl AuditConfig {
    /// Loads `[audit]` from `path`. A missing file is an empty config only when
    /// `required` is false (the default path).
    pub fn load(path: &Path, required: bool) -> Result<AuditConfig, ConfigError> {
        if !required && !path.exists() {
            return Ok(AuditConfig::default());
        }
        let text = read_config_file(path)?;
        let sections: AuditSections = load_sections(path, &text)?;
        let cfg = sections.audit;
        cfg.validate(path)?;
        Ok(cfg)
    }

    /// Validates the `[audit]` table of an already-read config text (for
    /// `nodeward config check`).
    pub fn check_text(path: &Path, text: &str) -> Result<(), ConfigError> {
        let sections: AuditSections = load_sections(path, text)?;
        sections.audit.validate(path)
    }

    fn parse_port(spec: &PortSpec) -> Result<AllowedPort, String> {
        match spec {
            PortSpec::Number(0) => Err("port 0 is not a port (1-65535)".into()),
            PortSpec::Number(n) => Ok(AllowedPort {
                proto: "tcp",
                port: *n,
                last: *n,
            }),
            PortSpec::Text(t) => parse_port_text(t),
        }
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        if let Some(p) = &self.profile {
            p.parse::<Profile>()
                .map_err(|e| ConfigError::invalid(path, "audit.profile", e.to_string()))?;
        }
        for (i, spec) in self.allowed_ports.iter().enumerate() {
            Self::parse_port(spec)
                .map_err(|e| ConfigError::invalid(path, format!("audit.allowed_ports[{i}]"), e))?;
        }
        for (i, name) in self.node_processes.iter().enumerate() {
            if name.is_empty() || name.len() > 15 || name.contains('/') {
                return Err(ConfigError::invalid(
                    path,
                    format!("audit.node_processes[{i}]"),
                    "a process name is 1-15 characters without '/' (as in /proc/PID/comm)",
                ));
            }
        }
        Ok(())
    }

    /// Applies the extensions to `profile`.
    pub fn extend(&self, profile: &mut Profile) {
        for spec in &self.allowed_ports {
            if let Ok(p) = Self::parse_port(spec) {
                if !profile.allowed_ports.contains(&p) {
                    profile.allowed_ports.push(p);
                }
            }
        }
        for n in &self.node_processes {
            if !profile.node_processes.contains(n) {
                profile.node_processes.push(n.clone());
            }
        }
        for p in &self.api_ports {
            if !profile.api_ports.contains(p) {
                profile.api_ports.push(*p);
            }
        }
        if let Some(mfa) = self.require_mfa {
            profile.require_mfa = mfa;
        }
    }
}

/// Parses `PORT`, `LOW-HIGH`, optionally followed by `/tcp` or `/udp`.
fn parse_port_text(t: &str) -> Result<AllowedPort, String> {
    const SHAPE: &str = "PORT or LOW-HIGH, optionally with /tcp or /udp (\"8080\", \"9000/udp\", \"3000-3999/tcp\")";
    let (ports, proto) = t.split_once('/').unwrap_or((t, "tcp"));
    let proto = match proto.trim().to_ascii_lowercase().as_str() {
        "tcp" => "tcp",
        "udp" => "udp",
        other => return Err(format!("{t:?}: protocol {other:?} is not tcp or udp")),
    };
    let number = |p: &str| -> Result<u16, String> {
        let p = p.trim();
        if p.is_empty() || !p.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("{t:?} is not {SHAPE}"));
        }
        match p.parse::<u16>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(format!("{t:?}: {p} is not a port (1-65535)")),
        }
    };
    let (port, last) = match ports.split_once('-') {
        Some((low, high)) => {
            let (low, high) = (number(low)?, number(high)?);
            if low > high {
                return Err(format!(
                    "{t:?}: the range starts at {low}, above its end {high} (write LOW-HIGH)"
                ));
            }
            (low, high)
        }
        None => {
            let n = number(ports)?;
            (n, n)
        }
    };
    Ok(AllowedPort { proto, port, last })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_extends_and_rejects_with_locations() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("n.toml");
        std::fs::write(
            &path,
            "[gateway]\nx = 1\n[audit]\nprofile = \"hornet\"\nallowed_ports = [8080, \"9000/udp\"]\nnode_processes = [\"mynode\"]\n",
        )
        .unwrap();
        let cfg = AuditConfig::load(&path, true).unwrap();
        let mut p: Profile = "hornet".parse().unwrap();
        cfg.extend(&mut p);
        assert!(p.allows("tcp", 8080) && p.allows("udp", 9000));
        assert!(p.node_processes.contains(&"mynode".to_string()));
        assert!(!p.require_mfa);

        std::fs::write(&path, "[audit]\nrequire_mfa = true\n").unwrap();
        let mut p: Profile = "generic".parse().unwrap();
        AuditConfig::load(&path, true).unwrap().extend(&mut p);
        assert!(p.require_mfa);
        std::fs::write(
            &path,
            "[audit]\nprofile = \"cardano\"\nrequire_mfa = false\n",
        )
        .unwrap();
        let mut p: Profile = "cardano".parse().unwrap();
        assert!(p.require_mfa, "cardano requires MFA by default");
        AuditConfig::load(&path, true).unwrap().extend(&mut p);
        assert!(!p.require_mfa);
        std::fs::write(&path, "[audit]\nrequire_mfa = \"yes\"\n").unwrap();
        let e = AuditConfig::load(&path, true).unwrap_err().to_string();
        assert!(e.contains("require_mfa") || e.contains(":2"), "{e}");

        // A range, as the ILP guide opens 3000-3999/tcp.
        std::fs::write(
            &path,
            "[audit]\nallowed_ports = [\"3000-3999/tcp\", \" 5000 - 5001 / UDP \"]\n",
        )
        .unwrap();
        let cfg = AuditConfig::load(&path, true).unwrap();
        let mut p: Profile = "ilp".parse().unwrap();
        cfg.extend(&mut p);
        assert!(p.allows("tcp", 3000) && p.allows("tcp", 3456) && p.allows("tcp", 3999));
        assert!(!p.allows("tcp", 2999) && !p.allows("tcp", 4000) && !p.allows("udp", 3456));
        assert!(p.allows("udp", 5001) && !p.allows("tcp", 5001));
        assert!(p
            .allowed_ports
            .iter()
            .any(|a| a.to_string() == "3000-3999/tcp"));

        std::fs::write(&path, "[audit]\nprofile = \"x\"\n").unwrap();
        let e = AuditConfig::load(&path, true).unwrap_err().to_string();
        assert!(e.contains("audit.profile"), "{e}");
        std::fs::write(&path, "[audit]\nbogus = 1\n").unwrap();
        let e = AuditConfig::load(&path, true).unwrap_err().to_string();
        assert!(e.contains(":2:"), "{e}");
        std::fs::write(&path, "[audit]\nallowed_ports = [\"80/sctp\"]\n").unwrap();
        assert!(AuditConfig::load(&path, true).is_err());
        for (bad, says) in [
            ("3999-3000/tcp", "above its end"),
            ("3000-/tcp", "is not PORT or LOW-HIGH"),
            ("3000-70000", "70000 is not a port"),
            ("0-10/udp", "0 is not a port"),
            ("1-2-3", "is not PORT or LOW-HIGH"),
        ] {
            std::fs::write(&path, format!("[audit]\nallowed_ports = [22, {bad:?}]\n")).unwrap();
            let e = AuditConfig::load(&path, true).unwrap_err().to_string();
            assert!(
                e.contains("audit.allowed_ports[1]") && e.contains(says),
                "{bad}: {e}"
            );
        }
        assert_eq!(
            AuditConfig::load(&dir.path().join("none"), false).unwrap(),
            AuditConfig::default()
        );
    }
}
