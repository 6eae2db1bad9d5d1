//! Single flight: identical cacheable calls in flight at once share one node
//! call. The call runs in its own task (a leader whose client goes away does
//! not cancel it for the others); waiters are bounded per call and each gives
//! up after its own timeout; a failed call fails every waiter with the same
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

type Slot = watch::Receiver<Option<Arc<Outcome>>>;

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
        let (mut rx, leader) = {
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
                    (f.rx.clone(), false)
                }
                None => {
                    let (tx, rx) = watch::channel(None);
                    map.insert(
                        key.clone(),
                        Flight {
                            rx: rx.clone(),
                            waiters: 0,
                        },
                    );
                    let fut = start();
                    let flights = self.map.clone();
                    let key = key.clone();
                    tokio::spawn(async move {
                        let outcome = Arc::new(fut.await);
                        // Later requests start a new flight (or hit the cache).
                        flights
                            .lock()
                            .unwrap_or_else(|p| p.into_inner())
                            .remove(&key);
                        let _ = tx.send(Some(outcome));
                    });
                    (rx, true)
                }
            }
        };
        let waited = tokio::time::timeout(timeout + GRACE, rx.wait_for(Option::is_some)).await;
        match waited {
            Ok(Ok(v)) => Ok((v.clone().expect("waited for Some"), leader)),
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
}
