//! A pushed config revision (`nodeward cluster push`) as one instance runs
//! it: the pushed text with this instance's own tables put back, so that a
//! push shares the policy but never moves an instance's listeners, admin
//! token or etcd link.
//!
//! Kept from the local file: `[cluster]`, `[admin]`, every `[[listener]]`
//! and `[gateway] state_dir`. Everything else (`[gateway]`'s other keys,
//! `[[upstream]]`, `[[route]]`, ...) comes from the revision.

use crate::config::{self, GatewayConfig};
use nodeward_cluster::policy::Revision;
use std::path::Path;

/// Top-level tables each instance keeps from its own file.
pub const LOCAL_TABLES: [&str; 3] = ["cluster", "admin", "listener"];

/// Keys of `[gateway]` each instance keeps from its own file.
pub const LOCAL_GATEWAY_KEYS: [&str; 1] = ["state_dir"];

/// The text an instance runs for `rev`, given its own file's `local` text.
pub fn merge(local: &str, pushed: &str) -> Result<String, String> {
    let local: toml::Table = toml::from_str(local).map_err(|e| format!("local config: {e}"))?;
    let mut out: toml::Table = toml::from_str(pushed).map_err(|e| format!("pushed config: {e}"))?;
    for t in LOCAL_TABLES {
        out.remove(t);
        if let Some(v) = local.get(t) {
            out.insert(t.to_string(), v.clone());
        }
    }
    let local_gw = local.get("gateway").and_then(|g| g.as_table());
    if let Some(gw) = out.get_mut("gateway").and_then(|g| g.as_table_mut()) {
        for k in LOCAL_GATEWAY_KEYS {
            gw.remove(k);
        }
    }
    for k in LOCAL_GATEWAY_KEYS {
        if let Some(v) = local_gw.and_then(|g| g.get(k)) {
            out.entry("gateway")
                .or_insert_with(|| toml::Value::Table(toml::Table::new()))
                .as_table_mut()
                .map(|g| g.insert(k.to_string(), v.clone()));
        }
    }
    toml::to_string(&out).map_err(|e| format!("merged config: {e}"))
}

/// Checks `rev` merged with this instance's `local` text (read from
/// `path`) exactly as a reload checks a file. Errors name the revision as a
/// file next to `path` (relative paths resolve against `path`'s directory).
pub fn effective(path: &Path, local: &str, rev: &Revision) -> Result<GatewayConfig, String> {
    let text = merge(local, &rev.config)?;
    let name = path.with_file_name(format!("cluster-revision-{}.toml", rev.number));
    let mut cfg = config::load_from_str(&name, &text).map_err(|e| e.to_string())?;
    cfg.source = path.to_path_buf();
    Ok(cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_tables_stay_local() {
        let local = "[gateway]\nstate_dir = \"/var/a\"\nmax_connections = 5\n\
                     [admin]\nbind = \"127.0.0.1:1\"\n[[listener]]\nbind = \"0.0.0.0:80\"\n\
                     [cluster]\netcd = [\"http://e:1\"]\nname = \"a\"\n";
        let pushed = "[gateway]\nstate_dir = \"/elsewhere\"\nmax_connections = 9\n\
                      [admin]\nbind = \"0.0.0.0:2\"\n[[listener]]\nbind = \"0.0.0.0:81\"\n\
                      [[upstream]]\nname = \"u\"\n";
        let m: toml::Table = toml::from_str(&merge(local, pushed).unwrap()).unwrap();
        assert_eq!(m["gateway"]["state_dir"].as_str(), Some("/var/a"));
        assert_eq!(m["gateway"]["max_connections"].as_integer(), Some(9));
        assert_eq!(m["admin"]["bind"].as_str(), Some("127.0.0.1:1"));
        assert_eq!(m["listener"][0]["bind"].as_str(), Some("0.0.0.0:80"));
        assert_eq!(m["cluster"]["name"].as_str(), Some("a"));
        assert_eq!(m["upstream"][0]["name"].as_str(), Some("u"));
        // A local table absent stays absent, whatever the push carries.
        let m: toml::Table =
            toml::from_str(&merge("[gateway]\n", "[admin]\nbind = \"x\"\n").unwrap()).unwrap();
        assert!(m.get("admin").is_none());
        assert!(merge("[gateway", "").unwrap_err().contains("local config"));
    }
}
