//! Takes the current state of every selected path, on all cores: the walk
//! lists paths, then workers inspect and hash them in parallel. A digest from
//! the previous baseline is reused only where the rule allows it and the
//! metadata a write must change is unchanged (`--paranoid` always hashes).

use crate::baseline::Baseline;
use crate::config::{FimConfig, HashAlgo, Rehash};
use crate::entry::{Attr, Content, Entry, Kind};
use crate::inspect::{inspect, InspectError};
use crate::progress::Counters;
use crate::rules::RuleSet;
use crate::walk::{walk_counted, Listing};
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// How a scan runs.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Digest algorithm.
    pub algo: HashAlgo,
    /// Files over this size are not hashed.
    pub max_hash_size: u64,
    /// Hash every file even when its metadata is unchanged.
    pub paranoid: bool,
    /// Worker threads (0 = one per core).
    pub threads: usize,
    /// Package-owned files are also verified against their package's digest.
    pub packages: Option<std::sync::Arc<crate::packages::PackageIndex>>,
}

impl ScanOptions {
    /// Options from `[fim]`.
    pub fn from_config(cfg: &FimConfig, paranoid: bool) -> Self {
        ScanOptions {
            algo: cfg.hash,
            max_hash_size: cfg.max_hash_size.bytes(),
            paranoid,
            threads: 0,
            packages: None,
        }
    }
}

/// A scan's result.
#[derive(Debug, Default)]
pub struct Scan {
    /// Entries sorted by path bytes, each with the index of its rule.
    pub entries: Vec<(Entry, usize)>,
    /// Paths that could not be listed or inspected, with the reason.
    pub problems: Vec<(PathBuf, String)>,
    /// Paths that were listed but gone when inspected.
    pub vanished: Vec<PathBuf>,
    /// Rule roots absent on this host.
    pub missing_roots: Vec<PathBuf>,
    /// How many files were hashed (not reused).
    pub hashed: usize,
    /// Package verification of the files hashed: every mismatch, and matches
    /// when comparing with a previous baseline (see [`crate::vouch`]).
    pub package_verdicts: Vec<(Vec<u8>, crate::packages::Verdict)>,
    /// How many hashed files were also verified against their package.
    pub package_verified: usize,
}

/// Scans the paths `rules` select; `previous` lends digests where allowed.
pub fn scan(
    rules: &RuleSet,
    options: &ScanOptions,
    previous: Option<&Baseline>,
) -> Result<Scan, String> {
    scan_counted(rules, options, previous, None)
}

/// [`scan`], reporting its progress in `counters` (relaxed atomics, one
/// update per entry).
pub fn scan_counted(
    rules: &RuleSet,
    options: &ScanOptions,
    previous: Option<&Baseline>,
    counters: Option<&Counters>,
) -> Result<Scan, String> {
    let Listing {
        paths,
        problems,
        missing_roots,
    } = walk_counted(rules, counters.map(|c| &c.listed))?;
    if let Some(c) = counters {
        c.start_inspecting(paths.len());
    }
    let threads = if options.threads == 0 {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    } else {
        options.threads
    };
    let next = AtomicUsize::new(0);
    let hashed = AtomicUsize::new(0);
    let verdicts = Mutex::new(Vec::new());
    let verified = AtomicUsize::new(0);
    let slots: Vec<Mutex<Option<Result<Entry, InspectError>>>> =
        (0..paths.len()).map(|_| Mutex::new(None)).collect();
    // Small batches keep both cores busy when a few files are large.
    const BATCH: usize = 16;
    std::thread::scope(|s| {
        for _ in 0..threads.max(1) {
            s.spawn(|| {
                let mut buf = Vec::new();
                loop {
                    let start = next.fetch_add(BATCH, Ordering::Relaxed);
                    if start >= paths.len() {
                        break;
                    }
                    for i in start..(start + BATCH).min(paths.len()) {
                        let (path, rule_idx) = &paths[i];
                        let rule = &rules.rules[*rule_idx];
                        let result = inspect(path).map(|mut e| {
                            if e.kind == Kind::File && rule.wants(Attr::Content) {
                                let reuse = (!options.paranoid
                                    && rule.rehash == Rehash::WhenMetadataChanged)
                                    .then(|| previous.and_then(|b| b.get(&e.path)))
                                    .flatten()
                                    .filter(|old| {
                                        old.same_content_metadata(&e)
                                            && matches!(old.content, Content::Hashed(_))
                                    });
                                e.content = match reuse {
                                    Some(old) => old.content.clone(),
                                    None => {
                                        hashed.fetch_add(1, Ordering::Relaxed);
                                        let pkg = options.packages.as_deref();
                                        let (content, extra) = crate::hash::hash_file_also(
                                            path,
                                            &e,
                                            options.algo,
                                            options.max_hash_size,
                                            &mut buf,
                                            pkg.and_then(|p| p.wants(&e.path)),
                                        );
                                        if extra.is_some() {
                                            verified.fetch_add(1, Ordering::Relaxed);
                                        }
                                        if let Some(v) = crate::vouch::keep_verdict(
                                            pkg,
                                            &e.path,
                                            extra,
                                            previous.is_some(),
                                        ) {
                                            if let Ok(mut all) = verdicts.lock() {
                                                all.push((e.path.clone(), v));
                                            }
                                        }
                                        if let Some(c) = counters {
                                            c.hashed.fetch_add(1, Ordering::Relaxed);
                                            if matches!(content, Content::Hashed(_)) {
                                                c.bytes.fetch_add(e.size, Ordering::Relaxed);
                                            }
                                        }
                                        content
                                    }
                                };
                            }
                            e
                        });
                        if let Ok(mut slot) = slots[i].lock() {
                            *slot = Some(result);
                        }
                        if let Some(c) = counters {
                            c.inspected.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                }
            });
        }
    });
    let mut out = Scan {
        problems,
        missing_roots,
        hashed: hashed.into_inner(),
        package_verdicts: verdicts.into_inner().unwrap_or_default(),
        package_verified: verified.into_inner(),
        ..Scan::default()
    };
    for ((path, rule_idx), slot) in paths.into_iter().zip(slots) {
        match slot.into_inner().ok().flatten() {
            Some(Ok(e)) => out.entries.push((e, rule_idx)),
            Some(Err(InspectError::Vanished)) => out.vanished.push(path),
            Some(Err(InspectError::Other(reason))) => out.problems.push((path, reason)),
            None => out
                .problems
                .push((path, "not inspected (internal error)".into())),
        }
    }
    out.entries.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    out.entries.dedup_by(|a, b| a.0.path == b.0.path);
    out.package_verdicts.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

/// The rule index of a path in a finished scan or baseline, from its bytes.
pub fn rule_of(rules: &RuleSet, raw: &[u8]) -> Option<usize> {
    use std::os::unix::ffi::OsStrExt;
    rules.rule_index(std::path::Path::new(std::ffi::OsStr::from_bytes(raw)))
}
