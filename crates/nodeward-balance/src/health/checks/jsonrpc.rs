//! `kind = "jsonrpc"`: an Ethereum-style node's sync state, head and peers.
//! The head is judged against the pool's (see `judge`), not a single
//! reference node.

use super::{from_error, CheckFuture, HealthCheck, Target};
use crate::health::config::JsonRpcCheck;
use crate::health::{Exclusion, Observation};
use nodeward_probe::node::{chain_status, head_block};
use tokio::time::Instant;

/// The JSON-RPC check.
#[derive(Debug)]
pub struct JsonRpc(pub JsonRpcCheck);

impl HealthCheck for JsonRpc {
    fn check<'a>(&'a self, target: &'a Target) -> CheckFuture<'a> {
        Box::pin(async move {
            let start = Instant::now();
            let node = match target.node_target("/") {
                Ok(n) => n,
                Err(e) => return Observation::failed("invalid_answer", e, start.elapsed()),
            };
            let status = match chain_status(&node).await {
                Ok(s) => s,
                Err(e) => return from_error(&e, start.elapsed()),
            };
            let min_peers = target.spec.overrides.min_peers.unwrap_or(self.0.min_peers);
            let mut findings = Vec::new();
            let mut output = format!("block {}", status.head);
            if let Some(sync) = &status.syncing {
                let show = |v: Option<u64>| v.map_or("?".to_string(), |n| n.to_string());
                findings.push(Exclusion::critical(
                    "syncing",
                    format!("{}/{}", show(sync.current), show(sync.highest)),
                    "not syncing",
                ));
                output.push_str(", syncing");
            }
            if let Some(p) = status.peers {
                output.push_str(&format!(", {p} peers"));
                if p < min_peers {
                    findings.push(Exclusion::critical(
                        "peers",
                        p.to_string(),
                        min_peers.to_string(),
                    ));
                }
            }
            // The head's hash feeds the pool's chain tracker (reorgs); a
            // node that cannot say is judged on its number alone.
            let block = head_block(&node).await.ok();
            Observation {
                head: Some(status.head),
                block,
                synced: Some(status.head),
                findings,
                output,
                elapsed: start.elapsed(),
            }
        })
    }
}
