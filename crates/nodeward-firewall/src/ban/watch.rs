//! `nodeward ban watch`: follow the logs, count failures, ban.

use super::follow::FileFollower;
use super::journal::{self, JournalFollower};
use super::source::{parse_line, parse_message, Format};
use super::sshd::Failure;
use super::store::{BanRecord, BanStore};
use super::tracker::{Outcome, Tracker};
use super::{nftset, BanSettings};
use crate::config::JournalMode;
use crate::error::{Error, Result};
use crate::state::unix_now;
use std::io::Write;
use std::path::Path;
use std::time::{Duration, Instant};

/// Options of `ban watch`.
#[derive(Debug, Clone, Default)]
pub struct WatchOptions {
    /// Read existing file content too (default: only new lines).
    pub from_start: bool,
    /// Say what would be banned; change nothing.
    pub dry_run: bool,
}

enum Source {
    File(FileFollower, Format),
    Journal(JournalFollower),
}

fn open_sources(settings: &BanSettings, opts: &WatchOptions) -> Result<(Vec<Source>, Vec<String>)> {
    let mut sources = Vec::new();
    let mut names = Vec::new();
    for (paths, format, label) in [
        (&settings.logs, Format::Syslog, "syslog"),
        (&settings.sshd_logs, Format::Sshd, "sshd"),
        (&settings.gateway_logs, Format::Gateway, "gateway"),
    ] {
        for p in paths {
            sources.push(Source::File(FileFollower::new(p, opts.from_start), format));
            names.push(format!("{} ({label})", p.display()));
        }
    }
    let no_sshd_files = settings.logs.is_empty() && settings.sshd_logs.is_empty();
    let use_journal = match settings.journald {
        JournalMode::Off => false,
        JournalMode::On => true,
        JournalMode::Auto => no_sshd_files && journal::available(),
    };
    if use_journal {
        let j = JournalFollower::start()
            .map_err(|e| Error::Usage(format!("cannot start journalctl: {e}")))?;
        sources.push(Source::Journal(j));
        names.push("journald (sshd)".into());
    }
    if sources.is_empty() {
        return Err(Error::Usage(
            "no log to follow: set [ban] logs (or sshd_logs, gateway_logs); journald is not available here".into(),
        ));
    }
    Ok((sources, names))
}

fn sync_from_store(tracker: &mut Tracker, store: &BanStore, known: &mut Vec<std::net::IpAddr>) {
    for a in known.drain(..) {
        if !store.bans.contains_key(&a) {
            tracker.unban(a);
        }
    }
    for (a, n) in &store.offences {
        tracker.restore(*a, *n, store.bans.get(a).map(|b| b.until as i64));
    }
    for (a, b) in &store.bans {
        if !store.offences.contains_key(a) {
            tracker.restore(*a, 0, Some(b.until as i64));
        }
        known.push(*a);
    }
}

fn ban(
    state_dir: &Path,
    addr: std::net::IpAddr,
    seconds: u64,
    offence: u32,
    reason: &str,
    dry_run: bool,
) -> Result<()> {
    let mut out = std::io::stdout().lock();
    if dry_run {
        let _ = writeln!(
            out,
            "would ban {addr} for {seconds}s (ban #{offence}: {reason})"
        );
        return Ok(());
    }
    let now = unix_now();
    // Re-read under the lock: a `ban add/remove` made since our last look is kept.
    BanStore::update(state_dir, now, |store| {
        store.bans.insert(
            addr,
            BanRecord {
                since: now,
                until: now + seconds,
                reason: reason.into(),
            },
        );
        store.offences.insert(addr, offence);
        // The ban is recorded even when nft fails: the next start restores it.
        Ok(nftset::add_one(addr, Duration::from_secs(seconds)))
    })??;
    let _ = writeln!(
        out,
        "banned {addr} for {seconds}s (ban #{offence}: {reason})"
    );
    let _ = out.flush();
    Ok(())
}

/// Runs until killed; returns an exit code only on a fatal error.
pub fn watch(settings: &BanSettings, state_dir: &Path, opts: &WatchOptions) -> Result<u8> {
    let mut tracker = Tracker::new(settings.thresholds.clone());
    let mut known = Vec::new();
    let store = BanStore::load(state_dir)?;
    sync_from_store(&mut tracker, &store, &mut known);
    if !opts.dry_run {
        nftset::ensure()?;
        nftset::add(&store.active_elements(unix_now()))?;
    }
    let (mut sources, names) = open_sources(settings, opts)?;
    eprintln!(
        "nodeward ban: watching {} (maxretry {} in {}s, bantime {}s); {} active bans restored",
        names.join(", "),
        settings.thresholds.maxretry,
        settings.thresholds.findtime,
        settings.thresholds.bantime,
        store.active_elements(unix_now()).len()
    );
    let mut last_sync = Instant::now();
    loop {
        let mut failures: Vec<Failure> = Vec::new();
        let mut activity = 0usize;
        for src in sources.iter_mut() {
            match src {
                Source::File(f, format) => {
                    activity += f.poll(|line| {
                        if let Some(fail) = parse_line(*format, line, &settings.patterns).failure {
                            failures.push(fail);
                        }
                    });
                }
                Source::Journal(j) => {
                    activity += j
                        .poll(|msg| {
                            if let Some(fail) = parse_message(msg, &settings.patterns) {
                                failures.push(fail);
                            }
                        })
                        .map_err(Error::Usage)?;
                }
            }
        }
        let now = unix_now() as i64;
        for f in failures {
            if let Outcome::Ban { seconds, offence } = tracker.record(f.addr, now) {
                let reason = format!(
                    "{} failures, last: {}",
                    settings.thresholds.maxretry,
                    f.kind.name()
                );
                if let Err(e) = ban(state_dir, f.addr, seconds, offence, &reason, opts.dry_run) {
                    eprintln!("nodeward ban: banning {} failed: {e}", f.addr);
                }
            }
        }
        if !opts.dry_run && last_sync.elapsed() >= Duration::from_secs(1) {
            // Pick up `ban add/remove` made by hand while we run.
            if let Ok(store) = BanStore::load(state_dir) {
                sync_from_store(&mut tracker, &store, &mut known);
            }
            last_sync = Instant::now();
        }
        if activity == 0 {
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}
