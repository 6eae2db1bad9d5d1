//! The gateway's upstream pools for the life of the process. A reload
//! reconciles them (settings replaced, backends added and removed, health,
//! ejections and idle connections kept for backends that stay), never
//! rebuilds them; registrations made at run time are kept in the state
//! directory and restored at start.

use super::pool::UpstreamPool;
use crate::config::Upstream;
use arc_swap::ArcSwap;
use nodeward_balance::discovery::file::Watched;
use nodeward_balance::discovery::store::{Registration, Store};
use nodeward_balance::{BackendId, Origin, PoolError};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How often a watched backends file is looked at.
const FILE_POLL: Duration = Duration::from_secs(1);

/// Why a registration change was refused.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    /// No pool has that name.
    #[error("no upstream pool is named {0:?}")]
    UnknownPool(String),
    /// The pool refused the change.
    #[error(transparent)]
    Pool(#[from] PoolError),
    /// The backend is not a registered one.
    #[error("backend {id} comes from {origin}; change it there")]
    NotRegistered {
        /// The backend.
        id: BackendId,
        /// Where it comes from.
        origin: &'static str,
    },
    /// The registration could not be saved (nothing changed).
    #[error("{0}")]
    Store(String),
}

/// Told of every registration change made on this instance (cluster
/// replication).
pub trait RegistryHook: Send + Sync {
    /// `reg` was registered or updated in `pool`.
    fn registered(&self, pool: &str, reg: &Registration);
    /// `id` was deregistered from `pool`.
    fn deregistered(&self, pool: &str, id: &BackendId);
}

/// Every upstream pool.
pub struct Registry {
    pools: ArcSwap<Vec<Arc<UpstreamPool>>>,
    store: Store,
    write: Mutex<()>,
    hook: std::sync::OnceLock<Arc<dyn RegistryHook>>,
}

impl Registry {
    /// Opens the registrations kept in `state_dir`; the warning says when
    /// an unreadable file was set aside.
    pub fn open(state_dir: &Path) -> (Registry, Option<String>) {
        let (store, warning) = Store::open(&state_dir.join("backends.json"));
        (
            Registry {
                pools: ArcSwap::from_pointee(Vec::new()),
                store,
                write: Mutex::new(()),
                hook: std::sync::OnceLock::new(),
            },
            warning,
        )
    }

    /// The pools now.
    pub fn pools(&self) -> Arc<Vec<Arc<UpstreamPool>>> {
        self.pools.load_full()
    }

    /// The pool named `name`.
    pub fn pool(&self, name: &str) -> Option<Arc<UpstreamPool>> {
        self.pools.load().iter().find(|p| p.name() == name).cloned()
    }

