//! The value types every config section shares: durations, byte sizes and rates.
//!
//! Each deserialises from a string (`"5s"`, `"64KiB"`, `"100/s"`) and refuses
//! anything else with a message that says what form was expected.

use serde::{Deserialize, Deserializer};
use std::fmt;
use std::str::FromStr;

/// A duration written as `"5s"`, `"250ms"`, `"10m"`, `"1h 30m"` (humantime syntax).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Duration(pub std::time::Duration);

impl Duration {
    /// The standard-library duration.
    pub fn get(self) -> std::time::Duration {
        self.0
    }
}

impl FromStr for Duration {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        if t.is_empty() {
            return Err("empty duration (expected e.g. \"5s\", \"250ms\", \"10m\")".into());
        }
        humantime::parse_duration(t).map(Duration).map_err(|e| {
            format!("invalid duration {s:?}: {e} (expected e.g. \"5s\", \"250ms\", \"10m\")")
        })
    }
}

impl fmt::Display for Duration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", humantime::format_duration(self.0))
    }
}

/// A size in bytes written as `"64KiB"`, `"1MiB"`, `"512"`, `"10kB"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct ByteSize(pub u64);

impl ByteSize {
    /// The size in bytes.
    pub fn bytes(self) -> u64 {
        self.0
    }
}

impl FromStr for ByteSize {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let t = s.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let expected = "expected e.g. \"64KiB\", \"1MiB\" or \"512\"";
        if num.is_empty() {
            return Err(format!("invalid size {s:?}: no number ({expected})"));
        }
        let n: u64 = num
            .parse()
            .map_err(|_| format!("invalid size {s:?}: number too large ({expected})"))?;
        let mult: u64 = match unit.trim() {
            "" | "B" => 1,
            "KiB" => 1 << 10,
            "MiB" => 1 << 20,
            "GiB" => 1 << 30,
            "kB" | "KB" => 1_000,
            "MB" => 1_000_000,
            "GB" => 1_000_000_000,
            other => {
                return Err(format!(
                    "invalid size {s:?}: unknown unit {other:?} ({expected})"
                ))
            }
        };
        n.checked_mul(mult)
            .map(ByteSize)
            .ok_or_else(|| format!("invalid size {s:?}: too large"))
    }
}

impl fmt::Display for ByteSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = self.0;
        for (unit, m) in [("GiB", 1u64 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)] {
            if n >= m && n.is_multiple_of(m) {
                return write!(f, "{}{unit}", n / m);
            }
        }
        write!(f, "{n}B")
    }
}

/// A rate written as `"100/s"`, `"10/min"`, `"5/10s"`: `count` events per `per`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Rate {
    /// Events allowed per period (at least 1).
    pub count: u32,
    /// The period (non-zero).
    pub per: std::time::Duration,
}

impl FromStr for Rate {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        let expected = "expected e.g. \"100/s\", \"10/min\" or \"5/10s\"";
        let (count, period) = s
            .trim()
            .split_once('/')
            .ok_or_else(|| format!("invalid rate {s:?}: no '/' ({expected})"))?;
        let count: u32 = count
            .trim()
            .parse()
            .map_err(|_| format!("invalid rate {s:?}: count is not a whole number ({expected})"))?;
        if count == 0 {
            return Err(format!(
                "invalid rate {s:?}: count must be at least 1 (omit the key for no limit)"
            ));
        }
        let period = period.trim();
        let per = match period {
            "s" | "sec" | "second" => std::time::Duration::from_secs(1),
            "m" | "min" | "minute" => std::time::Duration::from_secs(60),
            "h" | "hour" => std::time::Duration::from_secs(3600),
            "d" | "day" => std::time::Duration::from_secs(86_400),
            other => humantime::parse_duration(other)
                .map_err(|e| format!("invalid rate {s:?}: period {other:?}: {e} ({expected})"))?,
        };
        if per.is_zero() {
            return Err(format!(
                "invalid rate {s:?}: period must be longer than zero"
            ));
        }
        Ok(Rate { count, per })
    }
}

impl fmt::Display for Rate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.count, humantime::format_duration(self.per))
    }
}

macro_rules! deserialize_from_str {
    ($t:ty, $what:literal) => {
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = $t;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($what)
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$t, E> {
                        v.parse().map_err(E::custom)
                    }
                }
                d.deserialize_str(V)
            }
        }
    };
}

deserialize_from_str!(Duration, "a duration string such as \"5s\"");
deserialize_from_str!(ByteSize, "a size string such as \"64KiB\"");
deserialize_from_str!(Rate, "a rate string such as \"100/s\"");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!("5s".parse::<Duration>().unwrap().get().as_secs(), 5);
        assert_eq!("250ms".parse::<Duration>().unwrap().get().as_millis(), 250);
        assert_eq!("10m".parse::<Duration>().unwrap().get().as_secs(), 600);
        assert!("5 parsecs".parse::<Duration>().is_err());
        assert!("".parse::<Duration>().is_err());
    }

    #[test]
    fn sizes() {
        assert_eq!("64KiB".parse::<ByteSize>().unwrap().bytes(), 65536);
        assert_eq!("512".parse::<ByteSize>().unwrap().bytes(), 512);
        assert_eq!("1MiB".parse::<ByteSize>().unwrap().to_string(), "1MiB");
        assert!("64KB!".parse::<ByteSize>().is_err());
        assert!("KiB".parse::<ByteSize>().is_err());
        assert!("99999999999999999999GiB".parse::<ByteSize>().is_err());
        assert!("18446744073709551615GiB".parse::<ByteSize>().is_err());
    }

    #[test]
    fn rates() {
        let r: Rate = "50/s".parse().unwrap();
        assert_eq!((r.count, r.per.as_secs()), (50, 1));
        let r: Rate = "10/min".parse().unwrap();
        assert_eq!((r.count, r.per.as_secs()), (10, 60));
        let r: Rate = "5/10s".parse().unwrap();
        assert_eq!((r.count, r.per.as_secs()), (5, 10));
        assert!("0/s".parse::<Rate>().is_err());
        assert!("5".parse::<Rate>().is_err());
        assert!("5/0s".parse::<Rate>().is_err());
        assert!("x/s".parse::<Rate>().is_err());
    }

    #[test]
    fn deserialize_reports_the_problem() {
        #[derive(Deserialize, Debug)]
        struct T {
            #[allow(dead_code)]
            d: Duration,
        }
        let err = toml::from_str::<T>("d = \"5 parsecs\"").unwrap_err();
        assert!(
            err.message().contains("invalid duration"),
            "{}",
            err.message()
        );
        let err = toml::from_str::<T>("d = 5").unwrap_err();
        assert!(
            err.message().contains("duration string"),
            "{}",
            err.message()
        );
    }
}
