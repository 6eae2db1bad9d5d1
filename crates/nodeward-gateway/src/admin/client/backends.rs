//! `nodeward gateway backends`: lists, registers, deregisters and drains
//! backends of a running gateway's pools.

use super::{AdminApi, ClientError};
use crate::config::GatewayConfig;
use nodeward_balance::{Address, BackendId};

/// `nodeward gateway backends` operations.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum BackendsOp {
    /// Every pool's backends with their state (or one pool's).
    List {
        /// Only this pool.
        pool: Option<String>,
    },
    /// Register a backend (or update a registered one): used at once, kept across restarts.
    Add {
        /// The pool (an [[upstream]] name).
        pool: String,
        /// A stable id for the backend (letters, digits, '.', '_', ':', '-').
        id: String,
        /// Its address: http://host:port or https://host:port.
        address: String,
        /// Its share for the weighted strategy (1-1000).
        #[arg(long, default_value_t = 1)]
        weight: u32,
        /// A label (repeatable).
        #[arg(long = "tag")]
        tags: Vec<String>,
        /// Its own lag limit (milestones or blocks).
        #[arg(long)]
        max_lag: Option<u64>,
        /// Its own minimum of neighbours or peers.
        #[arg(long)]
        min_peers: Option<u64>,
        /// Its own minimum node version.
        #[arg(long)]
        min_version: Option<String>,
    },
    /// Deregister a backend: no new requests, those in flight finish.
    Remove {
        /// The pool.
        pool: String,
        /// The backend's id.
        id: String,
    },
    /// Drain a backend (no new requests) or, with --undo, put it back.
    Drain {
        /// The pool.
        pool: String,
        /// The backend's id.
        id: String,
        /// Put the backend back into service.
        #[arg(long)]
        undo: bool,
    },
}

fn pool_name(s: &str) -> Result<&str, ClientError> {
    if !s.is_empty()
        && s.len() <= 64
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    {
        Ok(s)
    } else {
        Err(ClientError::Usage(format!("{s:?} is not a pool name")))
    }
}

/// Runs one `backends` operation; returns the exit code (0 done, 1 refused).
pub fn backends(config: &GatewayConfig, op: &BackendsOp) -> Result<u8, ClientError> {
    let api = AdminApi::from_config(config)?;
    let id = |s: &str| BackendId::parse(s).map_err(ClientError::Usage);
    match op {
        BackendsOp::List { pool } => {
            let path = match pool {
                Some(p) => format!("/upstreams/{}", pool_name(p)?),
                None => "/upstreams".into(),
            };
            let Some(v) = api.call("GET", &path, None)? else {
                return Ok(1);
            };
            let pools = match v.get("upstreams").and_then(|u| u.as_array()) {
                Some(list) => list.clone(),
                None => vec![v],
            };
            print!("{}", super::status::pools_table(&pools));
            Ok(0)
        }
        BackendsOp::Add {
            pool,
            id: i,
            address,
            weight,
            tags,
            max_lag,
            min_peers,
            min_version,
        } => {
            let i = id(i)?;
            let address = Address::parse(address).map_err(ClientError::Usage)?;
            let mut health = serde_json::Map::new();
            if let Some(n) = max_lag {
                health.insert("max_lag".into(), (*n).into());
            }
            if let Some(n) = min_peers {
                health.insert("min_peers".into(), (*n).into());
            }
            if let Some(v) = min_version {
                health.insert("min_version".into(), v.clone().into());
            }
            let body = serde_json::json!({
                "address": address.to_string(),
                "weight": weight,
                "tags": tags,
                "health": health,
            })
            .to_string();
            let path = format!("/upstreams/{}/backends/{i}", pool_name(pool)?);
            let Some(v) = api.call("PUT", &path, Some(&body))? else {
                return Ok(1);
            };
            println!(
                "{} backend {i} ({address}) in pool {pool}",
                if v["created"] == true {
                    "registered"
                } else {
                    "updated"
                }
            );
            Ok(0)
        }
        BackendsOp::Remove { pool, id: i } => {
            let i = id(i)?;
            let path = format!("/upstreams/{}/backends/{i}", pool_name(pool)?);
            if api.call("DELETE", &path, None)?.is_none() {
                return Ok(1);
            }
            println!("deregistered backend {i} from pool {pool}; requests in flight finish");
            Ok(0)
        }
        BackendsOp::Drain { pool, id: i, undo } => {
            let i = id(i)?;
            let action = if *undo { "undrain" } else { "drain" };
            let path = format!("/upstreams/{}/backends/{i}/{action}", pool_name(pool)?);
            if api.call("POST", &path, None)?.is_none() {
                return Ok(1);
            }
            println!(
                "backend {i} of pool {pool} {}",
                if *undo {
                    "is back in service"
                } else {
                    "is draining: no new requests"
                }
            );
            Ok(0)
        }
    }
}
