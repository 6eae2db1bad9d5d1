//! Which files the package manager vouches for, and with what digest: an index
//! built from dpkg's database under the package root (default `/`), compact
//! enough for a host's ~100,000 package files (one byte arena for the paths,
//! one fixed-size row per file, sorted for binary search).
//!
//! Paths are keyed relative to the root, after two corrections dpkg itself
//! applies: a diverted file (`dpkg-divert`) is the diverted package's copy at
//! the diversion's target, and a top-level symlink of the root (the merged-/usr
//! `bin -> usr/bin`) is resolved, so `bin/true` in a md5sums file is
//! `/usr/bin/true` on disk.

use nodeward_pkgdb::dpkg;
use std::collections::HashMap;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Largest status file read.
const MAX_STATUS_BYTES: u64 = 256 << 20;
/// Largest single md5sums or diversions file read.
const MAX_LIST_BYTES: u64 = 64 << 20;
/// Most package files indexed (bounds memory on a hostile database).
const MAX_FILES: usize = 4_000_000;

/// The digest algorithm a package database records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkgAlgo {
    /// MD5 (dpkg's md5sums and conffiles).
    Md5,
}

/// A digest computed for package verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkgDigest {
    /// MD5.
    Md5([u8; 16]),
}

/// One installed package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Package {
    /// Name (with `:arch` for Multi-Arch: same packages).
    pub name: String,
    /// Installed version.
    pub version: String,
    /// When its file list last changed (ns since the epoch; mtime of its md5sums/list files).
    pub changed_ns: i128,
}

#[derive(Debug, Clone, Copy)]
struct Row {
    off: u32,
    len: u32,
    pkg: u32,
    conffile: bool,
    digest: [u8; 16],
}

/// Which package owns a path and whether its content matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The content matches this owner's digest (row index).
    Matches(u32),
    /// The content matches no owner's digest (the first owner's row index).
    Mismatch(u32),
}

/// Who owns a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner<'a> {
    /// The package.
    pub package: &'a Package,
    /// Listed as a conffile (the admin's to edit) rather than in md5sums.
    pub conffile: bool,
}

/// Every file the package database vouches for.
#[derive(Debug, Default)]
pub struct PackageIndex {
    /// The root the database was read under, as raw bytes without a trailing `/`.
    root: Vec<u8>,
    /// Installed packages.
    pub packages: Vec<Package>,
    arena: Vec<u8>,
    rows: Vec<Row>,
    /// What could not be read (packages without md5sums are normal and not listed).
    pub problems: Vec<String>,
}

fn read_bounded(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    let f = std::fs::File::open(path)?;
    let mut out = Vec::new();
    f.take(max + 1).read_to_end(&mut out)?;
    if out.len() as u64 > max {
        return Err(std::io::Error::other(format!("larger than {max} bytes")));
    }
    Ok(out)
}

fn mtime_ns(path: &Path) -> Option<i128> {
    std::fs::symlink_metadata(path)
        .ok()
        .map(|m| m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128)
}

/// Top-level symlinks of the root with a plain relative target (`bin -> usr/bin`).
fn top_level_links(root: &Path) -> HashMap<Vec<u8>, Vec<u8>> {
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir(root) else {
        return out;
    };
    for e in dir.flatten() {
        if !e.file_type().is_ok_and(|t| t.is_symlink()) {
            continue;
        }
        if let Ok(t) = std::fs::read_link(e.path()) {
            let t = t.as_os_str().as_bytes();
            let t = t.strip_prefix(b"/").unwrap_or(t);
            if !t.is_empty() && !t.split(|&b| b == b'/').any(|c| c == b".." || c == b".") {
                out.insert(e.file_name().as_bytes().to_vec(), t.to_vec());
            }
        }
    }
    out
}

fn canonical(rel: &[u8], links: &HashMap<Vec<u8>, Vec<u8>>) -> Vec<u8> {
    let (top, rest) = match memchr_slash(rel) {
        Some(i) => (&rel[..i], &rel[i..]),
        None => (rel, &b""[..]),
    };
    match links.get(top) {
        Some(t) => [t.as_slice(), rest].concat(),
        None => rel.to_vec(),
    }
}

fn memchr_slash(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'/')
}

