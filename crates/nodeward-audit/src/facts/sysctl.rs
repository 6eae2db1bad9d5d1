//! Kernel parameters of an offline tree, from its sysctl configuration files
//! (sysctl.d(5) order: files from all directories sorted by name, a file in an
//! earlier directory hiding one of the same name in a later one, later
//! assignments winning, `/etc/sysctl.conf` last).

use crate::host::{Fact, Host, Unavailable};

/// Directories searched, highest priority first.
pub const SYSCTL_DIRS: [&str; 5] = [
    "/etc/sysctl.d",
    "/run/sysctl.d",
    "/usr/local/lib/sysctl.d",
    "/usr/lib/sysctl.d",
    "/lib/sysctl.d",
];

/// Linux's own defaults for the parameters the audit checks, used offline when
/// no file sets them.
pub fn kernel_default(key: &str) -> Option<&'static str> {
    Some(match key {
        "net.ipv4.tcp_syncookies" => "1",
        "net.ipv4.conf.all.rp_filter" | "net.ipv4.conf.default.rp_filter" => "0",
        "net.ipv4.conf.all.accept_redirects"
        | "net.ipv4.conf.default.accept_redirects"
        | "net.ipv6.conf.all.accept_redirects"
        | "net.ipv6.conf.default.accept_redirects" => "1",
        "net.ipv4.conf.all.accept_source_route"
        | "net.ipv4.conf.default.accept_source_route"
        | "net.ipv6.conf.all.accept_source_route"
        | "net.ipv6.conf.default.accept_source_route" => "0",
        "kernel.randomize_va_space" => "2",
        "fs.protected_hardlinks" | "fs.protected_symlinks" => "0",
        "kernel.dmesg_restrict" | "kernel.kptr_restrict" => "0",
        "net.ipv6.conf.all.disable_ipv6" => "0",
        "fs.suid_dumpable" => "0",
        "kernel.core_pattern" => "core",
        _ => return None,
    })
}

/// Whether a key pattern from a file (`net.ipv4.conf.*.rp_filter`) names `key`.
fn key_matches(pattern: &str, key: &str) -> bool {
    let p: Vec<&str> = pattern.split('.').collect();
    let k: Vec<&str> = key.split('.').collect();
    p.len() == k.len() && p.iter().zip(&k).all(|(p, k)| *p == "*" || p == k)
}

/// The configuration files in the order they are applied.
pub fn config_files(host: &dyn Host) -> Vec<String> {
    let mut by_name: std::collections::BTreeMap<String, String> = Default::default();
    for dir in SYSCTL_DIRS.iter().rev() {
        if let Ok(names) = host.list_dir(dir) {
            for n in names.into_iter().filter(|n| n.ends_with(".conf")) {
                by_name.insert(n.clone(), format!("{dir}/{n}"));
            }
        }
    }
    let mut files: Vec<String> = by_name.into_values().collect();
    files.push("/etc/sysctl.conf".into());
    files
}

/// One assignment found in a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// Key or key pattern, with `/` turned into `.`.
    pub key: String,
    /// Value.
    pub value: String,
    /// `file:line`.
    pub source: String,
}

/// Parses one sysctl.conf-format text.
pub fn parse(text: &str, file: &str) -> Vec<Assignment> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let Some((k, v)) = line.split_once('=') else {
            continue;
        };
        let key = k.trim().trim_start_matches('-').replace('/', ".");
        if key.is_empty() {
            continue;
        }
        out.push(Assignment {
            key,
            value: v.trim().to_string(),
            source: format!("{file}:{}", i + 1),
        });
    }
    out
}

/// The value of `key` offline with where it came from; the kernel default when
/// no file sets it.
pub fn from_config_files(host: &dyn Host, key: &str) -> Fact<(String, String)> {
    let mut found: Option<Assignment> = None;
    let mut broken = Vec::new();
    for file in config_files(host) {
        match host.read_text(&file) {
            Ok(text) => {
                for a in parse(&text, &file) {
                    if key_matches(&a.key, key) {
                        found = Some(a);
                    }
                }
            }
            Err(e) if e.is_missing() => {}
            Err(e) => broken.push(e.reason),
        }
    }
    match (found, kernel_default(key)) {
        (Some(a), _) => Ok((a.value, a.source)),
        (None, _) if !broken.is_empty() => Err(Unavailable::error(format!(
            "{key} not set in readable sysctl files; unreadable: {}",
            broken.join("; ")
        ))),
        (None, Some(default)) => Ok((
            default.to_string(),
            "not set in any sysctl configuration file (Linux default)".into(),
        )),
        (None, None) => Err(Unavailable::skip(format!(
            "{key} not set in any sysctl configuration file"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_slashes_dashes_and_globs() {
        let a = parse(
            "-net/ipv4/conf/*/rp_filter = 2\n# x\nkernel.kptr_restrict=1\n",
            "f",
        );
        assert_eq!(a[0].key, "net.ipv4.conf.*.rp_filter");
        assert!(key_matches(&a[0].key, "net.ipv4.conf.all.rp_filter"));
        assert!(!key_matches(&a[0].key, "net.ipv4.conf.all.rp_filter.x"));
        assert_eq!(a[1].source, "f:3");
    }
}
