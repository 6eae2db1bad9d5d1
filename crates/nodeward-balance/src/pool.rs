//! A pool of backends: its members (replaced as a whole, atomically, so a
//! request always sees one consistent set), its strategy and settings, and
//! the operations on it — choosing a backend for an attempt, recording the
//! outcome, and reconciling the member set when the config is reloaded or a
//! backend is registered, carrying each backend's health across the change.

use crate::backend::{BackendId, BackendSpec, Origin};
use crate::breaker::{BreakerConfig, BreakerState};
use crate::clock::{nanos, Clock};
use crate::health::{Active, HealthCell, HealthConfig};
use crate::member::{Member, MemberCore};
use crate::selection::{Candidate, Selection, Strategy};
use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::time::Instant;

/// Builds a member's endpoint from its spec, given the endpoint it had
/// before (to keep, or replace when connection settings changed).
pub type MakeEndpoint<'a, E> = dyn FnMut(&BackendSpec, Option<&Arc<E>>) -> Arc<E> + 'a;

/// A pool's settings (replaced whole on reload).
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// How a backend is chosen.
    pub strategy: Strategy,
    /// Passive ejection.
    pub breaker: BreakerConfig,
    /// Largest share of the pool passive ejection may take out at once
    /// (backends refusing connections are always taken out).
    pub max_ejected_share: f64,
    /// Ramp-up time of a backend entering service.
    pub slow_start: Duration,
    /// Active checks, when configured.
    pub health: Option<HealthConfig>,
    /// Most backends (all origins together).
    pub max_backends: usize,
    /// TLS settings the checks use for https backends.
    pub check_tls: Option<Arc<rustls::ClientConfig>>,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig {
            strategy: Strategy::RoundRobin,
            breaker: BreakerConfig::default(),
            max_ejected_share: 0.5,
            slow_start: Duration::ZERO,
            health: None,
            max_backends: 256,
            check_tls: None,
        }
    }
}

/// Why the member set could not be changed as asked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// The id is taken by a backend of another origin.
    #[error("backend id {id} is already used by a backend from {origin}")]
    IdTaken {
        /// The id.
        id: BackendId,
        /// Where the existing one came from.
        origin: &'static str,
    },
    /// Another backend already has this address.
    #[error("address {address} is already used by backend {id}")]
    AddressTaken {
        /// The address.
        address: String,
        /// The backend that has it.
        id: BackendId,
    },
    /// The pool is full.
    #[error("the pool already has {0} backends (max_backends)")]
    Full(usize),
    /// No such backend (of that origin).
    #[error("no backend {0} in this pool")]
    NotFound(BackendId),
    /// A backend's spec is invalid.
    #[error("backend {id}: {message}")]
    Invalid {
        /// The backend.
        id: BackendId,
        /// What is wrong.
        message: String,
    },
}

/// Why no backend could be chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unavailable {
    /// The pool has no backends at all.
    Empty,
    /// Every backend is out of rotation (critical, ejected, pending, draining).
    NoneServing,
    /// Serving backends exist, but none the caller accepts (e.g. none has
    /// the block the request names).
    NoneAccepted,
    /// Every serving backend was already tried by this request.
    AllTried,
}

/// How an attempt failed, for passive health.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// No connection could be made (refused, unreachable, TLS handshake failed).
    Unreachable,
    /// No answer within the deadline.
    Timeout,
    /// A 5xx, an invalid answer, or the connection closed early.
    BadAnswer,
}

/// How many tried backends a request remembers without allocating.
const TRIED_INLINE: usize = 8;

/// The backends a request has already tried (a retry never goes back).
/// Members are told apart by the address of their state, which a request
/// keeps alive while it runs.
#[derive(Debug, Default, Clone)]
pub struct Tried {
    inline: [usize; TRIED_INLINE],
    len: usize,
    more: Vec<usize>,
}

impl Tried {
    /// Records a member.
    pub fn add(&mut self, core: &Arc<MemberCore>) {
        let p = Arc::as_ptr(core) as usize;
        if self.len < TRIED_INLINE {
            self.inline[self.len] = p;
        } else {
            self.more.push(p);
        }
        self.len += 1;
    }

    /// Whether `core` was tried.
    pub fn contains(&self, core: &MemberCore) -> bool {
        let p = core as *const MemberCore as usize;
        self.inline[..self.len.min(TRIED_INLINE)].contains(&p) || self.more.contains(&p)
    }

