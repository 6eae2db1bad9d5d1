//! The renewal loop of one ACME listener and what `/status` and `/metrics`
//! show about it.
//!
//! Policy: a stored certificate is served at once; a new one is ordered when
//! none exists or a third of the current one's lifetime is left. A failed
//! order is retried after a backoff (1 minute, doubling up to 6 hours) while
//! the current certificate keeps serving; the gateway never exits over it.

use super::issue::{certified, issue, Issued};
use super::store::Store;
use super::{AcmeResolver, Challenges};
use crate::config::AcmeConfig;
use crate::timefmt::{rfc3339, unix};
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::sync::watch;

/// First retry delay after a failed order.
const MIN_BACKOFF: Duration = Duration::from_secs(60);
/// Longest retry delay.
const MAX_BACKOFF: Duration = Duration::from_secs(6 * 3600);
/// Longest time one order may take.
const ORDER_TIMEOUT: Duration = Duration::from_secs(300);
/// Longest single sleep, so a changed clock is noticed.
const MAX_SLEEP: Duration = Duration::from_secs(3600);

#[derive(Default)]
struct Status {
    not_before: Option<SystemTime>,
    not_after: Option<SystemTime>,
    last_success: Option<SystemTime>,
    last_error: Option<(SystemTime, String)>,
    next_attempt: Option<SystemTime>,
    renewals: u64,
    failures: u64,
}

/// One ACME listener's certificate state.
pub struct AcmeState {
    /// The listener it serves.
    pub listener: SocketAddr,
    /// Its settings.
    pub config: AcmeConfig,
    /// The resolver its TLS config uses.
    pub resolver: Arc<AcmeResolver>,
    store: Store,
    status: Mutex<Status>,
}