impl PackageIndex {
    /// Reads dpkg's database under `root`. `Ok(None)`: no package database there.
    pub fn load(root: &Path) -> Result<Option<PackageIndex>, String> {
        let status_path = root.join(dpkg::STATUS);
        let status = match read_bounded(&status_path, MAX_STATUS_BYTES) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(format!("{}: {e}", status_path.display())),
        };
        let mut root_bytes = root.as_os_str().as_bytes().to_vec();
        while root_bytes.last() == Some(&b'/') {
            root_bytes.pop();
        }
        let mut idx = PackageIndex {
            root: root_bytes,
            ..PackageIndex::default()
        };
        let links = top_level_links(root);
        let diversions: HashMap<Vec<u8>, dpkg::Diversion> =
            match read_bounded(&root.join(dpkg::DIVERSIONS), MAX_LIST_BYTES) {
                Ok(b) => dpkg::parse_diversions(&b)
                    .into_iter()
                    .map(|d| (d.from.clone(), d))
                    .collect(),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => HashMap::new(),
                Err(e) => {
                    idx.problems
                        .push(format!("{}: {e}", root.join(dpkg::DIVERSIONS).display()));
                    HashMap::new()
                }
            };
        let info = root.join(dpkg::INFO_DIR);
        let text = String::from_utf8_lossy(&status);
        for st in dpkg::parse_status(&text) {
            if !st.installed {
                continue;
            }
            let stem = st.info_stem();
            let pkg = idx.packages.len() as u32;
            let md5sums = info.join(format!("{stem}.md5sums"));
            let list = info.join(format!("{stem}.list"));
            let changed_ns = mtime_ns(&md5sums)
                .into_iter()
                .chain(mtime_ns(&list))
                .max()
                .unwrap_or(0);
            idx.packages.push(Package {
                name: stem,
                version: st.version.clone(),
                changed_ns,
            });
            let add = |idx: &mut PackageIndex, rel: &[u8], digest: [u8; 16], conffile| {
                if idx.rows.len() >= MAX_FILES {
                    return;
                }
                // A diverted path: this package's copy lives at the diversion target,
                // unless this package is the one doing the diverting.
                let abs = [b"/".as_slice(), rel].concat();
                let rel = match diversions.get(&abs) {
                    Some(d) if d.by.as_deref() != Some(st.name.as_str()) => {
                        d.to.strip_prefix(b"/").unwrap_or(&d.to).to_vec()
                    }
                    _ => rel.to_vec(),
                };
                let rel = canonical(&rel, &links);
                let (Ok(off), Ok(len)) = (u32::try_from(idx.arena.len()), u32::try_from(rel.len()))
                else {
                    return;
                };
                idx.arena.extend_from_slice(&rel);
                idx.rows.push(Row {
                    off,
                    len,
                    pkg,
                    conffile,
                    digest,
                });
            };
            match read_bounded(&md5sums, MAX_LIST_BYTES) {
                Ok(bytes) => {
                    let bad = dpkg::parse_md5sums(&bytes, |p, d| add(&mut idx, p, d, false));
                    if bad > 0 {
                        idx.problems.push(format!(
                            "{}: {bad} malformed lines ignored",
                            md5sums.display()
                        ));
                    }
                }
                // Packages without files (meta packages) have no md5sums.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => idx.problems.push(format!("{}: {e}", md5sums.display())),
            }
            for (path, d) in &st.conffiles {
                let rel = path.as_bytes();
                add(&mut idx, rel.strip_prefix(b"/").unwrap_or(rel), *d, true);
            }
        }
        if idx.rows.len() >= MAX_FILES {
            idx.problems.push(format!(
                "more than {MAX_FILES} package files: the rest are not verified"
            ));
        }
        let arena = std::mem::take(&mut idx.arena);
        idx.rows.sort_unstable_by(|a, b| {
            arena[a.off as usize..(a.off + a.len) as usize]
                .cmp(&arena[b.off as usize..(b.off + b.len) as usize])
                .then(a.pkg.cmp(&b.pkg))
        });
        idx.arena = arena;
        idx.rows.shrink_to_fit();
        idx.arena.shrink_to_fit();
        Ok(Some(idx))
    }

    /// How many package files are indexed.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Whether no file is indexed.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn path_of(&self, r: &Row) -> &[u8] {
        &self.arena[r.off as usize..(r.off + r.len) as usize]
    }

    fn relative<'p>(&self, abs: &'p [u8]) -> Option<&'p [u8]> {
        let rest = abs.strip_prefix(self.root.as_slice())?;
        rest.strip_prefix(b"/")
    }

    fn owner_range(&self, abs: &[u8]) -> std::ops::Range<usize> {
        let Some(rel) = self.relative(abs) else {
            return 0..0;
        };
        let start = self.rows.partition_point(|r| self.path_of(r) < rel);
        let end = start + self.rows[start..].partition_point(|r| self.path_of(r) == rel);
        start..end
    }

    fn owners_of(&self, abs: &[u8]) -> &[Row] {
        &self.rows[self.owner_range(abs)]
    }

    /// The digest to compute alongside the content hash, if a package owns `abs`.
    pub fn wants(&self, abs: &[u8]) -> Option<PkgAlgo> {
        (!self.owners_of(abs).is_empty()).then_some(PkgAlgo::Md5)
    }

    /// Checks `digest` of the file at `abs` against its owners.
    pub fn verify(&self, abs: &[u8], digest: &PkgDigest) -> Option<Verdict> {
        let range = self.owner_range(abs);
        if range.is_empty() {
            return None;
        }
        let PkgDigest::Md5(d) = digest;
        Some(match range.clone().find(|&i| &self.rows[i].digest == d) {
            Some(i) => Verdict::Matches(i as u32),
            None => Verdict::Mismatch(range.start as u32),
        })
    }

    /// The owner a verdict names.
    pub fn owner(&self, v: Verdict) -> Owner<'_> {
        let (Verdict::Matches(i) | Verdict::Mismatch(i)) = v;
        let r = &self.rows[i as usize];
        Owner {
            package: &self.packages[r.pkg as usize],
            conffile: r.conffile,
        }
    }

    /// Every package owning `abs` (for a message naming all of them).
    pub fn owner_names(&self, abs: &[u8]) -> Vec<&str> {
        let mut names: Vec<&str> = self
            .owners_of(abs)
            .iter()
            .map(|r| self.packages[r.pkg as usize].name.as_str())
            .collect();
        names.dedup();
        names
    }

    /// Installed versions by package name (recorded in the baseline).
    pub fn versions(&self) -> Vec<(String, String)> {
        self.packages
            .iter()
            .map(|p| (p.name.clone(), p.version.clone()))
            .collect()
    }
}

/// Where the package database is read from: `[fim] package_root`.
pub fn default_root() -> PathBuf {
    PathBuf::from("/")
}
