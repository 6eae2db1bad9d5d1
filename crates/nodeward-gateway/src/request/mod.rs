//! The request path: one client request, checked top to bottom, then
//! forwarded or refused.
//!
//! Order: route by path -> source allowed -> framing hygiene -> required
//! headers -> method and encoding -> body (size cap, one deadline) -> command
//! extraction -> policy (lists, rates, in-flight caps) -> upstream.

pub mod auth;
pub mod cache;
pub mod capture;
pub mod extract;
pub mod hygiene;
pub mod patterns;
pub mod policy;
pub mod read_body;
pub mod respond;
pub mod upstream_refusal;

use crate::addr::source_key;
use crate::body::Body;
use crate::config::Protocol;
use crate::log::AccessEntry;
use crate::metrics::CommandStats;
use crate::refusal::{Reason, Reject};
use crate::state::{Runtime, Shared};
use bytes::Bytes;
use extract::{ExtractError, Extraction};
use http::{header, Method, Request, Response};
use policy::RoutePolicy;
use std::convert::Infallible;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Instant;

/// What the gateway knows about the connection a request came on.
#[derive(Debug, Clone)]
pub struct ConnInfo {
    /// The TCP peer.
    pub peer: SocketAddr,
    /// Whether TLS was terminated on this connection.
    pub tls: bool,
}

impl ConnInfo {
    /// Describes a new connection from `peer`.
    pub fn new(peer: SocketAddr, tls: bool) -> Self {
        ConnInfo { peer, tls }
    }

    /// The peer's address as text (the X-Forwarded-For value and the
    /// access log's field), formatted for each request: kept for the
    /// connection's life it cost every idle connection about 70 bytes (the
    /// value, its shared-buffer header once cloned, and room in `ConnInfo`).
    pub fn peer_text(&self) -> http::HeaderValue {
        use std::io::Write;
        let mut text = [0u8; 64];
        let mut out = &mut text[..];
        let written = write!(out, "{}", crate::addr::canonical(self.peer.ip()));
        let len = 64 - out.len();
        written
            .ok()
            .and_then(|()| http::HeaderValue::from_bytes(&text[..len]).ok())
            .unwrap_or(http::HeaderValue::from_static("unknown"))
    }
}

/// The outcome of one request, for metrics and the access log.
struct Outcome {
    response: Response<Body>,
    reason: Option<Reason>,
    route: Option<usize>,
    stats: Option<Arc<CommandStats>>,
    command: Option<String>,
    calls: usize,
    backend: Option<(usize, Arc<nodeward_balance::MemberCore>)>,
    upstream_time: Option<std::time::Duration>,
    bytes_in: usize,
    body: Option<String>,
    cache: Option<cache::Mark>,
    /// A batch's calls, each with its own outcome (empty for single calls).
    elements: Vec<Element>,
}

/// One call of a JSON-RPC batch, for metrics and the access log: its
/// command, its stats handle and, when it was refused on its own, why.
pub struct Element {
    /// The command, lowercased.
    pub command: String,
    /// The command's counters.
    stats: Arc<CommandStats>,
    /// Why this call was refused, when it was.
    pub reason: Option<Reason>,
}

impl Outcome {
    fn rejected(reject: Reject, protocol: Option<Protocol>) -> Outcome {
        let reason = reject.reason;
        Outcome {
            response: reject.into_response(protocol),
            reason: Some(reason),
            route: None,
            stats: None,
            command: None,
            calls: 0,
            backend: None,
            upstream_time: None,
            bytes_in: 0,
            body: None,
            cache: None,
            elements: Vec::new(),
        }
    }
}

