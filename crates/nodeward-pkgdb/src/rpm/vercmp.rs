//! RPM version comparison: `rpmvercmp` on each of epoch, version and release,
//! as rpm documents it — alphanumeric segments compared one by one (digits
//! numerically, letters as text, a numeric segment newer than an alphabetic
//! one), other characters only separate; `~` sorts before everything (even
//! the end: `1.0~rc1` < `1.0`), `^` after the end but before anything else
//! (`1.0` < `1.0^git1` < `1.0.1`).

use std::cmp::Ordering;

/// An epoch:version-release triple.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Evr {
    /// Epoch (0 when absent).
    pub epoch: u64,
    /// Version.
    pub version: String,
    /// Release.
    pub release: String,
}

impl Evr {
    /// An EVR from its parts; an absent or unreadable epoch is 0.
    pub fn new(epoch: Option<&str>, version: &str, release: &str) -> Evr {
        Evr {
            epoch: epoch
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .and_then(|e| e.parse().ok())
                .unwrap_or(0),
            version: version.to_string(),
            release: release.to_string(),
        }
    }
}

impl std::fmt::Display for Evr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.epoch > 0 {
            write!(f, "{}:", self.epoch)?;
        }
        write!(f, "{}-{}", self.version, self.release)
    }
}

impl Ord for Evr {
    fn cmp(&self, other: &Self) -> Ordering {
        self.epoch
            .cmp(&other.epoch)
            .then_with(|| rpmvercmp(&self.version, &other.version))
            .then_with(|| rpmvercmp(&self.release, &other.release))
    }
}

impl PartialOrd for Evr {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

fn is_sep(c: u8) -> bool {
    !c.is_ascii_alphanumeric() && c != b'~' && c != b'^'
}

/// Compares two version (or release) strings with rpm's rules.
pub fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    loop {
        while i < a.len() && is_sep(a[i]) {
            i += 1;
        }
        while j < b.len() && is_sep(b[j]) {
            j += 1;
        }
        let (ca, cb) = (a.get(i).copied(), b.get(j).copied());
        if ca.is_none() && cb.is_none() {
            return Ordering::Equal;
        }
        // Tilde: older than anything, even the end of the string.
        if ca == Some(b'~') || cb == Some(b'~') {
            if ca != Some(b'~') {
                return Ordering::Greater;
            }
            if cb != Some(b'~') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        // Caret: newer than the end of the string, older than anything else.
        if ca == Some(b'^') || cb == Some(b'^') {
            if ca.is_none() {
                return Ordering::Less;
            }
            if cb.is_none() {
                return Ordering::Greater;
            }
            if ca != Some(b'^') {
                return Ordering::Greater;
            }
            if cb != Some(b'^') {
                return Ordering::Less;
            }
            i += 1;
            j += 1;
            continue;
        }
        let (Some(ca), Some(_)) = (ca, cb) else {
            // One string ended: the one with something left is newer.
            return if ca.is_none() {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        };
        let numeric = ca.is_ascii_digit();
        let class = |c: u8| {
            if numeric {
                c.is_ascii_digit()
            } else {
                c.is_ascii_alphabetic()
            }
        };
        let (si, sj) = (i, j);
        while i < a.len() && class(a[i]) {
            i += 1;
        }
        while j < b.len() && class(b[j]) {
            j += 1;
        }
        let (mut sa, mut sb) = (&a[si..i], &b[sj..j]);
        if sb.is_empty() {
            // Different kinds of segment: a number is newer than letters.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        if numeric {
            while sa.first() == Some(&b'0') {
                sa = &sa[1..];
            }
            while sb.first() == Some(&b'0') {
                sb = &sb[1..];
            }
            match sa.len().cmp(&sb.len()) {
                Ordering::Equal => {}
                other => return other,
            }
        }
        match sa.cmp(sb) {
            Ordering::Equal => {}
            other => return other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use Ordering::*;

    /// Cases from rpm's own test suite for rpmvercmp (rpmvercmp.at), as
    /// (a, b, expected).
    const CASES: &[(&str, &str, Ordering)] = &[
        ("1.0", "1.0", Equal),
        ("1.0", "2.0", Less),
        ("2.0", "1.0", Greater),
        ("2.0.1", "2.0.1", Equal),
        ("2.0", "2.0.1", Less),
        ("2.0.1a", "2.0.1", Greater),
        ("5.5p1", "5.5p2", Less),
        ("5.5p10", "5.5p1", Greater),
        ("10xyz", "10.1xyz", Less),
        ("xyz10", "xyz10.1", Less),
        ("xyz.4", "8", Less),
        ("8", "xyz.4", Greater),
        ("1.0010", "1.9", Greater),
        ("1.05", "1.5", Equal),
        ("1.0", "1", Greater),
        ("2.50", "2.5", Greater),
        ("fc4", "fc.4", Equal),
        ("FC5", "fc4", Less),
        ("2a", "2.0", Less),
        ("1.0a", "1.0", Greater),
        ("1.0aa", "1.0a", Greater),
        ("10b2", "10a1", Greater),
        ("1b", "1a", Greater),
        ("6.0.rc1", "6.0", Greater),
        ("1.0~rc1", "1.0~rc1", Equal),
        ("1.0~rc1", "1.0", Less),
        ("1.0", "1.0~rc1", Greater),
        ("1.0~rc1", "1.0~rc2", Less),
        ("1.0~rc1~git123", "1.0~rc1", Less),
        ("1.0^", "1.0^", Equal),
        ("1.0^", "1.0", Greater),
        ("1.0", "1.0^", Less),
        ("1.0^git1", "1.0^git1", Equal),
        ("1.0^git1", "1.0", Greater),
        ("1.0^git1", "1.01", Less),
        ("1.0^20160101", "1.0.1", Less),
        ("1.0^20160101^git1", "1.0^20160101", Greater),
        ("1.0~rc1^git1", "1.0~rc1", Greater),
        ("1.0^git1~pre", "1.0^git1", Less),
        ("1.0^git1", "1.0^git2", Less),
        ("1.0~rc1^git1", "1.0", Less),
        ("3.0.7", "3.0.10", Less),
        ("27.el9", "27.el9_3.1", Less),
    ];

    #[test]
    fn rpm_test_suite_cases() {
        for (a, b, want) in CASES {
            assert_eq!(rpmvercmp(a, b), *want, "{a} vs {b}");
        }
    }

    #[test]
    fn epoch_then_version_then_release() {
        let e = |ep, v, r| Evr::new(ep, v, r);
        assert!(e(Some("1"), "1.0", "1") > e(None, "9.9", "9"));
        assert!(e(None, "3.0.7", "27.el9") < e(Some("0"), "3.0.7", "28.el9"));
        assert_eq!(e(Some(""), "1", "1").cmp(&e(Some("0"), "1", "1")), Equal);
        assert_eq!(
            e(Some("1"), "3.0.7", "27.el9").to_string(),
            "1:3.0.7-27.el9"
        );
    }

    proptest! {
        #[test]
        fn antisymmetric_and_reflexive(a in "[0-9a-zA-Z.~^_+-]{0,12}", b in "[0-9a-zA-Z.~^_+-]{0,12}") {
            prop_assert_eq!(rpmvercmp(&a, &b), rpmvercmp(&b, &a).reverse());
            prop_assert_eq!(rpmvercmp(&a, &a), Equal);
        }
    }
}
