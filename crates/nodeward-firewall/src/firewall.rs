//! `nodeward firewall plan|apply|confirm|status|remove|rollback`.

use crate::ban::BanStore;
use crate::compare::{self, Comparison};
use crate::error::{Error, Result};
use crate::nft;
use crate::persist;
use crate::policy::Policy;
use crate::rollback::{process_alive, spawn_worker, FirewallState, Pending};
use crate::ruleset::{self, BanElement};
use crate::ssh_guard::{current_connections, cut_connections};
use crate::state::{ensure_dir, unix_now, write_atomic, write_json};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The script `plan` prints and `apply` loads, with active bans preloaded.
pub fn render_plan(policy: &Policy, state_dir: &Path) -> Result<String> {
    let bans: Vec<BanElement> = BanStore::load(state_dir)?.active_elements(unix_now());
    Ok(ruleset::render(policy, &bans))
}

/// Options of `apply`.
#[derive(Debug, Clone)]
pub struct ApplyOptions {
    /// Roll back after this long unless confirmed.
    pub rollback_after: Duration,
    /// Confirm at once (no roll-back timer).
    pub confirm_now: bool,
    /// Apply even if it would cut the operator's SSH session.
    pub force: bool,
    /// Only say what would be done.
    pub dry_run: bool,
    /// Where the confirmed ruleset is kept for boot.
    pub persist_file: PathBuf,
}

/// Checks the policy against the operator's SSH connections; refuses when it would cut one.
pub fn guard_ssh(policy: &Policy, force: bool) -> Result<()> {
    let cut = cut_connections(policy, &current_connections(policy.ssh_port));
    if cut.is_empty() {
        return Ok(());
    }
    let list: Vec<String> = cut
        .iter()
        .map(|c| {
            format!(
                "{} -> port {} (found in {})",
                c.client, c.server_port, c.found_in
            )
        })
        .collect();
    let msg = format!(
        "this policy would not let the current SSH connection(s) back in: {}; allow that port and source (ssh_port, ssh_from, trusted) or pass --force",
        list.join(", ")
    );
    if force {
        eprintln!("nodeward: warning (forced): {msg}");
        Ok(())
    } else {
        Err(Error::Refused(msg))
    }
}

fn new_token() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("{:x}-{:x}", nanos, std::process::id())
}

/// Loads the policy; returns the exit code.
pub fn apply(policy: &Policy, state_dir: &Path, opts: &ApplyOptions) -> Result<u8> {
    guard_ssh(policy, opts.force)?;
    let script = render_plan(policy, state_dir)?;
    nft::check_script(&script)?;
    let state = FirewallState::new(state_dir);
    if let Some(p) = state.pending()? {
        if process_alive(p.worker_pid) {
            return Err(Error::Refused(format!(
                "an earlier apply is waiting for confirmation (roll-back in {}s); run `nodeward firewall confirm` or wait for the roll-back",
                p.deadline_ms.saturating_sub(unix_now() * 1000) / 1000
            )));
        }
        eprintln!(
            "nodeward: discarding a stale pending roll-back (its worker {} is gone)",
            p.worker_pid
        );
        state.claim("stale")?;
    }
    if opts.dry_run {
        println!("{script}");
        println!(
            "# dry run: would save the current ruleset to {}, load the script above in one transaction, and {}",
            state.previous_path().display(),
            if opts.confirm_now {
                format!(
                    "keep it (no roll-back), writing it (without bans) to {} for boot",
                    opts.persist_file.display()
                )
            } else {
                format!(
                    "restore the saved ruleset after {} unless `nodeward firewall confirm` runs (only a confirmed ruleset is written to {} for boot)",
                    humantime::format_duration(opts.rollback_after),
                    opts.persist_file.display()
                )
            }
        );
        return Ok(0);
    }
    ensure_dir(&state_dir.join("firewall"))?;
    let previous = nft::list_ruleset_json()?;
    write_json(&state.previous_path(), &previous)?;
    nft::load_script(&script)?;
    // What boot loads: the same table with empty ban sets (`ban watch` refills them).
    let boot_script = ruleset::render(policy, &[]);
    if opts.confirm_now {
        state.drop_pending_script();
        state.record("applied without roll-back", "")?;
        println!("nodeward: firewall applied and confirmed (table inet nodeward)");
        persist_confirmed(&opts.persist_file, &boot_script)?;
        return Ok(0);
    }
    write_atomic(&state.pending_script_path(), boot_script.as_bytes())?;
    let now_ms = unix_now() * 1000;
    let mut pending = Pending {
        token: new_token(),
        applied_at: unix_now(),
        deadline_ms: now_ms + opts.rollback_after.as_millis() as u64,
        worker_pid: 0,
    };
    write_json(&state.pending_path(), &pending)?;
    match spawn_worker(state_dir, &state, &pending) {
        Ok(pid) => {
            pending.worker_pid = pid;
            write_json(&state.pending_path(), &pending)?;
        }
        Err(e) => {
            // Without a timer the operator could be locked out: undo now.
            state.claim("apply")?;
            state.drop_pending_script();
            crate::rollback::restore_previous(&state)?;
            return Err(e);
        }
    }
    state.record("pending", "")?;
    println!(
        "nodeward: firewall applied (table inet nodeward); it rolls back in {} unless you run `nodeward firewall confirm`",
        humantime::format_duration(opts.rollback_after)
    );
    Ok(0)
}

