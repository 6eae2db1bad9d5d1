//! /etc/shadow: who has a usable password, and its ageing fields (maximum age
//! and warning days), with the line each came from.

/// One /etc/shadow entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShadowEntry {
    /// Login name.
    pub name: String,
    /// The hash field (`*`, `!`, `!$y$...`, `$y$...`, or empty).
    pub hash: String,
    /// Maximum password age in days (`None`: field empty, no limit).
    pub max_days: Option<i64>,
    /// Days of warning before the password expires (`None`: field empty).
    pub warn_days: Option<i64>,
    /// A numeric field that is not a number (the entry is kept, the field ignored).
    pub bad_field: Option<String>,
    /// 1-based line.
    pub line: usize,
}

impl ShadowEntry {
    /// Whether the hash field is locked (`!...`) or can never match (`*...`).
    pub fn is_locked(&self) -> bool {
        self.hash.starts_with('!') || self.hash.starts_with('*')
    }

    /// Whether the account can log in with a password: a hash that is neither
    /// locked nor empty (an empty field is ACC-002's business).
    pub fn has_usable_password(&self) -> bool {
        !self.hash.is_empty() && !self.is_locked()
    }
}

fn num(field: Option<&str>, what: &str, bad: &mut Option<String>) -> Option<i64> {
    let f = field?.trim();
    if f.is_empty() {
        return None;
    }
    match f.parse::<i64>() {
        Ok(n) => Some(n),
        Err(_) => {
            let shown: String = f.chars().take(20).collect();
            bad.get_or_insert_with(|| format!("{what} {shown:?} is not a number"));
            None
        }
    }
}

/// Parses /etc/shadow; lines without at least a name and a hash field are left out.
pub fn parse_shadow(text: &str) -> Vec<ShadowEntry> {
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|(i, l)| {
            let f: Vec<&str> = l.split(':').collect();
            if f.len() < 2 || f[0].is_empty() {
                return None;
            }
            let mut bad = None;
            let max_days = num(f.get(4).copied(), "maximum age", &mut bad);
            let warn_days = num(f.get(5).copied(), "warning days", &mut bad);
            Some(ShadowEntry {
                name: f[0].to_string(),
                hash: f[1].to_string(),
                max_days,
                warn_days,
                bad_field: bad,
                line: i + 1,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ageing_fields_locks_and_bad_input() {
        let s = parse_shadow(
            "root:$y$j9T$x:19800:0:99999:7:::\nhornet:!:19800::::::\nbob:*:1\nlone\n\
             eve:$6$x:19800:0:9x:21:::\ncut:$6$y:19800:0",
        );
        assert_eq!(s.len(), 5);
        assert_eq!(s[0].max_days, Some(99999));
        assert_eq!(s[0].warn_days, Some(7));
        assert!(s[0].has_usable_password());
        assert!(s[1].is_locked() && !s[1].has_usable_password());
        assert_eq!(s[1].max_days, None);
        assert!(s[2].is_locked());
        assert_eq!(s[3].max_days, None);
        assert!(s[3].bad_field.as_deref().unwrap().contains("maximum age"));
        assert_eq!(s[3].warn_days, Some(21));
        // Truncated line: the missing fields are "not set".
        assert_eq!((s[4].max_days, s[4].warn_days), (None, None));
    }
}