/// Serves one request: never fails; every refusal is a response. `B` is the
/// body of whichever server read the head (nodeward's HTTP/1 server or
/// hyper's HTTP/2 and TLS connections).
pub async fn serve<B>(
    shared: Arc<Shared>,
    conn: Arc<ConnInfo>,
    req: Request<B>,
) -> Result<Response<Body>, Infallible>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: std::fmt::Display,
{
    let started = Instant::now();
    let rt = shared.runtime.load_full();
    let client = hygiene::client_ip(conn.peer.ip(), req.headers(), &rt.global.trusted_proxies);
    let method = req.method().clone();
    let path: Option<String> = shared
        .access_log
        .enabled()
        .then(|| req.uri().path().chars().take(512).collect());
    let origin = if rt.reads_origin {
        req.headers().get(header::ORIGIN).cloned()
    } else {
        None
    };
    let mut outcome = if shared.bans.is_banned(client) {
        // Banned while this connection was open, or behind a trusted proxy.
        let mut o = Outcome::rejected(Reject::new(Reason::Banned, "this source is banned"), None);
        o.response
            .headers_mut()
            .insert(header::CONNECTION, http::HeaderValue::from_static("close"));
        o
    } else {
        process(&rt, &conn, client, req).await
    };
    if let (Some(ab), Some(reason)) = (&rt.global.autoban, outcome.reason) {
        if ab.counts(reason) && !rt.global.trusted.contains(client) {
            shared.bans.record(client, reason, ab);
        }
    }
    // Refusals made before a route was chosen (no route, ambiguous path,
    // banned source) carry the catch-all route's headers, if there is one.
    let respond_route = outcome
        .route
        .or_else(|| rt.routes.iter().position(|r| r.path == "/"));
    if let Some(policy) = respond_route.and_then(|i| rt.routes[i].respond.as_ref()) {
        policy.apply(outcome.response.headers_mut(), conn.tls, origin.as_ref());
    }
    let status = outcome.response.status().as_u16();
    let elapsed = started.elapsed();
    let route = outcome.route.map(|i| &rt.routes[i]);
    if let Some(reason) = outcome.reason {
        shared.metrics.rejected(reason);
    }
    let stats = outcome.stats.as_ref().or(route.map(|r| &r.none));
    if outcome.elements.is_empty() {
        if let Some(s) = stats {
            s.record(status, outcome.reason, elapsed);
        }
    }
    // A batch counts each call under its own command and outcome.
    for e in &outcome.elements {
        let Some(reason) = e.reason else {
            e.stats.record(status, None, elapsed);
            continue;
        };
        e.stats
            .record(reason.status().as_u16(), Some(reason), elapsed);
        shared.metrics.rejected(reason);
        if let Some(ab) = rt.global.autoban.as_ref().filter(|ab| ab.counts(reason)) {
            if !rt.global.trusted.contains(client) {
                shared.bans.record(client, reason, ab);
            }
        }
    }
    if shared.access_log.enabled() {
        let (upstream, backend) = match &outcome.backend {
            Some((u, b)) => (Some(rt.upstreams[*u].name()), Some(b.spec.id.as_str())),
            None => (None, None),
        };
        let peer_text = conn.peer_text();
        shared.access_log.write(&AccessEntry {
            client_ip: client,
            peer_ip: crate::addr::canonical(conn.peer.ip()),
            peer_text: peer_text.to_str().unwrap_or(""),
            method: method.as_str(),
            path: path.as_deref().unwrap_or(""),
            route: route.map(|r| r.path.as_str()),
            command: outcome.command.as_deref(),
            calls: outcome.calls,
            status,
            reason: outcome.reason.map(Reason::code),
            upstream,
            backend,
            duration: elapsed,
            upstream_time: outcome.upstream_time,
            bytes_in: outcome.bytes_in,
            body: outcome.body.as_deref(),
            cache: outcome.cache.map(cache::Mark::as_str),
            elements: &outcome.elements,
        });
    }
    Ok(outcome.response)
}

/// The route for a request path. Routing uses the decoded, lowercased path,
/// the same form REST policies compare, so `/API/..` or `/%61pi/..` cannot
/// fall through to a route with a weaker policy.
fn route_for<'a>(rt: &'a Runtime, path: &str) -> Result<Option<(usize, &'a RoutePolicy)>, Reject> {
    let normalized =
        extract::normalize_path(path).map_err(|e| Reject::new(Reason::BadPath, e.to_string()))?;
    Ok(rt
        .routes
        .iter()
        .enumerate()
        .find(|(_, r)| path_has_prefix(&normalized, &r.path_lower)))
}

/// Whether `path` is under the lowercase `prefix` at a segment boundary
/// (`/api` serves `/api/x` and `/API/x`, not `/apix`), ignoring ASCII case.
fn path_has_prefix(path: &str, prefix: &str) -> bool {
    path.len() >= prefix.len()
        && path.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
        && (prefix.ends_with('/')
            || path.len() == prefix.len()
            || path.as_bytes()[prefix.len()] == b'/')
}

