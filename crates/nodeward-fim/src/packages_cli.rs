//! The package side of `fim init|check|update`: reading the package database
//! once per command (problems as warnings, never fatal: the scan goes on
//! without package awareness) and what `init` says about package files that
//! already do not match.

use crate::baseline::Baseline;
use crate::config::FimConfig;
use crate::entry::display_path;
use crate::packages::PackageIndex;
use crate::rules::RuleSet;
use std::sync::Arc;

/// The package index for `cfg` (files under the roots of `rules`), or `None`
/// when disabled or absent.
pub fn load_index(cfg: &FimConfig, rules: &RuleSet) -> Option<Arc<PackageIndex>> {
    if !cfg.packages {
        return None;
    }
    let roots: Vec<_> = rules.rules.iter().map(|r| r.root.clone()).collect();
    match PackageIndex::load(&cfg.package_root, &roots) {
        Ok(Some(index)) => {
            for p in index.problems.iter().take(10) {
                eprintln!("nodeward fim: warning: package database: {p}");
            }
            Some(Arc::new(index))
        }
        Ok(None) => None,
        Err(e) => {
            eprintln!(
                "nodeward fim: warning: package database not read ({e}): changes are judged without it"
            );
            None
        }
    }
}

/// Prints the package files that do not match their package's checksum at
/// `init`; returns the exit code (1 when there are any, as `check` would).
pub fn report_init(index: Option<&PackageIndex>, b: &Baseline, verified: usize) -> u8 {
    let Some(index) = index else {
        return 0;
    };
    println!(
        "{verified} package files verified against the package database ({} files of {} packages indexed), {} mismatches",
        index.len(),
        index.packages.len(),
        b.mismatches.len()
    );
    for path in &b.mismatches {
        println!(
            "  [high] {}: content does not match the checksum of {}",
            display_path(path),
            index.owner_names(path).join(", ")
        );
    }
    if b.mismatches.is_empty() {
        0
    } else {
        println!(
            "{} package files do not match their package (recorded: `fim check` reports them as FIM-005 until fixed)",
            b.mismatches.len()
        );
        1
    }
}
