//! Single flight: identical cacheable calls in flight at once share one node
//! call, whether they come alone or inside batches. A single call's flight
//! runs in its own task (a leader whose client goes away does not cancel it
//! for the others); a batch leads the flights of the calls it sends itself
//! and finishes them from its answer (if its request goes away first, its
//! waiters get an error). Waiters are bounded per call and each gives up
//! after its own timeout; a failed call fails every waiter with the same
//! refusal.

use super::store::Key;
use crate::refusal::{Reason, Reject};
use bytes::Bytes;
use http::StatusCode;
use nodeward_balance::MemberCore;
use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

/// A node's answer shared by a flight (JSON-RPC: without `id`).
pub struct Answer {
    /// The node's status.
    pub status: StatusCode,
    /// The answer.
    pub body: Bytes,
    /// The backend that answered.
    pub backend: Arc<MemberCore>,
    /// Time the node took.
    pub upstream_time: Duration,
}

/// What a flight ends with.
pub type Outcome = Result<Answer, (Reject, Option<Arc<MemberCore>>)>;

/// A waiter's end of a flight.
pub type Slot = watch::Receiver<Option<Arc<Outcome>>>;

struct Flight {
    rx: Slot,
    waiters: usize,
}

/// The calls in flight on one route.
pub struct Flights {
    map: Arc<Mutex<HashMap<Key, Flight>>>,
    max_waiters: usize,
}

/// Extra time a waiter allows beyond the upstream timeout (the leader's
/// call can itself take the whole timeout after the waiter joined late).
const GRACE: Duration = Duration::from_millis(250);

impl Flights {
    /// No flights; at most `max_waiters` requests wait on one call.
    pub fn new(max_waiters: usize) -> Flights {
        Flights {
            map: Arc::default(),
            max_waiters,
        }
    }

    /// Joins the flight for `key`, starting it with `start` when there is
    /// none. Returns the outcome and whether this request started it.
    pub async fn join<F, Fut>(
        &self,
        key: &Key,
        timeout: Duration,
        start: F,
    ) -> Result<(Arc<Outcome>, bool), Reject>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Outcome> + Send + 'static,
    {
        let (rx, leader) = match self.claim(key)? {
            Claim::Wait(rx) => (rx, false),
            Claim::Lead(lead) => {
                let rx = lead.tx.subscribe();
                let fut = start();
                tokio::spawn(async move { lead.finish(fut.await) });
                (rx, true)
            }
        };
        Ok((wait(rx, timeout).await?, leader))
    }

    /// Claims the flight for `key`: leads it when there is none (the caller
    /// makes the node call and hands its outcome to [`Lead::finish`]), else
    /// waits on it. Refused when too many already wait.
    pub fn claim(&self, key: &Key) -> Result<Claim, Reject> {
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        match map.get_mut(key) {
            Some(f) => {
                if f.waiters >= self.max_waiters {
                    return Err(Reject::new(
                        Reason::InflightCap,
                        "too many requests wait for the same answer",
                    ));
                }
                f.waiters += 1;
                Ok(Claim::Wait(f.rx.clone()))
            }
            None => {
                let (tx, rx) = watch::channel(None);
                map.insert(key.clone(), Flight { rx, waiters: 0 });
                Ok(Claim::Lead(Lead {
                    key: key.clone(),
                    tx,
                    map: self.map.clone(),
                    done: false,
                }))
            }
        }
    }
}

/// A claimed flight: lead it or wait on it.
pub enum Claim {
    /// No flight was there: this request makes the node call.
    Lead(Lead),
    /// Another request makes it: wait with [`wait`].
    Wait(Slot),
}

/// The leader's side of a flight. Dropped without [`Lead::finish`] (the
/// call failed before it was answered, or its request went away), it fails
/// the waiters.
pub struct Lead {
    key: Key,
    tx: watch::Sender<Option<Arc<Outcome>>>,
    map: Arc<Mutex<HashMap<Key, Flight>>>,
    done: bool,
}

impl Lead {
    /// Ends the flight with `outcome` for every waiter; later requests start
    /// a new flight (or hit the cache).
    pub fn finish(mut self, outcome: Outcome) {
        self.end(outcome);
    }

    fn end(&mut self, outcome: Outcome) {
        self.done = true;
        self.map
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&self.key);
        let _ = self.tx.send(Some(Arc::new(outcome)));
    }
}

impl Drop for Lead {
    fn drop(&mut self) {
        if !self.done {
            self.end(Err((
                Reject::new(
                    Reason::UpstreamError,
                    "the shared node call ended without an answer",
                ),
                None,
            )));
        }
    }
}

/// Waits for a flight's outcome, at most `timeout` plus a grace.
pub async fn wait(mut rx: Slot, timeout: Duration) -> Result<Arc<Outcome>, Reject> {
    let waited = tokio::time::timeout(timeout + GRACE, rx.wait_for(Option::is_some)).await;
    match waited {
        Ok(Ok(v)) => Ok(v.clone().expect("waited for Some")),
        Ok(Err(_)) => Err(Reject::new(
            Reason::UpstreamError,
            "the shared node call ended without an answer",
        )),
        Err(_) => Err(Reject::new(
            Reason::UpstreamTimeout,
            "no answer from the node in time",
        )),
    }
}