    /// How many were tried.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether none was tried.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

/// Pools up to this size choose without allocating.
const INLINE_CANDIDATES: usize = 32;

/// The pool's own health: the head its members reach, when it last moved,
/// and conditions the whole pool shares.
#[derive(Debug, Default)]
pub struct PoolHealth {
    head: AtomicU64,
    moved_at: AtomicU64,
    rounds: AtomicU64,
    last: Mutex<PoolRound>,
    /// Recent block hashes and reorgs (JSON-RPC pools whose nodes say).
    pub chain: crate::chain::ChainTracker,
}

/// What the last check round found about the pool as a whole.
#[derive(Debug, Clone, Default)]
pub struct PoolRound {
    /// When it finished.
    pub at: Option<SystemTime>,
    /// Conditions every answering node shared.
    pub pool_wide: Vec<String>,
}

impl PoolHealth {
    /// The head a quorum of members reach, as of the last round.
    pub fn head(&self) -> Option<u64> {
        match self.head.load(Relaxed) {
            0 => None,
            h => Some(h - 1),
        }
    }

    /// Seconds since the head last moved (None before any head is known).
    pub fn head_age(&self, clock: &Clock) -> Option<Duration> {
        let at = self.moved_at.load(Relaxed);
        (at != 0).then(|| Duration::from_nanos(clock.now().saturating_sub(at)))
    }

    /// Check rounds completed.
    pub fn rounds(&self) -> u64 {
        self.rounds.load(Relaxed)
    }

    /// The last round's pool-wide findings.
    pub fn last_round(&self) -> PoolRound {
        self.last.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Records a round's view of the pool.
    pub fn record(&self, head: Option<u64>, pool_wide: Vec<String>, clock: &Clock) {
        let now = clock.now();
        if let Some(h) = head {
            // The head a quorum reaches now; any change (a new block, or a
            // chain that was reset) counts as movement.
            if self.head.swap(h.saturating_add(1), Relaxed) != h.saturating_add(1) {
                self.moved_at.store(now, Relaxed);
            }
        }
        self.rounds.fetch_add(1, Relaxed);
        *self.last.lock().unwrap_or_else(|p| p.into_inner()) = PoolRound {
            at: Some(SystemTime::now()),
            pool_wide,
        };
    }
}

/// A pool of backends with endpoints of type `E`.
pub struct Pool<E> {
    name: String,
    clock: Clock,
    members: ArcSwap<Vec<Member<E>>>,
    config: ArcSwap<PoolConfig>,
    selection: ArcSwap<Box<dyn Selection>>,
    write: Mutex<()>,
    /// The pool's own health.
    pub health: PoolHealth,
    /// Woken when a backend joins, so it is checked at once.
    pub(crate) joined: tokio::sync::Notify,
    /// Backends a majority of the cluster's live instances judge critical
    /// (cluster mode), with a description; the next check round adds a
    /// `cluster_majority` exclusion for each (capped like any reason).
    cluster_critical: Mutex<HashMap<BackendId, String>>,
}

impl<E> std::fmt::Debug for Pool<E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

impl<E> Pool<E> {
    /// An empty pool.
    pub fn new(name: &str, config: PoolConfig) -> Pool<E> {
        Pool {
            name: name.to_string(),
            clock: Clock::new(),
            members: ArcSwap::from_pointee(Vec::new()),
            selection: ArcSwap::from_pointee(config.strategy.build()),
            config: ArcSwap::from_pointee(config),
            write: Mutex::new(()),
            health: PoolHealth::default(),
            joined: tokio::sync::Notify::new(),
            cluster_critical: Mutex::new(HashMap::new()),
        }
    }

    /// Sets the backends a majority of the cluster judges critical; when the
    /// set changed, a check round runs at once.
    pub fn set_cluster_critical(&self, critical: HashMap<BackendId, String>) {
        let mut cur = self
            .cluster_critical
            .lock()
            .unwrap_or_else(|p| p.into_inner());
        if *cur != critical {
            *cur = critical;
            drop(cur);
            self.joined.notify_one();
        }
    }

