//! `kind = "tcp"`: the backend accepts a TCP connection.

use super::{CheckFuture, HealthCheck, Target};
use crate::health::Observation;
use tokio::time::Instant;

/// The TCP check.
#[derive(Debug)]
pub struct Tcp;

impl HealthCheck for Tcp {
    fn check<'a>(&'a self, target: &'a Target) -> CheckFuture<'a> {
        Box::pin(async move {
            let start = Instant::now();
            let a = &target.spec.address;
            match nodeward_probe::tcp::connect_host(&a.host, a.port, target.timeout).await {
                Ok(_) => Observation {
                    output: format!("connected to {}", a.authority()),
                    elapsed: start.elapsed(),
                    ..Default::default()
                },
                Err(e) => Observation::failed("unreachable", e.to_string(), start.elapsed()),
            }
        })
    }
}
