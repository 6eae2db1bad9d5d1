//! Auto-banning: violations (refusals with configured reasons) are counted per
//! source over a sliding window; past the threshold the source is banned for a
//! period that grows for repeat offenders. Bans are checked at accept time
//! (before TLS or HTTP) and per request (for keep-alive connections and
//! clients behind trusted proxies), listed/added/lifted through the admin
//! API, and kept in `<state_dir>/bans.json` across restarts.
//!
//! Both tables are bounded: when the violation counters are full the least
//! recently seen are evicted; active bans are never evicted (a full ban table
//! refuses new bans and says so in the log).

use crate::addr::source_key;
use crate::config::Autoban;
use rustc_hash::FxHashMap as HashMap;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Violations of one source in the current and the previous window.
#[derive(Debug, Clone, Copy)]
struct Counter {
    window_start: Instant,
    previous: u32,
    current: u32,
    last_seen: Instant,
}

/// One ban (or, once expired, the memory of it for repeat offences).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ban {
    /// When the ban ends.
    pub until: SystemTime,
    /// How many times this source has been banned.
    pub offences: u32,
    /// Added through the admin API.
    pub manual: bool,
}

#[derive(Default)]
struct Tables {
    counters: HashMap<IpAddr, Counter>,
    bans: HashMap<IpAddr, Ban>,
}

/// Told of every ban made or lifted on this instance (cluster replication).
pub trait BanHook: Send + Sync {
    /// `source` was banned for `length`.
    fn banned(&self, source: IpAddr, ban: &Ban, length: Duration);
    /// The ban of `source` was lifted by hand.
    fn lifted(&self, source: IpAddr);
}

/// The process-wide ban table (survives reloads).
pub struct BanTable {
    tables: Mutex<Tables>,
    hook: std::sync::OnceLock<std::sync::Arc<dyn BanHook>>,
    violations: Mutex<Option<ViolationLog>>,
    /// Bans in force (a fast "nothing to check" at accept time).
    active: AtomicUsize,
    dirty: AtomicBool,
    path: PathBuf,
}

/// Why a manual ban was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BanError {
    /// The source is trusted.
    #[error("{0} is a trusted source and is never banned")]
    Trusted(IpAddr),
    /// The table is full of active bans.
    #[error("the ban table is full ({0} active bans)")]
    Full(usize),
}

