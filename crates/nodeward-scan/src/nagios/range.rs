//! The standard plugin threshold range syntax: `[@]start:end`, where `start`
//! defaults to 0, `~` means minus infinity, an empty end means plus infinity,
//! and a leading `@` alerts inside the range instead of outside it.

use std::fmt;
use std::str::FromStr;

/// A parsed threshold range.
#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    start: f64,
    end: f64,
    inside: bool,
    text: String,
}

/// A threshold that does not follow the range syntax.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("invalid threshold range {text:?}: {reason}")]
pub struct RangeError {
    text: String,
    reason: String,
}

impl Range {
    /// Whether `value` should raise an alert.
    pub fn alerts(&self, value: f64) -> bool {
        let within = value >= self.start && value <= self.end;
        if self.inside {
            within
        } else {
            !within
        }
    }

    /// The range as given, for perfdata.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Parses a "lower bound" threshold, where a bare `N` means "alert below N"
    /// (used for days-until-expiry and peer counts); anything with `:` or `@`
    /// is the standard syntax.
    pub fn parse_minimum(text: &str) -> Result<Range, RangeError> {
        let t = text.trim();
        if !t.contains(':') && !t.starts_with('@') {
            // Written back in the standard form, so perfdata consumers read it right.
            return format!("{t}:").parse().map_err(|e: RangeError| RangeError {
                text: t.to_string(),
                ..e
            });
        }
        t.parse()
    }
}

impl FromStr for Range {
    type Err = RangeError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = |reason: &str| RangeError {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        let t = text.trim();
        if t.is_empty() {
            return Err(err("empty"));
        }
        let (inside, body) = match t.strip_prefix('@') {
            Some(rest) => (true, rest),
            None => (false, t),
        };
        let num = |s: &str| -> Result<f64, RangeError> {
            let v: f64 = s
                .parse()
                .map_err(|_| err(&format!("{s:?} is not a number")))?;
            if v.is_finite() {
                Ok(v)
            } else {
                Err(err("not a finite number"))
            }
        };
        let (start, end) = match body.split_once(':') {
            None => (0.0, num(body)?),
            Some((s, e)) => {
                let start = if s == "~" {
                    f64::NEG_INFINITY
                } else if s.is_empty() {
                    0.0
                } else {
                    num(s)?
                };
                let end = if e.is_empty() { f64::INFINITY } else { num(e)? };
                (start, end)
            }
        };
        if start > end {
            return Err(err("start is greater than end"));
        }
        Ok(Range {
            start,
            end,
            inside,
            text: t.to_string(),
        })
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn r(s: &str) -> Range {
        s.parse().unwrap()
    }

    #[test]
    fn the_guideline_examples() {
        // 10: alert if < 0 or > 10
        assert!(r("10").alerts(11.0) && r("10").alerts(-1.0) && !r("10").alerts(5.0));
        // 10: alert if < 10
        assert!(r("10:").alerts(9.0) && !r("10:").alerts(1e9));
        // ~:10 alert if > 10
        assert!(r("~:10").alerts(11.0) && !r("~:10").alerts(-1e9));
        // 10:20 alert outside
        assert!(r("10:20").alerts(9.0) && r("10:20").alerts(21.0) && !r("10:20").alerts(15.0));
        // @10:20 alert inside, inclusive
        assert!(r("@10:20").alerts(10.0) && r("@10:20").alerts(20.0) && !r("@10:20").alerts(21.0));
    }

    #[test]
    fn minimum_form() {
        let m = Range::parse_minimum("14").unwrap();
        assert!(m.alerts(13.0) && !m.alerts(14.0) && !m.alerts(400.0));
        assert_eq!(m.as_str(), "14:");
        assert!(Range::parse_minimum("x")
            .unwrap_err()
            .to_string()
            .contains("\"x\""));
        assert!(Range::parse_minimum("@0:5").unwrap().alerts(3.0));
    }

    #[test]
    fn rejects_bad_ranges() {
        for bad in ["", "abc", "20:10", "@", "1:2:3", "nan", "inf", "~"] {
            assert!(bad.parse::<Range>().is_err(), "{bad}");
        }
    }

    proptest! {
        #[test]
        fn never_panics(s in ".{0,20}") {
            let _ = s.parse::<Range>();
            let _ = Range::parse_minimum(&s);
        }
    }
}
