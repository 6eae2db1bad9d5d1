//! The semantic read cache and request coalescing for node calls.
//!
//! A route's cache answers calls whose command has a `cache` rule from a
//! bounded store keyed by the canonical call ([`key`]); JSON-RPC answers are
//! stored without their `id` and served with the caller's ([`answer`]); a
//! batch is answered from cached elements plus one smaller batch to the node,
//! in the caller's order. Identical single calls in flight at once share one
//! node call ([`flight`]). Errors are never stored.

pub mod answer;
pub mod flight;
pub mod key;
pub mod report;
pub mod store;

use crate::body::{full, Body};
use crate::config::{CacheConfig, CacheRule, Protocol};
use crate::refusal::{Reason, Reject};
use crate::upstream::{Outbound, UpstreamPool};
use bytes::Bytes;
use http::{header, HeaderMap, HeaderValue, Response, StatusCode};
use http_body_util::BodyExt;
use nodeward_balance::MemberCore;
use serde_json::value::RawValue;
use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::Ordering::Relaxed;
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::{Entry, Key, Store};

pub use store::CacheStats;

/// Largest node answer read whole on a cached path (a batch of misses).
const MAX_READ: usize = 64 * 1024 * 1024;

/// How an answer was made, for the access log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    /// Entirely from the cache.
    Hit,
    /// From another request's node call.
    Coalesced,
    /// From the node (and maybe stored).
    Miss,
    /// A batch: some elements from the cache, the rest from the node.
    Partial,
}

impl Mark {
    /// The access-log word.
    pub fn as_str(self) -> &'static str {
        match self {
            Mark::Hit => "hit",
            Mark::Coalesced => "coalesced",
            Mark::Miss => "miss",
            Mark::Partial => "partial",
        }
    }
}

/// An answer made on the cached path.
pub struct Served {
    /// The response.
    pub response: Response<Body>,
    /// The backend that answered, when the node was asked.
    pub backend: Option<Arc<MemberCore>>,
    /// Time the node took.
    pub upstream_time: Option<Duration>,
    /// How it was made (None: the route has no cache).
    pub mark: Option<Mark>,
}

/// A refusal on the cached path, with the backend that failed if known.
pub type Failed = (Reject, Option<Arc<MemberCore>>);

/// One route's cache.
pub struct RouteCache {
    store: Store,
    rules: HashMap<String, CacheRule>,
    max_entry: usize,
    flights: flight::Flights,
}

/// A request the cache can take: per call its key (None: not cacheable) and
/// what is needed to answer it.
pub struct Prepared {
    keys: Vec<Option<Key>>,
    /// Per call: the call object (JSON-RPC), for rebuilding a smaller batch.
    objects: Vec<BTreeMap<String, Box<RawValue>>>,
    /// Per call: the caller's `id` as raw JSON (JSON-RPC; None for a
    /// notification, which gets no answer).
    ids: Vec<Option<String>>,
    /// Per call of a batch: an answer decided before the node (a refusal,
    /// without `id`); empty when there is none.
    filled: Vec<Option<Bytes>>,
    batch: bool,
    protocol: Protocol,
}

impl Prepared {
    /// A JSON-RPC batch that goes through the batch assembly without the
    /// cache (a route without one, or calls the cache cannot key): every
    /// call is asked of the node unless [`Prepared::refuse`] answers it.
    pub fn batch(body: &[u8]) -> Option<Prepared> {
        let objects: Vec<BTreeMap<String, Box<RawValue>>> = serde_json::from_slice(body).ok()?;
        let ids = objects
            .iter()
            .map(|o| {
                o.iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case("id"))
                    .map(|(_, v)| v.get().to_string())
            })
            .collect();
        Some(Prepared {
            keys: vec![None; objects.len()],
            objects,
            ids,
            filled: Vec::new(),
            batch: true,
            protocol: Protocol::Jsonrpc,
        })
    }

    /// Answers call `i` of a batch with `answer` (an object without `id`)
    /// instead of asking the node or the cache.
    pub fn refuse(&mut self, i: usize, answer: Bytes) {
        if self.filled.len() != self.objects.len() {
            self.filled = vec![None; self.objects.len()];
        }
        if let (Some(slot), Some(key)) = (self.filled.get_mut(i), self.keys.get_mut(i)) {
            *slot = Some(answer);
            *key = None;
        }
    }
}

