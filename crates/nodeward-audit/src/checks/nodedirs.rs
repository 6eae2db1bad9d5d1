//! Where each node kind keeps its database and keys, by profile name: what
//! PERM-003 protects and FS-004 wants off the root file system. Kept here,
//! keyed by name, so profile.rs stays the list of ports and processes.

use super::Ctx;
use crate::facts::users;

/// Data directories of the profile `name`; `~/` means under every account's
/// home. `generic` covers every kind, since the node kind is not known.
pub fn for_profile(name: &str) -> Vec<&'static str> {
    const IOTA: &[&str] = &["/var/lib/iri", "/home/iri/iri"];
    const HORNET: &[&str] = &["/var/lib/hornet", "/opt/hornet"];
    const ILP: &[&str] = &["/var/lib/ilp-connector", "/opt/ilp-connector"];
    const CARDANO: &[&str] = &["/opt/cardano", "/var/lib/cardano-node", "~/cardano-node"];
    const MASTERNODE: &[&str] = &["~/.dashcore", "/var/lib/dashcore"];
    match name {
        "iota" => IOTA.to_vec(),
        "hornet" => HORNET.to_vec(),
        "ilp" => ILP.to_vec(),
        "cardano" => CARDANO.to_vec(),
        "masternode" => MASTERNODE.to_vec(),
        _ => [IOTA, HORNET, ILP, CARDANO, MASTERNODE].concat(),
    }
}

/// Where a node account's home may be; system accounts' homes (`/bin`, `/dev`,
/// `/var/spool/...`) never hold a node.
const HOME_ROOTS: [&str; 5] = ["/home/", "/root", "/var/lib/", "/opt/", "/srv/"];

/// The profile's data directories as absolute paths (`~/` expanded against
/// every home in /etc/passwd under [`HOME_ROOTS`]), each once.
pub fn expanded(ctx: &Ctx) -> Vec<String> {
    let homes: Vec<String> = users::accounts(ctx.host)
        .map(|(a, _)| a.into_iter().map(|a| a.home).collect())
        .unwrap_or_default();
    let mut out: Vec<String> = Vec::new();
    for d in for_profile(&ctx.profile.name) {
        if let Some(rest) = d.strip_prefix("~/") {
            for h in &homes {
                if HOME_ROOTS.iter().any(|r| h.starts_with(r)) {
                    out.push(format!("{}/{rest}", h.trim_end_matches('/')));
                }
            }
        } else {
            out.push(d.to_string());
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|p| seen.insert(p.clone()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generic_covers_every_kind() {
        let all = for_profile("generic");
        for p in crate::profile::PROFILE_NAMES {
            for d in for_profile(p) {
                assert!(all.contains(&d), "{p}: {d}");
            }
        }
        assert_eq!(for_profile("hornet")[0], "/var/lib/hornet");
    }
}
