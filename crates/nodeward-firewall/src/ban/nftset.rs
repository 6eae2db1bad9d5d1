//! The ban sets in table `inet nodeward`: elements with timeouts, so bans expire in the kernel.

use crate::error::Result;
use crate::nft;
use crate::ruleset::{ban_element, ban_skeleton, BanElement, BAN_SET_V4, BAN_SET_V6, TABLE};
use std::net::IpAddr;
use std::time::Duration;

fn set_of(addr: IpAddr) -> &'static str {
    if addr.is_ipv4() {
        BAN_SET_V4
    } else {
        BAN_SET_V6
    }
}

/// Creates the table, sets and drop chain if missing (keeps a loaded firewall intact).
pub fn ensure() -> Result<()> {
    nft::load_script(&ban_skeleton())
}

/// Bans `bans` (replacing the timeout of addresses already in the set), in one transaction.
pub fn add(bans: &[BanElement]) -> Result<()> {
    if bans.is_empty() {
        return Ok(());
    }
    let mut script = ban_skeleton();
    for b in bans {
        let set = set_of(b.addr);
        script.push_str(&format!(
            "add element {TABLE} {set} {{ {} timeout 1s }}\ndelete element {TABLE} {set} {{ {} }}\nadd element {TABLE} {set} {{ {} }}\n",
            b.addr,
            b.addr,
            ban_element(b)
        ));
    }
    nft::load_script(&script)
}

/// Bans one address for `duration`.
pub fn add_one(addr: IpAddr, duration: Duration) -> Result<()> {
    add(&[BanElement {
        addr,
        remaining: duration,
    }])
}

/// Removes `addr` from the ban set (no error when it is not there).
pub fn remove(addr: IpAddr) -> Result<()> {
    let set = set_of(addr);
    let script = format!(
        "{}add element {TABLE} {set} {{ {addr} timeout 1s }}\ndelete element {TABLE} {set} {{ {addr} }}\n",
        ban_skeleton()
    );
    nft::load_script(&script)
}

/// Addresses in the kernel's ban sets with their remaining seconds (empty when the table is absent).
pub fn list() -> Result<Vec<(IpAddr, Option<u64>)>> {
    let mut out = Vec::new();
    let Some(table) = nft::list_table_json()? else {
        return Ok(out);
    };
    for obj in table["nftables"].as_array().into_iter().flatten() {
        let Some(set) = obj.get("set") else { continue };
        if !matches!(set["name"].as_str(), Some(BAN_SET_V4 | BAN_SET_V6)) {
            continue;
        }
        for e in set
            .get("elem")
            .and_then(|e| e.as_array())
            .into_iter()
            .flatten()
        {
            let (val, expires) = match e.get("elem") {
                Some(inner) => (
                    inner.get("val"),
                    inner.get("expires").and_then(|x| x.as_u64()),
                ),
                None => (Some(e), None),
            };
            if let Some(addr) = val.and_then(|v| v.as_str()).and_then(|s| s.parse().ok()) {
                out.push((addr, expires));
            }
        }
    }
    Ok(out)
}
