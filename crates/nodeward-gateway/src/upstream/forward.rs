//! Sending an admitted request to a pool and streaming the answer back:
//! the attempt loop.
//!
//! - A request that never left (no connection, TLS refused) always moves on
//!   to the next backend it has not tried.
//! - A request a backend may have acted on is retried once more only when
//!   it is read-only (every call of a batch), within the pool's attempt cap
//!   and retry budget; state-changing calls are never sent twice.
//! - A read-only request whose answer is a retryable status (502/503/504 by
//!   default) or, for JSON-RPC, an error of the node's own state ("header
//!   not found", "missing trie node") is tried on another node; if none does
//!   better, the last answer is passed on.
//! - A read-only attempt that gets no answer within `try_timeout` (when set)
//!   is given up and the request asked of another backend, within the
//!   request's own timeout.
//! - With hedging, a read-only request still unanswered after its
//!   command's latency quantile is also sent to a second backend; the first
//!   good answer wins and the other attempt is cancelled.
//! - A call naming a block goes only to backends whose last reported head
//!   has it.
//!
//! Every outcome feeds the backend's passive health (see nodeward-balance).

use super::body::ResponseBody;
use super::classify;
use super::endpoint::{Endpoint, Loan};
use super::error::UpstreamError;
use super::h1::Head;
use super::pool::UpstreamPool;
use crate::body::Body;
use bytes::Bytes;
use http::{HeaderMap, Method, Response};
use http_body_util::BodyExt;
use nodeward_balance::{Attempt, Failure as Passive, MemberCore, Tried, Unavailable};
use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OwnedSemaphorePermit;
use tokio::time::Instant;

/// A request ready to go to a pool.
pub struct Outbound {
    /// The method.
    pub method: Method,
    /// Path and query.
    pub target: http::uri::PathAndQuery,
    /// Headers, cleaned for forwarding.
    pub headers: HeaderMap,
    /// The whole body.
    pub body: Bytes,
    /// Deadline for the answer's head (and each pause of a streamed body).
    pub timeout: Duration,
    /// In-flight permits held until the answer has been sent.
    pub permits: Vec<OwnedSemaphorePermit>,
    /// Whether every call in it is read-only (may be sent twice).
    pub read_only: bool,
    /// Send to a second backend when no answer came within this.
    pub hedge_after: Option<Duration>,
    /// JSON-RPC: answers are classified.
    pub jsonrpc: bool,
    /// The highest block number the request names (JSON-RPC).
    pub min_block: Option<u64>,
}

/// A backend's answer, ready to send to the client.
pub struct Forwarded {
    /// The response (its body streams from the backend).
    pub response: Response<Body>,
    /// Which backend answered.
    pub backend: Arc<MemberCore>,
    /// Time from sending to the answer's head, on the answering backend.
    pub upstream_time: Duration,
    /// Attempts made (including hedges).
    pub attempts: u32,
}

/// Why no answer could be passed on.
#[derive(Debug)]
pub enum Failure {
    /// No backend could take the request.
    NoBackend(Unavailable),
    /// The request names a block no backend has reported yet.
    BlockUnavailable {
        /// The block asked for.
        wanted: u64,
        /// The highest head any backend reported.
        highest: Option<u64>,
    },
    /// The last attempt failed so.
    Upstream(UpstreamError),
}

/// A failure, with the backend tried last.
#[derive(Debug)]
pub struct ForwardError {
    /// Why.
    pub failure: Failure,
    /// The backend that failed last, when one was tried.
    pub backend: Option<Arc<MemberCore>>,
}

/// A backend's answer head, with its connection.
struct Answer {
    head: Head,
    loan: Loan,
    id: Arc<MemberCore>,
    took: Duration,
    /// To be retried elsewhere if possible (passed on otherwise).
    retry_wanted: bool,
}

/// What one attempt produced. Returned by value: boxing the answer would
/// cost an allocation on every proxied request.
#[allow(clippy::large_enum_variant)]
enum Step {
    /// An answer.
    Answer(Answer),
    /// No usable answer.
    Failed {
        error: UpstreamError,
        id: Arc<MemberCore>,
    },
}

