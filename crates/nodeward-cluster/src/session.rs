//! The etcd session of one instance: it registers the instance on a lease
//! kept alive, takes a snapshot of the replicated keys, watches them from the
//! snapshot's revision, and on any loss (etcd down, lease lost, watch
//! cancelled or compacted) reconnects and resyncs through the [`Mirror`], so
//! a lost watch never leaves a silently stale table. Local changes are
//! queued and written by a separate task that retries until etcd takes them.

use crate::config::ClusterConfig;
use crate::keys::{self, Kind};
use crate::mirror::{Change, Mirror};
use crate::status::Status;
use crate::ClusterError;
use etcd_client::{Client, ConnectOptions, EventType, GetOptions, PutOptions, WatchOptions};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, watch};

/// Most local changes waiting for etcd; past it changes are dropped, counted
/// and logged (memory stays bounded while etcd is away).
const MAX_PENDING: usize = 10_000;

/// Where replicated changes are applied (the gateway's tables).
pub trait Sink: Send + Sync + 'static {
    /// `name` of `kind` now holds `value`; an error is logged, never fatal.
    fn put(&self, kind: Kind, name: &str, value: &[u8]) -> Result<(), String>;
    /// `name` of `kind` is gone; an error is logged, never fatal.
    fn delete(&self, kind: Kind, name: &str) -> Result<(), String>;
}

/// One local change to write.
struct Op {
    kind: Kind,
    name: String,
    /// `None` deletes.
    value: Option<Vec<u8>>,
    /// The key's lifetime from `at` (bans).
    ttl: Option<Duration>,
    /// Written on this instance's lease (gone when the instance is).
    on_instance_lease: bool,
    at: Instant,
}

/// A running cluster membership.
pub struct Cluster {
    tx: mpsc::Sender<Op>,
    status: Arc<Status>,
    stop: watch::Sender<bool>,
}

impl Cluster {
    /// Reads the secrets and starts the session and writer tasks (on the
    /// current tokio runtime). Returns at once: etcd being away is not an
    /// error here, the session keeps trying and `/status` says so.
    pub fn start(cfg: &ClusterConfig, sink: Arc<dyn Sink>) -> Result<Cluster, ClusterError> {
        cfg.validate().map_err(ClusterError::Config)?;
        let opts = cfg.connect_options()?;
        let status = Arc::new(Status::default());
        let name = cfg.instance_name();
        status.lock().instance = name.clone();
        let (tx, rx) = mpsc::channel(MAX_PENDING);
        let (client_tx, client_rx) = watch::channel(None);
        let (stop, stop_rx) = watch::channel(false);
        let session = Session {
            cfg: cfg.clone(),
            opts,
            name,
            sink,
            status: status.clone(),
            client_tx,
        };
        tokio::spawn(session.run(stop_rx.clone()));
        tokio::spawn(write_loop(cfg.prefix.clone(), rx, client_rx, stop_rx));
        Ok(Cluster { tx, status, stop })
    }

    /// Publishes `name` of `kind` with `value`, expiring after `ttl` when
    /// given. Never waits: the write is queued.
    pub fn put(&self, kind: Kind, name: &str, value: Vec<u8>, ttl: Option<Duration>) {
        self.enqueue(Op {
            kind,
            name: name.to_string(),
            value: Some(value),
            ttl,
            on_instance_lease: false,
            at: Instant::now(),
        });
    }

    /// Publishes `name` of `kind` with `value` on this instance's lease: the
    /// key ends with the instance (its lease expires) and is written again
    /// under the new lease by the caller after a resync (`Snapshot::lease`
    /// changes). Never waits.
    pub fn put_on_lease(&self, kind: Kind, name: &str, value: Vec<u8>) {
        self.enqueue(Op {
            kind,
            name: name.to_string(),
            value: Some(value),
            ttl: None,
            on_instance_lease: true,
            at: Instant::now(),
        });
    }

    /// Publishes the removal of `name` of `kind`. Never waits.
    pub fn delete(&self, kind: Kind, name: &str) {
        self.enqueue(Op {
            kind,
            name: name.to_string(),
            value: None,
            ttl: None,
            on_instance_lease: false,
            at: Instant::now(),
        });
    }

    fn enqueue(&self, op: Op) {
        if let Err(e) = self.tx.try_send(op) {
            let op = match e {
                mpsc::error::TrySendError::Full(op) | mpsc::error::TrySendError::Closed(op) => op,
            };
            self.status.lock().dropped_writes += 1;
            tracing::error!(
                key = %keys::key("", op.kind, &op.name),
                "cluster write queue full (etcd away too long); this change stays local"
            );
        }
    }

