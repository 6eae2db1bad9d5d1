//! Splitting syslog lines (`auth.log`) into timestamp, program and message.
//!
//! Two timestamp forms are understood: classic `"Oct  1 00:00:00 host prog[pid]: msg"`
//! and RFC 3339 `"2026-10-01T00:00:00.123456+00:00 host prog[pid]: msg"` (Debian 12
//! rsyslog). The timestamp is only used by `ban scan`; `ban watch` counts by the
//! time it reads a line, so a forged timestamp cannot change a live decision.

/// A syslog line split into its parts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyslogLine<'a> {
    /// Seconds (of an arbitrary but monotonic epoch), when the timestamp parsed.
    pub time: Option<i64>,
    /// The program name (`sshd`), without `[pid]`.
    pub program: &'a str,
    /// The message after `prog[pid]: `.
    pub message: &'a str,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn hms(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 8 || b[2] != b':' || b[5] != b':' {
        return None;
    }
    let n = |i: usize| -> Option<i64> {
        let (x, y) = (b[i], b[i + 1]);
        (x.is_ascii_digit() && y.is_ascii_digit()).then(|| ((x - b'0') * 10 + (y - b'0')) as i64)
    };
    let (h, m, sec) = (n(0)?, n(3)?, n(6)?);
    (h < 24 && m < 60 && sec < 61).then_some(h * 3600 + m * 60 + sec)
}

fn rfc3339(ts: &str) -> Option<i64> {
    let (date, time) = ts.split_once('T')?;
    let mut d = date.split('-');
    let (y, m, day) = (
        d.next()?.parse::<i64>().ok()?,
        d.next()?.parse::<i64>().ok()?,
        d.next()?.parse::<i64>().ok()?,
    );
    if !(1..=12).contains(&m) || !(1..=31).contains(&day) || !(1970..=9999).contains(&y) {
        return None;
    }
    let secs = hms(time)?;
    let rest = &time[8..];
    let rest = rest.trim_start_matches(|c: char| c == '.' || c.is_ascii_digit());
    let offset = if rest == "Z" || rest.is_empty() {
        0
    } else {
        let sign = match rest.as_bytes()[0] {
            b'+' => 1,
            b'-' => -1,
            _ => return None,
        };
        let (h, mi) = rest[1..].split_once(':')?;
        sign * (h.parse::<i64>().ok()? * 3600 + mi.parse::<i64>().ok()? * 60)
    };
    Some(days_from_civil(y, m, day) * 86_400 + secs - offset)
}

fn classic(month: &str, day: &str, time: &str) -> Option<i64> {
    let m = MONTHS.iter().position(|x| *x == month)? as i64 + 1;
    let d: i64 = day.parse().ok()?;
    if !(1..=31).contains(&d) {
        return None;
    }
    // No year in the line: place it in a fixed year; `ban scan` handles wrap-around.
    Some(days_from_civil(2000, m, d) * 86_400 + hms(time)?)
}

/// Splits `line` into timestamp, program and message; `None` if it is not syslog.
pub fn split(line: &str) -> Option<SyslogLine<'_>> {
    let (time, rest) = if line.as_bytes().first()?.is_ascii_digit() {
        let (ts, rest) = line.split_once(' ')?;
        (rfc3339(ts), rest)
    } else {
        // "Oct  1 00:00:00 " - the day may be padded with a second space.
        let month = line.get(..3)?;
        let rest = line.get(3..)?.trim_start_matches(' ');
        let (day, rest) = rest.split_once(' ')?;
        let (t, rest) = rest.split_once(' ')?;
        (classic(month, day, t), rest)
    };
    let (_host, rest) = rest.split_once(' ')?;
    let (tag, message) = rest.split_once(": ")?;
    if tag.contains(' ') || tag.is_empty() {
        return None;
    }
    let program = match tag.split_once('[') {
        Some((p, pid)) => {
            let pid = pid.strip_suffix(']')?;
            if pid.is_empty() || !pid.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            p
        }
        None => tag,
    };
    Some(SyslogLine {
        time,
        program,
        message,
    })
}

/// Whether `program` is sshd (OpenSSH 9.8+ logs as `sshd-session`).
pub fn is_sshd(program: &str) -> bool {
    matches!(program, "sshd" | "sshd-session" | "sshd-auth")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classic_and_rfc3339() {
        let l = split("Oct  1 00:00:05 node01 sshd[2001]: Invalid user a from 203.0.113.7 port 1")
            .unwrap();
        assert_eq!(
            (l.program, l.message),
            ("sshd", "Invalid user a from 203.0.113.7 port 1")
        );
        let l2 = split("Oct  1 00:01:05 node01 sshd[2001]: x").unwrap();
        assert_eq!(l2.time.unwrap() - l.time.unwrap(), 60);
        let r = split("2026-10-01T00:00:00.123456+02:00 node01 sshd[7]: hello").unwrap();
        assert_eq!(r.time, Some(days_from_civil(2026, 10, 1) * 86_400 - 7200));
        assert_eq!(r.message, "hello");
        assert_eq!(
            split("Oct 12 10:00:00 h CRON[5]: (root) CMD (x)")
                .unwrap()
                .program,
            "CRON"
        );
        assert_eq!(days_from_civil(1970, 1, 1), 0);
    }

    #[test]
    fn garbage_is_not_syslog() {
        for bad in [
            "",
            "x",
            "Oct",
            "Oct  1",
            "Oct  1 00:00:00 h",
            "Oct  1 00:00:00 h sshd[x]: m",
            "Oct  1 00:00:00 h a b: m",
        ] {
            assert!(split(bad).is_none(), "{bad:?}");
        }
    }

    proptest::proptest! {
        #[test]
        fn never_panics(s in "\\PC{0,120}") {
            let _ = split(&s);
        }
    }
}
