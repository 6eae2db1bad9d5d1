//! Which files the package manager vouches for, and with what digest: an index
//! built from dpkg's database under the package root (default `/`) — or, with
//! no dpkg, from rpm's SQLite database (FILEDIGESTS, %config flags) — compact
//! enough for a host's ~100,000 package files (one byte arena for the paths,
//! one fixed-size row per file, sorted for binary search).
//!
//! Paths are keyed relative to the root, after two corrections dpkg itself
//! applies: a diverted file (`dpkg-divert`) is the diverted package's copy at
//! the diversion's target, and a top-level symlink of the root (the merged-/usr
//! `bin -> usr/bin`) is resolved, so `bin/true` in a md5sums file is
//! `/usr/bin/true` on disk.

use nodeward_pkgdb::{dpkg, rpm};
use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Largest status file read.
const MAX_STATUS_BYTES: u64 = 256 << 20;
/// Largest single md5sums or diversions file read.
const MAX_LIST_BYTES: u64 = 64 << 20;
/// Largest rpm database read (a full server's is 20-100 MiB).
const MAX_RPMDB_BYTES: u64 = 512 << 20;
/// Most rpm packages read.
const MAX_PACKAGES: usize = 200_000;
/// Most package files indexed (bounds memory on a hostile database).
const MAX_FILES: usize = 4_000_000;

/// The digest algorithm a package database records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkgAlgo {
    /// MD5 (dpkg's md5sums and conffiles; old rpm).
    Md5,
    /// SHA-256 (rpm's default since 4.12: RHEL 8+, Fedora).
    Sha256,
    /// SHA-512 (rpm, when configured).
    Sha512,
}

impl PkgAlgo {
    /// rpm's FILEDIGESTALGO (PGPHASHALGO) value, if supported.
    pub fn from_rpm(v: u32) -> Option<PkgAlgo> {
        match v {
            1 => Some(PkgAlgo::Md5),
            8 => Some(PkgAlgo::Sha256),
            10 => Some(PkgAlgo::Sha512),
            _ => None,
        }
    }
}

/// A digest computed for package verification.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkgDigest {
    /// MD5.
    Md5([u8; 16]),
    /// SHA-256.
    Sha256([u8; 32]),
    /// SHA-512.
    Sha512([u8; 64]),
}

impl PkgDigest {
    /// The algorithm.
    pub fn algo(&self) -> PkgAlgo {
        match self {
            PkgDigest::Md5(_) => PkgAlgo::Md5,
            PkgDigest::Sha256(_) => PkgAlgo::Sha256,
            PkgDigest::Sha512(_) => PkgAlgo::Sha512,
        }
    }

    /// The first 128 bits, which the index keeps (second preimages of a
    /// 128-bit prefix of SHA-256/512 remain out of reach; MD5 is 128 bits).
    pub fn prefix(&self) -> [u8; 16] {
        let b: &[u8] = match self {
            PkgDigest::Md5(b) => b,
            PkgDigest::Sha256(b) => b,
            PkgDigest::Sha512(b) => b,
        };
        let mut out = [0u8; 16];
        out.copy_from_slice(&b[..16]);
        out
    }
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
    algo: PkgAlgo,
    /// The digest's first 128 bits.
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
    /// The watched roots, relative to `root`: files elsewhere are not indexed.
    watched: Vec<Vec<u8>>,
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

fn canonical<'a>(rel: &'a [u8], links: &HashMap<Vec<u8>, Vec<u8>>) -> Cow<'a, [u8]> {
    let (top, rest) = match memchr_slash(rel) {
        Some(i) => (&rel[..i], &rel[i..]),
        None => (rel, &b""[..]),
    };
    match links.get(top) {
        Some(t) => Cow::Owned([t.as_slice(), rest].concat()),
        None => Cow::Borrowed(rel),
    }
}

fn memchr_slash(b: &[u8]) -> Option<usize> {
    b.iter().position(|&c| c == b'/')
}

