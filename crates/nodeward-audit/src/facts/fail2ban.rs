//! fail2ban's jail configuration: which jails are enabled and which ports each
//! covers, merged the way fail2ban reads it (jail.conf, jail.d/*.conf,
//! jail.local, jail.d/*.local; later files override single keys, `[DEFAULT]`
//! fills what a jail leaves unset).

use crate::host::Host;
use std::collections::BTreeMap;

/// One value with where it was set (`/etc/fail2ban/jail.local:4`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Located {
    /// The value as written (continuation lines joined by spaces).
    pub value: String,
    /// File and 1-based line.
    pub at: String,
}

/// A jail after merging every file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jail {
    /// Section name (`sshd`).
    pub name: String,
    /// `enabled` (from the jail or `[DEFAULT]`), when set anywhere.
    pub enabled: Option<Located>,
    /// `port` (from the jail or `[DEFAULT]`), when set anywhere.
    pub port: Option<Located>,
}

impl Jail {
    /// Whether the jail is on.
    pub fn is_enabled(&self) -> bool {
        self.enabled.as_ref().is_some_and(|e| {
            matches!(
                e.value.trim().to_ascii_lowercase().as_str(),
                "true" | "yes" | "1" | "on"
            )
        })
    }
}

/// Sections that are not jails.
const NOT_JAILS: [&str; 3] = ["DEFAULT", "INCLUDES", "Definition"];

/// The jail files in the order fail2ban reads them (those that exist).
pub fn jail_files(host: &dyn Host) -> Vec<String> {
    let names = host.list_dir("/etc/fail2ban/jail.d").unwrap_or_default();
    let with = |ext: &str| -> Vec<String> {
        names
            .iter()
            .filter(|n| n.ends_with(ext) && !n.starts_with('.'))
            .map(|n| format!("/etc/fail2ban/jail.d/{n}"))
            .collect()
    };
    let mut files = vec!["/etc/fail2ban/jail.conf".to_string()];
    files.extend(with(".conf"));
    files.push("/etc/fail2ban/jail.local".into());
    files.extend(with(".local"));
    files
}

/// Merges `(file, text)` pairs (in reading order) into jails, sorted by name.
pub fn merge(files: &[(String, String)]) -> Vec<Jail> {
    // section -> key -> value
    let mut sections: BTreeMap<String, BTreeMap<String, Located>> = BTreeMap::new();
    for (file, text) in files {
        let mut section: Option<String> = None;
        let mut last_key: Option<String> = None;
        for (i, raw) in text.lines().enumerate() {
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') || trimmed.starts_with(';') {
                continue;
            }
            if raw.starts_with([' ', '\t']) {
                // A continuation of the previous value.
                if let (Some(s), Some(k)) = (&section, &last_key) {
                    if let Some(v) = sections.get_mut(s).and_then(|m| m.get_mut(k)) {
                        v.value.push(' ');
                        v.value.push_str(trimmed);
                    }
                }
                continue;
            }
            if trimmed.starts_with('[') && trimmed.ends_with(']') {
                let name = trimmed[1..trimmed.len() - 1].trim().to_string();
                sections.entry(name.clone()).or_default();
                section = Some(name);
                last_key = None;
                continue;
            }
            let Some(s) = &section else { continue };
            let split = match (trimmed.find('='), trimmed.find(':')) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            let Some(pos) = split else { continue };
            let key = trimmed[..pos].trim().to_string();
            let mut value = trimmed[pos + 1..].trim().to_string();
            if let Some(c) = value.find(" #").or_else(|| value.find(" ;")) {
                value.truncate(c);
                value = value.trim_end().to_string();
            }
            if let Some(m) = sections.get_mut(s) {
                m.insert(
                    key.clone(),
                    Located {
                        value,
                        at: format!("{file}:{}", i + 1),
                    },
                );
            }
            last_key = Some(key);
        }
    }
    let default = sections.get("DEFAULT").cloned().unwrap_or_default();
    sections
        .iter()
        .filter(|(name, _)| !NOT_JAILS.contains(&name.as_str()))
        .map(|(name, keys)| {
            let get = |k: &str| keys.get(k).or_else(|| default.get(k)).cloned();
            Jail {
                name: name.clone(),
                enabled: get("enabled"),
                port: get("port"),
            }
        })
        .collect()
}

/// Reads and merges the jail files of `host`.
pub fn jails(host: &dyn Host) -> Vec<Jail> {
    let files: Vec<(String, String)> = jail_files(host)
        .into_iter()
        .filter_map(|f| host.read_text(&f).ok().map(|t| (f, t)))
        .collect();
    merge(&files)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn later_files_override_single_keys_and_default_fills_in() {
        let files = vec![
            (
                "/etc/fail2ban/jail.conf".to_string(),
                "[INCLUDES]\nbefore = paths-debian.conf\n[DEFAULT]\nenabled = false\nport = 0:65535\n\n[sshd]\nport    = ssh\nlogpath = %(sshd_log)s\n[nginx-http-auth]\nport = http,\n       https\n[recidive]\n".to_string(),
            ),
            (
                "/etc/fail2ban/jail.d/defaults-debian.conf".to_string(),
                "[sshd]\nenabled = true\n".to_string(),
            ),
            (
                "/etc/fail2ban/jail.local".to_string(),
                "[nginx-http-auth]\nenabled: yes ; on\n".to_string(),
            ),
        ];
        let j = merge(&files);
        let names: Vec<&str> = j.iter().map(|j| j.name.as_str()).collect();
        assert_eq!(names, ["nginx-http-auth", "recidive", "sshd"]);
        assert!(j[0].is_enabled());
        assert_eq!(j[0].port.as_ref().unwrap().value, "http, https");
        assert_eq!(
            j[0].enabled.as_ref().unwrap().at,
            "/etc/fail2ban/jail.local:2"
        );
        assert!(!j[1].is_enabled());
        assert_eq!(j[1].port.as_ref().unwrap().value, "0:65535");
        assert!(j[2].is_enabled());
        assert_eq!(j[2].port.as_ref().unwrap().at, "/etc/fail2ban/jail.conf:8");
    }
}
