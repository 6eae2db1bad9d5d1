//! `nodeward ban list|add|remove`: bans by hand.

use super::store::{BanRecord, BanStore};
use super::tracker::Tracker;
use super::{nftset, BanSettings};
use crate::error::{Error, Result};
use crate::state::unix_now;
use serde_json::json;
use std::net::IpAddr;
use std::path::Path;
use std::time::Duration;

/// Parses a ban address with std::net (IPv4-mapped IPv6 becomes IPv4).
pub fn parse_addr(text: &str) -> Result<IpAddr> {
    text.trim()
        .parse::<IpAddr>()
        .map(crate::addr::canonical)
        .map_err(|_| Error::Usage(format!("{text:?} is not an IPv4 or IPv6 address")))
}

/// Bans `addr` for `duration` (default: the configured bantime).
pub fn add(
    settings: &BanSettings,
    state_dir: &Path,
    addr: IpAddr,
    duration: Option<Duration>,
) -> Result<u8> {
    let tracker = Tracker::new(settings.thresholds.clone());
    if tracker.is_ignored(addr) {
        return Err(Error::Refused(format!(
            "{addr} is trusted (firewall.trusted, ban.ignore or loopback) and is never banned"
        )));
    }
    let secs = duration.map_or(settings.thresholds.bantime, |d| d.as_secs());
    if secs == 0 {
        return Err(Error::Usage("--for must be at least 1s".into()));
    }
    let now = unix_now();
    // Kernel and store change under the store's lock, so a running `ban watch`
    // (or another `ban add/remove`) neither loses this ban nor undoes it.
    BanStore::update(state_dir, now, |store| {
        store.bans.insert(
            addr,
            BanRecord {
                since: now,
                until: now + secs,
                reason: "manual".into(),
            },
        );
        nftset::add_one(addr, Duration::from_secs(secs))
    })?;
    println!(
        "banned {addr} for {}",
        humantime::format_duration(Duration::from_secs(secs))
    );
    Ok(0)
}

/// Lifts the ban of `addr`; exit 1 when it was not banned.
pub fn remove(state_dir: &Path, addr: IpAddr) -> Result<u8> {
    let now = unix_now();
    let (in_store, in_kernel) = BanStore::update(state_dir, now, |store| {
        let in_store = store.bans.remove(&addr).is_some_and(|b| b.until > now);
        let in_kernel = nftset::list()?.iter().any(|(a, _)| *a == addr);
        nftset::remove(addr)?;
        Ok((in_store, in_kernel))
    })?;
    if in_store || in_kernel {
        println!("unbanned {addr}");
        Ok(0)
    } else {
        println!("{addr} was not banned");
        Ok(1)
    }
}

/// Lists active bans: the persisted ones and what the kernel holds.
pub fn list(state_dir: &Path, json_out: bool) -> Result<u8> {
    let now = unix_now();
    let store = BanStore::load(state_dir)?;
    let kernel = nftset::list()?;
    let mut rows = Vec::new();
    for (addr, b) in store.bans.iter().filter(|(_, b)| b.until > now) {
        let k = kernel.iter().find(|(a, _)| a == addr);
        rows.push(json!({
            "addr": addr.to_string(),
            "remaining_s": b.until - now,
            "reason": b.reason,
            "offences": store.offences.get(addr).copied().unwrap_or(0),
            "in_kernel": k.is_some(),
            "kernel_expires_s": k.and_then(|(_, e)| *e),
        }));
    }
    for (addr, e) in kernel.iter().filter(|(a, _)| !store.bans.contains_key(a)) {
        rows.push(json!({"addr": addr.to_string(), "remaining_s": e, "reason": "only in kernel", "offences": 0, "in_kernel": true, "kernel_expires_s": e}));
    }
    if json_out {
        println!("{:#}", json!({ "bans": rows }));
        return Ok(0);
    }
    if rows.is_empty() {
        println!("no active bans");
    }
    for r in rows {
        println!(
            "{:<40} {:>8}s left  {}{}",
            r["addr"].as_str().unwrap_or("?"),
            r["remaining_s"],
            r["reason"].as_str().unwrap_or(""),
            if r["in_kernel"] == true {
                ""
            } else {
                "  (NOT in kernel: run `nodeward ban watch` or `firewall apply`)"
            }
        );
    }
    Ok(0)
}