fn persist_confirmed(persist_file: &Path, boot_script: &str) -> Result<()> {
    persist::save(persist_file, boot_script).map_err(|e| {
        Error::Persist(format!(
            "the rules are loaded and confirmed, but saving them for boot failed, so after a reboot the host has {}: {e}",
            if persist_file.exists() {
                "the previously persisted ruleset"
            } else {
                "no nodeward firewall"
            }
        ))
    })?;
    println!(
        "nodeward: ruleset saved to {} (loaded at boot by nodeward-firewall.service)",
        persist_file.display()
    );
    Ok(())
}

/// Keeps the pending apply and writes it to `persist_file` for boot.
pub fn confirm(state_dir: &Path, persist_file: &Path) -> Result<u8> {
    let state = FirewallState::new(state_dir);
    match state.claim("confirm")? {
        Some(_) => {
            state.record("confirmed", "")?;
            println!("nodeward: firewall confirmed; the roll-back is cancelled");
            let script_path = state.pending_script_path();
            let script = match std::fs::read_to_string(&script_path) {
                Ok(s) => s,
                Err(e) => {
                    return Err(Error::Refused(format!(
                        "the rules stay loaded, but {} is unreadable ({e}), so nothing was written to {} and the host is NOT protected after a reboot; run `nodeward firewall apply --confirm`",
                        script_path.display(),
                        persist_file.display()
                    )))
                }
            };
            persist_confirmed(persist_file, &script)?;
            state.drop_pending_script();
            Ok(0)
        }
        None => Err(Error::Usage(
            "no apply is waiting for confirmation (it may have rolled back already; see `nodeward firewall status`)".into(),
        )),
    }
}

/// Restores the ruleset saved before the pending apply, now.
pub fn rollback_now(state_dir: &Path) -> Result<u8> {
    let state = FirewallState::new(state_dir);
    if state.claim("rollback")?.is_none() {
        return Err(Error::Usage(
            "no apply is waiting for confirmation; nothing to roll back".into(),
        ));
    }
    state.drop_pending_script();
    crate::rollback::restore_previous(&state)?;
    let _ = crate::ban::reload_active_bans(state_dir);
    state.record("rolled back", "by hand")?;
    println!("nodeward: previous ruleset restored");
    Ok(0)
}

/// Deletes table `inet nodeward` and the persisted ruleset (and cancels a pending roll-back).
pub fn remove(state_dir: &Path, persist_file: &Path) -> Result<u8> {
    let state = FirewallState::new(state_dir);
    let had_pending = state.claim("remove")?.is_some();
    state.drop_pending_script();
    nft::load_script("add table inet nodeward\ndelete table inet nodeward\n")?;
    let had_file = persist::remove(persist_file)?;
    if state_dir.join("firewall").exists() {
        state.record(
            "removed",
            if had_pending {
                "pending roll-back cancelled"
            } else {
                ""
            },
        )?;
    }
    println!("nodeward: table inet nodeward removed; other tables untouched");
    if had_file {
        println!(
            "nodeward: persisted ruleset {} removed; it is no longer loaded at boot",
            persist_file.display()
        );
    } else {
        println!(
            "nodeward: no persisted ruleset at {} (nothing is loaded at boot)",
            persist_file.display()
        );
    }
    Ok(0)
}

