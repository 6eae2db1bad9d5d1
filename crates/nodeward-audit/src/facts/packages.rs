//! Installed packages (dpkg status, or the rpm database) and pending upgrades
//! computed locally from the apt lists already on disk (rpm systems: see
//! [`super::rpm`]) — never a network call.

use super::debversion;
use crate::host::{Fact, Host, Unavailable};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::io::Read;

/// The dpkg database.
pub const DPKG_STATUS: &str = "/var/lib/dpkg/status";
/// Where apt keeps its downloaded indexes.
pub const APT_LISTS: &str = "/var/lib/apt/lists";
/// Largest decompressed package index read (Debian main is ~70 MiB).
const MAX_INDEX_BYTES: u64 = 512 * 1024 * 1024;

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// Version string.
    pub version: String,
    /// Architecture.
    pub arch: String,
}

/// Installed packages by name, from dpkg's status file, or on an rpm-based
/// system from its rpm database (version as `[epoch:]version-release`, the
/// newest when several are installed).
pub fn installed(host: &dyn Host) -> Fact<HashMap<String, Installed>> {
    if !host.exists(DPKG_STATUS) && super::rpm::rpmdb::present(host) {
        let db = super::rpm::rpmdb::read(host)?;
        let mut out: HashMap<String, (super::rpm::vercmp::Evr, Installed)> = HashMap::new();
        for p in db.packages {
            if out.get(&p.name).is_none_or(|(cur, _)| p.evr > *cur) {
                let inst = Installed {
                    version: p.evr.to_string(),
                    arch: p.arch,
                };
                out.insert(p.name, (p.evr, inst));
            }
        }
        return Ok(out.into_iter().map(|(n, (_, i))| (n, i)).collect());
    }
    let text = host.read_text(DPKG_STATUS).map_err(|e| {
        if e.is_missing() {
            Unavailable::skip(format!(
                "{DPKG_STATUS}: not found (not a dpkg-based system)"
            ))
        } else {
            e
        }
    })?;
    Ok(parse_status(&text))
}

/// Parses dpkg's status file, keeping packages whose status is `install ok installed`.
pub fn parse_status(text: &str) -> HashMap<String, Installed> {
    nodeward_pkgdb::dpkg::parse_status(text)
        .into_iter()
        .filter(|e| e.installed && !e.version.is_empty())
        .map(|e| {
            (
                e.name,
                Installed {
                    version: e.version,
                    arch: e.arch,
                },
            )
        })
        .collect()
}

/// Whether any of `names` is installed.
pub fn any_installed<'a>(pkgs: &HashMap<String, Installed>, names: &[&'a str]) -> Vec<&'a str> {
    names
        .iter()
        .copied()
        .filter(|n| pkgs.contains_key(*n))
        .collect()
}

/// An upgrade available in the local apt lists.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Upgrade {
    /// Package.
    pub name: String,
    /// Installed version.
    pub installed: String,
    /// Newest version in the lists.
    pub candidate: String,
    /// Whether the newest version comes from a security archive.
    pub security: bool,
}

/// Which package manager's state was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Manager {
    /// dpkg status and apt lists.
    Apt,
    /// The rpm database and dnf/yum cached repository metadata.
    Dnf,
}

/// The result of comparing the installed packages with the local indexes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeState {
    /// Whose state this is.
    pub manager: Manager,
    /// Packages with a newer version in the lists.
    pub upgrades: Vec<Upgrade>,
    /// The list files read.
    pub lists: Vec<String>,
    /// Age of the newest list in seconds (how stale the answer may be).
    pub lists_age_secs: Option<i64>,
    /// Upgrades whose repository publishes no advisories, so whether they fix
    /// security issues cannot be told (dnf only).
    pub security_unknown: Vec<String>,
    /// Anything else the evidence should mention.
    pub notes: Vec<String>,
}

/// Largest single paragraph accepted in an index (real ones are a few KiB).
const MAX_PARAGRAPH_BYTES: usize = 16 * 1024 * 1024;