    /// The link's state now.
    pub fn status(&self) -> crate::status::Snapshot {
        let mut s = self.status.snapshot();
        s.pending_writes = MAX_PENDING - self.tx.capacity();
        s.health = s.effective_health().to_string();
        s
    }

    /// The link's shared state: the gateway records there the pushed
    /// revision it runs and its health (republished in etcd on change).
    pub fn link(&self) -> &Status {
        &self.status
    }

    /// Stops the tasks (the instance's lease then expires in etcd).
    pub fn stop(&self) {
        let _ = self.stop.send(true);
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop();
    }
}

struct Session {
    cfg: ClusterConfig,
    opts: ConnectOptions,
    name: String,
    sink: Arc<dyn Sink>,
    status: Arc<Status>,
    client_tx: watch::Sender<Option<(Client, i64)>>,
}

impl Session {
    async fn run(self, mut stop: watch::Receiver<bool>) {
        let mut mirror = Mirror::default();
        let mut backoff = Duration::from_millis(200);
        loop {
            let started = Instant::now();
            let result = tokio::select! {
                r = self.once(&mut mirror) => r,
                _ = stop.changed() => return,
            };
            let _ = self.client_tx.send(None);
            let error = match result {
                Ok(()) => "etcd session ended".to_string(),
                Err(e) => e,
            };
            {
                let mut s = self.status.lock();
                s.lease = None;
            }
            if self.status.snapshot().connected || started.elapsed() > Duration::from_secs(5) {
                backoff = Duration::from_millis(200);
            }
            tracing::warn!(error = %error, revision = mirror.revision(), "cluster: lost etcd; serving with the last known state, retrying");
            self.status.set_connected(false, Some(error));
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = stop.changed() => return,
            }
            backoff = (backoff * 2).min(Duration::from_secs(2));
        }
    }

    async fn once(&self, mirror: &mut Mirror) -> Result<(), String> {
        let err = |what: &str| {
            let what = what.to_string();
            move |e: etcd_client::Error| format!("{what}: {e}")
        };
        let mut client = Client::connect(&self.cfg.etcd, Some(self.opts.clone()))
            .await
            .map_err(err("connect"))?;
        let ttl = self.cfg.lease_ttl.get().as_secs() as i64;
        let lease = client
            .lease_grant(ttl, None)
            .await
            .map_err(err("lease grant"))?
            .id();
        let me_key = keys::key(&self.cfg.prefix, Kind::Instance, &self.name);
        client
            .put(
                me_key.as_str(),
                self.registration(),
                Some(PutOptions::new().with_lease(lease)),
            )
            .await
            .map_err(err("register instance"))?;
        let (mut keeper, mut alive) = client
            .lease_keep_alive(lease)
            .await
            .map_err(err("lease keep-alive"))?;
        let root = format!("{}/", self.cfg.prefix);
        let snap = client
            .get(root.as_str(), Some(GetOptions::new().with_prefix()))
            .await
            .map_err(err("snapshot"))?;
        let revision = snap.header().map_or(0, |h| h.revision());
        let mut entries = Vec::new();
        for kv in snap.kvs() {
            let Ok(key) = kv.key_str() else { continue };
            if let Some((kind, name)) = keys::split(&self.cfg.prefix, key) {
                if keys::replicated(kind, name) {
                    entries.push((kind, name.to_string(), kv.value().to_vec()));
                }
            }
        }
        let changes = mirror.resync(revision, entries);
        let n = changes.len();
        for c in changes {
            self.apply(c);
        }
        let (_watcher, mut events) = client
            .watch(
                root.as_str(),
                Some(
                    WatchOptions::new()
                        .with_prefix()
                        .with_start_revision(revision + 1),
                ),
            )
            .await
            .map_err(err("watch"))?;
        {
            let mut s = self.status.lock();
            s.revision = revision;
            s.lease = Some(format!("{lease:x}"));
            s.resyncs += 1;
        }
        self.status.set_connected(true, None);
        let _ = self.client_tx.send(Some((client.clone(), lease)));
        tracing::info!(revision, changes = n, keys = mirror.len(), instance = %self.name, "cluster: synced with etcd, watching");
        let mut tick = tokio::time::interval(Duration::from_secs((ttl as u64 / 3).max(1)));
        loop {
            tokio::select! {
                _ = tick.tick() => keeper.keep_alive().await.map_err(err("lease keep-alive"))?,
                _ = self.status.changed.notified() => {
                    client
                        .put(me_key.as_str(), self.registration(), Some(PutOptions::new().with_lease(lease)))
                        .await
                        .map_err(err("update instance"))?;
                }
                m = alive.message() => match m.map_err(err("lease keep-alive"))? {
                    Some(r) if r.ttl() <= 0 => return Err("the instance lease expired".into()),
                    Some(_) => {}
                    None => return Err("lease keep-alive stream closed".into()),
                },
                m = events.message() => {
                    let resp = m.map_err(err("watch"))?.ok_or("watch stream closed")?;
                    if resp.compact_revision() > 0 {
                        return Err(format!("watch compacted at revision {}; resyncing", resp.compact_revision()));
                    }
                    if resp.canceled() {
                        return Err(format!("watch cancelled: {}", resp.cancel_reason()));
                    }
                    for ev in resp.events() {
                        let Some(kv) = ev.kv() else { continue };
                        let Ok(key) = kv.key_str() else {
                            tracing::warn!("cluster: ignoring a key that is not UTF-8");
                            continue;
                        };
                        let Some((kind, name)) = keys::split(&self.cfg.prefix, key) else { continue };
                        if !keys::replicated(kind, name) {
                            continue;
                        }
                        let change = match ev.event_type() {
                            EventType::Put => Change::Put(kind, name.to_string(), kv.value().to_vec()),
                            EventType::Delete => Change::Delete(kind, name.to_string()),
                        };
                        if let Some(c) = mirror.event(kv.mod_revision(), change) {
                            self.apply(c);
                        }
                    }
                    if let Some(h) = resp.header() {
                        self.status.lock().revision = h.revision().max(mirror.revision());
                    }
                }
            }
        }
    }

    /// What this instance registers under `instances/`: who it is, the
    /// pushed revision it runs and its health.
    fn registration(&self) -> String {
        let s = self.status.snapshot();
        let health = s.effective_health();
        serde_json::json!({
            "name": self.name,
            "pid": std::process::id(),
            "version": env!("CARGO_PKG_VERSION"),
            "health": health,
            "revision": s.policy.as_ref().map(|p| p.revision),
            "digest": s.policy.as_ref().map(|p| p.digest.clone()),
            "policy_error": s.policy_error,
        })
        .to_string()
    }

    fn apply(&self, change: Change) {
        let (kind, name, result) = match &change {
            Change::Put(k, n, v) => (*k, n, self.sink.put(*k, n, v)),
            Change::Delete(k, n) => (*k, n, self.sink.delete(*k, n)),
        };
        if let Err(e) = result {
            self.status.lock().rejected_changes += 1;
            tracing::warn!(key = %keys::key(&self.cfg.prefix, kind, name), error = %e, "cluster: change from etcd not applied");
        }
    }
}

