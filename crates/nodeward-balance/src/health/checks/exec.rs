//! `kind = "exec"`: a program, as Consul's and Nagios' script checks (exit
//! 0 pass, 1 warn, anything else critical), run without a shell, with a
//! deadline and an output cap. Its path and arguments come only from the
//! config file, never from the admin API.

use super::{CheckFuture, HealthCheck, Target};
use crate::health::config::ExecCheck;
use crate::health::{Exclusion, Observation};
use nodeward_probe::exec::{run, ExecLimits};
use tokio::time::Instant;

/// The script check.
#[derive(Debug)]
pub struct Exec(pub ExecCheck);

impl HealthCheck for Exec {
    fn check<'a>(&'a self, target: &'a Target) -> CheckFuture<'a> {
        Box::pin(async move {
            let start = Instant::now();
            let a = &target.spec.address;
            let args: Vec<String> = self
                .0
                .args
                .iter()
                .map(|arg| {
                    arg.replace("{address}", &a.to_string())
                        .replace("{host}", &a.host)
                        .replace("{port}", &a.port.to_string())
                        .replace("{id}", target.spec.id.as_str())
                })
                .collect();
            let limits = ExecLimits {
                deadline: target.timeout,
                max_output: self.0.max_output,
            };
            let outcome = match run(&self.0.program, &args, &limits).await {
                Ok(o) => o,
                Err(e) => {
                    return Observation {
                        findings: vec![Exclusion::critical(
                            "script",
                            crate::shorten(&e.to_string()),
                            "",
                        )],
                        output: e.to_string(),
                        elapsed: start.elapsed(),
                        ..Default::default()
                    }
                }
            };
            let output = crate::shorten(outcome.output.trim());
            let finding = if outcome.timed_out {
                Some(Exclusion::critical(
                    "script",
                    format!("no exit within {} ms", target.timeout.as_millis()),
                    "",
                ))
            } else {
                match outcome.code {
                    Some(0) => None,
                    Some(1) => Some(Exclusion::warn("script", "exit 1", "exit 0")),
                    Some(n) => Some(Exclusion::critical("script", format!("exit {n}"), "exit 0")),
                    None => Some(Exclusion::critical(
                        "script",
                        "killed by a signal",
                        "exit 0",
                    )),
                }
            };
            Observation {
                findings: finding.into_iter().collect(),
                output,
                elapsed: start.elapsed(),
                ..Default::default()
            }
        })
    }
}