impl Step {
    fn is_good(&self) -> bool {
        matches!(self, Step::Answer(a) if !a.retry_wanted)
    }
}

/// Sends `out` to `pool`; see the module documentation for the rules.
pub async fn forward(pool: &UpstreamPool, out: Outbound) -> Result<Forwarded, ForwardError> {
    // Read once; no settings guard is held across the awaits below.
    let (max_attempts, pool_hedges) = {
        let settings = pool.settings();
        (settings.retry.max_attempts, settings.hedge.is_some())
    };
    let deadline = Instant::now() + out.timeout;
    let client_host = out.headers.contains_key(http::header::HOST);
    let min_block = out.min_block;
    let accept = move |core: &MemberCore| match (min_block, core.head()) {
        (Some(wanted), Some(head)) => head >= wanted,
        _ => true,
    };
    let mut tried = Tried::default();
    let mut sent_attempts = 0u32;
    let mut attempts = 0u32;
    let mut needs_budget = false;
    // Boxed: rare, and it would otherwise enlarge every request's future.
    let mut kept_answer: Option<Box<Answer>> = None;
    let mut last_error: Option<(UpstreamError, Arc<MemberCore>)> = None;
    pool.retry_budget.deposit();
    let hedging = out.read_only && out.hedge_after.is_some() && pool_hedges;
    if hedging {
        pool.hedge_budget.deposit();
    }
    loop {
        if sent_attempts >= max_attempts || Instant::now() >= deadline {
            break;
        }
        let attempt = match pool.balance.select(&tried, &accept) {
            Ok(a) => a,
            Err(why) => {
                if attempts == 0 {
                    pool.stats.no_backend.fetch_add(1, Relaxed);
                    return Err(ForwardError {
                        failure: match (why, out.min_block) {
                            (Unavailable::NoneAccepted, Some(wanted)) => {
                                Failure::BlockUnavailable {
                                    wanted,
                                    highest: highest_head(pool),
                                }
                            }
                            _ => Failure::NoBackend(why),
                        },
                        backend: None,
                    });
                }
                break;
            }
        };
        if needs_budget {
            if !pool.retry_budget.withdraw() {
                pool.stats.retries_refused.fetch_add(1, Relaxed);
                break;
            }
            pool.stats.retries.fetch_add(1, Relaxed);
        }
        tried.add(&attempt.member().core);
        attempts += 1;
        let headers = headers_for(&out.headers, client_host, &attempt.member().endpoint);
        let step = match out.hedge_after.filter(|_| hedging && attempts == 1) {
            Some(delay) => {
                // Boxed: two attempts' state, needed only when hedging, would
                // otherwise enlarge every request's future.
                Box::pin(hedged(
                    pool,
                    attempt,
                    &out,
                    headers,
                    deadline,
                    &mut tried,
                    &accept,
                    delay,
                    client_host,
                    &mut attempts,
                ))
                .await
            }
            None => try_once(pool, attempt, &out, &headers, deadline).await,
        };
        match step {
            Step::Answer(answer) if !answer.retry_wanted => {
                return Ok(deliver(answer, out.permits, out.timeout, attempts))
            }
            Step::Answer(answer) => {
                sent_attempts += 1;
                needs_budget = true;
                kept_answer = Some(Box::new(answer));
            }
            Step::Failed { error, id } => {
                if matches!(error, UpstreamError::TimeoutBeforeSend) && Instant::now() >= deadline {
                    return Err(ForwardError {
                        failure: Failure::Upstream(error),
                        backend: Some(id),
                    });
                }
                if !error.was_sent() {
                    // Never left: always on to the next backend.
                    needs_budget = false;
                    last_error = Some((error, id));
                    continue;
                }
                sent_attempts += 1;
                // A timeout ends the request unless only the attempt's own
                // deadline (try_timeout) passed and it may be sent again.
                let out_of_time =
                    matches!(error, UpstreamError::Timeout) && Instant::now() >= deadline;
                if !out.read_only || out_of_time {
                    if let Some(answer) = kept_answer {
                        return Ok(deliver(*answer, out.permits, out.timeout, attempts));
                    }
                    return Err(ForwardError {
                        failure: Failure::Upstream(error),
                        backend: Some(id),
                    });
                }
                needs_budget = true;
                last_error = Some((error, id));
            }
        }
    }
    if let Some(answer) = kept_answer {
        return Ok(deliver(*answer, out.permits, out.timeout, attempts));
    }
    Err(match last_error {
        Some((error, id)) => ForwardError {
            failure: match error {
                // Every backend tried was unreachable: the pool is down.
                UpstreamError::Unreachable(_) | UpstreamError::Tls(_) => {
                    Failure::NoBackend(Unavailable::AllTried)
                }
                e => Failure::Upstream(e),
            },
            backend: Some(id),
        },
        None => ForwardError {
            failure: if Instant::now() >= deadline {
                Failure::Upstream(UpstreamError::Timeout)
            } else {
                Failure::NoBackend(Unavailable::AllTried)
            },
            backend: None,
        },
    })
}