impl RouteCache {
    /// Builds a route's cache from its checked settings.
    pub fn new(config: &CacheConfig) -> RouteCache {
        RouteCache {
            store: Store::new(config.max_entries, config.max_bytes),
            rules: config.rules.clone(),
            max_entry: config.max_entry,
            flights: flight::Flights::new(config.max_waiters),
        }
    }

    /// The counters.
    pub fn stats(&self) -> &CacheStats {
        &self.store.stats
    }

    /// Entries and bytes held.
    pub fn size(&self) -> (usize, u64) {
        (self.store.len(), self.store.bytes())
    }

    /// Drops every entry, or those of one command; returns how many.
    pub fn purge(&self, command: Option<&str>) -> usize {
        self.store
            .purge(command.map(str::to_ascii_lowercase).as_deref())
    }

    /// Whether this request goes through the cache, and its keys. `commands`
    /// are the extracted (lowercase) commands in order; `variant` holds the
    /// request headers and API key that change the answer; `head` is the
    /// pool's head block (JSON-RPC pools that track heads).
    pub fn prepare(
        &self,
        protocol: Protocol,
        body: &[u8],
        commands: &[&str],
        batch: bool,
        variant: &[u8],
        head: Option<u64>,
    ) -> Option<Prepared> {
        let rules: Vec<Option<&CacheRule>> = commands.iter().map(|c| self.rules.get(*c)).collect();
        if rules.iter().all(Option::is_none) || (!batch && rules.len() != 1) {
            return None;
        }
        let objects: Vec<BTreeMap<String, Box<RawValue>>> = if batch {
            serde_json::from_slice(body).ok()?
        } else {
            vec![serde_json::from_slice(body).ok()?]
        };
        if objects.len() != commands.len() {
            return None;
        }
        let mut any = false;
        let mut keys = Vec::with_capacity(objects.len());
        let mut ids = Vec::with_capacity(objects.len());
        for ((obj, rule), command) in objects.iter().zip(&rules).zip(commands) {
            if protocol == Protocol::Jsonrpc {
                // Notifications get no answer, and an id spelled in another
                // letter case would be echoed by the node, not by us.
                let id = obj.get("id")?;
                if obj
                    .keys()
                    .any(|k| k != "id" && k.eq_ignore_ascii_case("id"))
                {
                    return None;
                }
                ids.push(Some(id.get().to_string()));
            }
            let rule = match rule {
                Some(CacheRule::Confirmed(n)) => {
                    confirmed(obj, command, *n, head).then_some(CacheRule::Confirmed(*n))
                }
                other => other.copied(),
            };
            keys.push(match rule {
                Some(_) => {
                    let mut text = variant.to_vec();
                    text.push(0);
                    let skip = (protocol == Protocol::Jsonrpc).then_some("id");
                    key::object(obj, skip, &mut text).ok()?;
                    any = true;
                    Some(Key::new(command, text))
                }
                None => None,
            });
        }
        if !any || (!batch && keys[0].is_none()) {
            return None;
        }
        Some(Prepared {
            keys,
            objects,
            ids,
            filled: Vec::new(),
            batch,
            protocol,
        })
    }

    fn lookup(&self, key: &Key, now: Instant) -> Option<Entry> {
        let found = self.store.get(key, now);
        let counter = if found.is_some() {
            &self.stats().hits
        } else {
            &self.stats().misses
        };
        counter.fetch_add(1, Relaxed);
        found
    }

    fn expiry(&self, key: &Key, now: Instant) -> Option<Option<Instant>> {
        match self.rules.get(key.command())? {
            CacheRule::Immutable | CacheRule::Confirmed(_) => Some(None),
            CacheRule::Ttl(t) => Some(Some(now + *t)),
        }
    }

