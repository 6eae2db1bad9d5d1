//! The repository metadata dnf and yum already downloaded: where it is in the
//! cache, and what its `primary.xml` (the packages each repository offers) and
//! `updateinfo.xml` (advisories, of which `type="security"` ones matter) say
//! about the installed packages. Streamed with quick-xml from plain or gzip
//! files, bounded in size; nothing is fetched.

use super::vercmp::Evr;
use crate::host::{Fact, Host, Unavailable};
use quick_xml::events::{BytesStart, Event};
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read};

/// Where dnf (4 and 5) and yum cache repository metadata.
pub const CACHE_ROOTS: [&str; 3] = ["/var/cache/dnf", "/var/cache/libdnf5", "/var/cache/yum"];
/// How deep below a cache root a `repodata` directory is looked for
/// (yum: `/var/cache/yum/<arch>/<release>/<repo>/repodata` is 4 levels).
const MAX_DEPTH: usize = 5;
/// Most directories visited while looking.
const MAX_DIRS: usize = 4096;
/// Largest metadata file read, compressed.
const MAX_FILE_BYTES: u64 = 256 * 1024 * 1024;
/// Largest decompressed XML read (RHEL 9 AppStream's primary.xml is ~60 MiB).
const MAX_XML_BYTES: u64 = 512 * 1024 * 1024;
/// Largest single XML event (one tag or text; real ones are a few KiB).
const MAX_EVENT_BYTES: usize = 1024 * 1024;

/// One repository's cached metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Repo {
    /// Repository ID (`baseos`, from `baseos-1a2b3c4d5e6f7a8b`).
    pub id: String,
    /// Its `*primary.xml[.gz]`, if readable.
    pub primary: Option<String>,
    /// Its `*updateinfo.xml[.gz]`, if any.
    pub updateinfo: Option<String>,
    /// Metadata files present in a compression nodeward does not read.
    pub unreadable: Vec<String>,
    /// Newest modification time of the files above.
    pub mtime: Option<i64>,
}

/// A package name and architecture.
pub type NameArch = (String, String);

fn repo_id(dir_name: &str) -> String {
    // dnf names cache directories `<repoid>-<16 hex digits>`.
    match dir_name.rsplit_once('-') {
        Some((id, hash)) if hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()) => {
            id.to_string()
        }
        _ => dir_name.to_string(),
    }
}

/// Finds every cached repository under the cache roots.
pub fn find(host: &dyn Host) -> Vec<Repo> {
    let mut repos = Vec::new();
    let mut visited = 0usize;
    let mut queue: Vec<(String, usize)> = CACHE_ROOTS.iter().map(|r| (r.to_string(), 0)).collect();
    while let Some((dir, depth)) = queue.pop() {
        visited += 1;
        if visited > MAX_DIRS {
            break;
        }
        let Ok(names) = host.list_dir(&dir) else {
            continue;
        };
        for name in names {
            let path = format!("{dir}/{name}");
            if !host.metadata(&path).is_ok_and(|m| m.is_dir) {
                continue;
            }
            if name == "repodata" {
                let parent = dir.rsplit('/').next().unwrap_or("");
                repos.push(describe(host, &path, repo_id(parent)));
            } else if name == "gen" && host.exists(&format!("{path}/{YUM_PRIMARY_DB}")) {
                // yum (CentOS/RHEL 7) keeps the primary metadata as SQLite:
                // /var/cache/yum/<arch>/<release>/<repo>/gen/primary_db.sqlite.
                let parent = dir.rsplit('/').next().unwrap_or("");
                let primary = format!("{path}/{YUM_PRIMARY_DB}");
                let mtime = host.metadata(&primary).ok().map(|m| m.mtime);
                repos.push(Repo {
                    id: repo_id(parent),
                    primary: Some(primary),
                    updateinfo: None,
                    unreadable: Vec::new(),
                    mtime,
                });
            } else if depth < MAX_DEPTH {
                queue.push((path, depth + 1));
            }
        }
    }
    repos.sort_by(|a, b| a.id.cmp(&b.id));
    repos
}

fn describe(host: &dyn Host, repodata: &str, id: String) -> Repo {
    let mut repo = Repo {
        id,
        primary: None,
        updateinfo: None,
        unreadable: Vec::new(),
        mtime: None,
    };
    let mut newest: HashMap<&str, i64> = HashMap::new();
    for name in host.list_dir(repodata).unwrap_or_default() {
        let path = format!("{repodata}/{name}");
        let kind = if name.contains("primary.xml") {
            "primary"
        } else if name.contains("updateinfo.xml") {
            "updateinfo"
        } else {
            continue;
        };
        let Ok(meta) = host.metadata(&path) else {
            continue;
        };
        if !(name.ends_with(".xml") || name.ends_with(".xml.gz")) {
            repo.unreadable.push(path);
            continue;
        }
        repo.mtime = repo.mtime.max(Some(meta.mtime));
        // Several generations may be cached: the newest counts.
        if newest.get(kind).is_some_and(|t| *t >= meta.mtime) {
            continue;
        }
        newest.insert(kind, meta.mtime);
        if kind == "primary" {
            repo.primary = Some(path);
        } else {
            repo.updateinfo = Some(path);
        }
    }
    repo
}