impl BanTable {
    /// Opens the table kept in `state_dir/bans.json`, loading bans still in force.
    pub fn open(state_dir: &Path, max_bans: usize) -> BanTable {
        let path = state_dir.join("bans.json");
        let mut tables = Tables::default();
        match std::fs::read(&path) {
            Ok(bytes) => match parse(&bytes, max_bans) {
                Ok(bans) => tables.bans = bans,
                Err(e) => tracing::warn!(file = %path.display(), "ignoring the saved bans: {e}"),
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "cannot read the saved bans")
            }
        }
        let table = BanTable {
            tables: Mutex::new(tables),
            hook: std::sync::OnceLock::new(),
            violations: Mutex::new(None),
            active: AtomicUsize::new(0),
            dirty: AtomicBool::new(false),
            path,
        };
        table.recount(SystemTime::now());
        table
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tables> {
        self.tables.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn recount(&self, now: SystemTime) {
        let n = self.lock().bans.values().filter(|b| b.until > now).count();
        self.active.store(n, Relaxed);
    }

    /// Whether `ip` (its /64 for IPv6) is banned now.
    pub fn is_banned(&self, ip: IpAddr) -> bool {
        if self.active.load(Relaxed) == 0 {
            return false;
        }
        let now = SystemTime::now();
        self.lock()
            .bans
            .get(&source_key(ip))
            .is_some_and(|b| b.until > now)
    }

    /// Counts one violation of `ip` for `reason`, writes its violation line
    /// when configured; returns the ban length when it got banned.
    pub fn record(
        &self,
        ip: IpAddr,
        reason: crate::refusal::Reason,
        cfg: &Autoban,
    ) -> Option<Duration> {
        if let Some(path) = &cfg.violations_log {
            self.write_violation(path, ip, reason.code());
        }
        self.violation(ip, cfg)
    }

    fn write_violation(&self, path: &Path, ip: IpAddr, reason: &str) {
        let mut log = self.violations.lock().unwrap_or_else(|p| p.into_inner());
        if log.as_ref().is_none_or(|l| l.path != path) {
            *log = ViolationLog::open(path);
        }
        if let Some(l) = log.as_mut() {
            l.write(ip, reason);
        }
    }

    /// Counts one violation of `ip`; returns the ban length when it got banned.
    pub fn violation(&self, ip: IpAddr, cfg: &Autoban) -> Option<Duration> {
        let key = source_key(ip);
        let now = Instant::now();
        let wall = SystemTime::now();
        let mut t = self.lock();
        if t.bans.get(&key).is_some_and(|b| b.until > wall) {
            return None;
        }
        if !t.counters.contains_key(&key) && t.counters.len() >= cfg.max_sources {
            evict_counters(&mut t.counters, now, cfg.window, cfg.max_sources);
        }
        let c = t.counters.entry(key).or_insert(Counter {
            window_start: now,
            previous: 0,
            current: 0,
            last_seen: now,
        });
        let elapsed = now.duration_since(c.window_start);
        if elapsed >= cfg.window {
            c.previous = if elapsed < cfg.window * 2 {
                c.current
            } else {
                0
            };
            c.current = 0;
            c.window_start = now;
        }
        c.current = c.current.saturating_add(1);
        c.last_seen = now;
        // Sliding window: the previous window weighted by how much of it still overlaps.
        let into = now.duration_since(c.window_start).as_secs_f64() / cfg.window.as_secs_f64();
        let estimate = f64::from(c.previous) * (1.0 - into).max(0.0) + f64::from(c.current);
        if estimate < f64::from(cfg.threshold) {
            return None;
        }
        t.counters.remove(&key);
        let offences = t.bans.get(&key).map_or(0, |b| b.offences) + 1;
        let length = ban_length(cfg, offences);
        if !t.bans.contains_key(&key) && t.bans.len() >= cfg.max_bans {
            t.bans.retain(|_, b| b.until > wall);
            if t.bans.len() >= cfg.max_bans {
                tracing::warn!(source = %key, "ban table full; not banning");
                return None;
            }
        }
        let ban = Ban {
            until: wall + length,
            offences,
            manual: false,
        };
        t.bans.insert(key, ban);
        drop(t);
        tracing::warn!(source = %key, offences, seconds = length.as_secs(), "source banned");
        self.changed(wall);
        if let Some(h) = self.hook.get() {
            h.banned(key, &ban, length);
        }
        Some(length)
    }

    /// Bans `ip` for `length` (admin API).
    pub fn add(
        &self,
        ip: IpAddr,
        length: Duration,
        cfg: Option<&Autoban>,
        trusted: bool,
    ) -> Result<(), BanError> {
        let key = source_key(ip);
        if trusted {
            return Err(BanError::Trusted(key));
        }
        let wall = SystemTime::now();
        let max = cfg.map_or(100_000, |c| c.max_bans);
        let mut t = self.lock();
        if !t.bans.contains_key(&key) && t.bans.len() >= max {
            t.bans.retain(|_, b| b.until > wall);
            if t.bans.len() >= max {
                return Err(BanError::Full(t.bans.len()));
            }
        }
        let offences = t.bans.get(&key).map_or(0, |b| b.offences) + 1;
        let ban = Ban {
            until: wall + length,
            offences,
            manual: true,
        };
        t.bans.insert(key, ban);
        t.counters.remove(&key);
        drop(t);
        self.changed(wall);
        if let Some(h) = self.hook.get() {
            h.banned(key, &ban, length);
        }
        Ok(())
    }

    /// Sets the hook told of local bans (once; later calls are ignored).
    pub fn set_hook(&self, hook: std::sync::Arc<dyn BanHook>) {
        let _ = self.hook.set(hook);
    }

    /// Applies a ban made on another instance: `source` is banned for
    /// `length` from now (lengths, not clock times, cross instances, so a
    /// skewed clock does not shorten or stretch it). The hook is not told.
    pub fn apply_remote(&self, source: IpAddr, length: Duration, offences: u32, manual: bool) {
        let key = source_key(source);
        let wall = SystemTime::now();
        let until = wall + length;
        let mut t = self.lock();
        if let Some(b) = t.bans.get(&key) {
            // Our own ban coming back, or an older one: keep what we have.
            if b.until + Duration::from_secs(2) >= until && b.until > wall {
                return;
            }
        }
        let offences = offences.max(t.bans.get(&key).map_or(0, |b| b.offences));
        t.bans.insert(
            key,
            Ban {
                until,
                offences,
                manual,
            },
        );
        t.counters.remove(&key);
        drop(t);
        tracing::warn!(source = %key, offences, seconds = length.as_secs(), "source banned by another instance");
        self.changed(wall);
    }

    /// Ends the ban of `source` because it ended in the cluster (expired or
    /// lifted elsewhere); its offence count is kept. The hook is not told.
    pub fn end_remote(&self, source: IpAddr) {
        let key = source_key(source);
        let wall = SystemTime::now();
        let mut t = self.lock();
        let Some(b) = t.bans.get_mut(&key) else {
            return;
        };
        if b.until <= wall {
            return;
        }
        b.until = wall;
        drop(t);
        tracing::info!(source = %key, "ban ended in the cluster");
        self.changed(wall);
    }

    /// Lifts the ban of `ip` and forgets its history; whether there was one in force.
    pub fn remove(&self, ip: IpAddr) -> bool {
        let key = source_key(ip);
        let wall = SystemTime::now();
        let removed = self.lock().bans.remove(&key);
        self.changed(wall);
        if let Some(h) = self.hook.get() {
            h.lifted(key);
        }
        removed.is_some_and(|b| b.until > wall)
    }

    /// Bans in force, soonest ending first.
    pub fn list(&self) -> Vec<(IpAddr, Ban)> {
        let now = SystemTime::now();
        let mut v: Vec<(IpAddr, Ban)> = self
            .lock()
            .bans
            .iter()
            .filter(|(_, b)| b.until > now)
            .map(|(k, b)| (*k, *b))
            .collect();
        v.sort_by_key(|(_, b)| b.until);
        v
    }

    /// Sources with a violation counter.
    pub fn tracked(&self) -> usize {
        self.lock().counters.len()
    }

    fn changed(&self, now: SystemTime) {
        self.dirty.store(true, Relaxed);
        self.recount(now);
    }

    /// Periodic upkeep: drops stale counters and forgotten bans, saves when changed.
    pub fn sweep(&self, cfg: Option<&Autoban>) {
        let now = Instant::now();
        let wall = SystemTime::now();
        {
            let mut t = self.lock();
            if let Some(cfg) = cfg {
                let window = cfg.window;
                t.counters
                    .retain(|_, c| now.duration_since(c.last_seen) < window * 2);
                let remember = cfg.max_ban;
                let before = t.bans.len();
                t.bans.retain(|_, b| b.until + remember > wall);
                if t.bans.len() != before {
                    self.dirty.store(true, Relaxed);
                }
            } else {
                t.counters.clear();
            }
        }
        self.recount(wall);
        self.save_if_dirty();
        self.flush_violations();
    }

    /// Writes buffered violation lines out.
    pub fn flush_violations(&self) {
        if let Some(l) = self
            .violations
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
        {
            use std::io::Write;
            let _ = l.out.flush();
        }
    }

    /// Writes the table (temp file + rename, mode 0600) if it changed.
    pub fn save_if_dirty(&self) {
        if !self.dirty.swap(false, Relaxed) {
            return;
        }
        let entries: Vec<serde_json::Value> = self
            .lock()
            .bans
            .iter()
            .map(|(k, b)| {
                serde_json::json!({
                    "source": k.to_string(),
                    "until": b.until.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()),
                    "offences": b.offences,
                    "manual": b.manual,
                })
            })
            .collect();
        let text = serde_json::json!({"version": 1, "bans": entries}).to_string();
        if let Err(e) = nodeward_files::write_private(&self.path, text.as_bytes()) {
            self.dirty.store(true, Relaxed);
            tracing::error!(file = %self.path.display(), error = %e, "cannot save the bans");
        }
    }
}