/// Decompresses one index (plain, .lz4 or .gz) in 1 MiB chunks and scans each
/// run of complete paragraphs, so memory stays at the compressed size plus a
/// chunk rather than the ~70 MiB of a decompressed Debian main index.
fn scan_list(
    host: &dyn Host,
    dir: &str,
    name: &str,
    newest: &mut HashMap<String, (String, bool)>,
    wanted: &HashMap<String, Installed>,
) -> Fact<()> {
    let path = format!("{dir}/{name}");
    let raw = read_bytes(host, &path)?;
    let security = name.contains("security");
    let result = if name.ends_with(".lz4") {
        scan_stream(
            lz4_flex::frame::FrameDecoder::new(&raw[..]),
            newest,
            security,
            wanted,
        )
    } else if name.ends_with(".gz") {
        scan_stream(
            flate2::read::MultiGzDecoder::new(&raw[..]),
            newest,
            security,
            wanted,
        )
    } else {
        scan_stream(&raw[..], newest, security, wanted)
    };
    result.map_err(|e| Unavailable::error(format!("{path}: cannot read the index: {e}")))
}

fn scan_stream(
    mut reader: impl Read,
    newest: &mut HashMap<String, (String, bool)>,
    security: bool,
    wanted: &HashMap<String, Installed>,
) -> std::io::Result<()> {
    let mut buf: Vec<u8> = Vec::with_capacity(2 << 20);
    let mut chunk = vec![0u8; 1 << 20];
    let mut total: u64 = 0;
    loop {
        let n = reader.read(&mut chunk)?;
        if n == 0 {
            break;
        }
        total += n as u64;
        if total > MAX_INDEX_BYTES {
            return Err(std::io::Error::other(format!(
                "decompresses to more than {MAX_INDEX_BYTES} bytes"
            )));
        }
        buf.extend_from_slice(&chunk[..n]);
        if let Some(last) = memchr::memmem::rfind(&buf, b"\n\n") {
            scan_index(&buf[..last + 1], newest, security, wanted);
            buf.drain(..last + 2);
        }
        if buf.len() > MAX_PARAGRAPH_BYTES {
            return Err(std::io::Error::other("a paragraph is larger than 16 MiB"));
        }
    }
    scan_index(&buf, newest, security, wanted);
    Ok(())
}

/// Reads a (possibly large, binary) index file through the host, bounded.
fn read_bytes(host: &dyn Host, path: &str) -> Fact<Vec<u8>> {
    // Package indexes are larger than config files: read them through the
    // host's metadata check and a direct bounded read of the resolved file.
    let meta = host.metadata(path)?;
    if meta.size > MAX_INDEX_BYTES {
        return Err(Unavailable::error(format!(
            "{path}: {} bytes, too large for a package index",
            meta.size
        )));
    }
    host.read_bytes(path, MAX_INDEX_BYTES)
}

/// Versions offered by one index (Packages format), keeping the newest per
/// installed package. Works on bytes with SIMD substring search: a Debian main
/// index is ~70 MiB and only the few hundred installed packages matter.
fn scan_index(
    text: &[u8],
    newest: &mut HashMap<String, (String, bool)>,
    security: bool,
    wanted: &HashMap<String, Installed>,
) {
    let package = memchr::memmem::Finder::new(b"\nPackage: ");
    let version = memchr::memmem::Finder::new(b"\nVersion: ");
    let para_end = memchr::memmem::Finder::new(b"\n\n");
    // Prepend a virtual newline so the first paragraph matches too.
    let mut pos = 0;
    let mut first = text.starts_with(b"Package: ");
    loop {
        let name_start = if first {
            first = false;
            "Package: ".len()
        } else {
            match package.find(&text[pos..]) {
                Some(i) => pos + i + "\nPackage: ".len(),
                None => break,
            }
        };
        let name_end = memchr::memchr(b'\n', &text[name_start..])
            .map(|i| name_start + i)
            .unwrap_or(text.len());
        pos = name_end;
        let Ok(name) = std::str::from_utf8(&text[name_start..name_end]) else {
            continue;
        };
        let name = name.trim();
        if !wanted.contains_key(name) {
            continue;
        }
        let end = para_end
            .find(&text[name_end..])
            .map(|i| name_end + i)
            .unwrap_or(text.len());
        let Some(v) = version.find(&text[name_end..end]) else {
            continue;
        };
        let v_start = name_end + v + "\nVersion: ".len();
        let v_end = memchr::memchr(b'\n', &text[v_start..end])
            .map(|i| v_start + i)
            .unwrap_or(end);
        let Ok(v) = std::str::from_utf8(&text[v_start..v_end]) else {
            continue;
        };
        let v = v.trim();
        match newest.get_mut(name) {
            Some((cur, sec)) => match debversion::compare(v, cur) {
                Ordering::Greater => {
                    *cur = v.to_string();
                    *sec = security;
                }
                Ordering::Equal => *sec |= security,
                Ordering::Less => {}
            },
            None => {
                newest.insert(name.to_string(), (v.to_string(), security));
            }
        }
        pos = end;
    }
}