/// The headers for one attempt: HTTP/2 clients send no Host header, and
/// HTTP/1.1 backends require one: this backend's own (copied only then).
fn headers_for<'h>(
    headers: &'h HeaderMap,
    client_host: bool,
    endpoint: &Endpoint,
) -> Cow<'h, HeaderMap> {
    if client_host {
        return Cow::Borrowed(headers);
    }
    let mut h = headers.clone();
    h.insert(http::header::HOST, endpoint.host_header.clone());
    Cow::Owned(h)
}

fn highest_head(pool: &UpstreamPool) -> Option<u64> {
    pool.balance
        .members()
        .iter()
        .filter_map(|m| m.core.head())
        .max()
}

/// One attempt on one backend, its outcome recorded for passive health.
async fn try_once(
    pool: &UpstreamPool,
    attempt: Attempt<'_, Endpoint>,
    out: &Outbound,
    headers: &HeaderMap,
    deadline: Instant,
) -> Step {
    let endpoint: Arc<Endpoint> = attempt.member().endpoint.clone();
    let id = attempt.member().core.clone();
    let started = Instant::now();
    // A read-only attempt may have its own, shorter deadline, leaving time
    // to ask another backend.
    let deadline = match pool.settings().try_timeout {
        Some(t) if out.read_only => deadline.min(started + t),
        _ => deadline,
    };
    let went_out = AtomicBool::new(false);
    let sent = endpoint.send(
        &out.method,
        out.target.as_str(),
        headers,
        &out.body,
        &went_out,
    );
    match tokio::time::timeout_at(deadline, sent).await {
        Err(_) if !went_out.load(Relaxed) => {
            // Waiting for one of our own connection slots: not the node's fault.
            tracing::warn!(upstream = pool.name(), backend = %id.spec.id, "no connection to the backend became free in time");
            drop(attempt);
            Step::Failed {
                error: UpstreamError::TimeoutBeforeSend,
                id,
            }
        }
        Err(_) => {
            endpoint.stats.errors.fetch_add(1, Relaxed);
            tracing::warn!(upstream = pool.name(), backend = %id.spec.id, "backend did not answer in time");
            attempt.failed(Passive::Timeout);
            Step::Failed {
                error: UpstreamError::Timeout,
                id,
            }
        }
        Ok(Err(error)) => {
            endpoint.stats.errors.fetch_add(1, Relaxed);
            tracing::warn!(upstream = pool.name(), backend = %id.spec.id, %error, "backend failed");
            attempt.failed(if error.was_sent() {
                Passive::BadAnswer
            } else {
                Passive::Unreachable
            });
            Step::Failed { error, id }
        }
        Ok(Ok((head, mut loan))) => {
            let took = started.elapsed();
            let status = head.status.as_u16();
            endpoint.stats.answered(status, took);
            if status >= 500 {
                attempt.failed(Passive::BadAnswer);
            } else {
                attempt.succeeded();
            }
            let retry_wanted = out.read_only
                && (pool.settings().retry.on_status.contains(&status)
                    || (out.jsonrpc && status < 500 && node_state_error(&head, &mut loan)));
            Step::Answer(Answer {
                head,
                loan,
                id,
                took,
                retry_wanted,
            })
        }
    }
}