/// Writes queued local changes, retrying each until etcd takes it (a ban
/// whose TTL ran out meanwhile is dropped: it has expired everywhere).
async fn write_loop(
    prefix: String,
    mut rx: mpsc::Receiver<Op>,
    mut client: watch::Receiver<Option<(Client, i64)>>,
    mut stop: watch::Receiver<bool>,
) {
    loop {
        let op = tokio::select! {
            op = rx.recv() => match op { Some(op) => op, None => return },
            _ = stop.changed() => return,
        };
        let key = keys::key(&prefix, op.kind, &op.name);
        loop {
            let current = client.borrow().clone();
            let Some((mut c, instance_lease)) = current else {
                tokio::select! {
                    _ = client.changed() => continue,
                    _ = stop.changed() => return,
                }
            };
            let left = op.ttl.map(|t| t.saturating_sub(op.at.elapsed()));
            if left.is_some_and(|l| l < Duration::from_secs(1)) {
                break;
            }
            match write(&mut c, &key, &op, left, instance_lease).await {
                Ok(()) => break,
                Err(e) => {
                    tracing::warn!(key = %key, error = %e, "cluster: write to etcd failed; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                        _ = stop.changed() => return,
                    }
                }
            }
        }
    }
}

async fn write(
    c: &mut Client,
    key: &str,
    op: &Op,
    ttl: Option<Duration>,
    instance_lease: i64,
) -> Result<(), etcd_client::Error> {
    match &op.value {
        None => {
            c.delete(key, None).await?;
        }
        Some(v) => {
            let opts = match ttl {
                Some(t) => {
                    // Rounded up: a lease never ends before the ban does.
                    let secs = t.as_millis().div_ceil(1000).max(1) as i64;
                    let lease = c.lease_grant(secs, None).await?.id();
                    Some(PutOptions::new().with_lease(lease))
                }
                None if op.on_instance_lease => Some(PutOptions::new().with_lease(instance_lease)),
                None => None,
            };
            c.put(key, v.clone(), opts).await?;
        }
    }
    Ok(())
}