    /// The backends a majority of the cluster judges critical.
    pub fn cluster_critical(&self) -> HashMap<BackendId, String> {
        self.cluster_critical
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// The pool's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The pool's clock.
    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    /// The current settings.
    pub fn config(&self) -> Arc<PoolConfig> {
        self.config.load_full()
    }

    /// The current members.
    pub fn members(&self) -> Arc<Vec<Member<E>>> {
        self.members.load_full()
    }

    /// The member with this id.
    pub fn member(&self, id: &BackendId) -> Option<Member<E>> {
        self.members
            .load()
            .iter()
            .find(|m| &m.core.spec.id == id)
            .cloned()
    }

    /// Whether any member can take a request now.
    pub fn any_serving(&self) -> bool {
        let now = self.clock.now();
        self.members
            .load()
            .iter()
            .any(|m| !m.core.is_draining() && m.core.health.serving() && m.core.breaker.admits(now))
    }

    /// Chooses a backend for one attempt: one that serves, that this
    /// request has not tried, and that `accept` takes. The attempt counts as
    /// in flight until its outcome is recorded or it is dropped.
    pub fn select(
        &self,
        tried: &Tried,
        accept: &dyn Fn(&MemberCore) -> bool,
    ) -> Result<Attempt<'_, E>, Unavailable> {
        let now = self.clock.now();
        let members = self.members.load();
        let Some(first) = members.first() else {
            return Err(Unavailable::Empty);
        };
        let cfg = self.config.load();
        let weights = cfg.strategy.uses_weights();
        let warn_weight = cfg.health.as_ref().map_or(1.0, |h| h.warn_weight);
        // Candidates and their member indices, on the stack for small pools.
        let filler = Candidate {
            member: &first.core,
            weight: 0.0,
        };
        let mut inline = [filler; INLINE_CANDIDATES];
        let mut inline_index = [0usize; INLINE_CANDIDATES];
        let mut heap: Vec<Candidate<'_>> = Vec::new();
        let mut heap_index: Vec<usize> = Vec::new();
        let large = members.len() > INLINE_CANDIDATES;
        let mut n = 0usize;
        let (mut serving, mut accepted) = (0usize, 0usize);
        for (i, m) in members.iter().enumerate() {
            let c = &*m.core;
            if c.is_draining() || !c.health.serving() || !c.breaker.admits(now) {
                continue;
            }
            serving += 1;
            if !accept(c) {
                continue;
            }
            accepted += 1;
            if tried.contains(c) {
                continue;
            }
            let mut weight = if weights {
                f64::from(c.spec.weight)
            } else {
                1.0
            };
            if c.health.active() == Active::Warn {
                weight *= warn_weight;
            }
            weight *= crate::slow_start::factor(c.ramp_since(), now, cfg.slow_start);
            let candidate = Candidate {
                member: c,
                weight: weight.max(1e-6),
            };
            if large {
                heap.push(candidate);
                heap_index.push(i);
            } else {
                inline[n] = candidate;
                inline_index[n] = i;
            }
            n += 1;
        }
        let (candidates, index): (&mut [Candidate<'_>], &mut [usize]) = if large {
            (&mut heap[..], &mut heap_index[..])
        } else {
            (&mut inline[..n], &mut inline_index[..n])
        };
        let selection = self.selection.load();
        let mut left = n;
        while left > 0 {
            let k = selection.select(&candidates[..left]);
            let member = &members[index[k]];
            let probe = member.core.breaker.state(now) == BreakerState::Probation;
            if probe && !member.core.breaker.try_begin_probe() {
                candidates.swap(k, left - 1);
                index.swap(k, left - 1);
                left -= 1;
                continue;
            }
            member.core.begin();
            return Ok(Attempt {
                pool: self,
                member: member.clone(),
                started: Instant::now(),
                probe,
                done: false,
            });
        }
        Err(if members.is_empty() {
            Unavailable::Empty
        } else if serving == 0 {
            Unavailable::NoneServing
        } else if accepted == 0 {
            Unavailable::NoneAccepted
        } else {
            Unavailable::AllTried
        })
    }

    /// Whether passive ejection may take one more member out now.
    fn may_eject(&self) -> bool {
        let members = self.members.load();
        let n = members.len();
        if n < 2 {
            return false;
        }
        let now = self.clock.now();
        let out = members.iter().filter(|m| m.core.is_out(now)).count();
        let share = self.config.load().max_ejected_share.clamp(0.0, 1.0);
        let cap = ((n as f64) * share).floor().max(1.0) as usize;
        out < cap
    }

    /// Replaces the settings (a reload); members and their health stay.
    pub fn set_config(&self, config: PoolConfig) {
        let _w = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let old = self.config.load();
        if old.strategy != config.strategy {
            self.selection.store(Arc::new(config.strategy.build()));
        }
        let checks_before = old.health.is_some();
        let checks_now = config.health.is_some();
        self.config.store(Arc::new(config));
        if checks_before != checks_now {
            // Checks switched on: members stay in until checked; off: all serve.
            for m in self.members.load().iter() {
                m.core.health.reset(checks_now);
            }
            self.joined.notify_one();
        }
    }

    fn new_health(&self) -> HealthCell {
        match &self.config.load().health {
            None => HealthCell::unchecked(),
            Some(h) => HealthCell::new_checked(h.start_healthy),
        }
    }

    /// Makes `origin`'s members exactly `specs` (config on reload, a
    /// watched file on change). Members with the same id and address keep
    /// their health, breaker and endpoint; `make` builds an endpoint for a
    /// new address (it gets the old endpoint, if any, to keep or replace).
    /// Ids taken by another origin are refused with [`PoolError::IdTaken`],
    /// and nothing changes.
    pub fn replace_origin(
        &self,
        origin: Origin,
        specs: Vec<BackendSpec>,
        make: &mut MakeEndpoint<'_, E>,
    ) -> Result<(), PoolError> {
        let _w = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let current = self.members.load_full();
        for s in &specs {
            s.validate().map_err(|message| PoolError::Invalid {
                id: s.id.clone(),
                message,
            })?;
            if let Some(other) = current
                .iter()
                .find(|m| m.core.spec.id == s.id && m.core.spec.origin != origin)
            {
                return Err(PoolError::IdTaken {
                    id: s.id.clone(),
                    origin: other.core.spec.origin.place(),
                });
            }
            if let Some(other) = current
                .iter()
                .find(|m| m.core.spec.address == s.address && m.core.spec.origin != origin)
            {
                return Err(PoolError::AddressTaken {
                    address: s.address.to_string(),
                    id: other.core.spec.id.clone(),
                });
            }
        }
        let kept_others = current
            .iter()
            .filter(|m| m.core.spec.origin != origin)
            .count();
        if kept_others + specs.len() > self.config.load().max_backends {
            return Err(PoolError::Full(self.config.load().max_backends));
        }
        let mut next: Vec<Member<E>> = current
            .iter()
            .filter(|m| m.core.spec.origin != origin)
            .cloned()
            .collect();
        let mut joined = false;
        for s in specs {
            let old = current
                .iter()
                .find(|m| m.core.spec.id == s.id && m.core.spec.origin == origin);
            next.push(self.member_for(s, old, make, &mut joined));
        }
        self.members.store(Arc::new(next));
        if joined {
            self.joined.notify_one();
        }
        Ok(())
    }

    fn member_for(
        &self,
        spec: BackendSpec,
        old: Option<&Member<E>>,
        make: &mut MakeEndpoint<'_, E>,
        joined: &mut bool,
    ) -> Member<E> {
        match old {
            Some(o) if o.core.spec == spec => Member {
                core: o.core.clone(),
                endpoint: make(&spec, Some(&o.endpoint)),
            },
            Some(o) if o.core.spec.same_endpoint(&spec) => {
                let core = MemberCore::carried(spec.clone(), &o.core);
                Member {
                    endpoint: make(&spec, Some(&o.endpoint)),
                    core: Arc::new(core),
                }
            }
            _ => {
                *joined = true;
                let ramp = if self.config.load().slow_start.is_zero() {
                    0
                } else {
                    self.clock.now()
                };
                Member {
                    endpoint: make(&spec, None),
                    core: Arc::new(MemberCore::new(spec, self.new_health(), ramp)),
                }
            }
        }
    }

    /// Adds or replaces one registered backend. A backend of another origin
    /// with the same id, or another backend with the same address, is a conflict.
    pub fn upsert(
        &self,
        spec: BackendSpec,
        make: &mut MakeEndpoint<'_, E>,
    ) -> Result<(), PoolError> {
        spec.validate().map_err(|message| PoolError::Invalid {
            id: spec.id.clone(),
            message,
        })?;
        let _w = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let current = self.members.load_full();
        if let Some(other) = current
            .iter()
            .find(|m| m.core.spec.id == spec.id && m.core.spec.origin != spec.origin)
        {
            return Err(PoolError::IdTaken {
                id: spec.id.clone(),
                origin: other.core.spec.origin.place(),
            });
        }
        if let Some(other) = current
            .iter()
            .find(|m| m.core.spec.id != spec.id && m.core.spec.address == spec.address)
        {
            return Err(PoolError::AddressTaken {
                address: spec.address.to_string(),
                id: other.core.spec.id.clone(),
            });
        }
        let old = current.iter().position(|m| m.core.spec.id == spec.id);
        if old.is_none() && current.len() >= self.config.load().max_backends {
            return Err(PoolError::Full(self.config.load().max_backends));
        }
        let mut joined = false;
        let member = self.member_for(spec, old.map(|i| &current[i]), make, &mut joined);
        let mut next: Vec<Member<E>> = (*current).clone();
        match old {
            Some(i) => next[i] = member,
            None => next.push(member),
        }
        self.members.store(Arc::new(next));
        if joined {
            self.joined.notify_one();
        }
        Ok(())
    }

    /// Removes a backend of `origin`: no new requests; requests in flight
    /// finish on the endpoint they hold.
    pub fn remove(&self, id: &BackendId, origin: Origin) -> Result<Member<E>, PoolError> {
        let _w = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let current = self.members.load_full();
        let i = current
            .iter()
            .position(|m| &m.core.spec.id == id && m.core.spec.origin == origin)
            .ok_or_else(|| PoolError::NotFound(id.clone()))?;
        let mut next: Vec<Member<E>> = (*current).clone();
        let gone = next.remove(i);
        gone.core.set_draining(true);
        self.members.store(Arc::new(next));
        Ok(gone)
    }

    /// Drains (or undrains) a backend: it stays listed, takes no new requests.
    pub fn drain(&self, id: &BackendId, on: bool) -> Result<(), PoolError> {
        let m = self
            .member(id)
            .ok_or_else(|| PoolError::NotFound(id.clone()))?;
        m.core.set_draining(on);
        if !on {
            m.core.start_ramp(self.clock.now());
        }
        Ok(())
    }
}

/// One attempt on one backend, in flight until its outcome is recorded;
/// dropping it without one (the client left) counts nothing against the backend.
pub struct Attempt<'p, E> {
    pool: &'p Pool<E>,
    member: Member<E>,
    started: Instant,
    probe: bool,
    done: bool,
}

impl<E> Attempt<'_, E> {
    /// The chosen member.
    pub fn member(&self) -> &Member<E> {
        &self.member
    }

