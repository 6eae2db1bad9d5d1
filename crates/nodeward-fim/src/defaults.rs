//! The built-in rules for a node server: system binaries and libraries, /etc,
//! SSH keys, systemd units, cron, and each node profile's binary, config and
//! key files; logs, caches, node databases and kernel trees left out.

use crate::config::{Rehash, RuleConfig};
use crate::entry::Attr;

fn rule(paths: &[&str], attributes: &[Attr]) -> RuleConfig {
    RuleConfig {
        paths: paths.iter().map(|p| p.to_string()).collect(),
        attributes: attributes.to_vec(),
        rehash: Rehash::WhenMetadataChanged,
    }
}

/// Paths whose every attribute matters.
const SYSTEM: &[&str] = &[
    "/bin",
    "/sbin",
    "/lib",
    "/lib64",
    "/usr/bin",
    "/usr/sbin",
    "/usr/lib",
    "/usr/lib64",
    "/usr/libexec",
    "/usr/local/bin",
    "/usr/local/sbin",
    "/usr/local/lib",
    "/boot",
    "/etc",
    "/root/.ssh",
    "/home/*/.ssh",
    "/var/spool/cron",
    "/opt",
];

/// Node files per profile: binaries, configs and keys (databases are excluded below).
fn profile_paths(profile: &str) -> &'static [&'static str] {
    match profile {
        "iota" => &["/var/lib/iri", "/home/iri", "/etc/iri"],
        "hornet" => &["/var/lib/hornet", "/etc/default/hornet"],
        "ilp" => &["/home/*/.pm2/dump.pm2", "/home/*/ilp-connector", "/srv/ilp"],
        "cardano" => &[
            "/home/*/cnode",
            "/home/*/.local/bin",
            "/home/*/cardano-my-node",
        ],
        "masternode" => &["/home/*/.dashcore", "/root/.dashcore", "/home/*/.pivx"],
        _ => &[],
    }
}

/// Paths that change by design or hold bulk data: never part of the baseline.
const EXCLUDES: &[&str] = &[
    "/proc/**",
    "/sys/**",
    "/dev/**",
    "/run/**",
    "/tmp/**",
    "/var/tmp/**",
    "/var/log/**",
    "/var/cache/**",
    "/etc/adjtime",
    "/etc/mtab",
    "/etc/.pwd.lock",
    "/etc/ld.so.cache",
    "**/*.log",
    "**/__pycache__/**",
    // Node databases and chain state: large and always changing.
    "/var/lib/iri/**/mainnetdb/**",
    "/var/lib/iri/**/mainnet.log/**",
    "/var/lib/iri/**/ixi/**",
    "/var/lib/hornet/**/mainnetdb/**",
    "/var/lib/hornet/**/snapshots/**",
    "/var/lib/hornet/**/p2pstore/*.log",
    "/home/*/cnode/db/**",
    "/home/*/cnode/logs/**",
    "/home/*/cnode/sockets/**",
    "/home/*/.dashcore/blocks/**",
    "/home/*/.dashcore/chainstate/**",
    "/home/*/.dashcore/evodb/**",
    "/home/*/.dashcore/llmq/**",
    "/home/*/.dashcore/indexes/**",
    "/root/.dashcore/blocks/**",
    "/root/.dashcore/chainstate/**",
    "/home/*/.dashcore/*.dat.old",
    "/home/*/.dashcore/debug.log",
    "/home/*/.pivx/blocks/**",
    "/home/*/.pivx/chainstate/**",
];

/// The built-in rules for `profile`.
pub fn rules(profile: &str) -> Vec<RuleConfig> {
    let mut out = vec![rule(SYSTEM, &Attr::ALL)];
    let node = profile_paths(profile);
    if !node.is_empty() {
        out.push(rule(node, &Attr::ALL));
    }
    out
}

/// The built-in exclude globs.
pub fn excludes() -> &'static [&'static str] {
    EXCLUDES
}
