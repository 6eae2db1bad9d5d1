//! Reading the tables one command owns out of the shared file.

use crate::ConfigError;
use serde::de::{DeserializeOwned, IgnoredAny};
use std::path::Path;

/// The largest config file nodeward reads (a real one is a few KiB).
pub const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// Reads a config file as UTF-8 text, refusing huge or unreadable files.
pub fn read_config_file(path: &Path) -> Result<String, ConfigError> {
    let read_err = |source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(ConfigError::TooLarge {
            path: path.to_path_buf(),
            size: meta.len(),
            max: MAX_CONFIG_BYTES,
        });
    }
    let bytes = std::fs::read(path).map_err(read_err)?;
    String::from_utf8(bytes).map_err(|e| {
        let (line, column) = crate::error::line_col(
            &String::from_utf8_lossy(&e.as_bytes()[..e.utf8_error().valid_up_to()]),
            usize::MAX,
        );
        ConfigError::Syntax {
            path: path.to_path_buf(),
            line,
            column,
            message: "file is not valid UTF-8".into(),
        }
    })
}

/// Deserialises `T` from the whole document, where `T` is a struct holding only
/// the top-level tables one crate owns. Give `T` `#[serde(default)]` but *not*
/// `deny_unknown_fields` (other crates' tables must pass through), and give the
/// tables inside it `#[serde(deny_unknown_fields)]`. Errors inside owned tables
/// keep their file:line; top-level keys nobody owns are reported by
/// [`unknown_tables`] (what `nodeward config check` runs).
pub fn load_sections<T: DeserializeOwned>(path: &Path, text: &str) -> Result<T, ConfigError> {
    toml::from_str(text).map_err(|e| ConfigError::from_toml(path, text, e))
}

/// Returns the top-level keys of `text` that no command owns (each a config error).
pub fn unknown_tables(path: &Path, text: &str, known: &[&str]) -> Result<Vec<String>, ConfigError> {
    let keys: std::collections::BTreeMap<String, IgnoredAny> =
        toml::from_str(text).map_err(|e| ConfigError::from_toml(path, text, e))?;
    Ok(keys
        .into_keys()
        .filter(|k| !known.contains(&k.as_str()))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Default, Deserialize)]
    #[serde(default)]
    struct Mine {
        ban: Option<Ban>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Ban {
        maxretry: u32,
    }

    #[test]
    fn owned_tables_parse_and_others_pass() {
        let text = "[gateway]\nx = 1\n[ban]\nmaxretry = 5\n";
        let mine: Mine = load_sections(Path::new("f.toml"), text).unwrap();
        assert_eq!(mine.ban.unwrap().maxretry, 5);
    }

    #[test]
    fn errors_inside_owned_tables_name_the_line() {
        let text = "[gateway]\nx = 1\n[ban]\nmaxretry = 5\nbogus = 1\n";
        let err = load_sections::<Mine>(Path::new("f.toml"), text).unwrap_err();
        let msg = err.to_string();
        assert!(msg.starts_with("f.toml:5:"), "{msg}");
        assert!(msg.contains("bogus"), "{msg}");
    }

    #[test]
    fn unknown_top_level_tables_are_listed() {
        let text = "[ban]\nmaxretry = 5\n[bna]\n";
        let unknown = unknown_tables(Path::new("f.toml"), text, &["ban"]).unwrap();
        assert_eq!(unknown, vec!["bna".to_string()]);
    }
}