/// The violation-lines file: buffered, flushed by the sweeper every 2 s and at exit.
struct ViolationLog {
    path: PathBuf,
    out: std::io::BufWriter<std::fs::File>,
}

impl ViolationLog {
    fn open(path: &Path) -> Option<ViolationLog> {
        use std::os::unix::fs::OpenOptionsExt;
        match std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .mode(0o640)
            .open(path)
        {
            Ok(f) => Some(ViolationLog {
                path: path.to_path_buf(),
                out: std::io::BufWriter::with_capacity(64 * 1024, f),
            }),
            Err(e) => {
                tracing::error!(file = %path.display(), error = %e, "cannot open the violations log");
                None
            }
        }
    }

    fn write(&mut self, ip: IpAddr, reason: &str) {
        use std::io::Write;
        let ts = humantime::format_rfc3339_millis(SystemTime::now());
        let _ = writeln!(
            self.out,
            r#"{{"ts":"{ts}","client_ip":"{ip}","reason":"{reason}"}}"#
        );
    }
}

fn ban_length(cfg: &Autoban, offences: u32) -> Duration {
    let mut length = cfg.ban_for;
    for _ in 1..offences.min(64) {
        length = length.saturating_mul(cfg.growth);
        if length >= cfg.max_ban {
            return cfg.max_ban;
        }
    }
    length.min(cfg.max_ban)
}

