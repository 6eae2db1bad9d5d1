//! systemd's own daemon configuration files (journald.conf, coredump.conf):
//! INI sections of `Key=Value`, the main file first, then drop-ins
//! `<name>.d/*.conf` from /usr/lib, /usr/local/lib, /run and /etc (a drop-in in
//! an earlier-listed directory hides one of the same name), applied in
//! file-name order; the last value of a key wins (systemd.syntax(7)).

use crate::host::{Fact, Host, Unavailable};
use std::collections::BTreeMap;

/// Drop-in directories by falling priority (a name in the first hides the rest).
const DROPIN_BASES: [&str; 4] = [
    "/etc/systemd",
    "/run/systemd",
    "/usr/local/lib/systemd",
    "/usr/lib/systemd",
];

/// One value with the `file:line` it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Value {
    /// The value, trimmed.
    pub value: String,
    /// `file:line`.
    pub source: String,
}

/// The `Key=Value` lines of `[section]` in `text`, in order.
pub fn parse_section(text: &str, file: &str, section: &str) -> Vec<(String, Value)> {
    let mut out = Vec::new();
    let mut current: Option<&str> = None;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = Some(name.trim());
            continue;
        }
        if current != Some(section) {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            out.push((
                k.trim().to_string(),
                Value {
                    value: v.trim().to_string(),
                    source: format!("{file}:{}", i + 1),
                },
            ));
        }
    }
    out
}

/// The files systemd reads for `name` (`journald.conf`), in the order applied.
pub fn files(host: &dyn Host, name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let main = format!("/etc/systemd/{name}");
    let vendor = format!("/usr/lib/systemd/{name}");
    if host.exists(&main) || !host.exists(&vendor) {
        out.push(main);
    } else {
        out.push(vendor);
    }
    let mut by_name: BTreeMap<String, String> = BTreeMap::new();
    for base in DROPIN_BASES.iter().rev() {
        let dir = format!("{base}/{name}.d");
        if let Ok(names) = host.list_dir(&dir) {
            for n in names.into_iter().filter(|n| n.ends_with(".conf")) {
                by_name.insert(n.clone(), format!("{dir}/{n}"));
            }
        }
    }
    out.extend(by_name.into_values());
    out
}

/// The settings of `[section]` for `name` after every file is applied (last
/// value wins). Missing files are fine; unreadable or binary ones are an error,
/// since a drop-in we cannot read may change the answer.
pub fn read(host: &dyn Host, name: &str, section: &str) -> Fact<BTreeMap<String, Value>> {
    let mut out = BTreeMap::new();
    for file in files(host, name) {
        match host.read_text(&file) {
            Ok(text) => {
                for (k, v) in parse_section(&text, &file, section) {
                    out.insert(k, v);
                }
            }
            Err(e) if e.is_missing() => {}
            Err(e) => {
                return Err(Unavailable::error(format!(
                    "cannot tell the {name} settings: {}",
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
    fn sections_and_lines() {
        let v = parse_section(
            "[Journal]\n#Storage=auto\nStorage = persistent\n[Other]\nStorage=none\n[Journal]\nX\n",
            "f",
            "Journal",
        );
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].0, "Storage");
        assert_eq!(v[0].1.value, "persistent");
        assert_eq!(v[0].1.source, "f:3");
        assert!(parse_section("Storage=none\n[", "f", "Journal").is_empty());
    }
}
