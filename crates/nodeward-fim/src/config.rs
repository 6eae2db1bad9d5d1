//! The `[fim]` table of nodeward's config file: which paths, which attributes,
//! where the baseline and its key live.

use crate::entry::Attr;
use nodeward_config::{load_sections, read_config_file, ByteSize, ConfigError};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// The default baseline file.
pub const DEFAULT_DATABASE: &str = "/var/lib/nodeward/fim/baseline.nwfim";
/// The default HMAC key file (kept apart from the baseline, under /etc).
pub const DEFAULT_KEY: &str = "/etc/nodeward/fim.key";

/// The tables `nodeward fim` owns.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct FimSections {
    fim: FimConfig,
}

/// Content digest algorithm.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum HashAlgo {
    /// BLAKE3 (default).
    #[default]
    Blake3,
    /// SHA-256.
    Sha256,
}

impl HashAlgo {
    /// Name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            HashAlgo::Blake3 => "blake3",
            HashAlgo::Sha256 => "sha256",
        }
    }
}

/// When a file's content is hashed again.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Rehash {
    /// Only when size, mtime, ctime, inode or device changed (default; `--paranoid` overrides).
    #[default]
    WhenMetadataChanged,
    /// On every check.
    Always,
}

/// One `[[fim.rule]]`: paths and the attributes that matter under them.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    /// Absolute paths (a `*` component matches any name: `/home/*/.ssh`).
    pub paths: Vec<String>,
    /// Attributes compared (default: all).
    #[serde(default = "all_attrs")]
    pub attributes: Vec<Attr>,
    /// When content is hashed again.
    #[serde(default)]
    pub rehash: Rehash,
}

fn all_attrs() -> Vec<Attr> {
    Attr::ALL.to_vec()
}

fn default_true() -> bool {
    true
}

/// `[fim]`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FimConfig {
    /// Node profile whose binary, config and key files are added
    /// (generic, iota, hornet, ilp, cardano, masternode).
    pub profile: Option<String>,
    /// Include the built-in rules for a node server.
    #[serde(default = "default_true")]
    pub defaults: bool,
    /// Extra paths, every attribute compared.
    pub paths: Vec<String>,
    /// Globs of paths left out (`/opt/node/db/**`), added to the built-in ones.
    pub exclude: Vec<String>,
    /// Rules with their own attributes.
    pub rule: Vec<RuleConfig>,
    /// The baseline file.
    pub database: PathBuf,
    /// The HMAC key file (keep it apart from the baseline).
    pub key: PathBuf,
    /// Content digest.
    pub hash: HashAlgo,
    /// Further copies of the baseline written on init and update (read-only media, another disk).
    pub copy_to: Vec<PathBuf>,
    /// Files larger than this are compared by metadata only.
    pub max_hash_size: ByteSize,
    /// Verify package-owned files against the package database (dpkg's md5sums).
    #[serde(default = "default_true")]
    pub packages: bool,
    /// The root the package database is read under (`/`; another root for
    /// offline use and tests: `<root>/var/lib/dpkg/status`, paths under `<root>`).
    pub package_root: PathBuf,
}

impl Default for FimConfig {
    fn default() -> Self {
        FimConfig {
            profile: None,
            defaults: true,
            paths: Vec::new(),
            exclude: Vec::new(),
            rule: Vec::new(),
            database: PathBuf::from(DEFAULT_DATABASE),
            key: PathBuf::from(DEFAULT_KEY),
            hash: HashAlgo::Blake3,
            copy_to: Vec::new(),
            max_hash_size: ByteSize(4 << 30),
            packages: true,
            package_root: PathBuf::from("/"),
        }
    }
}

/// The profile names `[fim] profile` accepts.
pub const PROFILES: [&str; 6] = ["generic", "iota", "hornet", "ilp", "cardano", "masternode"];