/// The `persisted` part of `status`: is there a ruleset for boot, and is it what runs?
fn persisted_json(persist_file: &Path, live: Option<&serde_json::Value>) -> serde_json::Value {
    let (exists, matches, detail) = match persist::read(persist_file) {
        Ok(None) => (
            false,
            None,
            "no persisted ruleset: after a reboot table inet nodeward is not loaded; confirm an apply to write it".to_string(),
        ),
        Err(e) => (true, None, format!("cannot use it: {e}")),
        Ok(Some(script)) => match compare::compare(live, &script) {
            Comparison::Same => (true, Some(true), "the running table matches it".to_string()),
            Comparison::Differs(d) => (
                true,
                Some(false),
                format!("the running table differs from it: {d}"),
            ),
            Comparison::Unknown(why) => (true, None, format!("cannot compare: {why}")),
        },
    };
    json!({
        "path": persist_file.display().to_string(),
        "exists": exists,
        "matches_running": matches,
        "detail": detail,
    })
}

/// What `status` reports.
pub fn status_json(state_dir: &Path, persist_file: &Path) -> Result<serde_json::Value> {
    let state = FirewallState::new(state_dir);
    let table = nft::list_table_json()?;
    let (mut chains, mut rules, mut bans4, mut bans6) = (Vec::new(), 0usize, 0usize, 0usize);
    if let Some(t) = &table {
        for obj in t["nftables"].as_array().into_iter().flatten() {
            if let Some(c) = obj.get("chain") {
                chains.push(c["name"].as_str().unwrap_or("?").to_string());
            } else if obj.get("rule").is_some() {
                rules += 1;
            } else if let Some(s) = obj.get("set") {
                let n = s.get("elem").and_then(|e| e.as_array()).map_or(0, Vec::len);
                match s["name"].as_str() {
                    Some("ban4") => bans4 = n,
                    Some("ban6") => bans6 = n,
                    _ => {}
                }
            }
        }
    }
    let pending = state.pending()?.map(|p| {
        json!({
            "token": p.token,
            "worker_pid": p.worker_pid,
            "worker_alive": process_alive(p.worker_pid),
            "rolls_back_in_ms": p.deadline_ms.saturating_sub(
                std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)),
        })
    });
    let last = state.last()?;
    Ok(json!({
        "table": "inet nodeward",
        "loaded": table.is_some(),
        "chains": chains,
        "rules": rules,
        "bans": {"ipv4": bans4, "ipv6": bans6},
        "pending_rollback": pending,
        "last": last,
        "persisted": persisted_json(persist_file, table.as_ref()),
    }))
}

/// Prints the status as text or JSON.
pub fn status(state_dir: &Path, persist_file: &Path, json_out: bool) -> Result<u8> {
    let s = status_json(state_dir, persist_file)?;
    if json_out {
        println!("{s:#}");
        return Ok(0);
    }
    if s["loaded"] == true {
        println!(
            "table inet nodeward: loaded ({} rules in chains {}); banned: {} IPv4, {} IPv6",
            s["rules"],
            s["chains"]
                .as_array()
                .map(|c| c
                    .iter()
                    .filter_map(|x| x.as_str())
                    .collect::<Vec<_>>()
                    .join(", "))
                .unwrap_or_default(),
            s["bans"]["ipv4"],
            s["bans"]["ipv6"]
        );
    } else {
        println!("table inet nodeward: not loaded");
    }
    match s["pending_rollback"].as_object() {
        Some(p) => println!(
            "roll-back pending: in {:.1}s unless confirmed (worker pid {}{})",
            p["rolls_back_in_ms"].as_u64().unwrap_or(0) as f64 / 1000.0,
            p["worker_pid"],
            if p["worker_alive"] == true {
                ""
            } else {
                ", NOT RUNNING"
            }
        ),
        None => println!("roll-back pending: no"),
    }
    if let Some(l) = s["last"].as_object() {
        println!(
            "last apply: {} {}",
            l["outcome"].as_str().unwrap_or("?"),
            l["detail"].as_str().unwrap_or("")
        );
    }
    let p = &s["persisted"];
    println!(
        "persisted for boot: {} ({}): {}",
        p["path"].as_str().unwrap_or("?"),
        match (p["exists"].as_bool(), p["matches_running"].as_bool()) {
            (Some(false), _) => "missing",
            (_, Some(true)) => "matches",
            (_, Some(false)) => "DIFFERS",
            _ => "unknown",
        },
        p["detail"].as_str().unwrap_or("")
    );
    Ok(0)
}