async fn process<B>(rt: &Runtime, conn: &ConnInfo, client: IpAddr, req: Request<B>) -> Outcome
where
    B: http_body::Body<Data = Bytes>,
    B::Error: std::fmt::Display,
{
    let (route_idx, route) = match route_for(rt, req.uri().path()) {
        Ok(Some(found)) => found,
        Ok(None) => {
            return Outcome::rejected(
                Reject::new(Reason::NoRoute, "no route serves this path"),
                None,
            )
        }
        Err(reject) => return Outcome::rejected(reject, None),
    };
    let protocol = Some(route.protocol);
    let mut notes = Notes::default();
    let mut outcome = match admit_and_forward(rt, route, conn, client, req, &mut notes).await {
        Ok(o) => o,
        Err((reject, partial)) => {
            let mut o = Outcome::rejected(reject, protocol);
            o.backend = notes.backend.take();
            o.bytes_in = notes.bytes_in;
            if let Some(p) = partial {
                o.stats = Some(route.entry(&p.calls[0].command).stats.clone());
                o.command = Some(p.calls[0].command.clone());
                o.calls = p.calls.len();
            }
            o
        }
    };
    outcome.route = Some(route_idx);
    outcome.body = notes.captured;
    outcome
}

type Refusal = (Reject, Option<Extraction>);

