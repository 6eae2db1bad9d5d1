//! The policy a route applies to the commands of a request: allow/deny lists,
//! body caps, rate limits and in-flight caps, globally and per command.
//!
//! [`RoutePolicy`] is compiled once per config load; [`RoutePolicy::admit`]
//! runs per request and either refuses with a [`Reject`] or returns an
//! [`Admission`] whose permits are held until the response is complete.

pub mod cluster_rate;
pub mod commands;
pub mod rate;

use crate::addr::IpSet;
use crate::config::{Protocol, Route};
use crate::metrics::{CommandStats, Metrics, NONE, OTHER};
use crate::refusal::{Reason, Reject};
use crate::request::extract::Call;
use commands::CommandSet;
use rustc_hash::FxHashMap as HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// IRI API commands that get their own metrics label even when unconfigured.
const IRI_COMMANDS: [&str; 19] = [
    "getnodeinfo",
    "getneighbors",
    "addneighbors",
    "removeneighbors",
    "gettips",
    "findtransactions",
    "gettrytes",
    "getinclusionstates",
    "getbalances",
    "gettransactionstoapprove",
    "attachtotangle",
    "interruptattachingtotangle",
    "broadcasttransactions",
    "storetransactions",
    "getmissingtransactions",
    "checkconsistency",
    "wereaddressesspentfrom",
    "getnodeapiconfiguration",
    "getlatestsolidsubtanglemilestone",
];

/// JSON-RPC namespaces (lowercase) that get their own metrics label,
/// `<namespace>_*`, for methods the config does not name: a fixed list, so
/// probing cannot grow the label set.
pub const JSONRPC_NAMESPACES: [&str; 20] = [
    "admin",
    "bor",
    "clique",
    "db",
    "debug",
    "engine",
    "erigon",
    "eth",
    "flashbots",
    "les",
    "miner",
    "net",
    "ots",
    "parity",
    "personal",
    "rpc",
    "shh",
    "trace",
    "txpool",
    "web3",
];

/// A batch whose calls would go to different upstream pools cannot be sent as one.
fn mixed_upstreams(call: &Call) -> Reject {
    let mut r = Reject::new(
        Reason::BadCommand,
        format!(
            "{} goes to another upstream than the rest of the batch; send it on its own",
            call.command
        ),
    );
    r.id = call.id.clone();
    r
}

/// A command's metrics handle and, when configured, its own limits.
pub struct CommandEntry {
    /// Metrics label.
    pub label: String,
    /// Counters.
    pub stats: Arc<CommandStats>,
    limits: Option<CommandLimitsRt>,
}

struct CommandLimitsRt {
    inflight: Option<Arc<Semaphore>>,
    timeout: Option<Duration>,
    rate: Option<rate::Global>,
    per_ip: Option<rate::PerSource>,
    max_body: Option<usize>,
    upstream: Option<usize>,
    retry: Option<bool>,
    hedge: Option<bool>,
}

/// What an admitted request carries along: in-flight permits (released when
/// the response completes), the upstream timeout, and the commands' entries.
pub struct Admission {
    /// Permits of every in-flight cap the request counts against.
    pub permits: Vec<OwnedSemaphorePermit>,
    /// The upstream timeout for this request.
    pub timeout: Duration,
    /// The upstream pool the request goes to (a command's own, or the route's).
    pub upstream: usize,
    /// Whether every call only reads, so it may be sent to a second backend.
    pub read_only: bool,
    /// Whether it may be hedged (read-only, and no command opts out).
    pub hedge: bool,
    /// Calls of a batch refused on their own (position, refusal); the rest
    /// go to the node. Always empty for a single call.
    pub refused: Vec<(usize, Reject)>,
}

/// A route's compiled policy.
pub struct RoutePolicy {
    /// The route's protocol.
    pub protocol: Protocol,
    /// Path prefix.
    pub path: String,
    /// Path prefix, lowercased (what routing compares).
    pub path_lower: String,
    /// Index of the route's upstream.
    pub upstream: usize,
    /// Body cap.
    pub max_body: usize,
    /// JSON depth cap.
    pub max_json_depth: usize,
    /// Batch cap.
    pub max_batch: usize,
    /// Required headers.
    pub require_headers: Vec<http::HeaderName>,
    /// Route source allow-list.
    pub allow_ips: IpSet,
    /// Route source deny-list.
    pub deny_ips: IpSet,
    deny: CommandSet,
    allow: Option<CommandSet>,
    per_ip: Option<rate::PerSource>,
    inflight: Option<Arc<Semaphore>>,
    timeout: Duration,
    entries: HashMap<String, Arc<CommandEntry>>,
    /// JSON-RPC namespaces' entries (`personal_*`...), for methods the
    /// config does not name.
    namespaces: HashMap<&'static str, Arc<CommandEntry>>,
    other: Arc<CommandEntry>,
    /// Stats for requests refused before a command was read.
    pub none: Arc<CommandStats>,
    /// Security/CORS headers for responses, when configured.
    pub respond: Option<crate::request::respond::ResponsePolicy>,
    /// API keys, when configured.
    pub auth: Option<crate::request::auth::KeyRing>,
    /// Body capture for the access log, when configured.
    pub log_body: Option<crate::request::capture::BodyCapture>,
    /// Regex rejects, when configured.
    pub reject: Option<crate::request::patterns::Rejects>,
    /// The read cache, when the route caches some command.
    pub cache: Option<Arc<crate::request::cache::RouteCache>>,
}

