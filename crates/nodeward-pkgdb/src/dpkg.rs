//! dpkg's database: the status file (`/var/lib/dpkg/status`: packages, their
//! versions, state and conffiles), each package's `info/<pkg>[:arch].md5sums`
//! and the diversions list (`/var/lib/dpkg/diversions`). Parsers only take
//! bytes; reading (and bounding) files is the caller's job.

/// The status file, relative to the package-database root.
pub const STATUS: &str = "var/lib/dpkg/status";
/// The per-package info directory, relative to the root.
pub const INFO_DIR: &str = "var/lib/dpkg/info";
/// The diversions list, relative to the root.
pub const DIVERSIONS: &str = "var/lib/dpkg/diversions";

/// One paragraph of the status file.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StatusEntry {
    /// `Package:`.
    pub name: String,
    /// `Version:` (empty when absent).
    pub version: String,
    /// `Architecture:` (empty when absent).
    pub arch: String,
    /// `Multi-Arch: same`: its info files are named `<pkg>:<arch>.*`.
    pub multi_arch_same: bool,
    /// `Status:` is `install ok installed` (or another `ok ... installed`).
    pub installed: bool,
    /// `Conffiles:`: absolute path and the MD5 of the version the package shipped
    /// (obsolete and remove-on-upgrade entries left out).
    pub conffiles: Vec<(String, [u8; 16])>,
}

impl StatusEntry {
    /// The stem of its info files: `name:arch` for Multi-Arch: same packages, else `name`.
    pub fn info_stem(&self) -> String {
        if self.multi_arch_same && !self.arch.is_empty() {
            format!("{}:{}", self.name, self.arch)
        } else {
            self.name.clone()
        }
    }
}

/// Parses 32 hex digits.
pub fn parse_md5_hex(hex: &[u8]) -> Option<[u8; 16]> {
    if hex.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in hex.chunks_exact(2).enumerate() {
        let digit = |c: u8| (c as char).to_digit(16);
        out[i] = (digit(pair[0])? * 16 + digit(pair[1])?) as u8;
    }
    Some(out)
}

/// Parses dpkg's status file: every paragraph that names a package, in order.
pub fn parse_status(text: &str) -> Vec<StatusEntry> {
    let mut out = Vec::new();
    for para in text.split("\n\n") {
        let mut e = StatusEntry::default();
        let mut in_conffiles = false;
        for line in para.lines() {
            if in_conffiles {
                if let Some(rest) = line.strip_prefix(' ') {
                    let mut parts = rest.split_whitespace();
                    if let (Some(path), Some(md5), None) =
                        (parts.next(), parts.next(), parts.next())
                    {
                        if let Some(md5) = parse_md5_hex(md5.as_bytes()) {
                            e.conffiles.push((path.to_string(), md5));
                        }
                    }
                    continue;
                }
                in_conffiles = false;
            }
            if let Some(v) = line.strip_prefix("Package: ") {
                e.name = v.trim().to_string();
            } else if let Some(v) = line.strip_prefix("Version: ") {
                e.version = v.trim().to_string();
            } else if let Some(v) = line.strip_prefix("Architecture: ") {
                e.arch = v.trim().to_string();
            } else if let Some(v) = line.strip_prefix("Multi-Arch: ") {
                e.multi_arch_same = v.trim() == "same";
            } else if let Some(v) = line.strip_prefix("Status: ") {
                e.installed = v.trim().ends_with(" installed") && v.contains(" ok ");
            } else if line.starts_with("Conffiles:") {
                in_conffiles = true;
            }
        }
        if !e.name.is_empty() {
            out.push(e);
        }
    }
    out
}

/// Parses a `.md5sums` file: `<32 hex>  <path relative to />` per line.
/// Calls `each(path, md5)` for every well-formed line and returns how many
/// lines were malformed. Paths are raw bytes (need not be UTF-8).
pub fn parse_md5sums(bytes: &[u8], mut each: impl FnMut(&[u8], [u8; 16])) -> usize {
    let mut bad = 0;
    for line in bytes.split(|&b| b == b'\n') {
        if line.is_empty() {
            continue;
        }
        let parsed = (line.len() > 34 && line[32] == b' ')
            .then(|| parse_md5_hex(&line[..32]))
            .flatten();
        match parsed {
            Some(md5) => {
                // Two spaces (md5sum's text mode) or space-star (binary mode).
                let path = &line[34..];
                let path = path.strip_prefix(b"/").unwrap_or(path);
                if path.is_empty() {
                    bad += 1;
                } else {
                    each(path, md5);
                }
            }
            None => bad += 1,
        }
    }
    bad
}

/// One `dpkg-divert` diversion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diversion {
    /// The path packages ship (absolute).
    pub from: Vec<u8>,
    /// Where the diverted packages' copy is put instead (absolute).
    pub to: Vec<u8>,
    /// The package that may install `from` itself; `None` for a local (admin's) diversion.
    pub by: Option<String>,
}

/// Parses `/var/lib/dpkg/diversions`: groups of three lines (from, to, package
/// or `:` for a local diversion). A trailing incomplete group is ignored.
pub fn parse_diversions(bytes: &[u8]) -> Vec<Diversion> {
    let lines: Vec<&[u8]> = bytes
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty())
        .collect();
    lines
        .chunks_exact(3)
        .map(|g| {
            let by = String::from_utf8_lossy(g[2]).trim().to_string();
            Diversion {
                from: g[0].to_vec(),
                to: g[1].to_vec(),
                by: (by != ":").then_some(by),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_paragraphs_with_conffiles() {
        let text = "Package: openssh-server\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1:9.2p1-2\nConffiles:\n /etc/ssh/moduli 0123456789abcdef0123456789abcdef\n /etc/old 0123456789abcdef0123456789abcdef obsolete\nDescription: x\n more\n\nPackage: libc6\nStatus: deinstall ok config-files\nMulti-Arch: same\nArchitecture: amd64\nVersion: 2.36\n";
        let s = parse_status(text);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].name, "openssh-server");
        assert!(s[0].installed);
        assert_eq!(s[0].conffiles.len(), 1);
        assert_eq!(s[0].conffiles[0].0, "/etc/ssh/moduli");
        assert_eq!(s[0].conffiles[0].1[0], 0x01);
        assert_eq!(s[0].info_stem(), "openssh-server");
        assert!(!s[1].installed);
        assert_eq!(s[1].info_stem(), "libc6:amd64");
    }

    #[test]
    fn md5sums_and_diversions() {
        let mut seen = Vec::new();
        let bad = parse_md5sums(
            b"7a52c94ace40d9c052cf40f3541637c3  bin/true\nzz\n7a52c94ace40d9c052cf40f3541637c3  usr/sp ace\n",
            |p, m| seen.push((p.to_vec(), m)),
        );
        assert_eq!(bad, 1);
        assert_eq!(seen[0].0, b"bin/true");
        assert_eq!(seen[1].0, b"usr/sp ace");
        let d =
            parse_diversions(b"/usr/bin/a\n/usr/bin/a.distrib\npkg\n/etc/b\n/etc/b.orig\n:\n/x\n");
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].by.as_deref(), Some("pkg"));
        assert_eq!(d[1].by, None);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            let _ = parse_md5sums(&b, |_, _| {});
            let _ = parse_diversions(&b);
            let _ = parse_status(&String::from_utf8_lossy(&b));
        }
    }
}
