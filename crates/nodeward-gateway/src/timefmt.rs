//! How the gateway writes instants in `/status`, the admin page and its logs:
//! RFC 3339 in UTC, and Unix seconds for metrics. One place, so every
//! endpoint shows time the same way.

use std::time::SystemTime;

/// `t` as RFC 3339 in UTC, to the second (`2026-12-02T19:30:00Z`).
pub fn rfc3339(t: SystemTime) -> String {
    humantime::format_rfc3339_seconds(t).to_string()
}

/// `t` as RFC 3339 in UTC, to the millisecond, for events closer together
/// than a second (health-check rounds).
pub fn rfc3339_millis(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t).to_string()
}

/// `t` as whole seconds since the Unix epoch (0 for an instant before it).
pub fn unix(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn formats_utc() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_796_240_000_123);
        assert_eq!(rfc3339(t), "2026-12-02T19:33:20Z");
        assert_eq!(rfc3339_millis(t), "2026-12-02T19:33:20.123Z");
        assert_eq!(unix(t), 1_796_240_000);
        assert_eq!(unix(SystemTime::UNIX_EPOCH - Duration::from_secs(5)), 0);
    }
}
