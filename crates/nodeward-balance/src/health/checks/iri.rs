//! `kind = "iri"`: IRI/Hornet `getNodeInfo` (milestones, neighbours,
//! version) and, optionally, the seed's "API is limited" test: the node
//! itself must refuse the restricted commands when asked directly.

use super::{from_error, CheckFuture, HealthCheck, Target};
use crate::health::config::IriCheck;
use crate::health::{Exclusion, Observation};
use nodeward_probe::node::{node_info, unrestricted_commands, version_at_least};
use tokio::time::Instant;

/// The IRI check.
#[derive(Debug)]
pub struct Iri(pub IriCheck);

impl HealthCheck for Iri {
    fn check<'a>(&'a self, target: &'a Target) -> CheckFuture<'a> {
        Box::pin(async move {
            let start = Instant::now();
            let node = match target.node_target("/") {
                Ok(n) => n,
                Err(e) => return Observation::failed("invalid_answer", e, start.elapsed()),
            };
            let info = match node_info(&node).await {
                Ok(i) => i,
                Err(e) => return from_error(&e, start.elapsed()),
            };
            let o = &target.spec.overrides;
            let min_peers = o.min_peers.unwrap_or(self.0.min_peers);
            let min_version = o.min_version.as_ref().or(self.0.min_version.as_ref());
            let version = info.app_version.clone().unwrap_or_else(|| "?".into());
            let mut findings = Vec::new();
            let neighbours = info.neighbors.unwrap_or(0);
            if neighbours < min_peers {
                findings.push(Exclusion::critical(
                    "peers",
                    neighbours.to_string(),
                    min_peers.to_string(),
                ));
            }
            if let Some(min) = min_version {
                if !version_at_least(&version, min) {
                    findings.push(Exclusion::critical("version", version.clone(), min.clone()));
                }
            }
            let mut output = format!(
                "milestones {}/{} (lag {}), {neighbours} neighbours, {} {version}",
                info.solid_milestone,
                info.latest_milestone,
                info.lag(),
                info.app_name.as_deref().unwrap_or("node"),
            );
            if !self.0.restricted.is_empty() {
                match unrestricted_commands(&node, &self.0.restricted).await {
                    Ok(open) if !open.is_empty() => {
                        findings.push(Exclusion::critical(
                            "unrestricted",
                            open.join(","),
                            "refused by the node",
                        ));
                    }
                    Ok(_) => output.push_str("; restricted commands refused"),
                    Err(e) => output.push_str(&format!("; restricted test: {e}")),
                }
            }
            Observation {
                head: Some(info.latest_milestone),
                synced: Some(info.solid_milestone),
                block: None,
                findings,
                output,
                elapsed: start.elapsed(),
            }
        })
    }
}