/// Frees room in a full counter table: stale entries first, then the least
/// recently seen tenth (amortised: one pass per tenth of the table).
fn evict_counters(
    counters: &mut HashMap<IpAddr, Counter>,
    now: Instant,
    window: Duration,
    max: usize,
) {
    counters.retain(|_, c| now.duration_since(c.last_seen) < window);
    let len = counters.len();
    if len < max {
        return;
    }
    let mut seen: Vec<Instant> = counters.values().map(|c| c.last_seen).collect();
    let cut = (len / 10).max(1);
    let (_, nth, _) = seen.select_nth_unstable(cut - 1);
    let threshold = *nth;
    counters.retain(|_, c| c.last_seen > threshold);
}

fn parse(bytes: &[u8], max_bans: usize) -> Result<HashMap<IpAddr, Ban>, String> {
    let v: serde_json::Value = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    let list = v["bans"].as_array().ok_or("no \"bans\" list")?;
    let mut out = HashMap::default();
    for e in list.iter().take(max_bans) {
        let (Some(source), Some(until)) = (e["source"].as_str(), e["until"].as_u64()) else {
            return Err(format!("bad entry {e}"));
        };
        let ip: IpAddr = source
            .parse()
            .map_err(|_| format!("bad source {source:?}"))?;
        out.insert(
            source_key(ip),
            Ban {
                until: UNIX_EPOCH + Duration::from_secs(until.min(u64::from(u32::MAX) * 4)),
                offences: u32::try_from(e["offences"].as_u64().unwrap_or(1)).unwrap_or(u32::MAX),
                manual: e["manual"].as_bool().unwrap_or(false),
            },
        );
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg() -> Autoban {
        Autoban {
            threshold: 3,
            window: Duration::from_secs(60),
            ban_for: Duration::from_secs(10),
            growth: 2,
            max_ban: Duration::from_secs(35),
            reasons: [true; crate::refusal::Reason::ALL.len()],
            max_sources: 50,
            max_bans: 10,
            violations_log: None,
        }
    }

    #[test]
    fn bans_after_the_threshold_and_grows_to_the_cap() {
        let c = cfg();
        assert_eq!(ban_length(&c, 1), Duration::from_secs(10));
        assert_eq!(ban_length(&c, 2), Duration::from_secs(20));
        assert_eq!(ban_length(&c, 3), Duration::from_secs(35));
        assert_eq!(ban_length(&c, 1000), Duration::from_secs(35));
        let dir = tempfile::tempdir().unwrap();
        let t = BanTable::open(dir.path(), 10);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(t.violation(ip, &c), None);
        assert_eq!(t.violation(ip, &c), None);
        assert_eq!(t.violation(ip, &c), Some(Duration::from_secs(10)));
        assert!(t.is_banned(ip));
        assert!(!t.is_banned("192.0.2.2".parse().unwrap()));
    }

    #[test]
    fn a_flood_of_sources_is_bounded_and_never_evicts_bans() {
        let c = cfg();
        let dir = tempfile::tempdir().unwrap();
        let t = BanTable::open(dir.path(), 10);
        let bad: IpAddr = "198.51.100.7".parse().unwrap();
        for _ in 0..3 {
            t.violation(bad, &c);
        }
        for i in 0..10_000u32 {
            let ip = IpAddr::from(std::net::Ipv4Addr::from(0x0a00_0000 + i));
            t.violation(ip, &c);
            assert!(t.tracked() <= c.max_sources);
        }
        assert!(t.is_banned(bad));
    }

    #[test]
    fn bans_survive_a_reopen_and_bad_files_are_ignored() {
        let c = cfg();
        let dir = tempfile::tempdir().unwrap();
        let t = BanTable::open(dir.path(), 10);
        let ip: IpAddr = "2001:db8::1".parse().unwrap();
        t.add(ip, Duration::from_secs(60), Some(&c), false).unwrap();
        t.save_if_dirty();
        let again = BanTable::open(dir.path(), 10);
        assert!(again.is_banned("2001:db8::99".parse().unwrap()), "same /64");
        std::fs::write(dir.path().join("bans.json"), b"{not json").unwrap();
        assert!(BanTable::open(dir.path(), 10).list().is_empty());
    }
}
