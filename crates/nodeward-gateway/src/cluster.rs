//! The gateway's narrow hook into cluster mode: it hands local ban and
//! registration changes to `nodeward-cluster` and applies what the cluster
//! replicates back into the ban table and the registry. The logic (etcd
//! session, watch, resync, write queue) lives in `nodeward-cluster`.

use crate::ban::{Ban, BanHook};
use crate::majority::Majority;
use crate::state::Shared;
use crate::upstream::registry::RegistryHook;
use nodeward_balance::discovery::store::Registration;
use nodeward_balance::BackendId;
use nodeward_cluster::policy::Revision;
use nodeward_cluster::{Cluster, ClusterConfig, Kind, Running, Sink};
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// A ban as written to etcd: its length, not a clock time, so that a
/// skewed clock on one instance neither shortens nor stretches it.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct BanValue {
    seconds: u64,
    offences: u32,
    manual: bool,
}

/// Longest ban taken from etcd (a hand-written key cannot ban for ever).
const MAX_REMOTE_BAN: u64 = 366 * 24 * 3600;

/// Starts cluster mode for `shared` and hooks its tables; errors (an
/// unreadable secret file) are for the caller to report.
pub fn start(shared: &Arc<Shared>, cfg: &ClusterConfig) -> Result<(), String> {
    let sink = Arc::new(Apply {
        shared: Arc::downgrade(shared),
        majority: Majority::default(),
    });
    let cluster = Arc::new(Cluster::start(cfg, sink).map_err(|e| e.to_string())?);
    shared.bans.set_hook(Arc::new(Publish(cluster.clone())));
    shared.registry.set_hook(Arc::new(Publish(cluster.clone())));
    let _ = shared.cluster.set(cluster);
    tracing::info!(etcd = ?cfg.etcd, prefix = %cfg.prefix, "cluster mode on");
    Ok(())
}

/// Sends local changes to etcd.
struct Publish(Arc<Cluster>);

impl BanHook for Publish {
    fn banned(&self, source: IpAddr, ban: &Ban, length: Duration) {
        let value = BanValue {
            seconds: length.as_secs().max(1),
            offences: ban.offences,
            manual: ban.manual,
        };
        let bytes = serde_json::to_vec(&value).unwrap_or_default();
        self.0
            .put(Kind::Ban, &source.to_string(), bytes, Some(length));
    }

    fn lifted(&self, source: IpAddr) {
        self.0.delete(Kind::Ban, &source.to_string());
    }
}

impl RegistryHook for Publish {
    fn registered(&self, pool: &str, reg: &Registration) {
        let bytes = serde_json::to_vec(reg).unwrap_or_default();
        self.0.put(
            Kind::Registration,
            &format!("{pool}/{}", reg.id),
            bytes,
            None,
        );
    }

    fn deregistered(&self, pool: &str, id: &BackendId) {
        self.0.delete(Kind::Registration, &format!("{pool}/{id}"));
    }
}

/// Applies the pushed revision in `value` as a reload does; a refusal is
/// recorded for `/status`, the metrics and `cluster status`, and the running
/// configuration stays.
fn apply_policy(shared: &Shared, name: &str, value: &[u8]) -> Result<(), String> {
    if name != nodeward_cluster::policy::CURRENT {
        return Ok(());
    }
    let Some(cluster) = shared.cluster.get() else {
        return Ok(());
    };
    let fail = |e: String| {
        cluster.link().policy_failed(e.clone());
        Err(e)
    };
    let rev = match Revision::parse(value) {
        Ok(r) => r,
        Err(e) => {
            return fail(format!(
                "pushed revision unreadable, keeping the running configuration: {e}"
            ))
        }
    };
    let running = cluster.link().snapshot().policy;
    if running
        .as_ref()
        .is_some_and(|r| r.revision == rev.number && rev.digest.starts_with(&r.digest))
    {
        return Ok(());
    }
    let info = Running {
        revision: rev.number,
        digest: rev.short_digest().to_string(),
        by: rev.by.clone(),
        pushed_at: rev.at,
    };
    match shared.apply_revision(rev) {
        Ok(_) => {
            cluster.link().policy_applied(info);
            Ok(())
        }
        Err(e) => fail(format!("{e}; keeping the running configuration")),
    }
}

/// Applies replicated changes to this instance's tables.
struct Apply {
    shared: Weak<Shared>,
    majority: Majority,
}

impl Apply {
    /// Records an instance joining or leaving: for the majority verdicts,
    /// and as N for the shared limits' `split`.
    fn instance(&self, shared: &Shared, name: &str, live: bool) {
        self.majority.instance(shared, name, live);
        if let Some(limits) = crate::request::policy::cluster_rate::engine() {
            let n = self.majority.live_instances();
            limits.set_live_instances(u32::try_from(n).unwrap_or(u32::MAX));
        }
    }
}

fn registration_name(name: &str) -> Result<(&str, BackendId), String> {
    let (pool, id) = name
        .split_once('/')
        .ok_or_else(|| format!("registration key {name:?} is not pool/id"))?;
    Ok((pool, BackendId::parse(id)?))
}

fn ban_name(name: &str) -> Result<IpAddr, String> {
    name.parse()
        .map_err(|_| format!("ban key {name:?} is not an IP address"))
}

impl Sink for Apply {
    fn put(&self, kind: Kind, name: &str, value: &[u8]) -> Result<(), String> {
        let Some(shared) = self.shared.upgrade() else {
            return Ok(());
        };
        match kind {
            Kind::Registration => {
                let (pool, id) = registration_name(name)?;
                let reg: Registration = serde_json::from_slice(value)
                    .map_err(|e| format!("registration {name:?}: {e}"))?;
                if reg.id != id {
                    return Err(format!("registration {name:?} holds backend {}", reg.id));
                }
                shared
                    .registry
                    .apply_remote(pool, reg)
                    .map_err(|e| e.to_string())
            }
            Kind::Ban => {
                let ip = ban_name(name)?;
                let ban: BanValue =
                    serde_json::from_slice(value).map_err(|e| format!("ban {name:?}: {e}"))?;
                if ban.seconds == 0 || ban.seconds > MAX_REMOTE_BAN {
                    return Err(format!(
                        "ban {name:?}: {} seconds is out of range",
                        ban.seconds
                    ));
                }
                shared.bans.apply_remote(
                    ip,
                    Duration::from_secs(ban.seconds),
                    ban.offences,
                    ban.manual,
                );
                Ok(())
            }
            Kind::Policy => apply_policy(&shared, name, value),
            Kind::Verdict => self.majority.verdict(&shared, name, Some(value)),
            Kind::Instance => {
                self.instance(&shared, name, true);
                Ok(())
            }
        }
    }

    fn delete(&self, kind: Kind, name: &str) -> Result<(), String> {
        let Some(shared) = self.shared.upgrade() else {
            return Ok(());
        };
        match kind {
            Kind::Registration => {
                let (pool, id) = registration_name(name)?;
                shared
                    .registry
                    .remove_remote(pool, &id)
                    .map_err(|e| e.to_string())
            }
            Kind::Ban => {
                shared.bans.end_remote(ban_name(name)?);
                Ok(())
            }
            Kind::Policy => {
                tracing::warn!(key = name, "cluster: the pushed revision was deleted from etcd; keeping the running configuration");
                Ok(())
            }
            Kind::Verdict => self.majority.verdict(&shared, name, None),
            Kind::Instance => {
                self.instance(&shared, name, false);
                Ok(())
            }
        }
    }
}
