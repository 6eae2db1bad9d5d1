//! Package awareness: whether the package manager vouches for a change. A
//! changed file whose content matches its package's checksum was put there by
//! the package manager (an upgrade, a reinstall): low. A package file that
//! matches no owner's checksum was changed behind its back: high, even when
//! the baseline is fresh. A conffile that no longer matches is the admin's edit:
//! medium (sensitive paths keep their own, higher, severity).

use crate::baseline::Baseline;
use crate::diff::Change;
use crate::entry::{display_path, Attr, Entry, Kind};
use crate::packages::{PackageIndex, PkgDigest, Verdict};
use crate::scan::Scan;
use crate::severity::classify;
use nodeward_report::Severity;
use std::collections::{HashMap, HashSet};

/// Which verdicts a scan keeps: every mismatch of a file listed in md5sums,
/// and, when comparing with a baseline (`comparing`), everything verified
/// (only changed files are rehashed then, so few).
pub fn keep_verdict(
    index: Option<&PackageIndex>,
    path: &[u8],
    digest: Option<PkgDigest>,
    comparing: bool,
) -> Option<Verdict> {
    let index = index?;
    let v = index.verify(path, &digest?)?;
    match v {
        Verdict::Mismatch(_) if !index.owner(v).conffile => Some(v),
        _ if comparing => Some(v),
        _ => None,
    }
}

/// Package files whose content matches no owner's checksum, as the new
/// baseline records them: this scan's mismatches, plus those of `previous`
/// for files not verified again (unchanged since).
pub fn mismatches(index: &PackageIndex, scan: &Scan, previous: Option<&Baseline>) -> Vec<Vec<u8>> {
    let verified: HashSet<&[u8]> = scan
        .package_verdicts
        .iter()
        .map(|(p, _)| p.as_slice())
        .collect();
    let present: HashSet<&[u8]> = scan
        .entries
        .iter()
        .map(|(e, _)| e.path.as_slice())
        .collect();
    let mut out: Vec<Vec<u8>> = scan
        .package_verdicts
        .iter()
        .filter(|(_, v)| matches!(v, Verdict::Mismatch(_)) && !index.owner(*v).conffile)
        .map(|(p, _)| p.clone())
        .collect();
    if let Some(b) = previous {
        out.extend(
            b.mismatches
                .iter()
                .filter(|p| present.contains(p.as_slice()) && !verified.contains(p.as_slice()))
                .cloned(),
        );
    }
    out.sort();
    out.dedup();
    out
}

/// The package context of one comparison.
pub struct Vouch<'a> {
    index: &'a PackageIndex,
    verdicts: &'a [(Vec<u8>, Verdict)],
    old_versions: HashMap<&'a str, &'a str>,
    baseline_ns: i128,
}

impl<'a> Vouch<'a> {
    /// Judges changes between `baseline` and `scan` with `index`.
    pub fn new(index: &'a PackageIndex, scan: &'a Scan, baseline: &'a Baseline) -> Self {
        Vouch {
            index,
            verdicts: &scan.package_verdicts,
            old_versions: baseline
                .packages
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect(),
            baseline_ns: baseline.created as i128 * 1_000_000_000,
        }
    }

    fn verdict(&self, path: &[u8]) -> Option<Verdict> {
        self.verdicts
            .binary_search_by(|(p, _)| p.as_slice().cmp(path))
            .ok()
            .map(|i| self.verdicts[i].1)
    }

    /// "package X (old → new)", "package X (reinstalled, version V)" or "package X (version V)".
    fn describe(&self, v: Verdict) -> (String, bool) {
        let p = self.index.owner(v).package;
        let old = self.old_versions.get(p.name.as_str()).copied();
        match old {
            Some(old) if old != p.version => {
                (format!("package {} ({old} → {})", p.name, p.version), true)
            }
            _ if p.changed_ns > self.baseline_ns => (
                format!(
                    "package {} ({}{})",
                    p.name,
                    if old.is_some() { "reinstalled, " } else { "" },
                    p.version
                ),
                true,
            ),
            _ => (format!("package {} ({})", p.name, p.version), false),
        }
    }

    fn mismatch_text(&self, path: &[u8], v: Verdict) -> String {
        let owner = self.index.owner(v);
        let names = self.index.owner_names(path);
        let who = if names.len() > 1 {
            format!("any of its packages ({})", names.join(", "))
        } else {
            format!("package {} ({})", owner.package.name, owner.package.version)
        };
        format!("content does not match the checksum of {who}")
    }

    /// The severity and reason of `change`, with what the package database says.
    pub fn judge(&self, change: &Change) -> (Severity, String) {
        let base = classify(change);
        self.judge_packages(change, &base).unwrap_or(base)
    }

    fn judge_packages(
        &self,
        change: &Change,
        base: &(Severity, String),
    ) -> Option<(Severity, String)> {
        match change {
            Change::Added(e) => {
                if special(e) {
                    return None;
                }
                let v = self.verdict(&e.path)?;
                let owner = self.index.owner(v);
                match v {
                    Verdict::Matches(_) => {
                        let (what, upgraded) = self.describe(v);
                        let verb = if upgraded {
                            "installed by the upgrade of"
                        } else {
                            "matches the checksum of"
                        };
                        Some((Severity::Low, format!("{verb} {what}")))
                    }
                    Verdict::Mismatch(_) if owner.conffile => None,
                    Verdict::Mismatch(_) => Some((Severity::High, self.mismatch_text(&e.path, v))),
                }
            }
            Change::Changed { old, new, attrs } => {
                let has = |a: Attr| attrs.iter().any(|c| c.attr == a);
                // A new setuid bit or capability is never vouched for by a digest.
                if (special(new) && !special(old))
                    || (has(Attr::Caps) && new.capabilities.is_some())
                {
                    return None;
                }
                if !has(Attr::Content) {
                    return None;
                }
                let v = self.verdict(&new.path)?;
                let owner = self.index.owner(v);
                match v {
                    Verdict::Matches(_) => {
                        let (what, upgraded) = self.describe(v);
                        let why = if upgraded {
                            format!("changed by the upgrade of {what}")
                        } else {
                            format!("now matches the checksum of {what}")
                        };
                        if has(Attr::Mode) || has(Attr::Owner) || has(Attr::Type) {
                            Some((
                                Severity::Medium,
                                format!("{why}, but its mode, owner or type changed too"),
                            ))
                        } else {
                            Some((Severity::Low, why))
                        }
                    }
                    Verdict::Mismatch(_) if owner.conffile => {
                        if base.0 >= Severity::High {
                            return None;
                        }
                        Some((
                            Severity::Medium,
                            format!(
                                "configuration changed (package {}'s conffile)",
                                owner.package.name
                            ),
                        ))
                    }
                    Verdict::Mismatch(_) => {
                        Some((Severity::High, self.mismatch_text(&new.path, v)))
                    }
                }
            }
            Change::Removed(_) | Change::Unverified { .. } => None,
        }
    }

    /// Why a file unchanged since the baseline is still reported (FIM-005).
    pub fn standing(&self, path: &[u8]) -> String {
        let names = self.index.owner_names(path);
        format!(
            "{}: content does not match the checksum of {} (since the baseline was taken)",
            display_path(path),
            if names.is_empty() {
                "its package".to_string()
            } else {
                names.join(", ")
            }
        )
    }
}

fn special(e: &Entry) -> bool {
    e.kind == Kind::File && e.mode & 0o6000 != 0
}