    /// Stores an answer; a `null` result only under a TTL (a node behind
    /// the head, or a transaction not mined yet, answers null for now).
    fn store_answer(&self, key: &Key, body: Bytes, null: bool) {
        if body.len() > self.max_entry {
            self.stats().too_large.fetch_add(1, Relaxed);
            return;
        }
        if null && !matches!(self.rules.get(key.command()), Some(CacheRule::Ttl(_))) {
            return;
        }
        if let Some(expires) = self.expiry(key, Instant::now()) {
            self.store.insert(key.clone(), Entry { body, expires });
        }
    }

    /// Answers a prepared request: from the cache, from a shared node call,
    /// or from the node (storing what may be stored). `out` is the request
    /// as it would have been forwarded.
    pub async fn serve(
        self: &Arc<Self>,
        prep: Prepared,
        pool: Arc<UpstreamPool>,
        out: Outbound,
    ) -> Result<Served, Failed> {
        if prep.batch {
            serve_batch(Some(self), prep, pool, out).await
        } else {
            self.serve_one(prep, pool, out).await
        }
    }

    async fn serve_one(
        self: &Arc<Self>,
        prep: Prepared,
        pool: Arc<UpstreamPool>,
        out: Outbound,
    ) -> Result<Served, Failed> {
        let key = prep.keys[0].clone().expect("prepared with a rule");
        let id = prep.ids.first().and_then(Option::as_deref);
        if let Some(entry) = self.lookup(&key, Instant::now()) {
            return Ok(Served {
                response: answer_response(StatusCode::OK, &entry.body, id, prep.protocol),
                backend: None,
                upstream_time: None,
                mark: Some(Mark::Hit),
            });
        }
        let timeout = out.timeout;
        let (shared, leader) = self
            .flights
            .join(&key, timeout, {
                let me = self.clone();
                let key = key.clone();
                let protocol = prep.protocol;
                move || async move { me.fetch_one(key, protocol, pool, out).await }
            })
            .await
            .map_err(|mut r| {
                r.id = prep.ids.first().cloned().flatten();
                (r, None)
            })?;
        if !leader {
            self.stats().coalesced.fetch_add(1, Relaxed);
        }
        match &*shared {
            Ok(a) => Ok(Served {
                response: answer_response(a.status, &a.body, id, prep.protocol),
                backend: leader.then(|| a.backend.clone()),
                upstream_time: leader.then_some(a.upstream_time),
                mark: Some(if leader { Mark::Miss } else { Mark::Coalesced }),
            }),
            Err((reject, backend)) => {
                let mut r = reject.clone();
                r.id = prep.ids.first().cloned().flatten();
                Err((r, if leader { backend.clone() } else { None }))
            }
        }
    }

    /// The one node call behind a flight: reads the answer whole, stores it
    /// when it may be stored, and returns it without the caller's id.
    async fn fetch_one(
        self: Arc<Self>,
        key: Key,
        protocol: Protocol,
        pool: Arc<UpstreamPool>,
        out: Outbound,
    ) -> flight::Outcome {
        let f = crate::upstream::forward(&pool, out)
            .await
            .map_err(|e| (super::upstream_refusal::refusal(&e.failure), e.backend))?;
        let status = f.response.status();
        let bytes = read_whole(f.response.into_body(), MAX_READ)
            .await
            .map_err(|r| (r, Some(f.backend.clone())))?;
        let body = match protocol {
            Protocol::Jsonrpc => {
                let parsed = serde_json::from_slice::<Box<RawValue>>(&bytes)
                    .ok()
                    .and_then(|raw| answer::split(&raw));
                match parsed {
                    Some(a) => {
                        let rest = Bytes::from(a.rest);
                        if status == StatusCode::OK && a.ok {
                            self.store_answer(&key, rest.clone(), a.null);
                        }
                        rest
                    }
                    None => {
                        return Err((
                            Reject::new(
                                Reason::UpstreamError,
                                "the node's answer is not a JSON-RPC answer object",
                            ),
                            Some(f.backend),
                        ))
                    }
                }
            }
            _ => {
                // IRI: a 200 with a JSON object that is not an error.
                if status == StatusCode::OK && iri_ok(key.command(), &bytes) {
                    self.store_answer(&key, bytes.clone(), false);
                }
                bytes
            }
        };
        Ok(flight::Answer {
            status,
            body,
            backend: f.backend,
            upstream_time: f.upstream_time,
        })
    }
}