async fn admit_and_forward<B>(
    rt: &Runtime,
    route: &RoutePolicy,
    conn: &ConnInfo,
    client: IpAddr,
    req: Request<B>,
    notes: &mut Notes,
) -> Result<Outcome, Refusal>
where
    B: http_body::Body<Data = Bytes>,
    B::Error: std::fmt::Display,
{
    let no_cmd = |r: Reject| (r, None);
    if !route.source_allowed(client) {
        return Err(no_cmd(Reject::new(
            Reason::IpDenied,
            "this source may not use this route",
        )));
    }
    if let Some(answer) = route.respond.as_ref().and_then(|p| p.preflight(&req)) {
        let response = answer.map_err(no_cmd)?;
        return Ok(Outcome {
            response,
            reason: None,
            route: None,
            stats: None,
            command: None,
            calls: 0,
            backend: None,
            upstream_time: None,
            bytes_in: 0,
            body: None,
            cache: None,
            elements: Vec::new(),
        });
    }
    let (mut parts, incoming) = req.into_parts();
    let h2 = parts.version == http::Version::HTTP_2;
    hygiene::check_framing(&parts.headers).map_err(no_cmd)?;
    if let Some(missing) = route
        .require_headers
        .iter()
        .find(|h| !parts.headers.contains_key(*h))
    {
        return Err(no_cmd(Reject::new(
            Reason::MissingHeader,
            format!("the {missing} header is required"),
        )));
    }
    if let Some(rejects) = &route.reject {
        let decoded = extract::normalize_path(parts.uri.path())
            .map_err(|e| no_cmd(Reject::new(Reason::BadPath, e.to_string())))?;
        rejects
            .check_head(&decoded, &parts.headers)
            .map_err(no_cmd)?;
    }
    let key = match &route.auth {
        Some(ring) => {
            let key = ring.authenticate(&parts.headers).map_err(no_cmd)?;
            // The key is the gateway's business: the node never sees it.
            parts.headers.remove(ring.header());
            key
        }
        None => None,
    };
    if route.protocol != Protocol::Rest && parts.method != Method::POST {
        return Err(no_cmd(Reject::new(
            Reason::MethodNotAllowed,
            "only POST is accepted here",
        )));
    }
    if let Some(enc) = parts.headers.get(header::CONTENT_ENCODING) {
        if !enc.as_bytes().eq_ignore_ascii_case(b"identity") {
            return Err(no_cmd(Reject::new(
                Reason::UnsupportedEncoding,
                "compressed request bodies are not accepted",
            )));
        }
    }
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > route.max_body as u64) {
        return Err(no_cmd(Reject::new(
            Reason::BodyTooLarge,
            format!("the request body is larger than {} bytes", route.max_body),
        )));
    }
    let deadline = tokio::time::Instant::now() + rt.global.body_timeout;
    let body = read_body::read_limited(incoming, route.max_body, deadline)
        .await
        .map_err(no_cmd)?;
    notes.bytes_in = body.len();
    let extraction = match route.protocol {
        Protocol::Iri => extract::extract_iri(&body, route.max_json_depth),
        Protocol::Jsonrpc => extract::extract_jsonrpc(&body, route.max_json_depth, route.max_batch),
        Protocol::Rest => extract::extract_rest(&parts.method, parts.uri.path()),
    }
    .map_err(|e| no_cmd(extract_reject(e)));
    if let Some(capture) = &route.log_body {
        let calls = extraction.as_ref().ok().map(|e| e.calls.as_slice());
        notes.captured = Some(capture.capture(&body, calls));
    }
    let extraction = extraction?;
    if let Some(rejects) = route.reject.as_ref().filter(|r| r.checks_args()) {
        if let Err(mut r) = rejects.check_args(&body) {
            r.id = extraction.calls[0].id.clone();
            return Err((r, Some(extraction)));
        }
    }
    // Only the cache needs the key's name past this point.
    let key_name = route.cache.as_ref().and(key).map(|k| k.name.clone());
    let key_permit = match &route.auth {
        Some(ring) => match ring.admit(key, extraction.calls.iter().map(|c| c.command.as_str())) {
            Ok(p) => p,
            Err(mut r) => {
                r.id = extraction.calls[0].id.clone();
                return Err((r, Some(extraction)));
            }
        },
        None => None,
    };
    let trusted = rt.global.trusted.contains(client);
    let mut admission = match route.admit(
        &extraction.calls,
        extraction.batch,
        body.len(),
        source_key(client),
        trusted,
    ) {
        Ok(a) => a,
        Err(r) => return Err((r, Some(extraction))),
    };
    admission.permits.extend(key_permit);
    let refused = std::mem::take(&mut admission.refused);
    let elements: Vec<Element> = if extraction.batch {
        let mut elements: Vec<Element> = extraction
            .calls
            .iter()
            .map(|c| Element {
                command: c.command.clone(),
                stats: route.entry(&c.command).stats.clone(),
                reason: None,
            })
            .collect();
        for (i, r) in &refused {
            elements[*i].reason = Some(r.reason);
        }
        elements
    } else {
        Vec::new()
    };
    let entry = route.entry(&extraction.calls[0].command).clone();
    hygiene::strip_hop_by_hop(&mut parts.headers);
    parts.headers.remove(header::CONTENT_LENGTH);
    if !parts.headers.contains_key(header::HOST) {
        // HTTP/2 carries the host as :authority, which is in the URI.
        if let Some(v) = parts
            .uri
            .authority()
            .and_then(|a| http::HeaderValue::from_str(a.as_str()).ok())
        {
            parts.headers.insert(header::HOST, v);
        }
    }
    let peer_trusted = rt.global.trusted_proxies.contains(conn.peer.ip());
    hygiene::set_forwarded(&mut parts.headers, conn.peer_text(), conn.tls, peer_trusted);
    let pq = parts
        .uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/"));
    let upstream = admission.upstream;
    let pool = &rt.upstreams[upstream];
    let (hedge_after, min_block) = {
        let settings = pool.settings();
        let hedge_after = match (&settings.hedge, admission.hedge) {
            (Some(h), true) => entry
                .stats
                .upstream_latency
                .quantile(h.quantile, HEDGE_MIN_SAMPLES)
                .map(|q| q.max(h.min_delay)),
            _ => None,
        };
        // Block numbers matter only where checks report the nodes' heads.
        let min_block = if route.protocol == Protocol::Jsonrpc && settings.tracks_heads() {
            extract::blocks::highest_block(&body, &extraction.calls)
        } else {
            None
        };
        (hedge_after, min_block)
    };
    let bytes_in = body.len();
    let prepared = route.cache.as_ref().and_then(|c| {
        let variant = cache_variant(&parts.headers, key_name.as_deref());
        let commands: Vec<&str> = extraction
            .calls
            .iter()
            .map(|c| c.command.as_str())
            .collect();
        let chain = (route.protocol == Protocol::Jsonrpc)
            .then(|| &rt.upstreams[admission.upstream].balance.health);
        c.prepare(
            route.protocol,
            &body,
            &commands,
            extraction.batch,
            &variant,
            chain,
        )
        .map(|p| (c, p))
    });
    // A batch with calls refused on their own is answered per call: the
    // cache's batch assembly, with or without a cache on the route.
    let prepared = match prepared {
        _ if refused.is_empty() => prepared.map(|(c, p)| (Some(c), p)),
        Some((c, p)) => Some((Some(c), p)),
        None => cache::Prepared::batch(&body).map(|p| (None, p)),
    }
    .map(|(c, mut p)| {
        for (i, r) in &refused {
            p.refuse(*i, Bytes::from(r.jsonrpc_element()));
        }
        (c, p)
    });
    if prepared.is_none() {
        // A batch the assembly cannot take apart (extraction read it, so
        // this should not happen) is never forwarded with its refused calls.
        if let Some((_, first)) = refused.into_iter().next() {
            return Err((first, Some(extraction)));
        }
    }
    let outbound = crate::upstream::Outbound {
        method: parts.method,
        target: pq,
        headers: parts.headers,
        body,
        timeout: admission.timeout,
        permits: admission.permits,
        read_only: admission.read_only,
        hedge_after,
        jsonrpc: route.protocol == Protocol::Jsonrpc,
        min_block,
    };
    if h2 {
        // hyper drops an HTTP/2 request's future when the client resets its
        // stream, but checks for the reset only once the future is pending:
        // without this, a stream reset while its request was being read
        // and checked could still go to the node in the same poll.
        tokio::task::yield_now().await;
    }
    let inflight = InflightGauge::new(&entry.stats);
    if let Some((cache, prepared)) = prepared {
        // The read cache's one hook: it answers, shares or forwards.
        let served = match cache {
            Some(cache) => cache.serve(prepared, pool.clone(), outbound).await,
            None => cache::serve_batch(None, prepared, pool.clone(), outbound).await,
        };
        drop(inflight);
        return match served {
            Ok(s) => {
                if let Some(t) = s.upstream_time {
                    entry.stats.upstream_latency.observe(t);
                }
                Ok(Outcome {
                    response: s.response,
                    reason: None,
                    route: None,
                    stats: Some(entry.stats.clone()),
                    command: Some(extraction.calls[0].command.clone()),
                    calls: extraction.calls.len(),
                    backend: s.backend.map(|b| (upstream, b)),
                    upstream_time: s.upstream_time,
                    bytes_in,
                    body: None,
                    cache: s.mark,
                    elements,
                })
            }
            Err((reject, backend)) => {
                notes.backend = backend.map(|b| (upstream, b));
                Err((reject, Some(extraction)))
            }
        };
    }
    let result = crate::upstream::forward(pool, outbound).await;
    drop(inflight);
    match result {
        Ok(f) => {
            entry.stats.upstream_latency.observe(f.upstream_time);
            Ok(Outcome {
                response: f.response,
                reason: None,
                route: None,
                stats: Some(entry.stats.clone()),
                command: Some(extraction.calls[0].command.clone()),
                calls: extraction.calls.len(),
                backend: Some((upstream, f.backend)),
                upstream_time: Some(f.upstream_time),
                bytes_in,
                body: None,
                cache: None,
                elements,
            })
        }
        Err(e) => {
            let mut reject = upstream_refusal::refusal(&e.failure);
            reject.id = extraction.calls[0].id.clone();
            notes.backend = e.backend.map(|b| (upstream, b));
            Err((reject, Some(extraction)))
        }
    }
}