    /// Makes the pools match `upstreams` and returns them in config order,
    /// with notes for the log. All or nothing: on an error nothing changes.
    /// At start-up (`startup`) a registration whose id or address clashes
    /// with the config is skipped with a note (it stays stored); on reload
    /// the clash is an error.
    pub fn reconcile(
        &self,
        upstreams: &[Upstream],
        startup: bool,
    ) -> Result<(Vec<Arc<UpstreamPool>>, Vec<String>), String> {
        let _w = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let current = self.pools.load_full();
        let mut notes = Vec::new();
        // Check first, so that a refused reload changes nothing.
        for u in upstreams {
            let clash = |id: &BackendId, address: &nodeward_balance::Address, what: &str| {
                u.backends
                    .iter()
                    .find(|b| &b.id == id || &b.address == address)
                    .map(|b| {
                        format!(
                            "upstream {:?}: {what} backend {id} ({address}) clashes with config backend {} ({})",
                            u.name, b.id, b.address
                        )
                    })
            };
            match current.iter().find(|p| p.name() == u.name) {
                Some(p) => {
                    let others: Vec<_> = p
                        .balance
                        .members()
                        .iter()
                        .filter(|m| m.core.spec.origin != Origin::Config)
                        .map(|m| m.core.spec.clone())
                        .collect();
                    for o in &others {
                        if let Some(msg) = clash(&o.id, &o.address, o.origin.name()) {
                            return Err(format!("{msg}; remove it there first"));
                        }
                    }
                    if others.len() + u.backends.len() > u.pool.max_backends {
                        return Err(format!(
                            "upstream {:?}: max_backends {} is below the {} backends it has",
                            u.name,
                            u.pool.max_backends,
                            others.len() + u.backends.len()
                        ));
                    }
                }
                None => {
                    for reg in self.store.list(&u.name) {
                        if let Some(msg) = clash(&reg.id, &reg.address, "registered") {
                            if !startup {
                                return Err(format!("{msg}; deregister it first"));
                            }
                            notes.push(format!("{msg}; the registration is skipped"));
                        }
                    }
                }
            }
        }
        let mut next = Vec::with_capacity(upstreams.len());
        for u in upstreams {
            let pool = match current.iter().find(|p| p.name() == u.name) {
                Some(p) => {
                    let old_file = p.settings().backends_file.clone();
                    p.reconfigure(u)
                        .map_err(|e| format!("upstream {:?}: {e}", u.name))?;
                    if old_file != u.backends_file {
                        p.stop_file_watch();
                        if let Err(e) = p.replace(Origin::File, Vec::new()) {
                            notes.push(format!("upstream {:?}: {e}", u.name));
                        }
                        *p.file_error.lock().unwrap_or_else(|e| e.into_inner()) = None;
                        if let Some(path) = &u.backends_file {
                            watch_file(p, path);
                        }
                    }
                    p.clone()
                }
                None => {
                    let p = Arc::new(
                        UpstreamPool::new(u).map_err(|e| format!("upstream {:?}: {e}", u.name))?,
                    );
                    for reg in self.store.list(&u.name) {
                        if u.backends
                            .iter()
                            .any(|b| b.id == reg.id || b.address == reg.address)
                        {
                            continue;
                        }
                        let (id, draining) = (reg.id.clone(), reg.draining);
                        match p.upsert(reg.spec()) {
                            Ok(()) => {
                                if draining {
                                    let _ = p.balance.drain(&id, true);
                                }
                            }
                            Err(e) => notes.push(format!(
                                "upstream {:?}: registration {id} skipped: {e}",
                                u.name
                            )),
                        }
                    }
                    spawn_tasks(&p, u.backends_file.as_deref());
                    p
                }
            };
            next.push(pool);
        }
        for gone in current
            .iter()
            .filter(|p| !next.iter().any(|n| Arc::ptr_eq(n, p)))
        {
            gone.stop();
            notes.push(format!("upstream {:?} removed", gone.name()));
        }
        self.pools.store(Arc::new(next.clone()));
        Ok((next, notes))
    }

    fn registered_pool(&self, pool: &str) -> Result<Arc<UpstreamPool>, RegistryError> {
        self.pool(pool)
            .ok_or_else(|| RegistryError::UnknownPool(pool.to_string()))
    }

    /// Registers (or updates) a backend, effective for the next request and
    /// saved for restarts. Returns whether it is new.
    pub fn register(&self, pool: &str, reg: Registration) -> Result<bool, RegistryError> {
        let new = self.register_here(pool, reg.clone())?;
        if let Some(h) = self.hook.get() {
            h.registered(pool, &reg);
        }
        Ok(new)
    }

    /// Sets the hook told of local registration changes (once).
    pub fn set_hook(&self, hook: Arc<dyn RegistryHook>) {
        let _ = self.hook.set(hook);
    }

    /// Applies a registration made on another instance (the hook is not
    /// told); nothing happens when it is already in force as given.
    pub fn apply_remote(&self, pool: &str, reg: Registration) -> Result<(), RegistryError> {
        if self.store.list(pool).iter().any(|r| r == &reg)
            && self
                .pool(pool)
                .is_some_and(|p| p.balance.member(&reg.id).is_some())
        {
            return Ok(());
        }
        self.register_here(pool, reg).map(|_| ())
    }

    /// Applies a deregistration made on another instance (the hook is not
    /// told); a backend already gone is fine.
    pub fn remove_remote(&self, pool: &str, id: &BackendId) -> Result<(), RegistryError> {
        match self.deregister_here(pool, id) {
            Err(RegistryError::Pool(PoolError::NotFound(_))) => Ok(()),
            other => other,
        }
    }

    fn register_here(&self, pool: &str, reg: Registration) -> Result<bool, RegistryError> {
        let _w = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let p = self.registered_pool(pool)?;
        let existing = p.balance.member(&reg.id);
        if let Some(m) = &existing {
            if m.core.spec.origin != Origin::Registered {
                return Err(RegistryError::NotRegistered {
                    id: reg.id.clone(),
                    origin: m.core.spec.origin.place(),
                });
            }
        }
        let previous = existing.map(|m| m.core.spec.clone());
        let draining = reg.draining;
        p.upsert(reg.spec())?;
        let _ = p.balance.drain(&reg.id, draining);
        if let Err(e) = self.store.put(pool, reg.clone()) {
            // Undo, so memory and disk agree.
            match previous {
                Some(spec) => {
                    let _ = p.upsert(spec);
                }
                None => {
                    let _ = p.balance.remove(&reg.id, Origin::Registered);
                }
            }
            return Err(RegistryError::Store(e.to_string()));
        }
        Ok(previous.is_none())
    }