/// Answers a JSON-RPC batch in the caller's order: calls already answered
/// (refused on their own, or found in `cache`) in place, the rest sent to
/// the node as one smaller batch with ids replaced by positions (so
/// duplicate or odd caller ids cannot confuse the reassembly), stored when
/// they may be. Notifications are sent as they are and get no answer
/// element; when no call needs the node, the node is not asked.
pub async fn serve_batch(
    cache: Option<&Arc<RouteCache>>,
    prep: Prepared,
    pool: Arc<UpstreamPool>,
    mut out: Outbound,
) -> Result<Served, Failed> {
    let now = Instant::now();
    let mut filled = prep.filled;
    filled.resize(prep.objects.len(), None);
    let mut cached = 0usize;
    let mut slots: Vec<Option<Bytes>> = filled
        .into_iter()
        .zip(&prep.keys)
        .map(|(done, key)| {
            done.or_else(|| {
                let hit = key
                    .as_ref()
                    .zip(cache)
                    .and_then(|(k, c)| c.lookup(k, now))
                    .map(|e| e.body);
                cached += usize::from(hit.is_some());
                hit
            })
        })
        .collect();
    let missing: Vec<usize> = (0..slots.len()).filter(|&i| slots[i].is_none()).collect();
    let answered = |i: &usize| prep.ids[*i].is_some();
    let mut backend = None;
    let mut upstream_time = None;
    if !missing.is_empty() {
        let mut sub = Vec::new();
        sub.push(b'[');
        for (n, &i) in missing.iter().enumerate() {
            if n > 0 {
                sub.push(b',');
            }
            let mut obj = prep.objects[i].clone();
            if prep.ids[i].is_some() {
                obj.retain(|k, _| !k.eq_ignore_ascii_case("id"));
                obj.insert(
                    "id".into(),
                    RawValue::from_string(i.to_string()).expect("a number is JSON"),
                );
            }
            serde_json::to_writer(&mut sub, &obj).expect("a map of raw JSON serialises");
        }
        sub.push(b']');
        out.body = Bytes::from(sub);
        let f = crate::upstream::forward(&pool, out)
            .await
            .map_err(|e| (super::upstream_refusal::refusal(&e.failure), e.backend))?;
        let status = f.response.status();
        let bytes = read_whole(f.response.into_body(), MAX_READ)
            .await
            .map_err(|r| (r, Some(f.backend.clone())))?;
        match serde_json::from_slice::<Vec<Box<RawValue>>>(&bytes) {
            Ok(answers) => {
                for raw in &answers {
                    let Some(a) = answer::split(raw) else {
                        continue;
                    };
                    let Some(i) = a.id.as_ref().and_then(|id| id.get().parse::<usize>().ok())
                    else {
                        continue;
                    };
                    if !missing.contains(&i) || slots[i].is_some() {
                        continue;
                    }
                    let rest = Bytes::from(a.rest);
                    if let (true, true, Some(k), Some(c)) =
                        (status == StatusCode::OK, a.ok, &prep.keys[i], cache)
                    {
                        c.store_answer(k, rest.clone(), a.null);
                    }
                    slots[i] = Some(rest);
                }
            }
            Err(_) if missing.len() == slots.len() && !bytes.is_empty() => {
                // Not a batch answer (a node refusing batches, an HTTP
                // error) and nothing else to add: pass it on as it came.
                return Ok(Served {
                    response: json_response(status, bytes),
                    backend: Some(f.backend),
                    upstream_time: Some(f.upstream_time),
                    mark: cache.map(|_| Mark::Miss),
                });
            }
            // Only notifications were sent, or the node's answer is not
            // a batch: the calls it left unanswered say so below.
            Err(_) => {}
        }
        backend = Some(f.backend);
        upstream_time = Some(f.upstream_time);
    }
    let mark = match (cache, cached, missing.is_empty()) {
        (None, _, _) | (_, 0, true) => None,
        (_, _, true) => Some(Mark::Hit),
        (_, 0, false) => Some(Mark::Miss),
        _ => Some(Mark::Partial),
    };
    let mut body = Vec::new();
    if (0..slots.len()).any(|i| answered(&i)) {
        body.push(b'[');
        let mut first = true;
        for (i, slot) in slots.iter().enumerate() {
            let Some(id) = &prep.ids[i] else {
                continue;
            };
            if !first {
                body.push(b',');
            }
            first = false;
            let rest = slot.clone().unwrap_or_else(|| answer::unanswered().into());
            answer::with_id(&rest, id, &mut body);
        }
        body.push(b']');
    }
    Ok(Served {
        response: json_response(StatusCode::OK, body.into()),
        backend,
        upstream_time,
        mark,
    })
}

