//! Port lists as the config writes them: `"22"`, `"14265,15600"`, `"3000-3999"`.

use serde::{Deserialize, Deserializer};
use std::fmt;

/// An inclusive range of ports (a single port has `first == last`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PortRange {
    /// First port (at least 1).
    pub first: u16,
    /// Last port (at least `first`).
    pub last: u16,
}

impl PortRange {
    /// Whether `port` is inside the range.
    pub fn contains(self, port: u16) -> bool {
        self.first <= port && port <= self.last
    }

    /// Whether the two ranges share a port.
    pub fn overlaps(self, other: PortRange) -> bool {
        self.first <= other.last && other.first <= self.last
    }
}

impl fmt::Display for PortRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.first == self.last {
            write!(f, "{}", self.first)
        } else {
            write!(f, "{}-{}", self.first, self.last)
        }
    }
}

/// A non-empty list of port ranges that do not overlap each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortList(Vec<PortRange>);

impl PortList {
    /// The ranges, in the order written.
    pub fn ranges(&self) -> &[PortRange] {
        &self.0
    }

    /// Whether `port` is in the list.
    pub fn contains(&self, port: u16) -> bool {
        self.0.iter().any(|r| r.contains(port))
    }

    /// A list of one port.
    pub fn single(port: u16) -> Self {
        PortList(vec![PortRange {
            first: port,
            last: port,
        }])
    }

    /// Builds a list from ranges already known to be valid and disjoint.
    pub fn from_ranges(ranges: Vec<PortRange>) -> Self {
        PortList(ranges)
    }

    /// Parses `"22"`, `"14265,15600"`, `"3000-3999"` and mixtures, refusing port 0,
    /// ports above 65535, reversed ranges and overlaps inside the list.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut out: Vec<PortRange> = Vec::new();
        if text.trim().is_empty() {
            return Err(
                "empty port list (expected e.g. \"22\", \"80,443\" or \"3000-3999\")".into(),
            );
        }
        for item in text.split(',') {
            let item = item.trim();
            let range = match item.split_once('-') {
                Some((a, b)) => {
                    let first = parse_port(a.trim(), text)?;
                    let last = parse_port(b.trim(), text)?;
                    if first > last {
                        return Err(format!(
                            "port range {item:?} is impossible: {first} is above {last}"
                        ));
                    }
                    PortRange { first, last }
                }
                None => {
                    let p = parse_port(item, text)?;
                    PortRange { first: p, last: p }
                }
            };
            if let Some(prev) = out.iter().find(|r| r.overlaps(range)) {
                return Err(format!(
                    "ports {prev} and {range} overlap in {text:?}; list each port once"
                ));
            }
            out.push(range);
        }
        Ok(PortList(out))
    }
}

fn parse_port(s: &str, whole: &str) -> Result<u16, String> {
    if s.is_empty() {
        return Err(format!("empty port in {whole:?}"));
    }
    if !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{s:?} is not a port number (in {whole:?})"));
    }
    match s.parse::<u32>() {
        Ok(0) => Err(format!("port 0 is not a usable port (in {whole:?})")),
        Ok(n) if n <= 65535 => Ok(n as u16),
        _ => Err(format!("port {s} is above 65535 (in {whole:?})")),
    }
}

impl fmt::Display for PortList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

impl<'de> Deserialize<'de> for PortList {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = PortList;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a port number or a string such as \"80,443\" or \"3000-3999\"")
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<PortList, E> {
                PortList::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<PortList, E> {
                PortList::parse(&v.to_string()).map_err(E::custom)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<PortList, E> {
                PortList::parse(v).map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_lists_and_ranges() {
        let l = PortList::parse("14265, 15600,3000-3999").unwrap();
        assert_eq!(l.to_string(), "14265,15600,3000-3999");
        assert!(l.contains(3500) && l.contains(15600) && !l.contains(4000));
    }

    #[test]
    fn refuses_bad_ports() {
        for bad in [
            "",
            "0",
            "65536",
            "80,",
            "a",
            "3999-3000",
            "80,80",
            "3000-3999,3500",
            "1-2-3",
            "-5",
        ] {
            assert!(PortList::parse(bad).is_err(), "{bad:?} accepted");
        }
        let msg = PortList::parse("3999-3000").unwrap_err();
        assert!(msg.contains("impossible"), "{msg}");
        let msg = PortList::parse("3000-3999,3500").unwrap_err();
        assert!(msg.contains("overlap"), "{msg}");
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,40}") {
            let _ = PortList::parse(&s);
        }
    }
}