    /// Deregisters a backend: no new requests; those in flight finish.
    pub fn deregister(&self, pool: &str, id: &BackendId) -> Result<(), RegistryError> {
        self.deregister_here(pool, id)?;
        if let Some(h) = self.hook.get() {
            h.deregistered(pool, id);
        }
        Ok(())
    }

    fn deregister_here(&self, pool: &str, id: &BackendId) -> Result<(), RegistryError> {
        let _w = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let p = self.registered_pool(pool)?;
        let m = p
            .balance
            .member(id)
            .ok_or_else(|| PoolError::NotFound(id.clone()))?;
        if m.core.spec.origin != Origin::Registered {
            return Err(RegistryError::NotRegistered {
                id: id.clone(),
                origin: m.core.spec.origin.place(),
            });
        }
        self.store
            .remove(pool, id)
            .map_err(|e| RegistryError::Store(e.to_string()))?;
        p.balance.remove(id, Origin::Registered)?;
        Ok(())
    }

    /// Drains (or undrains) a backend of any origin; for registered ones the
    /// state is saved.
    pub fn drain(&self, pool: &str, id: &BackendId, on: bool) -> Result<(), RegistryError> {
        let _w = self.write.lock().unwrap_or_else(|p| p.into_inner());
        let p = self.registered_pool(pool)?;
        let m = p
            .balance
            .member(id)
            .ok_or_else(|| PoolError::NotFound(id.clone()))?;
        let registered = m.core.spec.origin == Origin::Registered;
        if registered {
            self.store
                .set_draining(pool, id, on)
                .map_err(|e| RegistryError::Store(e.to_string()))?;
        }
        p.balance.drain(id, on)?;
        if registered {
            if let (Some(h), Some(reg)) = (
                self.hook.get(),
                self.store.list(pool).into_iter().find(|r| &r.id == id),
            ) {
                h.registered(pool, &reg);
            }
        }
        Ok(())
    }

    /// Stops every pool's background tasks.
    pub fn stop(&self) {
        for p in self.pools.load().iter() {
            p.stop();
        }
    }
}

/// Starts a pool's health checks and, when it has one, the watcher of its
/// backends file. Both end when the pool is stopped.
fn spawn_tasks(pool: &Arc<UpstreamPool>, backends_file: Option<&Path>) {
    tokio::spawn(nodeward_balance::health::checker::run(
        pool.balance.clone(),
        pool.stop.subscribe(),
    ));
    if let Some(path) = backends_file {
        watch_file(pool, path);
    }
}

/// Reads `path` into the pool now and then whenever it changes, until the
/// pool is stopped or watches another file.
fn watch_file(pool: &Arc<UpstreamPool>, path: &Path) {
    {
        let mut watched = Watched::new(path);
        // First read now, so the pool starts with the file's backends.
        poll_file(pool, &mut watched);
        let weak = Arc::downgrade(pool);
        let (tx, mut stop) = tokio::sync::watch::channel(false);
        *pool.file_watch.lock().unwrap_or_else(|p| p.into_inner()) = Some(tx);
        tokio::spawn(async move {
            loop {
                tokio::select! {
                    _ = tokio::time::sleep(FILE_POLL) => {}
                    r = stop.changed() => if r.is_err() || *stop.borrow() { return },
                }
                let Some(pool) = weak.upgrade() else { return };
                poll_file(&pool, &mut watched);
            }
        });
    }
}

fn poll_file(pool: &UpstreamPool, watched: &mut Watched) {
    let Some(read) = watched.poll() else { return };
    let result = read.and_then(|specs| {
        let n = specs.len();
        pool.replace(Origin::File, specs)
            .map(|()| n)
            .map_err(|e| format!("{}: {e}", watched.path().display()))
    });
    let mut slot = pool.file_error.lock().unwrap_or_else(|p| p.into_inner());
    match result {
        Ok(n) => {
            tracing::info!(upstream = pool.name(), file = %watched.path().display(), backends = n, "backends file read");
            *slot = None;
        }
        Err(e) => {
            tracing::error!(upstream = pool.name(), error = %e, "backends file refused; keeping the backends read before");
            *slot = Some(e);
        }
    }
}
