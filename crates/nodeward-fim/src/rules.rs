//! Resolves the configured rules into walk roots, an exclude matcher, and the
//! rule that governs each path (the one with the longest matching root).

use crate::config::{FimConfig, Rehash, RuleConfig};
use crate::defaults;
use crate::entry::Attr;
use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

/// One rule after expansion: a concrete root and what matters under it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// Concrete absolute root (wildcards expanded).
    pub root: PathBuf,
    /// Attributes compared.
    pub attributes: Vec<Attr>,
    /// When content is hashed again.
    pub rehash: Rehash,
}

impl Rule {
    /// Whether `attr` is compared under this rule.
    pub fn wants(&self, attr: Attr) -> bool {
        self.attributes.contains(&attr)
    }
}

/// The whole selection.
#[derive(Debug, Clone)]
pub struct RuleSet {
    /// Expanded rules, longest root first.
    pub rules: Vec<Rule>,
    excludes: GlobSet,
    /// The exclude globs as written.
    pub exclude_patterns: Vec<String>,
}

/// Expands `*` path components against the directories that exist (`/home/*/.ssh`).
fn expand(pattern: &str) -> Vec<PathBuf> {
    let mut current = vec![PathBuf::from("/")];
    for comp in pattern.split('/').filter(|c| !c.is_empty()) {
        let mut next = Vec::new();
        for base in &current {
            if comp == "*" {
                let Ok(rd) = std::fs::read_dir(base) else {
                    continue;
                };
                let mut names: Vec<PathBuf> = rd
                    .flatten()
                    .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
                    .map(|e| e.path())
                    .collect();
                names.sort();
                next.extend(names);
            } else {
                next.push(base.join(comp));
            }
        }
        current = next;
    }
    current
}

impl RuleSet {
    /// Builds the rule set from `[fim]` (defaults first, the operator's rules after,
    /// so on equal roots the operator's rule wins).
    pub fn from_config(cfg: &FimConfig) -> RuleSet {
        let mut specs: Vec<RuleConfig> = Vec::new();
        let mut patterns: Vec<String> = Vec::new();
        if cfg.defaults {
            specs.extend(defaults::rules(cfg.profile.as_deref().unwrap_or("generic")));
            patterns.extend(defaults::excludes().iter().map(|s| s.to_string()));
        }
        if !cfg.paths.is_empty() {
            specs.push(RuleConfig {
                paths: cfg.paths.clone(),
                attributes: Attr::ALL.to_vec(),
                rehash: Rehash::WhenMetadataChanged,
            });
        }
        specs.extend(cfg.rule.iter().cloned());
        patterns.extend(cfg.exclude.iter().cloned());
        let mut rules: Vec<Rule> = Vec::new();
        for spec in &specs {
            for pattern in &spec.paths {
                for root in expand(pattern) {
                    let rule = Rule {
                        root,
                        attributes: spec.attributes.clone(),
                        rehash: spec.rehash,
                    };
                    // A later rule for the same root replaces the earlier one.
                    rules.retain(|r| r.root != rule.root);
                    rules.push(rule);
                }
            }
        }
        rules.sort_by(|a, b| {
            b.root
                .as_os_str()
                .len()
                .cmp(&a.root.as_os_str().len())
                .then(a.root.cmp(&b.root))
        });
        let mut builder = GlobSetBuilder::new();
        for p in &patterns {
            // Validated in config; a built-in glob is known good.
            if let Ok(g) = GlobBuilder::new(p).literal_separator(true).build() {
                builder.add(g);
            }
        }
        let excludes = builder.build().unwrap_or_else(|_| GlobSet::empty());
        RuleSet {
            rules,
            excludes,
            exclude_patterns: patterns,
        }
    }

    /// The rule governing `path`, if any root contains it.
    pub fn rule_for(&self, path: &Path) -> Option<&Rule> {
        self.rules.iter().find(|r| path.starts_with(&r.root))
    }

    /// The index of the rule governing `path`.
    pub fn rule_index(&self, path: &Path) -> Option<usize> {
        self.rules.iter().position(|r| path.starts_with(&r.root))
    }

    /// Whether `path` is excluded.
    pub fn excluded(&self, path: &Path) -> bool {
        self.excludes.is_match(path)
    }

    /// The roots to walk: every rule root not inside another one, sorted.
    pub fn walk_roots(&self) -> Vec<PathBuf> {
        let mut roots: Vec<PathBuf> = self.rules.iter().map(|r| r.root.clone()).collect();
        roots.sort();
        roots.dedup();
        let mut out: Vec<PathBuf> = Vec::new();
        for r in roots {
            if !out.iter().any(|o| r.starts_with(o)) {
                out.push(r);
            }
        }
        out
    }
}

/// A path's raw bytes.
pub fn path_bytes(p: &Path) -> Vec<u8> {
    p.as_os_str().as_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_longest_root_governs_and_excludes_match_whole_components() {
        let cfg = FimConfig {
            defaults: false,
            paths: vec!["/srv".into()],
            rule: vec![RuleConfig {
                paths: vec!["/srv/node".into()],
                attributes: vec![Attr::Mode],
                rehash: Rehash::Always,
            }],
            exclude: vec!["/srv/node/db/**".into()],
            ..FimConfig::default()
        };
        let set = RuleSet::from_config(&cfg);
        assert_eq!(
            set.rule_for(Path::new("/srv/node/x")).unwrap().attributes,
            vec![Attr::Mode]
        );
        assert_eq!(
            set.rule_for(Path::new("/srv/other"))
                .unwrap()
                .attributes
                .len(),
            11
        );
        assert!(set.rule_for(Path::new("/etc")).is_none());
        assert!(set.excluded(Path::new("/srv/node/db/a/b")));
        assert!(!set.excluded(Path::new("/srv/node/dbx")));
        assert_eq!(set.walk_roots(), vec![PathBuf::from("/srv")]);
    }
}
