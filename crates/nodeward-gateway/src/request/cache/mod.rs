//! The semantic read cache and request coalescing for node calls.
//!
//! A route's cache answers calls whose command has a `cache` rule from a
//! bounded store keyed by the canonical call ([`key`]); JSON-RPC answers are
//! stored without their `id` and served with the caller's ([`answer`]); a
//! batch is answered from cached elements plus one smaller batch to the node,
//! in the caller's order (also on routes without a cache, when calls of a
//! batch are refused on their own: [`serve_batch`]). Identical cacheable
//! calls in flight at once, alone or in batches, share one node call
//! ([`flight`]). Errors are never stored, except the JSON-RPC error codes a
//! command's `negative_cache` names, briefly. Calls naming `latest` or a
//! recent block are pinned to its hash ([`finality`]); a reorg seen by the
//! pool's chain tracker drops them; a node behind the pool head is never
//! stored from.

pub mod answer;
pub mod finality;
pub mod flight;
pub mod key;
pub mod report;
pub mod store;

use crate::body::{full, Body};
use crate::config::{CacheConfig, CacheRule, NegativeRule, Protocol};
use crate::refusal::{Reason, Reject};
use crate::upstream::{Outbound, UpstreamPool};
use bytes::Bytes;
use finality::{Pin, Resolved};
use http::{header, HeaderMap, HeaderValue, Response, StatusCode};
use http_body_util::BodyExt;
use nodeward_balance::pool::PoolHealth;
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
    negative: HashMap<String, NegativeRule>,
    max_entry: usize,
    flights: flight::Flights,
    /// The pool's reorg count when pinned entries were last checked.
    reorgs_seen: std::sync::atomic::AtomicU64,
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
    /// Per call: the not-yet-final block it was pinned to.
    pins: Vec<Option<Pin>>,
    /// Per call: whether a successful answer may be stored (else only a
    /// negative-cache error).
    positive: Vec<bool>,
    /// The pool head when the request came (JSON-RPC pools tracking heads):
    /// answers from a node behind it are not stored.
    head: Option<u64>,
    batch: bool,
    protocol: Protocol,
}