/// Pending upgrades: from the apt lists on dpkg systems, from the dnf/yum
/// cache on rpm systems.
pub fn pending_upgrades(host: &dyn Host) -> Fact<UpgradeState> {
    if !host.exists(DPKG_STATUS) && super::rpm::rpmdb::present(host) {
        return super::rpm::pending_updates(host);
    }
    pending_apt_upgrades(host)
}

/// Pending upgrades from the local apt lists (apt systems only). Pinning is
/// not modelled: the newest version in any list is taken as the candidate.
pub fn pending_apt_upgrades(host: &dyn Host) -> Fact<UpgradeState> {
    let installed = installed(host)?;
    let names = host.list_dir(APT_LISTS).map_err(|e| {
        if e.is_missing() {
            Unavailable::skip(format!("{APT_LISTS}: not found (apt has never updated)"))
        } else {
            e
        }
    })?;
    let lists: Vec<String> = names
        .into_iter()
        .filter(|n| {
            let base = n.trim_end_matches(".lz4").trim_end_matches(".gz");
            base.ends_with("_Packages")
        })
        .collect();
    if lists.is_empty() {
        return Err(Unavailable::skip(format!(
            "{APT_LISTS}: no package lists (run apt-get update once)"
        )));
    }
    let mut newest: HashMap<String, (String, bool)> = HashMap::new();
    let mut newest_mtime = None;
    for name in &lists {
        scan_list(host, APT_LISTS, name, &mut newest, &installed)?;
        if let Ok(m) = host.metadata(&format!("{APT_LISTS}/{name}")) {
            newest_mtime = newest_mtime.max(Some(m.mtime));
        }
    }
    let mut upgrades: Vec<Upgrade> = installed
        .iter()
        .filter_map(|(name, inst)| {
            let (cand, security) = newest.get(name)?;
            (debversion::compare(cand, &inst.version) == Ordering::Greater).then(|| Upgrade {
                name: name.clone(),
                installed: inst.version.clone(),
                candidate: cand.clone(),
                security: *security,
            })
        })
        .collect();
    upgrades.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(UpgradeState {
        manager: Manager::Apt,
        upgrades,
        lists: lists.iter().map(|n| format!("{APT_LISTS}/{n}")).collect(),
        lists_age_secs: newest_mtime.map(|m| host.now() - m),
        security_unknown: Vec::new(),
        notes: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn streaming_across_chunk_boundaries_finds_every_paragraph() {
        let mut wanted = HashMap::new();
        let mut text = String::new();
        for i in 0..30_000 {
            text.push_str(&format!(
                "Package: p{i}\nArchitecture: amd64\nDescription: {}\nVersion: 2.{i}\n\n",
                "x".repeat(i % 97)
            ));
            if i % 1000 == 7 {
                wanted.insert(
                    format!("p{i}"),
                    Installed {
                        version: "1".into(),
                        arch: "amd64".into(),
                    },
                );
            }
        }
        let mut newest = HashMap::new();
        scan_stream(text.as_bytes(), &mut newest, false, &wanted).unwrap();
        assert_eq!(newest.len(), wanted.len());
        assert_eq!(newest["p29007"].0, "2.29007");
    }

    #[test]
    fn status_keeps_only_installed() {
        let text =
            "Package: a\nStatus: install ok installed\nVersion: 1.0\nArchitecture: amd64\n\n\
                    Package: b\nStatus: deinstall ok config-files\nVersion: 2.0\n\n";
        let p = parse_status(text);
        assert_eq!(p.len(), 1);
        assert_eq!(p["a"].version, "1.0");
    }

    #[test]
    fn newest_version_and_security_origin() {
        let mut wanted = HashMap::new();
        wanted.insert(
            "a".to_string(),
            Installed {
                version: "1.0".into(),
                arch: "amd64".into(),
            },
        );
        let mut newest = HashMap::new();
        scan_index(
            b"Package: a\nVersion: 1.1\n\nPackage: z\nVersion: 9\n",
            &mut newest,
            false,
            &wanted,
        );
        scan_index(
            b"Package: z\nVersion: 1\n\nPackage: a\nArchitecture: all\nVersion: 1.2\n",
            &mut newest,
            true,
            &wanted,
        );
        // A Version line outside the package's paragraph is not its version.
        scan_index(b"Package: a\n\nVersion: 7.0\n", &mut newest, false, &wanted);
        assert_eq!(newest["a"], ("1.2".to_string(), true));
        assert!(!newest.contains_key("z"));
    }
}