/// The request's parts that change a cached answer besides the call: the
/// API key's identity (keys may select pools or limits) and the IRI API
/// version header.
fn cache_variant(headers: &http::HeaderMap, key: Option<&str>) -> Vec<u8> {
    let mut out = Vec::new();
    if let Some(k) = key {
        out.extend_from_slice(b"key=");
        out.extend_from_slice(k.as_bytes());
    }
    for v in headers.get_all("x-iota-api-version") {
        out.extend_from_slice(b"\x01v=");
        out.extend_from_slice(v.as_bytes());
    }
    out
}

/// Latency observations a command needs before its quantile decides hedging.
const HEDGE_MIN_SAMPLES: u64 = 20;

/// What a request leaves behind besides its answer, for the access log.
#[derive(Default)]
struct Notes {
    /// The captured body.
    captured: Option<String>,
    /// The backend that failed last.
    backend: Option<(usize, Arc<nodeward_balance::MemberCore>)>,
    /// Body bytes read (for refusals made after reading it).
    bytes_in: usize,
}

/// Counts a command as in flight while the upstream call is pending.
struct InflightGauge<'a>(&'a CommandStats);

impl<'a> InflightGauge<'a> {
    fn new(stats: &'a CommandStats) -> Self {
        stats
            .inflight
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        InflightGauge(stats)
    }
}

impl Drop for InflightGauge<'_> {
    fn drop(&mut self) {
        self.0
            .inflight
            .fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

fn extract_reject(e: ExtractError) -> Reject {
    let reason = match &e {
        ExtractError::BadJson(_) => Reason::BadJson,
        ExtractError::TooDeep(_) => Reason::JsonTooDeep,
        ExtractError::MissingCommand(_) => Reason::MissingCommand,
        ExtractError::DuplicateCommand(_) | ExtractError::BadCommand(_) => Reason::BadCommand,
        ExtractError::BatchTooLarge(_) => Reason::BatchTooLarge,
        ExtractError::BadPath(_) => Reason::BadPath,
    };
    Reject::new(reason, e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_match_at_segment_boundaries() {
        assert!(path_has_prefix("/", "/"));
        assert!(path_has_prefix("/api/v1", "/api"));
        assert!(path_has_prefix("/api", "/api"));
        assert!(!path_has_prefix("/apix", "/api"));
        assert!(path_has_prefix("/api/x", "/api/"));
        assert!(path_has_prefix("/API/x", "/api"));
        assert!(!path_has_prefix("/ap", "/api"));
    }
}
