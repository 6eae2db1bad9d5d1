//! Command allow/deny lists: exact names and `*` wildcards, case-insensitive.

use rustc_hash::FxHashSet as HashSet;

/// A compiled list of command patterns (already lowercase).
#[derive(Debug, Clone, Default)]
pub struct CommandSet {
    exact: HashSet<String>,
    wildcards: Vec<String>,
}

impl CommandSet {
    /// Compiles lowercase patterns; `*` matches any run of characters.
    pub fn new(patterns: &[String]) -> Self {
        let mut set = CommandSet::default();
        for p in patterns {
            if p.contains('*') {
                set.wildcards.push(p.clone());
            } else {
                set.exact.insert(p.clone());
            }
        }
        set
    }

    /// Whether the lowercase `command` matches one of the patterns.
    pub fn matches(&self, command: &str) -> bool {
        self.exact.contains(command)
            || self
                .wildcards
                .iter()
                .any(|p| glob(p.as_bytes(), command.as_bytes()))
    }

    /// The exact names in the set (for metrics labels).
    pub fn exact_names(&self) -> impl Iterator<Item = &str> {
        self.exact.iter().map(String::as_str)
    }
}

/// Matches `text` against `pattern` where `*` matches any run of bytes.
/// Linear-time greedy matching with one backtrack point (no recursion).
fn glob(pattern: &[u8], text: &[u8]) -> bool {
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((sp, st)) = star {
            p = sp + 1;
            t = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_and_wildcards() {
        let s = CommandSet::new(&["addneighbors".into(), "admin_*".into(), "* /debug*".into()]);
        assert!(s.matches("addneighbors"));
        assert!(!s.matches("addneighbor"));
        assert!(s.matches("admin_peers"));
        assert!(s.matches("admin_"));
        assert!(!s.matches("xadmin_peers"));
        assert!(s.matches("get /debug/pprof"));
        assert!(!s.matches("get /api"));
    }

    #[test]
    fn glob_edge_cases() {
        assert!(glob(b"*", b""));
        assert!(glob(b"a*b*c", b"axxbyyc"));
        assert!(!glob(b"a*b*c", b"axxbyy"));
        assert!(glob(b"**", b"abc"));
    }
}
