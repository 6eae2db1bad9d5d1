//! A nesting-depth check run before parsing, so a body nested 10,000 deep
//! costs one linear pass and no recursion.

use super::ExtractError;

/// Returns an error when `body` nests arrays/objects deeper than `max`.
/// Brackets inside strings (including escaped quotes) are not counted.
pub fn check_depth(body: &[u8], max: usize) -> Result<(), ExtractError> {
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for &b in body {
        if in_string {
            if escaped {
                escaped = false;
            } else if b == b'\\' {
                escaped = true;
            } else if b == b'"' {
                in_string = false;
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Err(ExtractError::TooDeep(max));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_nesting_outside_strings() {
        assert!(check_depth(br#"{"a":[[1]]}"#, 3).is_ok());
        assert!(check_depth(br#"{"a":[[1]]}"#, 2).is_err());
        assert!(check_depth(br#"{"a":"[[[[[\"[[["}"#, 1).is_ok());
        let deep = "[".repeat(10_000);
        assert_eq!(
            check_depth(deep.as_bytes(), 32),
            Err(ExtractError::TooDeep(32))
        );
    }
}
