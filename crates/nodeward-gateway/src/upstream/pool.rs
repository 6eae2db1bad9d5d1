//! A live upstream pool: the balancer's pool of endpoints, the upstream's
//! settings (replaced on reload), its retry and hedge budgets, and its
//! counters. It outlives reloads: the registry reconciles it in place.

use super::endpoint::{ConnectSettings, Endpoint};
use crate::config::Upstream;
use arc_swap::ArcSwap;
use nodeward_balance::budget::Budget;
use nodeward_balance::{BackendSpec, Origin, Pool, PoolError};
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// Counters of a pool's retries and hedges.
#[derive(Debug, Default)]
pub struct PoolStats {
    /// Retries sent after a failed attempt.
    pub retries: AtomicU64,
    /// Retries not made because the budget was spent.
    pub retries_refused: AtomicU64,
    /// Hedged attempts sent.
    pub hedges: AtomicU64,
    /// Hedged attempts that answered first.
    pub hedge_wins: AtomicU64,
    /// Requests that found no backend to send to.
    pub no_backend: AtomicU64,
}

/// A pool of node backends.
pub struct UpstreamPool {
    /// The balancer's view: members, selection, health.
    pub balance: Arc<Pool<Endpoint>>,
    settings: ArcSwap<Upstream>,
    /// Retries allowed.
    pub retry_budget: Budget,
    /// Hedges allowed.
    pub hedge_budget: Budget,
    /// Retry and hedge counters.
    pub stats: PoolStats,
    /// The last error reading the watched backends file, if any.
    pub file_error: Mutex<Option<String>>,
    /// Stops the pool's health checks (and everything else at the end).
    pub(super) stop: watch::Sender<bool>,
    /// Stops the watcher of the current backends file, if there is one.
    pub(super) file_watch: Mutex<Option<watch::Sender<bool>>>,
}

impl UpstreamPool {
    /// A new pool for `u` with its config backends.
    pub fn new(u: &Upstream) -> Result<UpstreamPool, PoolError> {
        let pool = UpstreamPool {
            balance: Arc::new(Pool::new(&u.name, u.pool.clone())),
            retry_budget: Budget::new(u.retry.budget),
            hedge_budget: Budget::new(u.hedge.as_ref().map_or(Default::default(), |h| h.budget)),
            stats: PoolStats::default(),
            file_error: Mutex::new(None),
            settings: ArcSwap::from_pointee(u.clone()),
            stop: watch::channel(false).0,
            file_watch: Mutex::new(None),
        };
        pool.replace(Origin::Config, u.backends.clone())?;
        Ok(pool)
    }

    /// The pool's name.
    pub fn name(&self) -> &str {
        self.balance.name()
    }

    /// The current settings (a cheap guard, for the request path).
    pub fn settings(&self) -> arc_swap::Guard<Arc<Upstream>> {
        self.settings.load()
    }

    /// Applies a reloaded `[[upstream]]`: settings, then the config backends
    /// (health and connections carried where the backend is the same).
    pub fn reconfigure(&self, u: &Upstream) -> Result<(), PoolError> {
        let before = self.settings.swap(Arc::new(u.clone()));
        self.balance.set_config(u.pool.clone());
        self.retry_budget.set_config(u.retry.budget);
        if let Some(h) = &u.hedge {
            self.hedge_budget.set_config(h.budget);
        }
        if let Err(e) = self.replace(Origin::Config, u.backends.clone()) {
            self.settings.store(before);
            return Err(e);
        }
        // Registered and file backends pick up changed connection settings too.
        let members = self.balance.members();
        for origin in [Origin::File, Origin::Registered] {
            let specs: Vec<BackendSpec> = members
                .iter()
                .filter(|m| m.core.spec.origin == origin)
                .map(|m| m.core.spec.clone())
                .collect();
            let _ = self.replace(origin, specs);
        }
        Ok(())
    }

    fn connect_settings(&self) -> ConnectSettings {
        let u = self.settings.load();
        ConnectSettings {
            timeout: u.connect_timeout,
            max_connections: u.max_connections_per_backend,
            max_idle: u.max_idle_per_backend,
            tls: u.tls.clone(),
        }
    }

    fn endpoint_maker(&self) -> impl FnMut(&BackendSpec, Option<&Arc<Endpoint>>) -> Arc<Endpoint> {
        let settings = self.connect_settings();
        move |spec, old| match old {
            Some(e) if e.address == spec.address && e.settings().compatible(&settings) => e.clone(),
            _ => Arc::new(Endpoint::new(&spec.address, settings.clone())),
        }
    }

    /// Makes `origin`'s backends exactly `specs`.
    pub fn replace(&self, origin: Origin, specs: Vec<BackendSpec>) -> Result<(), PoolError> {
        let mut make = self.endpoint_maker();
        self.balance.replace_origin(origin, specs, &mut make)
    }

    /// Adds or updates one backend (registration).
    pub fn upsert(&self, spec: BackendSpec) -> Result<(), PoolError> {
        let mut make = self.endpoint_maker();
        self.balance.upsert(spec, &mut make)
    }

    /// Stops the pool's background tasks (checks, file watching).
    pub fn stop(&self) {
        let _ = self.stop.send(true);
        self.stop_file_watch();
    }

    /// Stops watching the backends file.
    pub(super) fn stop_file_watch(&self) {
        if let Some(tx) = self
            .file_watch
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            let _ = tx.send(true);
        }
    }
}

impl Drop for UpstreamPool {
    fn drop(&mut self) {
        self.stop();
    }
}
