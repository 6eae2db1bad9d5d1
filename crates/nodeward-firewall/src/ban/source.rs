//! The kinds of log a source can be, and turning one line into a failure.

use super::gateway;
use super::patterns::Patterns;
use super::sshd::{self, Failure};
use super::syslog;

/// How a source's lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Syslog lines from many programs (`/var/log/auth.log`); only sshd's count.
    Syslog,
    /// Bare sshd messages (`sshd -E FILE`).
    Sshd,
    /// Gateway violation JSON lines.
    Gateway,
}

impl Format {
    /// Parses the CLI name.
    pub fn parse(s: &str) -> Option<Format> {
        match s {
            "syslog" => Some(Format::Syslog),
            "sshd" => Some(Format::Sshd),
            "gateway" => Some(Format::Gateway),
            _ => None,
        }
    }
}

/// A parsed line: the failure (if any) and the line's own timestamp (syslog only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parsed {
    /// The failure.
    pub failure: Option<Failure>,
    /// The timestamp in the line, in seconds, if it has one.
    pub time: Option<i64>,
}

/// Parses `line` of a source in `format`. Non-UTF-8 lines never match.
pub fn parse_line(format: Format, line: &[u8], extra: &Patterns) -> Parsed {
    let none = Parsed {
        failure: None,
        time: None,
    };
    let Ok(line) = std::str::from_utf8(line) else {
        return none;
    };
    let line = line.strip_suffix('\r').unwrap_or(line);
    match format {
        Format::Gateway => Parsed {
            failure: gateway::parse_line(line),
            time: None,
        },
        Format::Sshd => {
            // `sshd -E` may prefix nothing or the program name.
            let msg = line
                .strip_prefix("sshd: ")
                .or_else(|| line.strip_prefix("sshd-session: "))
                .unwrap_or(line);
            Parsed {
                failure: parse_message(msg, extra),
                time: None,
            }
        }
        Format::Syslog => match syslog::split(line) {
            Some(l) if syslog::is_sshd(l.program) => Parsed {
                failure: parse_message(l.message, extra),
                time: l.time,
            },
            Some(l) if !extra.is_empty() => Parsed {
                failure: extra.parse(l.message),
                time: l.time,
            },
            Some(l) => Parsed {
                failure: None,
                time: l.time,
            },
            None => none,
        },
    }
}

/// Built-in sshd forms first, then the configured patterns.
pub fn parse_message(msg: &str, extra: &Patterns) -> Option<Failure> {
    sshd::parse_message(msg).or_else(|| {
        if extra.is_empty() {
            None
        } else {
            extra.parse(msg)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_sshd_lines_count_in_syslog() {
        let p = Patterns::default();
        let sshd = b"Oct  1 00:00:00 h sshd[1]: Invalid user a from 192.0.2.1 port 2";
        assert!(parse_line(Format::Syslog, sshd, &p).failure.is_some());
        let other = b"Oct  1 00:00:00 h su[1]: Invalid user a from 192.0.2.1 port 2";
        assert!(parse_line(Format::Syslog, other, &p).failure.is_none());
        let binary = b"Oct  1 00:00:00 h sshd[1]: Invalid user \xff from 192.0.2.1 port 2";
        assert!(parse_line(Format::Syslog, binary, &p).failure.is_none());
        assert!(
            parse_line(Format::Sshd, b"Invalid user a from 192.0.2.1 port 2\r", &p)
                .failure
                .is_some()
        );
        // Truncated line: the address is cut, so nothing matches.
        assert!(
            parse_line(Format::Sshd, b"Invalid user a from 192.0.2.1 po", &p)
                .failure
                .is_none()
        );
    }

    proptest::proptest! {
        /// Arbitrary bytes in any format never panic; a syslog line whose prefix names
        /// another program never yields a failure.
        #[test]
        fn arbitrary_lines(bytes in proptest::collection::vec(proptest::num::u8::ANY, 0..300), tail in "\\PC{0,120}") {
            let p = Patterns::default();
            for f in [Format::Syslog, Format::Sshd, Format::Gateway] {
                let _ = parse_line(f, &bytes, &p);
            }
            let line = format!("Oct  1 00:00:00 h cron[1]: {tail}");
            proptest::prop_assert!(parse_line(Format::Syslog, line.as_bytes(), &p).failure.is_none());
        }
    }
}
