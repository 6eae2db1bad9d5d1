//! Small line-oriented config formats: `KEY VALUE` (login.defs), `KEY=VALUE`
//! (shell-style defaults files, os-release) and `key = value` (pwquality.conf).

/// One setting with the 1-based line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The key as written.
    pub key: String,
    /// The value, quotes removed.
    pub value: String,
    /// 1-based line number.
    pub line: usize,
}

fn unquote(v: &str) -> String {
    let v = v.trim();
    if v.len() >= 2
        && ((v.starts_with('"') && v.ends_with('"')) || (v.starts_with('\'') && v.ends_with('\'')))
    {
        v[1..v.len() - 1].to_string()
    } else {
        v.to_string()
    }
}

/// Parses lines of `KEY<sep>VALUE`, skipping blanks and `#` comments. `sep`
/// is `=` for shell/INI style or `None` for whitespace-separated.
pub fn parse(text: &str, sep: Option<char>) -> Vec<Setting> {
    let mut out = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        let split = match sep {
            Some(c) => line.split_once(c),
            None => line.split_once(char::is_whitespace),
        };
        if let Some((k, v)) = split {
            let v = match v.split_once(" #") {
                Some((before, _)) if sep.is_some() && !v.trim_start().starts_with('"') => before,
                _ => v,
            };
            out.push(Setting {
                key: k.trim().to_string(),
                value: unquote(v),
                line: i + 1,
            });
        }
    }
    out
}

/// The last value of `key` (later lines override earlier ones), case-sensitive.
pub fn last<'a>(settings: &'a [Setting], key: &str) -> Option<&'a Setting> {
    settings.iter().rev().find(|s| s.key == key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_styles() {
        let s = parse("# c\nPASS_MAX_DAYS\t99999\nPASS_MAX_DAYS 90\n", None);
        assert_eq!(last(&s, "PASS_MAX_DAYS").unwrap().value, "90");
        assert_eq!(last(&s, "PASS_MAX_DAYS").unwrap().line, 3);
        let s = parse("minlen = 14\nENABLED=\"yes\"\n", Some('='));
        assert_eq!(last(&s, "minlen").unwrap().value, "14");
        assert_eq!(last(&s, "ENABLED").unwrap().value, "yes");
    }
}