/// Whether a whole, small JSON-RPC answer is an error of the node's state.
fn node_state_error(head: &Head, loan: &mut Loan) -> bool {
    match head.framing {
        crate::http1::Framing::Length(n)
            if (n as usize) <= classify::MAX_CLASSIFIED
                && (n as usize) <= loan.connection().buffered() =>
        {
            classify::is_node_state_error(loan.connection().peek_buffered(n as usize))
        }
        _ => false,
    }
}

/// The first attempt, and after `delay` without an answer a second one on
/// another backend (when the hedge budget allows); the first good answer
/// wins and the other is cancelled (its connection closed).
#[allow(clippy::too_many_arguments)]
async fn hedged(
    pool: &UpstreamPool,
    first: Attempt<'_, Endpoint>,
    out: &Outbound,
    headers: Cow<'_, HeaderMap>,
    deadline: Instant,
    tried: &mut Tried,
    accept: &(dyn Fn(&MemberCore) -> bool + Sync),
    delay: Duration,
    client_host: bool,
    attempts: &mut u32,
) -> Step {
    let mut one = std::pin::pin!(try_once(pool, first, out, &headers, deadline));
    tokio::select! {
        step = &mut one => return step,
        _ = tokio::time::sleep(delay) => {}
    }
    if !pool.hedge_budget.withdraw() {
        return one.await;
    }
    let Ok(second) = pool.balance.select(tried, accept) else {
        return one.await;
    };
    tried.add(&second.member().core);
    *attempts += 1;
    pool.stats.hedges.fetch_add(1, Relaxed);
    let headers2 = headers_for(&out.headers, client_host, &second.member().endpoint);
    let mut two = std::pin::pin!(try_once(pool, second, out, &headers2, deadline));
    tokio::select! {
        step = &mut one => {
            if step.is_good() {
                return step;
            }
            let other = two.await;
            if other.is_good() {
                pool.stats.hedge_wins.fetch_add(1, Relaxed);
                other
            } else {
                step
            }
        }
        step = &mut two => {
            if step.is_good() {
                pool.stats.hedge_wins.fetch_add(1, Relaxed);
                return step;
            }
            one.await
        }
    }
}

/// Turns an answer into the response sent to the client.
fn deliver(
    answer: Answer,
    permits: Vec<OwnedSemaphorePermit>,
    timeout: Duration,
    attempts: u32,
) -> Forwarded {
    let Answer {
        head,
        loan,
        id,
        took,
        ..
    } = answer;
    // The request's timeout also bounds each pause in a streamed body.
    let body = ResponseBody::new(head.framing, loan, head.keep_alive, permits, timeout);
    let mut response = Response::new(body.boxed_unsync());
    *response.status_mut() = head.status;
    *response.headers_mut() = head.headers;
    Forwarded {
        response,
        backend: id,
        upstream_time: took,
        attempts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every request in flight holds this future: keep an eye on its size.
    #[test]
    fn the_forwarding_future_stays_small() {
        let u = crate::config::load_from_str(
            std::path::Path::new("/t.toml"),
            "[[listener]]\nbind = \"127.0.0.1:1\"\n[[upstream]]\nname = \"a\"\nbackends = [\"http://127.0.0.1:2\"]\n[[route]]\nprotocol = \"iri\"\nupstream = \"a\"\n",
        )
        .unwrap();
        let pool = UpstreamPool::new(&u.upstreams[0]).unwrap();
        let out = Outbound {
            method: Method::POST,
            target: http::uri::PathAndQuery::from_static("/"),
            headers: HeaderMap::new(),
            body: Bytes::new(),
            timeout: Duration::from_secs(1),
            permits: Vec::new(),
            read_only: true,
            hedge_after: None,
            jsonrpc: false,
            min_block: None,
        };
        let size = std::mem::size_of_val(&forward(&pool, out));
        eprintln!("forward future: {size} bytes");
        assert!(size < 2048, "forward future is {size} bytes");
    }
}
