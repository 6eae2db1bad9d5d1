//! Splitting one sshd_config line into keyword and arguments, the way
//! OpenSSH's `argv_split` does: whitespace-separated, `"` and `'` quoting,
//! backslash escapes inside quotes, `#` at the start of a token ends the line,
//! and `Keyword=value` / `Keyword = value` accepted.

/// Why a line could not be split.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenizeError {
    /// A quote was opened and never closed.
    #[error("unterminated quote")]
    UnterminatedQuote,
}

/// Splits `line` into the lowercase keyword and its arguments. `None` for a
/// blank or comment line.
pub fn split_line(line: &str) -> Result<Option<(String, Vec<String>)>, TokenizeError> {
    let line = line.trim_start_matches([' ', '\t', '\r', '\n']);
    if line.is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    // The keyword ends at whitespace or '='; one '=' may follow (with spaces).
    let end = line
        .find(|c: char| c.is_whitespace() || c == '=')
        .unwrap_or(line.len());
    let keyword = line[..end].to_ascii_lowercase();
    let mut rest = line[end..].trim_start_matches([' ', '\t', '\r']);
    if let Some(r) = rest.strip_prefix('=') {
        rest = r.trim_start_matches([' ', '\t', '\r']);
    }
    let args = split_args(rest)?;
    Ok(Some((keyword, args)))
}

fn split_args(s: &str) -> Result<Vec<String>, TokenizeError> {
    let mut args = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let Some(&first) = chars.peek() else {
            break;
        };
        if first == '#' {
            break;
        }
        let mut arg = String::new();
        let mut quote: Option<char> = None;
        while let Some(&c) = chars.peek() {
            match quote {
                None if c.is_whitespace() => break,
                None if c == '"' || c == '\'' => {
                    quote = Some(c);
                    chars.next();
                }
                Some(q) if c == q => {
                    quote = None;
                    chars.next();
                }
                _ if c == '\\' => {
                    chars.next();
                    match chars.peek() {
                        Some(&n) if n == '\\' || n == '"' || n == '\'' || n == ' ' => {
                            arg.push(n);
                            chars.next();
                        }
                        _ => arg.push('\\'),
                    }
                }
                _ => {
                    arg.push(c);
                    chars.next();
                }
            }
        }
        if quote.is_some() {
            return Err(TokenizeError::UnterminatedQuote);
        }
        args.push(arg);
    }
    Ok(args)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn keyword_forms() {
        let (k, a) = split_line("  PasswordAuthentication yes # trailing")
            .unwrap()
            .unwrap();
        assert_eq!(k, "passwordauthentication");
        assert_eq!(a, vec!["yes"]);
        let (k, a) = split_line("Port=2222").unwrap().unwrap();
        assert_eq!((k.as_str(), a), ("port", vec!["2222".to_string()]));
        let (_, a) = split_line("Banner = \"/etc/my banner\"").unwrap().unwrap();
        assert_eq!(a, vec!["/etc/my banner"]);
        assert!(split_line("# comment").unwrap().is_none());
        assert!(split_line("   ").unwrap().is_none());
        assert_eq!(
            split_line("Banner \"x").unwrap_err(),
            TokenizeError::UnterminatedQuote
        );
    }

    proptest! {
        #[test]
        fn never_panics(line in "\\PC{0,200}") {
            let _ = split_line(&line);
        }
    }
}
