//! pam_limits configuration: /etc/security/limits.conf, then
//! /etc/security/limits.d/*.conf in name order. For one domain the later line
//! wins; a line for a user or group beats a `*` line for that user
//! (limits.conf(5)).

use crate::host::{Fact, Host, Unavailable};

/// The main file.
pub const LIMITS_CONF: &str = "/etc/security/limits.conf";
/// The drop-in directory.
pub const LIMITS_D: &str = "/etc/security/limits.d";

/// One `<domain> <type> <item> <value>` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limit {
    /// `*`, a user, `@group`, `%group`, a UID range.
    pub domain: String,
    /// `soft`, `hard` or `-` (both).
    pub kind: String,
    /// `core`, `nofile`, ...
    pub item: String,
    /// The value as written.
    pub value: String,
    /// `file:line`.
    pub source: String,
}

impl Limit {
    /// Whether the line sets the hard limit.
    pub fn is_hard(&self) -> bool {
        self.kind == "hard" || self.kind == "-"
    }
}

/// Parses one file; lines without four fields are ignored (pam_limits skips them).
pub fn parse(text: &str, file: &str) -> Vec<Limit> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.split('#').next().unwrap_or("").trim();
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() != 4 {
            continue;
        }
        out.push(Limit {
            domain: f[0].to_string(),
            kind: f[1].to_ascii_lowercase(),
            item: f[2].to_ascii_lowercase(),
            value: f[3].to_string(),
            source: format!("{file}:{}", i + 1),
        });
    }
    out
}

/// Every line of every file, in the order pam_limits applies them.
pub fn read(host: &dyn Host) -> Fact<Vec<Limit>> {
    let mut files = vec![LIMITS_CONF.to_string()];
    if let Ok(names) = host.list_dir(LIMITS_D) {
        files.extend(
            names
                .into_iter()
                .filter(|n| n.ends_with(".conf"))
                .map(|n| format!("{LIMITS_D}/{n}")),
        );
    }
    let mut out = Vec::new();
    for file in files {
        match host.read_text(&file) {
            Ok(text) => out.extend(parse(&text, &file)),
            Err(e) if e.is_missing() => {}
            Err(e) => {
                return Err(Unavailable::error(format!(
                    "cannot tell the resource limits: {}",
                    e.reason
                )))
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_comments_and_junk() {
        let l = parse(
            "# c\n*    hard core 0 # no dumps\n@adm - core unlimited\nbroken line\n* soft\n",
            "f",
        );
        assert_eq!(l.len(), 2);
        assert_eq!(l[0].domain, "*");
        assert!(l[0].is_hard());
        assert_eq!(l[0].value, "0");
        assert_eq!(l[0].source, "f:2");
        assert!(l[1].is_hard());
    }
}
