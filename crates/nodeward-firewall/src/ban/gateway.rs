//! Gateway violation lines: one JSON object per line with `ts`, `client_ip`, `reason`.

use super::sshd::{Failure, Kind};
use serde::Deserialize;

#[derive(Deserialize)]
struct Violation<'a> {
    #[serde(borrow)]
    client_ip: std::borrow::Cow<'a, str>,
    #[serde(default)]
    #[allow(dead_code)]
    reason: Option<serde_json::Value>,
    #[serde(default)]
    #[allow(dead_code)]
    ts: Option<serde_json::Value>,
}

/// Parses one violation line; `None` when it is not a violation object with a valid address.
pub fn parse_line(line: &str) -> Option<Failure> {
    let v: Violation = serde_json::from_str(line.trim()).ok()?;
    let addr = v.client_ip.parse().ok().map(crate::addr::canonical)?;
    Some(Failure {
        addr,
        kind: Kind::Gateway,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn violations() {
        let f = parse_line(r#"{"ts":"2026-11-21T10:00:00Z","client_ip":"2001:db8::5","reason":"forbidden command"}"#).unwrap();
        assert_eq!(f.addr.to_string(), "2001:db8::5");
        assert!(parse_line(r#"{"client_ip":"not an ip","reason":"x"}"#).is_none());
        assert!(parse_line(r#"{"reason":"x"}"#).is_none());
        assert!(parse_line("Oct  1 00:00:00 x").is_none());
        assert!(parse_line(r#"{"client_ip":"1.2.3.4 ","reason":"x"}"#).is_none());
    }
}
