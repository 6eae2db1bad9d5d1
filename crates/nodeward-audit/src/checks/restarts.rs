//! Services still running replaced code (RST-001), what needrestart finds:
//! after an upgrade the old binary or library stays mapped in every process
//! started before it, so the fix is installed but not in use. Live only: the
//! kernel marks such mappings ` (deleted)` in /proc/PID/maps and /proc/PID/exe.

use super::{Check, Ctx, Outcome};
use crate::facts::procmaps;
use nodeward_report::Severity;

/// The most processes inspected.
const MAX_PROCESSES: usize = 8192;
/// The most processes named in the evidence.
const MAX_REPORTED: usize = 64;
/// The most deleted paths named per process.
const MAX_PATHS: usize = 4;
/// Bytes of one maps file read (larger ones are cut).
const MAX_MAPS_BYTES: u64 = 4 * 1024 * 1024;

/// The systemd unit a process belongs to, from its cgroup path.
fn unit_of(ctx: &Ctx, pid: u32) -> Option<String> {
    let text = ctx
        .host
        .read_bytes(&format!("/proc/{pid}/cgroup"), 8192)
        .ok()?;
    let text = String::from_utf8_lossy(&text);
    let path = text.lines().next()?.rsplit(':').next()?;
    path.rsplit('/')
        .find(|c| c.ends_with(".service"))
        .map(String::from)
}

fn stale(ctx: &Ctx) -> Outcome {
    if !ctx.live() {
        return Outcome::skip("offline root: no running processes to inspect");
    }
    let procs = match ctx.processes() {
        Ok(p) => p,
        Err(e) => return e.clone().into(),
    };
    let mut found = Vec::new();
    let mut unreadable = 0usize;
    let mut inspected = 0usize;
    for p in procs.iter().take(MAX_PROCESSES) {
        let base = format!("/proc/{}", p.pid);
        let maps = match ctx.host.read_bytes(&format!("{base}/maps"), MAX_MAPS_BYTES) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) if e.is_missing() => continue, // exited meanwhile
            Err(_) => {
                unreadable += 1;
                continue;
            }
        };
        if maps.is_empty() {
            continue; // kernel thread
        }
        inspected += 1;
        let mut paths = Vec::new();
        if let Some(exe) = ctx
            .host
            .read_link(&format!("{base}/exe"))
            .ok()
            .and_then(|t| procmaps::deleted_exe(&t))
        {
            paths.push(exe);
        }
        for path in procmaps::deleted_exec_paths(&maps) {
            if !paths.contains(&path) {
                paths.push(path);
            }
        }
        if !paths.is_empty() {
            found.push((p, paths));
        }
    }
    let cut = if procs.len() > MAX_PROCESSES {
        format!(
            " (only the first {MAX_PROCESSES} of {} processes looked at)",
            procs.len()
        )
    } else {
        String::new()
    };
    if found.is_empty() {
        if unreadable > 0 {
            return Outcome::warn(format!(
                "no stale code in the {inspected} processes readable; {unreadable} could not be read (permission denied: run as root; in a container, processes outside it stay unreadable){cut}"
            ));
        }
        return Outcome::pass(format!(
            "none of {inspected} processes maps a deleted binary or library{cut}"
        ));
    }
    let mut units: Vec<String> = Vec::new();
    let listed: Vec<String> = found
        .iter()
        .take(MAX_REPORTED)
        .map(|(p, paths)| {
            let unit = unit_of(ctx, p.pid);
            if let Some(u) = &unit {
                if !units.contains(u) {
                    units.push(u.clone());
                }
            }
            let mut shown: Vec<&str> = paths.iter().take(MAX_PATHS).map(String::as_str).collect();
            let more = paths.len().saturating_sub(MAX_PATHS);
            let extra = if more > 0 {
                format!(" and {more} more")
            } else {
                String::new()
            };
            shown.sort_unstable();
            format!(
                "{} (pid {}{}): {}{extra}",
                p.comm,
                p.pid,
                unit.map(|u| format!(", {u}")).unwrap_or_default(),
                shown.join(", ")
            )
        })
        .collect();
    let mut ev = format!(
        "{} process(es) run deleted code: {}",
        found.len(),
        listed.join("; ")
    );
    if found.len() > MAX_REPORTED {
        ev.push_str(&format!(" and {} more", found.len() - MAX_REPORTED));
    }
    ev.push_str(&cut);
    let fix = if units.is_empty() {
        "Restart the listed processes (or reboot) so they load the upgraded files; `needrestart -r l` lists them too.".to_string()
    } else {
        format!(
            "`systemctl restart {}`, and restart the other listed processes (or reboot) so they load the upgraded files.",
            units.join(" ")
        )
    };
    Outcome::fail(ev).fix(fix)
}

/// Restart checks.
pub const CHECKS: &[Check] = &[Check {
    id: "RST-001",
    area: "restarts",
    severity: Severity::Medium,
    title: "No process runs a deleted (upgraded) binary or library (live)",
    remediation: "Restart the listed services (`systemctl restart <unit>`), or reboot; `apt install needrestart` restarts them after each upgrade.",
    references: &["needrestart(1)", "Lynis PROC-3602"],
    run: stale,
}];
