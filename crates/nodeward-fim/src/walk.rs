//! Lists the entries under the rule roots: never follows symlinks, never
//! enters excluded paths, records directories it cannot read as problems.

use crate::rules::RuleSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

/// The most entries one baseline may hold (bounds memory on a runaway tree).
pub const MAX_ENTRIES: usize = 20_000_000;

/// What the walk found.
#[derive(Debug, Default)]
pub struct Listing {
    /// Every path to inspect, with the index of its rule, in walk order.
    pub paths: Vec<(PathBuf, usize)>,
    /// Paths that could not be listed, with the reason.
    pub problems: Vec<(PathBuf, String)>,
    /// Rule roots that do not exist on this host.
    pub missing_roots: Vec<PathBuf>,
}

/// Walks every root of `rules`.
pub fn walk(rules: &RuleSet) -> Result<Listing, String> {
    walk_counted(rules, None)
}

/// Walks every root of `rules`, storing the number of entries listed so far
/// in `listed` (for a progress bar).
pub fn walk_counted(rules: &RuleSet, listed: Option<&AtomicUsize>) -> Result<Listing, String> {
    let mut out = Listing::default();
    for root in rules.walk_roots() {
        match std::fs::symlink_metadata(&root) {
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                out.missing_roots.push(root);
                continue;
            }
            Err(e) => {
                out.problems.push((root, e.to_string()));
                continue;
            }
        }
        if rules.excluded(&root) {
            continue;
        }
        // Each path with whether it is a directory, when the listing already
        // said so (d_type: no lstat per entry); `None` asks the file system.
        let mut stack: Vec<(PathBuf, Option<bool>)> = vec![(root, None)];
        while let Some((path, known_dir)) = stack.pop() {
            let Some(rule) = rules.rule_index(&path) else {
                continue;
            };
            if out.paths.len() >= MAX_ENTRIES {
                return Err(format!(
                    "more than {MAX_ENTRIES} entries under the configured paths: narrow [fim] paths or add excludes"
                ));
            }
            let is_dir = known_dir.unwrap_or_else(|| {
                std::fs::symlink_metadata(&path)
                    .map(|m| m.file_type().is_dir())
                    .unwrap_or(false)
            });
            out.paths.push((path.clone(), rule));
            if let Some(n) = listed {
                n.store(out.paths.len(), Ordering::Relaxed);
            }
            if !is_dir {
                continue;
            }
            match std::fs::read_dir(&path) {
                Ok(rd) => {
                    let mut children: Vec<(PathBuf, Option<bool>)> = Vec::new();
                    for item in rd {
                        match item {
                            Ok(e) => {
                                let p = e.path();
                                if !rules.excluded(&p) {
                                    // file_type() never follows a symlink.
                                    let dir = e.file_type().ok().map(|t| t.is_dir());
                                    children.push((p, dir));
                                }
                            }
                            Err(e) => out.problems.push((path.clone(), e.to_string())),
                        }
                    }
                    // Reverse order on the stack: entries come out sorted.
                    children.sort_unstable_by(|a, b| b.0.cmp(&a.0));
                    stack.extend(children);
                }
                Err(e) => out
                    .problems
                    .push((path.clone(), format!("cannot list: {e}"))),
            }
        }
    }
    Ok(out)
}
