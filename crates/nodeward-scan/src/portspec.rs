//! Port lists: `22,80,443`, `1-1024`, `-` or `-p-` (all 65,535), `top1000`.

use crate::top_ports::TOP_1000_TCP;
use crate::ScanError;

/// Parses a port specification into a sorted, de-duplicated list.
pub fn parse(spec: &str) -> Result<Vec<u16>, ScanError> {
    let spec = spec.trim();
    let err = |why: String| ScanError::Usage(format!("invalid port list {spec:?}: {why}"));
    if spec == "-" || spec == "-p-" || spec.eq_ignore_ascii_case("all") {
        return Ok((1..=65535).collect());
    }
    if spec.eq_ignore_ascii_case("top1000") || spec.eq_ignore_ascii_case("default") {
        let mut v = TOP_1000_TCP.to_vec();
        v.sort_unstable();
        return Ok(v);
    }
    let mut out = Vec::new();
    for part in spec.split(',') {
        let part = part.trim();
        if part.is_empty() {
            return Err(err("empty item".into()));
        }
        let num = |s: &str| -> Result<u16, ScanError> {
            match s.trim().parse::<u32>() {
                Ok(n) if (1..=65535).contains(&n) => Ok(n as u16),
                _ => Err(err(format!("{s:?} is not a port between 1 and 65535"))),
            }
        };
        match part.split_once('-') {
            Some((a, b)) => {
                let a = if a.is_empty() { 1 } else { num(a)? };
                let b = if b.is_empty() { 65535 } else { num(b)? };
                if a > b {
                    return Err(err(format!("range {a}-{b} is reversed")));
                }
                out.extend(a..=b);
            }
            None => out.push(num(part)?),
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs() {
        assert_eq!(parse("443,80,80").unwrap(), vec![80, 443]);
        assert_eq!(parse("1-3,5").unwrap(), vec![1, 2, 3, 5]);
        assert_eq!(parse("-p-").unwrap().len(), 65535);
        assert_eq!(parse("top1000").unwrap().len(), 1000);
        for bad in ["0", "65536", "a", "5-1", "", "1,,2"] {
            assert!(parse(bad).is_err(), "{bad}");
        }
    }
}
