//! Finding a node's secret key files: a bounded walk of the directories where
//! node guides put them, matching file names against patterns (`*.skey`,
//! `identity.key`, `wallet.dat`), skipping the chain databases.

use crate::host::{FileMeta, Host};

/// How deep below a search directory files are looked for.
pub const MAX_DEPTH: usize = 6;
/// How many directory entries one search visits at most.
pub const MAX_ENTRIES: usize = 20_000;

/// Directory names never descended into: chain data, caches, dependencies.
const SKIP_DIRS: [&str; 17] = [
    "db",
    "immutable",
    "volatile",
    "ledger",
    "blocks",
    "chainstate",
    "indexes",
    "snapshots",
    "mainnetdb",
    "testnetdb",
    "node_modules",
    ".git",
    ".cache",
    "proc",
    "sys",
    "dev",
    "run",
];

/// Whether `name` matches `pat` (`*` any run, `?` one character).
pub fn name_matches(pat: &str, name: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let n: Vec<char> = name.chars().collect();
    let (mut pi, mut ni) = (0, 0);
    let (mut star, mut mark) = (None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// A found file with its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Path inside the audited system.
    pub path: String,
    /// Owner and mode.
    pub meta: FileMeta,
}

/// The result of a search.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Search {
    /// Matching files, sorted by path, each once.
    pub found: Vec<Found>,
    /// Search directories that exist.
    pub looked: Vec<String>,
    /// Whether a bound stopped the walk early.
    pub truncated: bool,
}

/// Finds files whose name matches one of `patterns` under `dirs`.
pub fn find(host: &dyn Host, dirs: &[String], patterns: &[&str]) -> Search {
    let mut s = Search::default();
    let mut budget = MAX_ENTRIES;
    for dir in dirs {
        if !host.metadata(dir).is_ok_and(|m| m.is_dir) {
            continue;
        }
        s.looked.push(dir.clone());
        walk(host, dir, 0, patterns, &mut s, &mut budget);
    }
    s.found.sort_by(|a, b| a.path.cmp(&b.path));
    s.found.dedup_by(|a, b| a.path == b.path);
    s
}

fn walk(
    host: &dyn Host,
    dir: &str,
    depth: usize,
    patterns: &[&str],
    s: &mut Search,
    budget: &mut usize,
) {
    let Ok(names) = host.list_dir(dir) else {
        return;
    };
    for name in names {
        if *budget == 0 {
            s.truncated = true;
            return;
        }
        *budget -= 1;
        let path = format!("{}/{name}", dir.trim_end_matches('/'));
        let Ok(meta) = host.metadata(&path) else {
            continue;
        };
        if meta.is_dir {
            if depth + 1 < MAX_DEPTH && !SKIP_DIRS.contains(&name.as_str()) {
                walk(host, &path, depth + 1, patterns, s, budget);
            }
        } else if patterns.iter().any(|p| name_matches(p, &name)) {
            s.found.push(Found { path, meta });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::RootHost;

    #[test]
    fn globs() {
        assert!(name_matches("*.skey", "kes.skey"));
        assert!(name_matches("payment*.skey", "payment.skey"));
        assert!(!name_matches("*.skey", "kes.vkey"));
        assert!(name_matches("identity.key", "identity.key"));
        assert!(name_matches("*secret*", "my-secrets.txt"));
        assert!(!name_matches("?.env", ".env"));
    }

    #[test]
    fn walks_bounded_and_skips_chain_data() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        std::fs::write(dir.path().join("etc/os-release"), "ID=debian\n").unwrap();
        for p in [
            "opt/c/keys/kes.skey",
            "opt/c/db/immutable/x.skey",
            "opt/c/a/b/c/d/e/f/deep.skey",
            "opt/c/kes.vkey",
        ] {
            let full = dir.path().join(p);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, "k").unwrap();
        }
        // A loop (keys/loop -> ..) is walked only down to MAX_DEPTH.
        std::os::unix::fs::symlink("..", dir.path().join("opt/c/keys/loop")).unwrap();
        let host = RootHost::new(dir.path());
        let s = find(&host, &["/opt/c".into(), "/missing".into()], &["*.skey"]);
        let paths: Vec<&str> = s.found.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/opt/c/keys/kes.skey",
                "/opt/c/keys/loop/keys/kes.skey",
                "/opt/c/keys/loop/keys/loop/keys/kes.skey"
            ],
            "chain data and files below MAX_DEPTH are left out, loops end"
        );
        assert_eq!(s.looked, ["/opt/c"]);
    }
}