impl RoutePolicy {
    /// Compiles a checked route.
    pub fn compile(route: &Route, metrics: &Metrics) -> Self {
        let deny = CommandSet::new(&route.deny);
        let allow = route.allow.as_ref().map(|a| CommandSet::new(a));
        let mut labels: Vec<String> = deny.exact_names().map(str::to_string).collect();
        if let Some(a) = &allow {
            labels.extend(a.exact_names().map(str::to_string));
        }
        if route.protocol == Protocol::Iri {
            labels.extend(IRI_COMMANDS.iter().map(|s| s.to_string()));
        }
        let entry = |label: &str, limits| {
            Arc::new(CommandEntry {
                label: label.to_string(),
                stats: metrics.command(label),
                limits,
            })
        };
        let mut entries = HashMap::default();
        for label in labels {
            entries.insert(label.clone(), entry(&label, None));
        }
        for c in &route.commands {
            let limits = CommandLimitsRt {
                inflight: c.max_inflight.map(|n| Arc::new(Semaphore::new(n))),
                timeout: c.timeout,
                rate: c
                    .rate
                    .map(|r| rate::Global::named(r, &format!("{} {} rate", route.path, c.name))),
                per_ip: c.per_ip_rate.map(|r| {
                    rate::PerSource::named(r, &format!("{} {} per_ip", route.path, c.name))
                }),
                max_body: c.max_body,
                upstream: c.upstream,
                retry: c.retry,
                hedge: c.hedge,
            };
            entries.insert(c.name.clone(), entry(&c.name, Some(limits)));
        }
        let namespaces = match route.protocol {
            Protocol::Jsonrpc => JSONRPC_NAMESPACES
                .iter()
                .map(|ns| (*ns, entry(&format!("{ns}_*"), None)))
                .collect(),
            _ => HashMap::default(),
        };
        RoutePolicy {
            protocol: route.protocol,
            path: route.path.clone(),
            path_lower: route.path.to_ascii_lowercase(),
            upstream: route.upstream,
            max_body: route.max_body,
            max_json_depth: route.max_json_depth,
            max_batch: route.max_batch,
            require_headers: route.require_headers.clone(),
            allow_ips: route.allow_ips.clone(),
            deny_ips: route.deny_ips.clone(),
            deny,
            allow,
            per_ip: route
                .per_ip_rate
                .map(|r| rate::PerSource::named(r, &format!("{} per_ip", route.path))),
            inflight: route.max_inflight.map(|n| Arc::new(Semaphore::new(n))),
            timeout: route.timeout,
            entries,
            namespaces,
            other: entry(OTHER, None),
            none: metrics.command(NONE),
            respond: crate::request::respond::ResponsePolicy::new(
                route.security_headers.clone(),
                route.cors.clone(),
            ),
            auth: route.auth.as_ref().map(crate::request::auth::KeyRing::new),
            log_body: route.log_body.clone(),
            reject: route.reject.clone(),
            cache: route
                .cache
                .as_ref()
                .map(|c| Arc::new(crate::request::cache::RouteCache::new(c))),
        }
    }

    /// The entry (metrics label and limits) for a lowercase command.
    /// A JSON-RPC method the config does not name counts under its
    /// namespace when that is a known one (`debug_*`), else under `other`.
    pub fn entry(&self, command: &str) -> &Arc<CommandEntry> {
        if let Some(e) = self.entries.get(command) {
            return e;
        }
        command
            .split_once('_')
            .and_then(|(ns, _)| self.namespaces.get(ns))
            .unwrap_or(&self.other)
    }

    /// Whether the source may use this route at all.
    pub fn source_allowed(&self, ip: IpAddr) -> bool {
        !self.deny_ips.contains(ip) && (self.allow_ips.is_empty() || self.allow_ips.contains(ip))
    }

