//! The stapling loop of one TLS listener and what `/status` and `/metrics`
//! show about it.
//!
//! Policy: ask at start and whenever a new certificate is installed; after a
//! good answer ask again at half its remaining validity (or the configured
//! `ocsp_refresh`, whichever is sooner); after a failure retry with backoff
//! (10 s doubling to 1 hour, never beyond `ocsp_refresh`). A staple is
//! removed when it expires or when the responder says the certificate is
//! revoked or unknown; the listener keeps serving without one.

use super::fetch::fetch;
use super::request::{responder_urls, Subject};
use super::verify::{verify, Verdict};
use crate::listen::tls::CertSlot;
use crate::timefmt::{rfc3339, unix};
use serde_json::{json, Value};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};
use tokio::sync::watch;

const MIN_BACKOFF: Duration = Duration::from_secs(10);
const MAX_BACKOFF: Duration = Duration::from_secs(3600);
/// Longest wait between two asks after a good answer.
const MAX_REFRESH: Duration = Duration::from_secs(24 * 3600);

#[derive(Default)]
struct Status {
    responder: Option<String>,
    state: &'static str,
    this_update: Option<SystemTime>,
    next_update: Option<SystemTime>,
    fetched_at: Option<SystemTime>,
    revoked_at: Option<SystemTime>,
    last_error: Option<(SystemTime, String)>,
    next_fetch: Option<SystemTime>,
    fetches: u64,
    failures: u64,
}

/// One listener's OCSP stapling state.
pub struct Stapler {
    listener: SocketAddr,
    slot: Arc<CertSlot>,
    refresh: Option<Duration>,
    status: Mutex<Status>,
}

/// How one round ended, and when to ask again.
enum Round {
    /// No certificate, or one without a responder: wait for another one.
    Idle,
    /// Ask again after this long.
    Again(Duration),
    /// Failed: retry with backoff.
    Failed,
}