/// What decides whether one node answer may be stored.
#[derive(Clone, Copy)]
struct Guard {
    pin: Option<Pin>,
    head: Option<u64>,
    positive: bool,
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
        let n = objects.len();
        Some(Prepared {
            keys: vec![None; n],
            objects,
            ids,
            filled: Vec::new(),
            pins: vec![None; n],
            positive: vec![false; n],
            head: None,
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
            negative: config.negative.clone(),
            max_entry: config.max_entry,
            flights: flight::Flights::new(config.max_waiters),
            reorgs_seen: Default::default(),
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
    /// request headers and API key that change the answer; `chain` is the
    /// pool's health (head and recent block hashes; JSON-RPC pools).
    pub fn prepare(
        &self,
        protocol: Protocol,
        body: &[u8],
        commands: &[&str],
        batch: bool,
        variant: &[u8],
        chain: Option<&PoolHealth>,
    ) -> Option<Prepared> {
        let rules: Vec<Option<&CacheRule>> = commands.iter().map(|c| self.rules.get(*c)).collect();
        let negative: Vec<bool> = commands
            .iter()
            .map(|c| self.negative.contains_key(*c))
            .collect();
        if rules.iter().zip(&negative).all(|(r, n)| r.is_none() && !n)
            || (!batch && rules.len() != 1)
        {
            return None;
        }
        if let Some(c) = chain {
            self.forget_reorged(c);
        }
        let head = chain.and_then(PoolHealth::head);
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
        let mut pins = Vec::with_capacity(objects.len());
        let mut positive = Vec::with_capacity(objects.len());
        for (((obj, rule), command), negative) in
            objects.iter().zip(&rules).zip(commands).zip(negative)
        {
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
            let mut pin = None;
            let rule = match rule {
                Some(CacheRule::Confirmed(n)) => match finality::resolve(obj, command, *n, chain) {
                    Resolved::Final => Some(CacheRule::Confirmed(*n)),
                    Resolved::Pinned(p) => {
                        pin = Some(p);
                        Some(CacheRule::Confirmed(*n))
                    }
                    Resolved::Uncached => None,
                },
                other => other.copied(),
            };
            positive.push(rule.is_some());
            keys.push(match rule.is_some() || negative {
                true => {
                    let mut text = variant.to_vec();
                    text.push(0);
                    let skip = (protocol == Protocol::Jsonrpc).then_some("id");
                    key::object(obj, skip, &mut text).ok()?;
                    if let Some(p) = &pin {
                        finality::key_suffix(p, &mut text);
                    }
                    any = true;
                    Some(Key::new(command, text))
                }
                false => None,
            });
            pins.push(pin);
        }
        if !any || (!batch && keys[0].is_none()) {
            return None;
        }
        Some(Prepared {
            keys,
            objects,
            ids,
            filled: Vec::new(),
            pins,
            positive,
            head,
            batch,
            protocol,
        })
    }

    /// Drops the entries pinned to not-yet-final blocks once the pool's
    /// chain tracker has seen a reorg since the last look.
    fn forget_reorged(&self, chain: &PoolHealth) {
        let now = chain.chain.reorgs();
        if self.reorgs_seen.swap(now, Relaxed) != now {
            let n = self.store.drop_pinned();
            tracing::info!(
                dropped = n,
                "the chain reorganised: cached answers for blocks that were not final are dropped"
            );
        }
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
    /// the head, or a transaction not mined yet, answers null for now). An
    /// answer from a node behind the pool head, or (pinned calls) about
    /// another block than the pinned one, is not stored.
    fn store_answer(&self, key: &Key, body: Bytes, null: bool, guard: Guard, backend: &MemberCore) {
        if !guard.positive {
            return;
        }
        if body.len() > self.max_entry {
            self.stats().too_large.fetch_add(1, Relaxed);
            return;
        }
        if null && !matches!(self.rules.get(key.command()), Some(CacheRule::Ttl(_))) {
            return;
        }
        if behind(guard, backend)
            || guard
                .pin
                .is_some_and(|p| !finality::answer_matches(&p, &body))
        {
            self.stats().not_current.fetch_add(1, Relaxed);
            return;
        }
        if let Some(expires) = self.expiry(key, Instant::now()) {
            let height = guard.pin.map(|p| p.height);
            self.store.insert(
                key.clone(),
                Entry {
                    body,
                    expires,
                    height,
                },
            );
        }
    }

    /// Stores a node error object (an answer without `id`) for its
    /// command's negative-cache TTL when its code is one the command lists.
    fn store_error(&self, key: &Key, body: Bytes, guard: Guard, backend: &MemberCore) {
        let Some(rule) = self.negative.get(key.command()) else {
            return;
        };
        let listed = answer::error_code(&body).is_some_and(|c| rule.codes.contains(&c));
        if !listed || body.len() > self.max_entry || behind(guard, backend) {
            return;
        }
        self.stats().negative.fetch_add(1, Relaxed);
        self.store.insert(
            key.clone(),
            Entry {
                body,
                expires: Some(Instant::now() + rule.ttl),
                height: None,
            },
        );
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
        let guard = Guard {
            pin: prep.pins[0],
            head: prep.head,
            positive: prep.positive[0],
        };
        let (shared, leader) = self
            .flights
            .join(&key, timeout, {
                let me = self.clone();
                let key = key.clone();
                let protocol = prep.protocol;
                move || async move { me.fetch_one(key, guard, protocol, pool, out).await }
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
        guard: Guard,
        protocol: Protocol,
        pool: Arc<UpstreamPool>,
        out: Outbound,
    ) -> flight::Outcome {
        let (status, bytes, f) = ask_whole(&pool, out).await?;
        let body = match protocol {
            Protocol::Jsonrpc => {
                let parsed = serde_json::from_slice::<Box<RawValue>>(&bytes)
                    .ok()
                    .and_then(|raw| answer::split(&raw));
                match parsed {
                    Some(a) => {
                        let rest = Bytes::from(a.rest);
                        if status == StatusCode::OK && a.ok {
                            self.store_answer(&key, rest.clone(), a.null, guard, &f.backend);
                        } else if status == StatusCode::OK {
                            self.store_error(&key, rest.clone(), guard, &f.backend);
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
                    self.store_answer(&key, bytes.clone(), false, guard, &f.backend);
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
    // Cacheable calls share flights with identical calls in flight at once
    // (single calls and other batches): this batch leads those nobody is
    // making and waits on the others.
    let timeout = out.timeout;
    let mut leads: Vec<(usize, flight::Lead)> = Vec::new();
    let mut waits: Vec<(usize, flight::Slot)> = Vec::new();
    if let Some(c) = cache {
        for &i in &missing {
            let Some(k) = &prep.keys[i] else { continue };
            match c.flights.claim(k) {
                Ok(flight::Claim::Lead(l)) => leads.push((i, l)),
                Ok(flight::Claim::Wait(rx)) => waits.push((i, rx)),
                // Too many wait for it already: asked with the rest.
                Err(_) => {}
            }
        }
    }
    let ask: Vec<usize> = missing
        .iter()
        .copied()
        .filter(|i| !waits.iter().any(|(j, _)| j == i))
        .collect();
    let answered = |i: &usize| prep.ids[*i].is_some();
    let mut backend = None;
    let mut upstream_time = None;
    if !ask.is_empty() {
        let mut sub = Vec::new();
        sub.push(b'[');
        for (n, &i) in ask.iter().enumerate() {
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
        let whole = ask.len() == slots.len();
        let asked: Vec<Asked> = ask
            .iter()
            .map(|&i| Asked {
                index: i,
                store: cache.and(prep.keys[i].clone()).map(|k| {
                    let guard = Guard {
                        pin: prep.pins[i],
                        head: prep.head,
                        positive: prep.positive[i],
                    };
                    (k, guard)
                }),
            })
            .collect();
        let job = NodeCall {
            cache: cache.cloned(),
            pool,
            out,
            asked,
            whole,
            leads,
        };
        // A batch that leads calls others wait on finishes them even if its
        // own client goes away: the node call then runs in its own task.
        let answer = if !job.leads.is_empty() {
            tokio::spawn(job.run()).await.map_err(|_| {
                (
                    Reject::new(Reason::UpstreamError, "the node call failed"),
                    None,
                )
            })??
        } else {
            job.run().await?
        };
        match answer {
            NodeAnswer::Whole(served) => return Ok(served),
            NodeAnswer::Calls {
                answers,
                backend: b,
                upstream_time: t,
            } => {
                for (i, a) in answers {
                    slots[i] = Some(a);
                }
                backend = Some(b);
                upstream_time = Some(t);
            }
        }
    }
    let shared = waits.len();
    for (i, rx) in waits {
        let answer = match flight::wait(rx, timeout).await {
            Ok(o) => match &*o {
                Ok(a) => a.body.clone(),
                Err((r, _)) => r.jsonrpc_element().into(),
            },
            Err(r) => r.jsonrpc_element().into(),
        };
        slots[i] = Some(answer);
    }
    if let Some(c) = cache {
        c.stats().coalesced.fetch_add(shared as u64, Relaxed);
    }
    let mark = match (cache, cached, shared, ask.is_empty()) {
        (None, ..) | (_, 0, 0, true) => None,
        (_, 0, _, true) => Some(Mark::Coalesced),
        (_, _, _, true) => Some(Mark::Hit),
        (_, 0, 0, false) => Some(Mark::Miss),
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

/// Who answered a node call and how long it took.
struct NodeMeta {
    backend: Arc<MemberCore>,
    upstream_time: Duration,
}

/// Sends `out` to the pool and reads the answer whole (at most
/// [`MAX_READ`]): its status, its body, and who answered.
async fn ask_whole(
    pool: &Arc<UpstreamPool>,
    out: Outbound,
) -> Result<(StatusCode, Bytes, NodeMeta), Failed> {
    let f = crate::upstream::forward(pool, out)
        .await
        .map_err(|e| (super::upstream_refusal::refusal(&e.failure), e.backend))?;
    let status = f.response.status();
    let bytes = read_whole(f.response.into_body(), MAX_READ)
        .await
        .map_err(|r| (r, Some(f.backend.clone())))?;
    Ok((
        status,
        bytes,
        NodeMeta {
            backend: f.backend,
            upstream_time: f.upstream_time,
        },
    ))
}

/// One call of a batch sent to the node: its place in the batch, and its
/// cache key and storing conditions when its answer may be stored.
struct Asked {
    index: usize,
    store: Option<(Key, Guard)>,
}

/// What the node said to the calls a batch sent it.
enum NodeAnswer {
    /// Not a batch answer, and the batch asked nothing else: passed on whole.
    Whole(Served),
    /// Each call's answer (its place, the answer without `id`).
    Calls {
        answers: Vec<(usize, Bytes)>,
        backend: Arc<MemberCore>,
        upstream_time: Duration,
    },
}

/// The node call of a batch, with the flights it leads; owns everything it
/// needs so that it can run in a task of its own.
struct NodeCall {
    cache: Option<Arc<RouteCache>>,
    pool: Arc<UpstreamPool>,
    out: Outbound,
    asked: Vec<Asked>,
    whole: bool,
    leads: Vec<(usize, flight::Lead)>,
}

impl NodeCall {
    /// Sends the smaller batch (already in `out.body`), stores what may be
    /// stored, and finishes the flights it leads. On an error the flights it
    /// leads fail with it (dropped leads fail their waiters).
    async fn run(self) -> Result<NodeAnswer, Failed> {
        let NodeCall {
            cache,
            pool,
            out,
            asked,
            whole,
            mut leads,
        } = self;
        let (status, bytes, f) = ask_whole(&pool, out).await?;
        let mut answers: Vec<(usize, Bytes)> = Vec::with_capacity(asked.len());
        match serde_json::from_slice::<Vec<Box<RawValue>>>(&bytes) {
            Ok(raws) => {
                for raw in &raws {
                    let Some(a) = answer::split(raw) else {
                        continue;
                    };
                    let Some(i) = a.id.as_ref().and_then(|id| id.get().parse::<usize>().ok())
                    else {
                        continue;
                    };
                    let Some(call) = asked.iter().find(|c| c.index == i) else {
                        continue;
                    };
                    if answers.iter().any(|(j, _)| *j == i) {
                        continue;
                    }
                    let rest = Bytes::from(a.rest);
                    if let (true, Some((k, guard)), Some(c)) =
                        (status == StatusCode::OK, &call.store, &cache)
                    {
                        if a.ok {
                            c.store_answer(k, rest.clone(), a.null, *guard, &f.backend);
                        } else {
                            c.store_error(k, rest.clone(), *guard, &f.backend);
                        }
                    }
                    answers.push((i, rest));
                }
            }
            Err(_) if whole && !bytes.is_empty() => {
                // Not a batch answer (a node refusing batches, an HTTP
                // error) and nothing else to add: pass it on as it came.
                return Ok(NodeAnswer::Whole(Served {
                    response: json_response(status, bytes),
                    backend: Some(f.backend),
                    upstream_time: Some(f.upstream_time),
                    mark: cache.as_ref().map(|_| Mark::Miss),
                }));
            }
            // Only notifications were sent, or the node's answer is not
            // a batch: the calls it left unanswered say so below.
            Err(_) => {}
        }
        for (i, lead) in leads.drain(..) {
            lead.finish(match answers.iter().find(|(j, _)| *j == i) {
                Some((_, rest)) => Ok(flight::Answer {
                    status,
                    body: rest.clone(),
                    backend: f.backend.clone(),
                    upstream_time: f.upstream_time,
                }),
                None => Err((
                    Reject::new(Reason::UpstreamError, "the node did not answer this call"),
                    Some(f.backend.clone()),
                )),
            });
        }
        Ok(NodeAnswer::Calls {
            answers,
            backend: f.backend,
            upstream_time: f.upstream_time,
        })
    }
}

/// Whether the node that answered is behind the pool head the request saw
/// (or its head is unknown while the pool's is known).
fn behind(guard: Guard, backend: &MemberCore) -> bool {
    match (guard.head, backend.head()) {
        (Some(pool), Some(node)) => node < pool,
        (Some(_), None) => true,
        (None, _) => false,
    }
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
