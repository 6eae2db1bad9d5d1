//! Cluster-wide rate limits on Redis: every instance takes tokens from one
//! shared bucket per (rule, key) in batches and admits locally, so the
//! request path never waits on Redis. While Redis is unreachable each rule
//! applies its [`FailMode`].
//!
//! Bound: an instance admits at most `batch` requests per key ahead of what
//! Redis granted (credit, charged to the shared bucket by its next refill),
//! so N instances admit at most the bucket's own allowance plus N × batch.

mod lease;
mod link;
pub mod report;
mod script;
pub mod settings;

use crate::{ClusterConfig, ClusterError};
use lease::{Lease, Refill};
use link::Link;
use serde::Deserialize;
use std::collections::{BTreeMap, HashMap};
use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Most keys one rule tracks; past it the rule's leases are cleared.
pub const MAX_KEYS: usize = 100_000;

/// What a cluster-wide rule does while Redis is unreachable.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FailMode {
    /// Each of the N live instances enforces limit/N locally.
    #[default]
    Split,
    /// Admit everything (the local limits of other rules still apply).
    Open,
    /// Refuse everything the rule covers.
    Closed,
}

impl FailMode {
    /// The label in metrics and `/status`.
    pub fn as_str(self) -> &'static str {
        match self {
            FailMode::Split => "split",
            FailMode::Open => "open",
            FailMode::Closed => "closed",
        }
    }
}

/// Counters of one rule, kept across reloads (by rule name).
#[derive(Debug, Default)]
pub struct RuleCounters {
    /// Requests admitted while Redis was up.
    pub admitted: AtomicU64,
    /// Requests refused while Redis was up.
    pub refused: AtomicU64,
    /// Requests decided by the fail mode.
    pub fallback: AtomicU64,
    /// The rule's fail mode (as last configured).
    mode: Mutex<FailMode>,
}

/// The process's link to the shared limits.
pub struct Limits {
    link: Arc<Link>,
    prefix: String,
    batch: Option<u32>,
    default_fail: FailMode,
    rule_fail: BTreeMap<String, FailMode>,
    configured_instances: u32,
    live_instances: AtomicU32,
    counters: Mutex<BTreeMap<String, Arc<RuleCounters>>>,
    runtime: tokio::runtime::Handle,
}

impl Limits {
    /// Connects to Redis as `cfg` says. A refused login is an error; an
    /// unreachable Redis is not (rules use their fail mode until it answers).
    /// Must run inside the tokio runtime that will drive refills.
    pub async fn start(cfg: &ClusterConfig) -> Result<Arc<Limits>, ClusterError> {
        let client = settings::client(cfg)?;
        let link = Arc::new(Link::new(client, cfg.redis_timeout.get()));
        match link.connect().await {
            Ok(()) => {}
            Err(e) if settings::is_auth_error(&e) => {
                return Err(ClusterError::Config(format!(
                    "redis: login refused (check cluster.redis_user and cluster.redis_password_file): {e}"
                )));
            }
            Err(e) => {
                tracing::warn!(error = %e, "cluster limits: Redis unreachable at start; rules use their fail mode until it answers");
                link.down(&e);
            }
        }
        tokio::spawn(link.clone().keep());
        Ok(Arc::new(Limits {
            link,
            prefix: cfg
                .redis_prefix
                .clone()
                .unwrap_or_else(|| cfg.prefix.clone()),
            batch: cfg.limit_batch,
            default_fail: cfg.limit_fail,
            rule_fail: cfg.limit_fail_rules.clone(),
            configured_instances: cfg.instances.unwrap_or(1),
            live_instances: AtomicU32::new(0),
            counters: Mutex::new(BTreeMap::new()),
            runtime: tokio::runtime::Handle::current(),
        }))
    }

    /// Sets how many instances are live (from etcd's registrations).
    pub fn set_live_instances(&self, n: u32) {
        self.live_instances.store(n, Ordering::Relaxed);
    }

    /// N for `split`: the live instances, at least `instances` when set.
    pub fn instances(&self) -> u32 {
        self.live_instances
            .load(Ordering::Relaxed)
            .max(self.configured_instances)
            .max(1)
    }

