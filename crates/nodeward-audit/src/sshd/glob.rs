//! The glob(3) subset `Include` uses: `*`, `?` and `[...]` within one path
//! component, expanded through the host (so it works on an offline root), sorted.

use crate::host::Host;

/// Whether `name` matches the shell pattern `pat` (one component, no `/`).
pub fn fnmatch(pat: &str, name: &str) -> bool {
    let p: Vec<char> = pat.chars().collect();
    let n: Vec<char> = name.chars().collect();
    // Leading dots are only matched explicitly, as glob(3) does by default.
    if n.first() == Some(&'.') && p.first() != Some(&'.') {
        return false;
    }
    matches(&p, &n)
}

fn matches(p: &[char], n: &[char]) -> bool {
    // Iterative matcher with backtracking on the last '*' (linear-ish, no recursion blow-up).
    let (mut pi, mut ni) = (0, 0);
    let (mut star_p, mut star_n) = (None, 0);
    while ni < n.len() {
        if pi < p.len() {
            match p[pi] {
                '*' => {
                    star_p = Some(pi);
                    star_n = ni;
                    pi += 1;
                    continue;
                }
                '?' => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                '[' => {
                    if let Some((ok, next)) = class(&p[pi..], n[ni]) {
                        if ok {
                            pi += next;
                            ni += 1;
                            continue;
                        }
                    } else if n[ni] == '[' {
                        pi += 1;
                        ni += 1;
                        continue;
                    }
                }
                '\\' if pi + 1 < p.len() && p[pi + 1] == n[ni] => {
                    pi += 2;
                    ni += 1;
                    continue;
                }
                c if c == n[ni] => {
                    pi += 1;
                    ni += 1;
                    continue;
                }
                _ => {}
            }
        }
        match star_p {
            Some(sp) => {
                pi = sp + 1;
                star_n += 1;
                ni = star_n;
            }
            None => return false,
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// Matches a `[...]` class at the start of `p`; returns (matched, length).
fn class(p: &[char], c: char) -> Option<(bool, usize)> {
    let mut i = 1;
    let negate = matches!(p.get(1), Some('!') | Some('^'));
    if negate {
        i += 1;
    }
    let mut ok = false;
    let mut first = true;
    while i < p.len() {
        if p[i] == ']' && !first {
            return Some((ok != negate, i + 1));
        }
        first = false;
        if i + 2 < p.len() && p[i + 1] == '-' && p[i + 2] != ']' {
            if p[i] <= c && c <= p[i + 2] {
                ok = true;
            }
            i += 3;
        } else {
            if p[i] == c {
                ok = true;
            }
            i += 1;
        }
    }
    None
}

fn has_magic(s: &str) -> bool {
    s.contains(['*', '?', '['])
}

/// Expands an absolute pattern through `host`, sorted, at most `limit` paths.
pub fn expand(host: &dyn Host, pattern: &str, limit: usize) -> Vec<String> {
    let mut current = vec![String::new()];
    let parts: Vec<&str> = pattern.split('/').filter(|p| !p.is_empty()).collect();
    for (i, part) in parts.iter().enumerate() {
        let last = i + 1 == parts.len();
        let mut next = Vec::new();
        for base in &current {
            if has_magic(part) {
                let dir = if base.is_empty() {
                    "/".to_string()
                } else {
                    base.clone()
                };
                if let Ok(names) = host.list_dir(&dir) {
                    for name in names.into_iter().filter(|n| fnmatch(part, n)) {
                        let path = format!("{base}/{name}");
                        if last || host.metadata(&path).is_ok_and(|m| m.is_dir) {
                            next.push(path);
                        }
                    }
                }
            } else {
                let path = format!("{base}/{part}");
                if host.exists(&path) || (last && host.read_link(&path).is_ok()) {
                    next.push(path);
                }
            }
            if next.len() > limit {
                break;
            }
        }
        next.truncate(limit);
        current = next;
    }
    current.sort();
    current
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn patterns() {
        assert!(fnmatch("*.conf", "10-x.conf"));
        assert!(!fnmatch("*.conf", "10-x.conf.bak"));
        assert!(!fnmatch("*.conf", ".hidden.conf"));
        assert!(fnmatch("[0-9]?-*", "10-a"));
        assert!(!fnmatch("[!0-9]*", "1a"));
        assert!(fnmatch("a*b*c", "axxbyyc"));
    }

    proptest! {
        #[test]
        fn matcher_terminates(p in "[a*?\\[\\]!-]{0,30}", n in "[ab.-]{0,30}") {
            let _ = fnmatch(&p, &n);
        }
    }
}