impl Stapler {
    /// Stapling for the certificate in `slot`; `refresh` caps the interval.
    pub fn new(listener: SocketAddr, slot: Arc<CertSlot>, refresh: Option<Duration>) -> Self {
        Stapler {
            listener,
            slot,
            refresh,
            status: Mutex::new(Status {
                state: "pending",
                ..Status::default()
            }),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Status> {
        self.status.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn cap(&self, d: Duration) -> Duration {
        self.refresh.map_or(d, |r| d.min(r))
    }

    /// Asks, verifies and staples until shutdown. Never returns an error.
    pub async fn run(self: Arc<Self>, mut shutdown: watch::Receiver<bool>) {
        let mut backoff = MIN_BACKOFF;
        loop {
            let wait = match self.round().await {
                Round::Idle => None,
                Round::Again(d) => {
                    backoff = MIN_BACKOFF;
                    Some(d)
                }
                Round::Failed => {
                    let d = self.cap(backoff);
                    backoff = (backoff * 2).min(MAX_BACKOFF);
                    Some(d)
                }
            };
            // Never sleep past the staple's expiry: it is removed then.
            let expiry = self
                .lock()
                .next_update
                .and_then(|t| t.duration_since(SystemTime::now()).ok());
            let wait = match (wait, expiry) {
                (Some(w), Some(e)) => Some(w.min(e + Duration::from_secs(1))),
                (w, _) => w,
            };
            self.lock().next_fetch = wait.map(|w| SystemTime::now() + w);
            let sleep = async {
                match wait {
                    Some(w) => tokio::time::sleep(w).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                _ = sleep => {}
                _ = self.slot.changed.notified() => backoff = MIN_BACKOFF,
                _ = shutdown.changed() => return,
            }
        }
    }

    /// Removes an expired staple.
    fn expire(&self, leaf: &[u8]) {
        let mut s = self.lock();
        if s.next_update.is_some_and(|t| t <= SystemTime::now()) {
            self.slot.set_staple(leaf, None);
            tracing::warn!(listener = %self.listener, "OCSP staple expired and removed");
            s.next_update = None;
            s.this_update = None;
            if s.state == "good" {
                s.state = "expired";
            }
        }
    }

    /// The certificate names no OCSP responder: nothing to fetch.
    fn no_responder(&self) -> Round {
        let mut s = self.lock();
        if s.state != "no responder" {
            tracing::info!(listener = %self.listener, "the certificate names no OCSP responder: no stapling");
        }
        s.state = "no responder";
        s.responder = None;
        Round::Idle
    }

    async fn round(&self) -> Round {
        let Some(key) = self.slot.current.load_full() else {
            return Round::Idle;
        };
        let Some(leaf) = key.cert.first().map(|c| c.as_ref().to_vec()) else {
            return Round::Idle;
        };
        self.expire(&leaf);
        // A certificate that names no responder (a self-signed one, say)
        // simply has nothing to staple: not a warning, whatever its chain.
        let names_responder = <x509_cert::Certificate as x509_cert::der::Decode>::from_der(&leaf)
            .map_or(true, |c| !responder_urls(&c).is_empty());
        if !names_responder {
            return self.no_responder();
        }
        let subject = match Subject::new(&key.cert) {
            Ok(s) => s,
            Err(e) => {
                let mut s = self.lock();
                s.state = "unavailable";
                s.last_error = Some((SystemTime::now(), e.to_string()));
                tracing::warn!(listener = %self.listener, error = %e, "no OCSP stapling");
                return Round::Idle;
            }
        };
        let Some(url) = responder_urls(&subject.leaf).into_iter().next() else {
            return self.no_responder();
        };
        self.lock().responder = Some(url.clone());
        let answer = match subject.request() {
            Ok(req) => fetch(&url, req).await,
            Err(e) => Err(e),
        };
        let now = SystemTime::now();
        let verdict = answer.and_then(|der| verify(&subject, &der, now).map(|v| (v, der)));
        let mut s = self.lock();
        s.fetches += 1;
        match verdict {
            Ok((
                Verdict::Good {
                    this_update,
                    next_update,
                },
                der,
            )) => {
                self.slot.set_staple(&leaf, Some(der));
                s.state = "good";
                s.this_update = Some(this_update);
                s.next_update = Some(next_update);
                s.fetched_at = Some(now);
                s.revoked_at = None;
                s.last_error = None;
                tracing::info!(listener = %self.listener, next_update = %rfc3339(next_update), "OCSP staple installed");
                let half = next_update.duration_since(now).unwrap_or_default() / 2;
                Round::Again(self.cap(half.clamp(Duration::from_secs(1), MAX_REFRESH)))
            }
            Ok((Verdict::Revoked { at }, _)) => {
                self.slot.set_staple(&leaf, None);
                s.state = "revoked";
                s.revoked_at = Some(at);
                s.this_update = None;
                s.next_update = None;
                tracing::error!(listener = %self.listener, responder = %url, revoked_at = %rfc3339(at), "THE SERVED CERTIFICATE IS REVOKED (OCSP): replace it; no staple is served");
                Round::Again(self.cap(MAX_BACKOFF))
            }
            Ok((Verdict::Unknown, _)) => {
                self.slot.set_staple(&leaf, None);
                s.state = "unknown";
                s.this_update = None;
                s.next_update = None;
                tracing::warn!(listener = %self.listener, responder = %url, "the OCSP responder does not know the served certificate; no staple is served");
                Round::Failed
            }
            Err(e) => {
                s.failures += 1;
                s.last_error = Some((now, e.to_string()));
                if s.state != "good" {
                    s.state = "error";
                }
                tracing::warn!(listener = %self.listener, error = %e, staple_kept = s.state == "good", "OCSP refresh failed");
                Round::Failed
            }
        }
    }

    /// The `/status` entry.
    pub fn status(&self) -> Value {
        let s = self.lock();
        let now = SystemTime::now();
        json!({
            "listener": self.listener.to_string(),
            "responder": s.responder,
            "state": s.state,
            "stapled": s.state == "good",
            "staple_age_seconds": s.this_update.and_then(|t| now.duration_since(t).ok()).map(|d| d.as_secs()),
            "this_update": s.this_update.map(rfc3339),
            "next_update": s.next_update.map(rfc3339),
            "fetched_at": s.fetched_at.map(rfc3339),
            "revoked_at": s.revoked_at.map(rfc3339),
            "last_error": s.last_error.as_ref().map(|(_, e)| e.clone()),
            "last_error_at": s.last_error.as_ref().map(|(t, _)| rfc3339(*t)),
            "next_fetch": s.next_fetch.map(rfc3339),
            "fetches": s.fetches,
            "failures": s.failures,
        })
    }

    fn samples(&self, out: &mut [String; 5]) {
        let s = self.lock();
        let now = SystemTime::now();
        let l = format!("listener=\"{}\"", self.listener);
        let lines = [
            u64::from(s.state == "good"),
            s.this_update
                .and_then(|t| now.duration_since(t).ok())
                .map_or(0, |d| d.as_secs()),
            s.next_update.map_or(0, unix),
            u64::from(s.state == "revoked"),
            s.failures,
        ];
        for (o, v) in out.iter_mut().zip(lines) {
            let _ = writeln!(o, "{{{l}}} {v}");
        }
    }
}

/// Appends the OCSP metric families for every stapling listener to `out`.
pub fn render_metrics(staplers: &[Arc<Stapler>], out: &mut String) {
    if staplers.is_empty() {
        return;
    }
    let mut parts: [String; 5] = Default::default();
    for s in staplers {
        s.samples(&mut parts);
    }
    let heads = [
        (
            "nodeward_ocsp_stapled",
            "gauge",
            "1 while a verified OCSP staple is served.",
        ),
        (
            "nodeward_ocsp_staple_age_seconds",
            "gauge",
            "Seconds since the served staple's thisUpdate (0: none).",
        ),
        (
            "nodeward_ocsp_next_update_timestamp_seconds",
            "gauge",
            "When the served staple expires (0: none).",
        ),
        (
            "nodeward_ocsp_certificate_revoked",
            "gauge",
            "1 when the responder said the served certificate is revoked.",
        ),
        (
            "nodeward_ocsp_fetch_failures_total",
            "counter",
            "OCSP queries that failed or were refused.",
        ),
    ];
    for ((name, kind, help), body) in heads.iter().zip(parts) {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} {kind}");
        for line in body.lines() {
            let _ = writeln!(out, "{name}{line}");
        }
    }
}