    /// A cluster-wide rule named `name` allowing `count` per `period`.
    pub fn rule(self: &Arc<Self>, name: &str, count: u32, period: Duration) -> Arc<Rule> {
        let count = count.max(1);
        let mode = self
            .rule_fail
            .get(name)
            .copied()
            .unwrap_or(self.default_fail);
        let counters = {
            let mut map = self.counters.lock().unwrap_or_else(|p| p.into_inner());
            map.entry(name.to_string()).or_default().clone()
        };
        *counters.mode.lock().unwrap_or_else(|p| p.into_inner()) = mode;
        let period_ms = u64::try_from(period.as_millis()).unwrap_or(u64::MAX).max(1);
        Arc::new(Rule {
            key_base: format!("{}:limit:{name}:{count}/{period_ms}ms:", self.prefix),
            name: name.to_string(),
            count,
            period,
            period_ms,
            batch: self.batch.unwrap_or((count / 20).clamp(1, 10_000)),
            mode,
            leases: Mutex::new(HashMap::new()),
            counters,
            engine: self.clone(),
        })
    }

    /// Names in `limit_fail_rules` that no rule built so far carries (a
    /// typo would otherwise leave that rule on the default fail mode
    /// without a word), and the names that exist, for the error message.
    pub fn unknown_fail_rules(&self) -> (Vec<String>, Vec<String>) {
        let map = self.counters.lock().unwrap_or_else(|p| p.into_inner());
        let unknown = self
            .rule_fail
            .keys()
            .filter(|k| !map.contains_key(*k))
            .cloned()
            .collect();
        (unknown, map.keys().cloned().collect())
    }

    /// Whether Redis is answering.
    pub fn redis_up(&self) -> bool {
        self.link.is_up()
    }
}

/// One cluster-wide rule (a rate limit of the gateway's config).
pub struct Rule {
    name: String,
    key_base: String,
    count: u32,
    period: Duration,
    period_ms: u64,
    batch: u32,
    mode: FailMode,
    leases: Mutex<HashMap<IpAddr, Lease>>,
    counters: Arc<RuleCounters>,
    engine: Arc<Limits>,
}

impl Rule {
    /// Takes `n` requests' worth for `key`; false when over the limit.
    /// Never waits on Redis.
    pub fn allow(self: &Arc<Self>, key: IpAddr, n: u32) -> bool {
        if n == 0 {
            return true;
        }
        let now = Instant::now();
        if !self.engine.link.is_up() {
            self.counters.fallback.fetch_add(1, Ordering::Relaxed);
            return match self.mode {
                FailMode::Open => true,
                FailMode::Closed => false,
                FailMode::Split => {
                    let share = self.engine.instances();
                    let burst = (self.count / share).max(1);
                    let interval = self.period * share / self.count;
                    self.with_lease(key, now, |l| l.split(n, interval, burst, now))
                }
            };
        }
        let (admit, refill) = self.with_lease(key, now, |l| l.take(n, self.batch, now));
        if let Some(r) = refill {
            let rule = self.clone();
            self.engine
                .runtime
                .spawn(async move { rule.refill(key, r).await });
        }
        let c = if admit {
            &self.counters.admitted
        } else {
            &self.counters.refused
        };
        c.fetch_add(1, Ordering::Relaxed);
        admit
    }

    fn with_lease<T>(&self, key: IpAddr, now: Instant, f: impl FnOnce(&mut Lease) -> T) -> T {
        let mut map = self.leases.lock().unwrap_or_else(|p| p.into_inner());
        f(map.entry(key).or_insert_with(|| Lease::new(now)))
    }

    async fn refill(&self, key: IpAddr, r: Refill) {
        let redis_key = format!("{}{key}", self.key_base);
        let answer = self
            .engine
            .link
            .refill(&redis_key, self.count, self.period_ms, r.debt, r.want)
            .await;
        let now = Instant::now();
        let mut map = self.leases.lock().unwrap_or_else(|p| p.into_inner());
        let Some(lease) = map.get_mut(&key) else {
            return;
        };
        match answer {
            Ok((granted, wait_ms)) => {
                lease.granted(r, granted.min(r.want), Duration::from_millis(wait_ms), now)
            }
            Err(_) => lease.failed(),
        }
    }

    /// Drops leases idle for a period (at least 10 s) with no refill on its
    /// way; clears all past [`MAX_KEYS`]. Called periodically.
    pub fn sweep(&self) {
        let now = Instant::now();
        let idle = self.period.max(Duration::from_secs(10));
        let mut map = self.leases.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, l| l.pending() || now.duration_since(l.last_used) < idle);
        if map.len() > MAX_KEYS {
            tracing::warn!(rule = %self.name, tracked = map.len(), "cluster limit tracked too many keys; cleared");
            map.clear();
        }
        map.shrink_to_fit();
    }

    /// The over-admission bound of this rule: N × batch.
    pub fn bound(&self) -> u64 {
        u64::from(self.engine.instances()) * u64::from(self.batch)
    }

    /// The tokens taken per refill.
    pub fn batch(&self) -> u32 {
        self.batch
    }
}