    /// Applies the route's policy to the calls of one request.
    ///
    /// `source` is the per-source key (IPv6 /64); `trusted` sources skip rate
    /// limits but not command lists or in-flight caps (those protect the node).
    /// In a `batch`, a denied or rate-limited call is refused on its own (in
    /// [`Admission::refused`]) and the rest go on; a single call is refused
    /// whole, as are size caps, source rates and in-flight caps.
    pub fn admit(
        &self,
        calls: &[Call],
        batch: bool,
        body_len: usize,
        source: IpAddr,
        trusted: bool,
    ) -> Result<Admission, Reject> {
        let refuse = |reason, detail: String, call: &Call| {
            let mut r = Reject::new(reason, detail);
            r.id = call.id.clone();
            r
        };
        // Per call of a batch: still wanted (not refused on its own).
        let mut wanted: Vec<bool> = if batch {
            vec![true; calls.len()]
        } else {
            Vec::new()
        };
        let mut refused = Vec::new();
        let mut element = |i: usize, r: Reject, wanted: &mut Vec<bool>| {
            if !batch {
                return Err(r);
            }
            wanted[i] = false;
            refused.push((i, r));
            Ok(())
        };
        for (i, call) in calls.iter().enumerate() {
            let listed = self.deny.matches(&call.command)
                || self
                    .allow
                    .as_ref()
                    .is_some_and(|a| !a.matches(&call.command));
            if listed {
                let r = refuse(
                    Reason::DeniedCommand,
                    format!("command {} is not allowed", call.command),
                    call,
                );
                element(i, r, &mut wanted)?;
                continue;
            }
            if let Some(max) = self
                .entry(&call.command)
                .limits
                .as_ref()
                .and_then(|l| l.max_body)
            {
                if body_len > max {
                    return Err(refuse(
                        Reason::BodyTooLarge,
                        format!(
                            "the body is larger than {max} bytes allowed for {}",
                            call.command
                        ),
                        call,
                    ));
                }
            }
        }
        let is_wanted = |wanted: &[bool], i: usize| wanted.get(i).copied().unwrap_or(true);
        let n = (0..calls.len()).filter(|&i| is_wanted(&wanted, i)).count();
        if !trusted && n > 0 {
            if let Some(limit) = &self.per_ip {
                if !limit.allow(source, u32::try_from(n).unwrap_or(u32::MAX)) {
                    return Err(Reject::new(
                        Reason::RateLimited,
                        "too many requests from this source",
                    ));
                }
            }
            for (i, call) in calls.iter().enumerate() {
                if !is_wanted(&wanted, i) {
                    continue;
                }
                if let Some(l) = &self.entry(&call.command).limits {
                    if l.rate.as_ref().is_some_and(|r| !r.allow(1))
                        || l.per_ip.as_ref().is_some_and(|r| !r.allow(source, 1))
                    {
                        let r = refuse(
                            Reason::RateLimited,
                            format!("too many {} requests", call.command),
                            call,
                        );
                        element(i, r, &mut wanted)?;
                    }
                }
            }
        }
        let kept = || {
            calls
                .iter()
                .enumerate()
                .filter(|(i, _)| is_wanted(&wanted, *i))
                .map(|(_, c)| c)
        };
        let mut permits = Vec::new();
        if let (Some(sem), true) = (&self.inflight, kept().next().is_some()) {
            permits.push(sem.clone().try_acquire_owned().map_err(|_| {
                Reject::new(
                    Reason::InflightCap,
                    "too many requests in flight on this route",
                )
            })?);
        }
        let mut timeout = None::<Duration>;
        let mut upstream = None::<usize>;
        for (i, call) in kept().enumerate() {
            let Some(l) = &self.entry(&call.command).limits else {
                if upstream.is_some_and(|u| u != self.upstream) {
                    return Err(mixed_upstreams(call));
                }
                upstream = Some(self.upstream);
                continue;
            };
            let wanted = l.upstream.unwrap_or(self.upstream);
            if upstream.is_some_and(|u| u != wanted) {
                return Err(mixed_upstreams(call));
            }
            upstream = Some(wanted);
            if let Some(t) = l.timeout {
                timeout = Some(timeout.map_or(t, |cur| cur.min(t)));
            }
            // A command repeated in a batch takes its permits once, for all its calls.
            if kept().take(i).any(|c| c.command == call.command) {
                continue;
            }
            if let Some(sem) = &l.inflight {
                let count = kept().filter(|c| c.command == call.command).count();
                let count = u32::try_from(count).unwrap_or(u32::MAX);
                permits.push(sem.clone().try_acquire_many_owned(count).map_err(|_| {
                    refuse(
                        Reason::InflightCap,
                        format!("too many {} requests in flight", call.command),
                        call,
                    )
                })?);
            }
        }
        let read_only = kept().all(|c| self.is_read_only(&c.command));
        let hedge = read_only
            && kept().all(|c| {
                self.entry(&c.command).limits.as_ref().and_then(|l| l.hedge) != Some(false)
            });
        Ok(Admission {
            permits,
            timeout: timeout.unwrap_or(self.timeout),
            upstream: upstream.unwrap_or(self.upstream),
            read_only,
            hedge,
            refused,
        })
    }

    /// Whether a command only reads: the command's `retry` setting, or the
    /// protocol's list.
    pub fn is_read_only(&self, command: &str) -> bool {
        self.entry(command)
            .limits
            .as_ref()
            .and_then(|l| l.retry)
            .unwrap_or_else(|| self.protocol.is_read_only(command))
    }

    /// Periodic upkeep: forget idle sources in per-source limiters.
    pub fn sweep(&self) {
        if let Some(p) = &self.per_ip {
            p.sweep();
        }
        for e in self.entries.values() {
            if let Some(p) = e.limits.as_ref().and_then(|l| l.per_ip.as_ref()) {
                p.sweep();
            }
        }
    }
}