impl FimConfig {
    /// Loads `[fim]` from `path`; a missing file is the default config only when
    /// `required` is false (the default path).
    pub fn load(path: &Path, required: bool) -> Result<FimConfig, ConfigError> {
        if !required && !path.exists() {
            return Ok(FimConfig::default());
        }
        let text = read_config_file(path)?;
        Self::from_text(path, &text)
    }

    /// Parses and validates `[fim]` from an already-read config text.
    pub fn from_text(path: &Path, text: &str) -> Result<FimConfig, ConfigError> {
        let sections: FimSections = load_sections(path, text)?;
        let cfg = sections.fim;
        cfg.validate(path)?;
        Ok(cfg)
    }

    fn validate(&self, path: &Path) -> Result<(), ConfigError> {
        let bad = |loc: &str, msg: String| Err(ConfigError::invalid(path, loc, msg));
        if let Some(p) = &self.profile {
            if !PROFILES.contains(&p.as_str()) {
                return bad(
                    "fim.profile",
                    format!("unknown profile {p:?} (expected {})", PROFILES.join(", ")),
                );
            }
        }
        let all_paths = self.paths.iter().map(|p| ("fim.paths", p)).chain(
            self.rule
                .iter()
                .flat_map(|r| r.paths.iter().map(|p| ("fim.rule.paths", p))),
        );
        for (loc, p) in all_paths {
            if !p.starts_with('/') {
                return bad(loc, format!("{p:?} is not an absolute path"));
            }
        }
        for (i, r) in self.rule.iter().enumerate() {
            if r.paths.is_empty() {
                return bad(
                    &format!("fim.rule[{i}].paths"),
                    "a rule needs at least one path".into(),
                );
            }
            if r.attributes.is_empty() {
                return bad(
                    &format!("fim.rule[{i}].attributes"),
                    "no attributes: nothing would be compared (leave it out for all)".into(),
                );
            }
        }
        for g in &self.exclude {
            if let Err(e) = globset::Glob::new(g) {
                return bad("fim.exclude", format!("bad glob {g:?}: {e}"));
            }
        }
        if self.database == self.key {
            return bad(
                "fim.key",
                "the key must not be the baseline file itself".into(),
            );
        }
        if self.database.as_os_str().is_empty() || self.key.as_os_str().is_empty() {
            return bad("fim.database", "empty path".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<FimConfig, String> {
        FimConfig::from_text(Path::new("t.toml"), text).map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_and_every_key_parse() {
        assert_eq!(parse("").unwrap(), FimConfig::default());
        let c = parse(
            r#"[fim]
profile = "cardano"
paths = ["/opt/node"]
exclude = ["/opt/node/db/**"]
database = "/tmp/b"
key = "/tmp/k"
hash = "sha256"
copy_to = ["/mnt/ro/b"]
max_hash_size = "1GiB"
[[fim.rule]]
paths = ["/var/lib/x"]
attributes = ["mode", "owner"]
rehash = "always"
"#,
        )
        .unwrap();
        assert_eq!(c.hash, HashAlgo::Sha256);
        assert_eq!(c.rule[0].attributes, vec![Attr::Mode, Attr::Owner]);
        assert_eq!(c.rule[0].rehash, Rehash::Always);
    }

    #[test]
    fn mistakes_are_named() {
        assert!(parse("[fim]\npaths = [\"etc\"]\n")
            .unwrap_err()
            .contains("absolute"));
        assert!(parse("[fim]\nexclude = [\"a[\"]\n")
            .unwrap_err()
            .contains("bad glob"));
        assert!(parse("[fim]\nhash = \"md5\"\n").is_err());
        assert!(parse("[fim]\nprofile = \"bitcoin\"\n")
            .unwrap_err()
            .contains("unknown profile"));
        assert!(parse("[fim]\n[[fim.rule]]\npaths=[\"/a\"]\nattributes=[\"colour\"]\n").is_err());
        assert!(parse("[fim]\nkey = \"/a\"\ndatabase = \"/a\"\n")
            .unwrap_err()
            .contains("key"));
        assert!(parse("[fim]\nbogus = 1\n").is_err());
    }
}
