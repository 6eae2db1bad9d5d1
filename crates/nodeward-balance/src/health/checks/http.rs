//! `kind = "http"`: a GET of a path (`/version`), passing on an expected
//! status and, optionally, a body matching a regex.

use super::{from_error, CheckFuture, HealthCheck, Target};
use crate::health::config::HttpCheck;
use crate::health::{Exclusion, Observation};
use nodeward_probe::http::{fetch, Request};
use nodeward_probe::node::NodeError;
use tokio::time::Instant;

/// The HTTP check.
#[derive(Debug)]
pub struct Http(pub HttpCheck);

impl HealthCheck for Http {
    fn check<'a>(&'a self, target: &'a Target) -> CheckFuture<'a> {
        Box::pin(async move {
            let start = Instant::now();
            let node = match target.node_target(&self.0.path) {
                Ok(n) => n,
                Err(e) => return Observation::failed("invalid_answer", e, start.elapsed()),
            };
            let resp = match fetch(
                &Request::get(node.url.clone()),
                node.tls.clone(),
                &node.limits,
            )
            .await
            {
                Ok(r) => r,
                Err(e) => return from_error(&NodeError::Unreachable(e), start.elapsed()),
            };
            let text = resp.text();
            let mut findings = Vec::new();
            if !self.0.expect_status.contains(&resp.status) {
                let want: Vec<String> = self.0.expect_status.iter().map(u16::to_string).collect();
                findings.push(Exclusion::critical(
                    "status",
                    resp.status.to_string(),
                    want.join("|"),
                ));
            }
            if let Some(re) = &self.0.body {
                if !re.is_match(&text) {
                    findings.push(Exclusion::critical(
                        "body",
                        crate::shorten(&text),
                        format!("/{}/", re.as_str()),
                    ));
                }
            }
            Observation {
                output: format!("HTTP {}: {}", resp.status, crate::shorten(text.trim())),
                findings,
                elapsed: start.elapsed(),
                ..Default::default()
            }
        })
    }
}