/// Whether a call under a `confirmations` rule names a concrete block at
/// least `n` blocks below the pool's `head` (tags, hashes and recent blocks
/// do not; nor does anything while the head is unknown).
fn confirmed(
    obj: &BTreeMap<String, Box<RawValue>>,
    command: &str,
    n: u64,
    head: Option<u64>,
) -> bool {
    let (Some(head), Some(params)) = (head, obj.get("params")) else {
        return false;
    };
    let Ok(params) = serde_json::from_str::<serde_json::Value>(params.get()) else {
        return false;
    };
    crate::request::extract::blocks::named_block(command, &params)
        .is_some_and(|b| b.saturating_add(n) <= head)
}

/// Whether an IRI answer may be stored: a JSON object without `error`/`exception`
/// (and for `getTrytes`, no transaction the node does not know yet: IRI
/// answers those with all-9 trytes, which later change).
fn iri_ok(command: &str, body: &[u8]) -> bool {
    let ok = serde_json::from_slice::<BTreeMap<String, serde::de::IgnoredAny>>(body)
        .is_ok_and(|m| !m.contains_key("error") && !m.contains_key("exception"));
    ok && !(command == "gettrytes" && memchr::memmem::find(body, UNKNOWN_TRYTES).is_some())
}

/// An unknown transaction's trytes: all 2673 are 9 (a known one has a
/// trunk, branch and nonce, never all 9).
const UNKNOWN_TRYTES: &[u8] = &[b'9'; 2673];

/// The response for a stored (or shared) answer with the caller's id.
fn answer_response(
    status: StatusCode,
    body: &Bytes,
    id: Option<&str>,
    protocol: Protocol,
) -> Response<Body> {
    match (protocol, id) {
        (Protocol::Jsonrpc, Some(id)) => {
            let mut out = Vec::with_capacity(body.len() + id.len() + 8);
            answer::with_id(body, id, &mut out);
            json_response(status, out.into())
        }
        _ => json_response(status, body.clone()),
    }
}

fn json_response(status: StatusCode, body: Bytes) -> Response<Body> {
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let mut r = Response::new(full(body));
    *r.status_mut() = status;
    *r.headers_mut() = headers;
    r
}

/// Reads a node's answer whole, up to `limit` bytes.
async fn read_whole(mut body: Body, limit: usize) -> Result<Bytes, Reject> {
    let mut out = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err(Reject::new(
                Reason::UpstreamError,
                "the node's answer broke off",
            ));
        };
        if let Ok(data) = frame.into_data() {
            if out.len() + data.len() > limit {
                return Err(Reject::new(
                    Reason::UpstreamError,
                    "the node's answer is larger than the cache reads",
                ));
            }
            out.extend_from_slice(&data);
        }
    }
    Ok(out.freeze())
}
