//! Version comparison for `--min-version` and health checks that require a
//! minimum node release.

/// Compares dotted versions numerically: `"1.10.0"` >= `"1.8.6"`, and
/// `"1.8.6-RELEASE"` >= `"1.8.6"` (reading stops at the first part that is
/// not a number, so suffixes are ignored). A missing part counts as older:
/// `"1.8"` < `"1.8.0"`.
pub fn version_at_least(have: &str, min: &str) -> bool {
    let parse =
        |s: &str| -> Vec<u64> { s.split(['.', '-']).map_while(|p| p.parse().ok()).collect() };
    parse(have) >= parse(min)
}

#[cfg(test)]
mod tests {
    use super::version_at_least;

    #[test]
    fn versions() {
        assert!(version_at_least("1.10.0", "1.8.6"));
        assert!(!version_at_least("1.8.5", "1.8.6"));
        assert!(version_at_least("1.8.6-RELEASE", "1.8.6"));
        assert!(version_at_least("1.8.6", "1.8.6"));
        assert!(!version_at_least("?", "1.0"));
        assert!(version_at_least("2", "1.99.99"));
        assert!(!version_at_least("1.8", "1.8.0"));
    }
}