    /// Whether this is the probation request of an ejected backend.
    pub fn is_probe(&self) -> bool {
        self.probe
    }

    fn finish(&mut self) {
        if !self.done {
            self.done = true;
            self.member.core.end();
        }
    }

    /// The backend answered acceptably (any status below 500).
    pub fn succeeded(mut self) {
        self.finish();
        let core = &self.member.core;
        let now = self.pool.clock.now();
        core.observe_latency(now, nanos(self.started.elapsed()));
        if core.breaker.on_success(now) {
            tracing::info!(pool = %self.pool.name, backend = %core.spec.id, "backend readmitted after its probation request");
            if !self.pool.config.load().slow_start.is_zero() {
                core.start_ramp(now);
            }
        }
    }

    /// The attempt failed; returns the ejection it caused, if any.
    pub fn failed(mut self, failure: Failure) -> Option<Duration> {
        self.finish();
        let core = &self.member.core;
        let now = self.pool.clock.now();
        core.count_failure();
        if failure == Failure::Timeout {
            core.observe_latency(now, nanos(self.started.elapsed()));
        }
        let cfg = self.pool.config.load();
        let ejected =
            if failure == Failure::Unreachable && core.breaker.state(now) == BreakerState::Closed {
                // Nothing to wait for: a backend refusing connections is out now.
                self.probe = false;
                Some(core.breaker.eject(&cfg.breaker, now))
            } else {
                let may = self.pool.may_eject();
                self.probe = false;
                core.breaker.on_failure(&cfg.breaker, now, may)
            };
        if let Some(d) = ejected {
            tracing::warn!(pool = %self.pool.name, backend = %core.spec.id, ?failure, seconds = d.as_secs_f64(), "backend ejected");
        }
        ejected
    }
}

impl<E> Drop for Attempt<'_, E> {
    fn drop(&mut self) {
        if !self.done {
            self.member.core.end();
            if self.probe {
                self.member.core.breaker.release_probe();
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::Address;
    use crate::health::{CheckReport, Level};

    fn spec(port: u16, origin: Origin) -> BackendSpec {
        BackendSpec::new(
            Address::parse(&format!("http://127.0.0.1:{port}")).unwrap(),
            origin,
        )
    }

    fn pool(specs: Vec<BackendSpec>) -> Pool<u16> {
        let p = Pool::new("p", PoolConfig::default());
        p.replace_origin(Origin::Config, specs, &mut |s, _| Arc::new(s.address.port))
            .unwrap();
        p
    }

    #[tokio::test(start_paused = true)]
    async fn a_retry_never_goes_back_and_accept_filters() {
        let p = pool(vec![
            spec(1, Origin::Config),
            spec(2, Origin::Config),
            spec(3, Origin::Config),
        ]);
        let mut tried = Tried::default();
        let mut seen = Vec::new();
        for _ in 0..3 {
            let a = p.select(&tried, &|_| true).unwrap();
            seen.push(*a.member().endpoint);
            tried.add(&a.member().core);
            a.succeeded();
        }
        seen.sort_unstable();
        assert_eq!(seen, vec![1, 2, 3]);
        assert_eq!(
            p.select(&tried, &|_| true).err(),
            Some(Unavailable::AllTried)
        );
        assert_eq!(
            p.select(&Tried::default(), &|c| c.spec.address.port > 9)
                .err(),
            Some(Unavailable::NoneAccepted)
        );
    }

    #[tokio::test(start_paused = true)]
    async fn reconciling_keeps_health_and_refuses_clashes() {
        let p = pool(vec![spec(1, Origin::Config), spec(2, Origin::Config)]);
        let one = p.members()[0].core.clone();
        one.health.reset(true);
        one.health.apply(
            CheckReport {
                at: std::time::SystemTime::now(),
                level: Level::Critical,
                output: String::new(),
                exclusions: vec![],
                notes: vec![],
                elapsed: Duration::ZERO,
            },
            1,
            1,
        );
        // The same backend again (and a new one): its state is kept.
        let mut weighted = spec(1, Origin::Config);
        weighted.weight = 5;
        p.replace_origin(
            Origin::Config,
            vec![weighted, spec(3, Origin::Config)],
            &mut |s, _| Arc::new(s.address.port),
        )
        .unwrap();
        let kept = p.member(&one.spec.id).unwrap();
        assert_eq!(kept.core.spec.weight, 5);
        assert_eq!(kept.core.health.active(), Active::Critical);
        assert_eq!(p.members().len(), 2);
        // Another origin may not take an id or an address in use.
        let clash = p.replace_origin(Origin::File, vec![spec(3, Origin::File)], &mut |s, _| {
            Arc::new(s.address.port)
        });
        assert!(matches!(clash, Err(PoolError::IdTaken { .. })), "{clash:?}");
        let mut same_address = spec(3, Origin::File);
        same_address.id = BackendId::parse("other").unwrap();
        let clash = p.replace_origin(Origin::File, vec![same_address], &mut |s, _| {
            Arc::new(s.address.port)
        });
        assert!(
            matches!(clash, Err(PoolError::AddressTaken { .. })),
            "{clash:?}"
        );
        let mut reg = spec(3, Origin::Registered);
        reg.id = BackendId::parse("r").unwrap();
        assert!(matches!(
            p.upsert(reg, &mut |s, _| Arc::new(s.address.port)),
            Err(PoolError::AddressTaken { .. })
        ));
        assert!(matches!(
            p.remove(&one.spec.id, Origin::Registered),
            Err(PoolError::NotFound(_))
        ));
    }

    #[tokio::test(start_paused = true)]
    async fn an_ejected_backend_gets_one_probation_request() {
        let p = pool(vec![spec(1, Origin::Config), spec(2, Origin::Config)]);
        let only_1 = |c: &MemberCore| c.spec.address.port == 1;
        let a = p.select(&Tried::default(), &only_1).unwrap();
        assert!(a.failed(Failure::Unreachable).is_some());
        assert!(p.select(&Tried::default(), &only_1).is_err());
        tokio::time::advance(Duration::from_millis(5001)).await;
        let probe = p.select(&Tried::default(), &only_1).unwrap();
        assert!(probe.is_probe());
        // While the probe is out, nobody else gets backend 1.
        assert!(p.select(&Tried::default(), &only_1).is_err());
        probe.succeeded();
        let again = p.select(&Tried::default(), &only_1).unwrap();
        assert!(!again.is_probe());
    }
}
