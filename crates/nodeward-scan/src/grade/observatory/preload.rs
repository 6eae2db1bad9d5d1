//! The HSTS preload list, read from Chromium's
//! `transport_security_state_static.json` when the user supplies it
//! (`--hsts-preload FILE`); Observatory awards +5 to preloaded hosts.

use std::collections::HashMap;
use std::path::Path;

/// Preloaded host names, each with whether it covers subdomains.
#[derive(Debug, Default, Clone)]
pub struct PreloadList {
    entries: HashMap<String, bool>,
}

/// The largest preload file accepted (Chromium's is about 15 MB).
const MAX_BYTES: u64 = 64 * 1024 * 1024;

impl PreloadList {
    /// Reads Chromium's list. `//` comment lines are skipped; only entries
    /// with `"mode": "force-https"` count.
    pub fn load(path: &Path) -> Result<PreloadList, String> {
        let what = path.display();
        let meta = std::fs::metadata(path).map_err(|e| format!("cannot read {what}: {e}"))?;
        if meta.len() > MAX_BYTES {
            return Err(format!("{what} is larger than 64 MiB"));
        }
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {what}: {e}"))?;
        Self::parse(&text).map_err(|e| format!("{what}: {e}"))
    }

    /// Parses the list's text.
    pub fn parse(text: &str) -> Result<PreloadList, String> {
        let json: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect::<Vec<_>>()
            .join("\n");
        let v: serde_json::Value =
            serde_json::from_str(&json).map_err(|e| format!("not a preload list: {e}"))?;
        let entries = v
            .get("entries")
            .and_then(|e| e.as_array())
            .ok_or("no \"entries\" array")?;
        let mut out = PreloadList::default();
        for e in entries {
            let (Some(name), Some("force-https")) = (
                e.get("name").and_then(|n| n.as_str()),
                e.get("mode").and_then(|m| m.as_str()),
            ) else {
                continue;
            };
            let subdomains = e
                .get("include_subdomains")
                .and_then(|s| s.as_bool())
                .unwrap_or(false);
            out.entries.insert(name.to_ascii_lowercase(), subdomains);
        }
        Ok(out)
    }

    /// Whether `host` is preloaded itself or under a parent that includes subdomains.
    pub fn contains(&self, host: &str) -> bool {
        let host = host.trim_end_matches('.').to_ascii_lowercase();
        if self.entries.contains_key(&host) {
            return true;
        }
        let mut rest = host.as_str();
        while let Some((_, parent)) = rest.split_once('.') {
            if self.entries.get(parent) == Some(&true) {
                return true;
            }
            rest = parent;
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parent_entries_cover_subdomains_only_when_they_say_so() {
        let list = PreloadList::parse(
            r#"{
  // comment lines as in Chromium's file
  "entries": [
    { "name": "mozilla.org", "policy": "custom", "mode": "force-https", "include_subdomains": true },
    { "name": "example.com", "mode": "force-https" },
    { "name": "pinned.example", "pins": "x" }
  ]
}"#,
        )
        .unwrap();
        assert!(list.contains("observatory.mozilla.org"));
        assert!(list.contains("mozilla.org"));
        assert!(list.contains("example.com"));
        assert!(!list.contains("www.example.com"));
        assert!(!list.contains("pinned.example"));
        assert!(PreloadList::parse("[]").is_err());
    }
}