/// A reader that fails instead of reading past `limit` bytes.
struct Limited<R> {
    inner: R,
    left: u64,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            return Err(std::io::Error::other(format!(
                "decompresses to more than {MAX_XML_BYTES} bytes"
            )));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

/// Opens a metadata file as a bounded XML stream.
fn open(host: &dyn Host, path: &str) -> Fact<Box<dyn BufRead>> {
    let raw = host.read_bytes(path, MAX_FILE_BYTES)?;
    let inner: Box<dyn Read> = if path.ends_with(".gz") {
        Box::new(flate2::read::MultiGzDecoder::new(std::io::Cursor::new(raw)))
    } else {
        Box::new(std::io::Cursor::new(raw))
    };
    Ok(Box::new(BufReader::with_capacity(
        64 * 1024,
        Limited {
            inner,
            left: MAX_XML_BYTES,
        },
    )))
}

/// The value of attribute `key` of a tag.
fn attr(e: &BytesStart, key: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.local_name().as_ref() == key)
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.into_owned())
        })
}

/// Reads XML events from `src`, calling `on` with each start/empty tag (and
/// whether it is empty), text, and end tag, with the depth of the element.
fn walk(src: Box<dyn BufRead>, mut on: impl FnMut(XmlItem<'_>, usize)) -> Result<(), String> {
    let mut reader = quick_xml::Reader::from_reader(src);
    let mut buf = Vec::new();
    let mut depth = 0usize;
    loop {
        // Checked after the event it grew for was handled (quick-xml reads a
        // whole tag at once); the stream limit bounds that one read.
        if buf.len() > MAX_EVENT_BYTES {
            return Err(format!(
                "an XML item is larger than {MAX_EVENT_BYTES} bytes"
            ));
        }
        buf.clear();
        let ev = reader
            .read_event_into(&mut buf)
            .map_err(|e| format!("XML error at byte {}: {e}", reader.buffer_position()))?;
        match ev {
            Event::Start(e) => {
                depth += 1;
                on(XmlItem::Open(&e), depth);
            }
            Event::Empty(e) => {
                on(XmlItem::Open(&e), depth + 1);
                on(XmlItem::Close(e.local_name().as_ref()), depth + 1);
            }
            Event::End(e) => {
                on(XmlItem::Close(e.local_name().as_ref()), depth);
                depth = depth.saturating_sub(1);
            }
            Event::Text(t) => on(XmlItem::Text(&t.xml10_content()), depth),
            Event::Eof => return Ok(()),
            _ => {}
        }
    }
}

enum XmlItem<'a> {
    Open(&'a BytesStart<'a>),
    Text(&'a str),
    Close(&'a str),
}

/// yum's SQLite primary metadata, in a repository's `gen/` directory.
const YUM_PRIMARY_DB: &str = "primary_db.sqlite";

/// Offers `name`.`arch` at `evr` from `repo`, kept when newer than what `newest` has.
fn offer(
    newest: &mut HashMap<NameArch, (Evr, String)>,
    name: String,
    arch: String,
    evr: Evr,
    repo: &str,
) {
    let key = (name, arch);
    if newest.get(&key).is_none_or(|(have, _)| evr > *have) {
        newest.insert(key, (evr, repo.to_string()));
    }
}

/// The packages of yum's `primary_db.sqlite` (table `packages`), merged into `newest`.
fn scan_primary_sqlite(
    host: &dyn Host,
    path: &str,
    repo: &str,
    wanted: &HashSet<&str>,
    newest: &mut HashMap<NameArch, (Evr, String)>,
) -> Fact<()> {
    let bad = |what: String| Unavailable::error(format!("{path}: {what}"));
    let bytes = host.read_bytes(path, MAX_FILE_BYTES)?;
    let conn = nodeward_pkgdb::rpm::sqlite::open(bytes).map_err(bad)?;
    let mut stmt = conn
        .prepare("SELECT name, arch, epoch, version, release FROM packages")
        .map_err(|e| bad(format!("not yum primary metadata: {e}")))?;
    let mut rows = stmt
        .query([])
        .map_err(|e| bad(format!("cannot read the packages table: {e}")))?;
    while let Some(row) = rows
        .next()
        .map_err(|e| bad(format!("cannot read the packages table: {e}")))?
    {
        let text = |i: usize| {
            row.get::<_, Option<String>>(i)
                .ok()
                .flatten()
                .unwrap_or_default()
        };
        let (name, arch) = (text(0), text(1));
        if !wanted.contains(name.as_str()) || arch == "src" {
            continue;
        }
        let epoch = text(2);
        let evr = Evr::new(
            Some(epoch.as_str()).filter(|e| !e.is_empty()),
            &text(3),
            &text(4),
        );
        offer(newest, name, arch, evr, repo);
    }
    Ok(())
}

/// The newest version `primary.xml` (or yum's `primary_db.sqlite`) offers for
/// each wanted name and arch, merged into `newest` with the repository ID.
pub fn scan_primary(
    host: &dyn Host,
    path: &str,
    repo: &str,
    wanted: &HashSet<&str>,
    newest: &mut HashMap<NameArch, (Evr, String)>,
) -> Fact<()> {
    if path.ends_with(".sqlite") {
        return scan_primary_sqlite(host, path, repo, wanted, newest);
    }
    let src = open(host, path)?;
    let mut pkg_depth = None;
    let (mut name, mut arch, mut evr) = (String::new(), String::new(), None);
    let mut field: Option<&'static str> = None;
    walk(src, |item, depth| match item {
        XmlItem::Open(e) => {
            let local = e.local_name();
            let prefixed = e.name().prefix().is_some();
            match (local.as_ref(), pkg_depth) {
                ("package", None) if !prefixed => {
                    pkg_depth = Some(depth);
                    name.clear();
                    arch.clear();
                    evr = None;
                }
                ("name", Some(d)) if depth == d + 1 && !prefixed => field = Some("name"),
                ("arch", Some(d)) if depth == d + 1 && !prefixed => field = Some("arch"),
                ("version", Some(d)) if depth == d + 1 && !prefixed => {
                    evr = Some(Evr::new(
                        attr(e, "epoch").as_deref(),
                        &attr(e, "ver").unwrap_or_default(),
                        &attr(e, "rel").unwrap_or_default(),
                    ));
                }
                _ => {}
            }
        }
        XmlItem::Text(t) => match field {
            Some("name") => name.push_str(t.trim()),
            Some(_) => arch.push_str(t.trim()),
            None => {}
        },
        XmlItem::Close(local) => {
            field = None;
            if local == "package" && pkg_depth == Some(depth) {
                pkg_depth = None;
                if let Some(v) = evr.take() {
                    if arch != "src" && wanted.contains(name.as_str()) {
                        let key = (name.clone(), arch.clone());
                        if newest.get(&key).is_none_or(|(cur, _)| v > *cur) {
                            newest.insert(key, (v, repo.to_string()));
                        }
                    }
                }
            }
        }
    })
    .map_err(|e| Unavailable::error(format!("{path}: {e}")))
}

/// Security advisories in `updateinfo.xml`: for each wanted name and arch, the
/// fixed versions with the advisory ID, merged into `fixes`.
pub fn scan_updateinfo(
    host: &dyn Host,
    path: &str,
    wanted: &HashSet<&str>,
    fixes: &mut HashMap<NameArch, Vec<(Evr, String)>>,
) -> Fact<()> {
    let src = open(host, path)?;
    let (mut security, mut in_id, mut id) = (false, false, String::new());
    let mut update_depth = None;
    walk(src, |item, depth| match item {
        XmlItem::Open(e) => match e.local_name().as_ref() {
            "update" if update_depth.is_none() => {
                update_depth = Some(depth);
                security = attr(e, "type").as_deref() == Some("security");
                id.clear();
            }
            "id" if update_depth.is_some_and(|d| depth == d + 1) => in_id = true,
            "package" if security && update_depth.is_some() => {
                let Some(name) = attr(e, "name") else {
                    return;
                };
                if !wanted.contains(name.as_str()) {
                    return;
                }
                let evr = Evr::new(
                    attr(e, "epoch").as_deref(),
                    &attr(e, "version").unwrap_or_default(),
                    &attr(e, "release").unwrap_or_default(),
                );
                let arch = attr(e, "arch").unwrap_or_default();
                let adv = if id.is_empty() {
                    "an unnamed advisory".to_string()
                } else {
                    id.clone()
                };
                fixes.entry((name, arch)).or_default().push((evr, adv));
            }
            _ => {}
        },
        XmlItem::Text(t) => {
            if in_id {
                id.push_str(t.trim());
            }
        }
        XmlItem::Close(local) => {
            in_id = false;
            if local == "update" && update_depth == Some(depth) {
                update_depth = None;
                security = false;
            }
        }
    })
    .map_err(|e| Unavailable::error(format!("{path}: {e}")))
}
