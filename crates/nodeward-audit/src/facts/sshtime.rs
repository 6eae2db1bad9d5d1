//! sshd_config time values (`LoginGraceTime 1m30s`): a number alone is
//! seconds, or a sequence of number+unit with units s, m, h, d, w in either
//! case (sshd_config(5) TIME FORMATS).

/// Parses an sshd time value into seconds; `None` when sshd would refuse it.
pub fn parse_seconds(text: &str) -> Option<u64> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        return t.parse().ok();
    }
    let mut total: u64 = 0;
    let mut num = String::new();
    for c in t.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let mult: u64 = match c.to_ascii_lowercase() {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            'w' => 604_800,
            _ => return None,
        };
        let n: u64 = num.parse().ok()?;
        num.clear();
        total = total.checked_add(n.checked_mul(mult)?)?;
    }
    if !num.is_empty() {
        // A trailing bare number counts as seconds ("1m30").
        total = total.checked_add(num.parse().ok()?)?;
    }
    Some(total)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(parse_seconds("120"), Some(120));
        assert_eq!(parse_seconds("30s"), Some(30));
        assert_eq!(parse_seconds("1m"), Some(60));
        assert_eq!(parse_seconds("2M"), Some(120));
        assert_eq!(parse_seconds("1h30m"), Some(5400));
        assert_eq!(parse_seconds("1w2d"), Some(777_600));
        assert_eq!(parse_seconds("0"), Some(0));
        for bad in [
            "",
            "m",
            "1x",
            "-5",
            "1.5m",
            "99999999999999999999999",
            "1m m",
        ] {
            assert_eq!(parse_seconds(bad), None, "{bad}");
        }
    }
}