impl AcmeState {
    /// State for a listener, with the stored certificate loaded if it is usable.
    pub fn new(listener: SocketAddr, config: AcmeConfig, challenges: Arc<Challenges>) -> Self {
        let store = Store::new(&config.state_dir, &config.domains[0]);
        let state = AcmeState {
            listener,
            resolver: Arc::new(AcmeResolver::new(challenges)),
            store,
            config,
            status: Mutex::new(Status::default()),
        };
        let path = state.store.bundle();
        match std::fs::read(&path) {
            Ok(bytes) => match certified(&bytes, &bytes, &state.config.domains) {
                Ok(issued) => {
                    tracing::info!(listener = %listener, file = %path.display(), "serving the stored ACME certificate");
                    state.install(issued, false);
                }
                Err(e) => {
                    tracing::warn!(file = %path.display(), error = %e, "stored ACME certificate unusable; ordering a new one")
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(file = %path.display(), error = %e, "cannot read the stored ACME certificate")
            }
        }
        state
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Status> {
        self.status.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn install(&self, issued: Issued, renewed: bool) {
        self.resolver.slot.install(issued.key);
        let mut s = self.lock();
        s.not_before = Some(issued.not_before);
        s.not_after = Some(issued.not_after);
        if renewed {
            s.last_success = Some(SystemTime::now());
            s.renewals += 1;
            s.last_error = None;
        }
    }

    /// When the next order is due: now without a certificate, else when a
    /// third of its lifetime is left.
    fn due(&self) -> SystemTime {
        let s = self.lock();
        match (s.not_before, s.not_after) {
            (Some(nb), Some(na)) => {
                let life = na.duration_since(nb).unwrap_or_default();
                na.checked_sub(life / 3).unwrap_or(na)
            }
            _ => SystemTime::UNIX_EPOCH,
        }
    }

    /// Orders and renews until shutdown. Never returns an error.
    pub async fn run(
        self: Arc<Self>,
        challenges: Arc<Challenges>,
        mut shutdown: watch::Receiver<bool>,
    ) {
        let mut backoff = MIN_BACKOFF;
        loop {
            let wait = self
                .due()
                .duration_since(SystemTime::now())
                .unwrap_or_default();
            if !wait.is_zero() {
                self.lock().next_attempt = Some(SystemTime::now() + wait);
                tokio::select! {
                    _ = tokio::time::sleep(wait.min(MAX_SLEEP)) => continue,
                    _ = shutdown.changed() => return,
                }
            }
            tracing::info!(listener = %self.listener, domains = ?self.config.domains, "ordering an ACME certificate");
            let outcome = tokio::select! {
                r = tokio::time::timeout(ORDER_TIMEOUT, issue(&self.config, &self.store, &challenges)) => r,
                _ = shutdown.changed() => return,
            };
            let error = match outcome {
                Ok(Ok(issued)) => {
                    tracing::info!(listener = %self.listener, not_after = %rfc3339(issued.not_after), "ACME certificate installed");
                    self.install(issued, true);
                    backoff = MIN_BACKOFF;
                    continue;
                }
                Ok(Err(e)) => e.to_string(),
                Err(_) => format!("the order took longer than {}s", ORDER_TIMEOUT.as_secs()),
            };
            let serving = self.resolver.slot.current.load().is_some();
            tracing::error!(listener = %self.listener, error = %error, retry_in_s = backoff.as_secs(), serving_old_certificate = serving, "ACME order failed");
            {
                let mut s = self.lock();
                s.failures += 1;
                s.last_error = Some((SystemTime::now(), error));
                s.next_attempt = Some(SystemTime::now() + backoff);
            }
            tokio::select! {
                _ = tokio::time::sleep(backoff) => {}
                _ = shutdown.changed() => return,
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// The `/status` entry.
    pub fn status(&self) -> Value {
        let s = self.lock();
        json!({
            "listener": self.listener.to_string(),
            "domains": self.config.domains,
            "directory": self.config.directory,
            "challenge": match self.config.challenge {
                crate::config::AcmeChallenge::Http01 => "http-01",
                crate::config::AcmeChallenge::TlsAlpn01 => "tls-alpn-01",
            },
            "certificate": s.not_after.is_some(),
            "not_before": s.not_before.map(rfc3339),
            "not_after": s.not_after.map(rfc3339),
            "last_renewal": s.last_success.map(rfc3339),
            "last_error": s.last_error.as_ref().map(|(_, e)| e.clone()),
            "last_error_at": s.last_error.as_ref().map(|(t, _)| rfc3339(*t)),
            "next_attempt": s.next_attempt.map(rfc3339),
            "renewals": s.renewals,
            "failures": s.failures,
        })
    }

    /// Appends this listener's `/metrics` samples (headers written by [`render_metrics`]).
    fn samples(&self, out: &mut [String; 4]) {
        let s = self.lock();
        let l = format!("listener=\"{}\"", self.listener);
        let _ = writeln!(
            out[0],
            "nodeward_acme_certificate_expiry_timestamp_seconds{{{l}}} {}",
            s.not_after.map_or(0, unix)
        );
        let _ = writeln!(out[1], "nodeward_acme_renewals_total{{{l}}} {}", s.renewals);
        let _ = writeln!(
            out[2],
            "nodeward_acme_renewal_failures_total{{{l}}} {}",
            s.failures
        );
        let _ = writeln!(
            out[3],
            "nodeward_acme_last_renewal_failed{{{l}}} {}",
            u8::from(s.last_error.is_some())
        );
    }
}

/// Appends the ACME metric families for every ACME listener to `out`.
pub fn render_metrics(states: &[Arc<AcmeState>], out: &mut String) {
    if states.is_empty() {
        return;
    }
    let mut parts: [String; 4] = Default::default();
    for s in states {
        s.samples(&mut parts);
    }
    let heads = [
        (
            "nodeward_acme_certificate_expiry_timestamp_seconds",
            "gauge",
            "End of validity of the served ACME certificate (0: none yet).",
        ),
        (
            "nodeward_acme_renewals_total",
            "counter",
            "ACME certificates obtained.",
        ),
        (
            "nodeward_acme_renewal_failures_total",
            "counter",
            "ACME orders that failed.",
        ),
        (
            "nodeward_acme_last_renewal_failed",
            "gauge",
            "1 while the last ACME order failed.",
        ),
    ];
    for ((name, kind, help), body) in heads.iter().zip(parts) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        out.push_str(&body);
    }
}