impl PackageIndex {
    /// Reads dpkg's database under `root`, else rpm's SQLite database,
    /// indexing the package files under the `watched` roots (absolute).
    /// `Ok(None)`: no package database there.
    pub fn load(root: &Path, watched: &[PathBuf]) -> Result<Option<PackageIndex>, String> {
        let status_path = root.join(dpkg::STATUS);
        let status = match read_bounded(&status_path, MAX_STATUS_BYTES) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return match rpm::SQLITE_PATHS
                    .iter()
                    .map(|p| root.join(p))
                    .find(|p| p.exists())
                {
                    Some(db) => Self::load_rpm(root, &db, watched).map(Some),
                    None => Ok(None),
                };
            }
            Err(e) => return Err(format!("{}: {e}", status_path.display())),
        };
        let mut idx = PackageIndex::empty(root, watched);
        let links = top_level_links(root);
        let diversions: HashMap<Vec<u8>, dpkg::Diversion> =
            match read_bounded(&root.join(dpkg::DIVERSIONS), MAX_LIST_BYTES) {
                Ok(b) => dpkg::parse_diversions(&b)
                    .into_iter()
                    .map(|d| (d.from.strip_prefix(b"/").unwrap_or(&d.from).to_vec(), d))
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
                let rel = match diversions.get(rel) {
                    Some(d) if d.by.as_deref() != Some(st.name.as_str()) => {
                        d.to.strip_prefix(b"/").unwrap_or(&d.to)
                    }
                    _ => rel,
                };
                idx.push(&canonical(rel, &links), pkg, conffile, PkgAlgo::Md5, digest);
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
        idx.finish();
        Ok(Some(idx))
    }

    fn empty(root: &Path, watched: &[PathBuf]) -> PackageIndex {
        let mut root_bytes = root.as_os_str().as_bytes().to_vec();
        while root_bytes.last() == Some(&b'/') {
            root_bytes.pop();
        }
        let mut prefixes: Vec<Vec<u8>> = watched
            .iter()
            .filter_map(|w| {
                let w = w.as_os_str().as_bytes();
                let rest = w.strip_prefix(root_bytes.as_slice())?;
                if rest.is_empty() {
                    return Some(Vec::new());
                }
                let rest = rest.strip_prefix(b"/")?;
                Some(rest.strip_suffix(b"/").unwrap_or(rest).to_vec())
            })
            .collect();
        prefixes.sort();
        prefixes.dedup();
        PackageIndex {
            root: root_bytes,
            watched: prefixes,
            ..PackageIndex::default()
        }
    }

    /// Whether `rel` lies under a watched root (only those files are indexed).
    fn watched(&self, rel: &[u8]) -> bool {
        self.watched.iter().any(|p| {
            p.is_empty()
                || rel
                    .strip_prefix(p.as_slice())
                    .is_some_and(|rest| rest.is_empty() || rest[0] == b'/')
        })
    }

    /// Reads an rpmdb.sqlite: every package's files with their digests
    /// (%config files are conffiles; the package changed at its INSTALLTIME).
    fn load_rpm(root: &Path, db: &Path, watched: &[PathBuf]) -> Result<PackageIndex, String> {
        let bytes =
            read_bounded(db, MAX_RPMDB_BYTES).map_err(|e| format!("{}: {e}", db.display()))?;
        let conn = rpm::sqlite::open(bytes).map_err(|e| format!("{}: {e}", db.display()))?;
        let mut idx = PackageIndex::empty(root, watched);
        let links = top_level_links(root);
        let (mut bad, mut first_bad) = (0usize, None);
        rpm::sqlite::for_each_blob(&conn, |blob| {
            if idx.packages.len() >= MAX_PACKAGES {
                return Err(format!("more than {MAX_PACKAGES} packages"));
            }
            let parsed = blob.and_then(|b| rpm::header::files(b).map_err(|e| e.to_string()));
            let p = match parsed {
                Ok(p) => p,
                Err(e) => {
                    bad += 1;
                    first_bad.get_or_insert(e);
                    return Ok(());
                }
            };
            let Some(algo) = PkgAlgo::from_rpm(p.digest_algo) else {
                idx.problems.push(format!(
                    "package {}: file digest algorithm {} not supported",
                    p.id.name, p.digest_algo
                ));
                return Ok(());
            };
            let pkg = idx.packages.len() as u32;
            idx.packages.push(Package {
                name: p.id.name.clone(),
                version: p.id.evr.to_string(),
                changed_ns: p.install_time as i128 * 1_000_000_000,
            });
            for f in &p.files {
                let digest = f
                    .digest_hex
                    .get(..32)
                    .and_then(|h| dpkg::parse_md5_hex(h.as_bytes()));
                let Some(digest) = digest else {
                    continue;
                };
                let rel = f.path.strip_prefix(b"/").unwrap_or(&f.path);
                let config = f.flags & rpm::header::RPMFILE_CONFIG != 0;
                idx.push(&canonical(rel, &links), pkg, config, algo, digest);
            }
            Ok(())
        })
        .map_err(|e| format!("{}: {e}", db.display()))?;
        if bad > 0 {
            idx.problems.push(format!(
                "{}: {bad} package headers unreadable (first: {})",
                db.display(),
                first_bad.unwrap_or_default()
            ));
        }
        idx.finish();
        Ok(idx)
    }

    fn push(&mut self, rel: &[u8], pkg: u32, conffile: bool, algo: PkgAlgo, digest: [u8; 16]) {
        if self.rows.len() >= MAX_FILES || !self.watched(rel) {
            return;
        }
        let (Ok(off), Ok(len)) = (u32::try_from(self.arena.len()), u32::try_from(rel.len())) else {
            return;
        };
        self.arena.extend_from_slice(rel);
        self.rows.push(Row {
            off,
            len,
            pkg,
            conffile,
            algo,
            digest,
        });
    }

    /// Sorts the rows by path for binary search and releases spare capacity.
    fn finish(&mut self) {
        let idx = self;
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
        self.owners_of(abs).first().map(|r| r.algo)
    }

    /// Checks `digest` of the file at `abs` against its owners.
    pub fn verify(&self, abs: &[u8], digest: &PkgDigest) -> Option<Verdict> {
        let range = self.owner_range(abs);
        if range.is_empty() {
            return None;
        }
        let (algo, d) = (digest.algo(), digest.prefix());
        Some(
            match range
                .clone()
                .find(|&i| self.rows[i].algo == algo && self.rows[i].digest == d)
            {
                Some(i) => Verdict::Matches(i as u32),
                None => Verdict::Mismatch(range.start as u32),
            },
        )
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_diversions_unwatched_roots_and_merged_usr() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("var/lib/dpkg/info")).unwrap();
        std::fs::create_dir_all(root.join("usr/bin")).unwrap();
        std::os::unix::fs::symlink("usr/bin", root.join("bin")).unwrap();
        std::fs::write(
            root.join(dpkg::STATUS),
            "Package: p\nStatus: install ok installed\nVersion: 1\n",
        )
        .unwrap();
        let md5 = "00112233445566778899aabbccddeeff";
        std::fs::write(
            root.join("var/lib/dpkg/info/p.md5sums"),
            format!("{md5}  bin/a\n{md5}  usr/bin/local\n{md5}  opt/elsewhere\n"),
        )
        .unwrap();
        // The admin diverted usr/bin/local: the package's copy is at local.dpkg.
        std::fs::write(
            root.join(dpkg::DIVERSIONS),
            "/usr/bin/local\n/usr/bin/local.dpkg\n:\n",
        )
        .unwrap();
        let idx = PackageIndex::load(root, &[root.join("usr")])
            .unwrap()
            .unwrap();
        let abs = |rel: &str| root.join(rel).as_os_str().as_bytes().to_vec();
        assert_eq!(idx.len(), 2, "opt/ is not watched");
        assert_eq!(idx.wants(&abs("usr/bin/a")), Some(PkgAlgo::Md5));
        assert_eq!(idx.wants(&abs("usr/bin/local")), None);
        let d = PkgDigest::Md5(dpkg::parse_md5_hex(md5.as_bytes()).unwrap());
        assert!(matches!(
            idx.verify(&abs("usr/bin/local.dpkg"), &d),
            Some(Verdict::Matches(_))
        ));
        assert!(matches!(
            idx.verify(&abs("usr/bin/a"), &PkgDigest::Md5([0; 16])),
            Some(Verdict::Mismatch(_))
        ));
        assert_eq!(idx.owner_names(&abs("usr/bin/a")), vec!["p"]);
        assert!(PackageIndex::load(&root.join("none"), &[])
            .unwrap()
            .is_none());
    }
}
