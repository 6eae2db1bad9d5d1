//! Sets of port numbers as firewalls and ban tools write them (`22`,
//! `80,443`, `3000-3999`, fail2ban's `1024:2048` and service names such as
//! `ssh`, resolved through /etc/services), and their compact display.

use std::collections::{BTreeMap, BTreeSet};

/// Port names from /etc/services (`ssh` → 22), TCP entries only.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Services(BTreeMap<String, u16>);

impl Services {
    /// Parses /etc/services text (`name port/proto aliases... # comment`).
    pub fn parse(text: &str) -> Services {
        let mut map = BTreeMap::new();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut words = line.split_whitespace();
            let (Some(name), Some(spec)) = (words.next(), words.next()) else {
                continue;
            };
            let Some((port, proto)) = spec.split_once('/') else {
                continue;
            };
            let Ok(port) = port.parse::<u16>() else {
                continue;
            };
            if proto != "tcp" {
                continue;
            }
            for n in std::iter::once(name).chain(words) {
                map.entry(n.to_string()).or_insert(port);
            }
        }
        Services(map)
    }

    /// The TCP port of `name`.
    pub fn port(&self, name: &str) -> Option<u16> {
        self.0.get(name).copied()
    }
}

/// Parses a port list (`ssh,2222`, `80:90`, `3000-3999`) into ports; names
/// come from `services`. Returns the ports and the parts that could not be
/// understood (unknown names, `%(interpolations)s`, bad numbers).
pub fn parse_list(text: &str, services: &Services) -> (BTreeSet<u16>, Vec<String>) {
    let mut ports = BTreeSet::new();
    let mut bad = Vec::new();
    for part in text.split([',', ' ', '\t']).map(str::trim) {
        if part.is_empty() {
            continue;
        }
        let one = |s: &str| -> Option<u16> {
            let s = s.trim();
            if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) {
                s.parse::<u16>().ok()
            } else {
                services.port(s)
            }
        };
        let range = part.split_once(':').or_else(|| part.split_once('-'));
        match range {
            Some((a, b)) => match (one(a), one(b)) {
                (Some(a), Some(b)) if a <= b => ports.extend(a..=b),
                _ => bad.push(part.to_string()),
            },
            None => match one(part) {
                Some(p) => {
                    ports.insert(p);
                }
                None => bad.push(part.to_string()),
            },
        }
    }
    (ports, bad)
}

/// Shows ports compactly: `22, 80, 3000-3999`.
pub fn display(ports: &BTreeSet<u16>) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut iter = ports.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&end.wrapping_add(1)) && end < u16::MAX {
            end = iter.next().unwrap_or(end);
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
    }
    out.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_ranges_and_names() {
        let s = Services::parse(
            "# comment\nssh\t\t22/tcp\nhttp 80/tcp www # WorldWideWeb\nhttp 80/udp\nbogus x/tcp\n",
        );
        assert_eq!(s.port("www"), Some(80));
        let (p, bad) = parse_list("ssh, 2222,8000:8002,9000-9001,%(sshd_port)s,nope", &s);
        assert_eq!(display(&p), "22, 2222, 8000-8002, 9000-9001");
        assert_eq!(bad, vec!["%(sshd_port)s".to_string(), "nope".to_string()]);
        let (p, bad) = parse_list("0:65535", &s);
        assert_eq!((p.len(), bad.len()), (65536, 0));
        assert_eq!(display(&p), "0-65535");
        let (p, bad) = parse_list("90:80", &s);
        assert!(p.is_empty() && bad == vec!["90:80".to_string()]);
    }
}
