//! The gateway's config tables as they are written in TOML.
//!
//! Every key is documented in docs/configuration.md with its default.

pub use crate::protocol::Protocol;
use nodeward_config::{ByteSize, Duration, Rate};
use serde::Deserialize;
use std::path::PathBuf;

/// The gateway's part of the config file.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct GatewayFile {
    /// Process-wide options (`[gateway]`).
    pub gateway: GlobalSection,
    /// Client-facing listeners (`[[listener]]`).
    pub listener: Vec<ListenerSection>,
    /// The admin listener (`[admin]`).
    pub admin: Option<AdminSection>,
    /// Pools of node backends (`[[upstream]]`).
    pub upstream: Vec<UpstreamSection>,
    /// Routes: which requests go where and under which policy (`[[route]]`).
    pub route: Vec<RouteSection>,
    /// Cluster mode on etcd (`[cluster]`; off when absent).
    pub cluster: Option<nodeward_cluster::ClusterConfig>,
}

/// `[gateway]`: limits and options that apply to every listener.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GlobalSection {
    /// Where state (admin token, later bans) lives.
    pub state_dir: PathBuf,
    /// Open client connections across all listeners.
    pub max_connections: usize,
    /// Open client connections from one source (IPv6 sources grouped by /64).
    pub max_connections_per_ip: usize,
    /// Time a client has to send a request's headers (also the HTTP/1 keep-alive idle limit).
    pub header_timeout: Duration,
    /// Time a client has to send a request's body once its headers arrived
    /// (one deadline for the whole body, not per read).
    pub body_timeout: Duration,
    /// A connection with no traffic and no request in flight for this long is closed.
    pub idle_timeout: Duration,
    /// On SIGTERM, how long in-flight requests may take to finish.
    pub drain_timeout: Duration,
    /// Largest request head (request line plus headers).
    pub max_header_size: ByteSize,
    /// Most header fields in one request.
    pub max_headers: usize,
    /// Accept HTTP/2 without TLS (h2c, prior knowledge) on plain listeners.
    pub h2c: bool,
    /// Concurrent HTTP/2 streams per connection.
    pub h2_max_concurrent_streams: u32,
    /// Sources whose X-Forwarded-For / -Proto headers are believed (CIDRs).
    pub trusted_proxies: Vec<String>,
    /// Sources that bypass rate limits and per-source connection caps (CIDRs).
    pub trusted: Vec<String>,
    /// When non-empty, only these sources may connect (CIDRs).
    pub allow_ips: Vec<String>,
    /// Sources refused at connect time (CIDRs).
    pub deny_ips: Vec<String>,
    /// Access log destination: "stdout", "stderr", "off" or a file path.
    pub access_log: String,
    /// Automatic bans of abusive sources (`[gateway.autoban]`).
    pub autoban: Option<AutobanSection>,
}

/// `[gateway.autoban]`: ban sources that keep getting refused.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AutobanSection {
    /// Violations within `window` that get a source banned.
    pub threshold: u32,
    /// The sliding window violations are counted over.
    pub window: Duration,
    /// First ban length.
    pub ban_for: Duration,
    /// Each repeat ban lasts this many times longer.
    pub growth: u32,
    /// Longest ban; also how long past offences are remembered.
    pub max_ban: Duration,
    /// Refusal reasons that count as violations.
    pub reasons: Vec<String>,
    /// Sources with a violation counter at once (least recently seen evicted).
    pub max_sources: usize,
    /// Bans kept at once (active bans are never evicted).
    pub max_bans: usize,
    /// Append each counted violation as a JSON line (`ts`, `client_ip`, `reason`)
    /// for `nodeward ban --log-format gateway`.
    pub violations_log: Option<std::path::PathBuf>,
}

impl Default for AutobanSection {
    fn default() -> Self {
        let secs = |s| Duration(std::time::Duration::from_secs(s));
        AutobanSection {
            threshold: 20,
            window: secs(60),
            ban_for: secs(300),
            growth: 2,
            max_ban: secs(7 * 86_400),
            reasons: [
                "denied_command",
                "rate_limited",
                "bad_json",
                "json_too_deep",
                "bad_command",
                "batch_too_large",
                "auth_failed",
                "bad_request",
                "too_many_connections",
            ]
            .iter()
            .map(|s| s.to_string())
            .collect(),
            max_sources: 100_000,
            max_bans: 100_000,
            violations_log: None,
        }
    }
}

impl Default for GlobalSection {
    fn default() -> Self {
        let secs = |s| Duration(std::time::Duration::from_secs(s));
        GlobalSection {
            state_dir: PathBuf::from("/var/lib/nodeward"),
            max_connections: 4096,
            max_connections_per_ip: 128,
            header_timeout: secs(10),
            body_timeout: secs(10),
            idle_timeout: secs(60),
            drain_timeout: secs(30),
            max_header_size: ByteSize(16 * 1024),
            max_headers: 64,
            h2c: false,
            h2_max_concurrent_streams: 128,
            trusted_proxies: Vec::new(),
            trusted: Vec::new(),
            allow_ips: Vec::new(),
            deny_ips: Vec::new(),
            access_log: "stdout".into(),
            autoban: None,
        }
    }
}

/// `[[listener]]`: one address clients connect to.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListenerSection {
    /// `IP:port` to bind.
    pub bind: String,
    /// Terminate TLS here with these PEM files or an ACME certificate.
    pub tls: Option<TlsSection>,
    /// Answer every request with a permanent redirect to HTTPS (and ACME
    /// HTTP-01 challenges); plain listeners only. Default false.
    #[serde(default)]
    pub redirect_https: bool,
}

/// `tls = { cert = "...", key = "..." }` or `tls = { acme = { ... } }` of a listener.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSection {
    /// PEM certificate chain, leaf first.
    pub cert: Option<PathBuf>,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: Option<PathBuf>,
    /// Obtain and renew the certificate from an ACME CA instead.
    pub acme: Option<AcmeSection>,
    /// `true` (default: staple when the certificate names an OCSP
    /// responder), `false` or `"off"`.
    pub ocsp_stapling: Option<OcspStapling>,
    /// Longest time between two OCSP queries (default: half the answer's validity).
    pub ocsp_refresh: Option<Duration>,
}

/// `ocsp_stapling = true | false | "off" | "on"`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum OcspStapling {
    /// `true` / `false`.
    Bool(bool),
    /// `"on"` / `"off"`.
    Word(String),
}

/// `acme = { domains = [...], contact = "mailto:...", directory = "...", ca = "..." }`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcmeSection {
    /// DNS names the certificate covers (first one is the subject).
    pub domains: Vec<String>,
    /// Account contact URL, e.g. `mailto:ops@example.org`.
    pub contact: Option<String>,
    /// ACME directory URL. Default: Let's Encrypt production.
    pub directory: Option<String>,
    /// PEM root certificate that the directory's HTTPS certificate chains to
    /// (a private or test CA); default: the system's trusted roots.
    pub ca: Option<PathBuf>,
    /// `"tls-alpn-01"` (default, on this listener) or `"http-01"` (needs a
    /// plain listener on port 80 with `redirect_https = true`).
    pub challenge: Option<String>,
}

/// `[admin]`: the metrics, status and reload listener.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AdminSection {
    /// `IP:port` to bind; loopback unless you also set a token.
    pub bind: String,
    /// File holding the bearer token (created with a random token, mode 0600, if missing).
    /// Default: `<state_dir>/admin.token`.
    pub token_file: Option<PathBuf>,
    /// Serve /metrics and /status without a token (reload always needs one).
    #[serde(default)]
    pub public_read: bool,
}

/// `[[upstream]]`: a named pool of node backends.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamSection {
    /// Name routes refer to.
    pub name: String,
    /// Backend base URLs (`http://host:port`, `https://host:port`), the short form.
    #[serde(default)]
    pub backends: Vec<String>,
    /// Backends with an id, weight and tags (`[[upstream.backend]]`).
    #[serde(default)]
    pub backend: Vec<BackendSection>,
    /// A TOML file of `[[backend]]` tables, watched and re-read when it changes.
    pub backends_file: Option<PathBuf>,
    /// Backends come from registration: the pool may start with none.
    #[serde(default)]
    pub dynamic: bool,
    /// Most backends in the pool (config, file and registered together).
    #[serde(default = "default_max_backends")]
    pub max_backends: usize,
    /// `round_robin`, `weighted`, `least_inflight` or `peak_ewma`.
    #[serde(default)]
    pub strategy: nodeward_balance::Strategy,
    /// Time to open a TCP connection (and finish TLS) to a backend.
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: Duration,
    /// Time a backend has to answer (response headers), unless a route or command overrides it.
    #[serde(default = "default_upstream_timeout")]
    pub timeout: Duration,
    /// Deadline of one attempt of a read-only request: after it, the request
    /// is asked of another backend (within `timeout`). Default: none.
    pub try_timeout: Option<Duration>,
    /// First passive ejection; each further one doubles, up to `max_eject_for`.
    #[serde(default = "default_eject")]
    pub eject_for: Duration,
    /// Longest passive ejection.
    #[serde(default = "default_max_eject")]
    pub max_eject_for: Duration,
    /// Failed requests in a row (5xx, timeouts, invalid answers) that eject
    /// a backend; one refused connection is enough.
    #[serde(default = "default_consecutive_failures")]
    pub consecutive_failures: u32,
    /// Largest share of the pool passive ejection takes out at once.
    #[serde(default = "default_share")]
    pub max_ejected_share: f64,
    /// Time over which a backend entering service ramps up to its full share.
    #[serde(default = "default_zero")]
    pub slow_start: Duration,
    /// Attempts per client request, all backends together (never-sent
    /// requests move on; sent ones are retried only when read-only).
    #[serde(default = "default_max_attempts")]
    pub max_attempts: u32,
    /// Retries may be at most this share of first attempts.
    #[serde(default = "default_retry_budget")]
    pub retry_budget: f64,
    /// Retries allowed per second whatever the traffic.
    #[serde(default = "default_min_retries")]
    pub min_retries_per_second: u32,
    /// Backend statuses a read-only request is retried on (another backend).
    #[serde(default = "default_retry_on_status")]
    pub retry_on_status: Vec<u16>,
    /// Idle keep-alive connections kept per backend.
    #[serde(default = "default_idle_per_backend")]
    pub max_idle_per_backend: usize,
    /// Most connections open to one backend at once; further requests wait
    /// (within their timeout) for one to free up.
    #[serde(default = "default_connections_per_backend")]
    pub max_connections_per_backend: usize,
    /// TLS to `https://` backends (`[upstream.tls]`).
    pub tls: Option<UpstreamTlsSection>,
    /// Active health checks (`[upstream.health]`).
    pub health: Option<HealthSection>,
    /// Hedging of read-only calls (`[upstream.hedge]`).
    pub hedge: Option<HedgeSection>,
}

/// `[[upstream.backend]]`: one backend with its id, weight and tags.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendSection {
    /// `http://host:port` or `https://host:port`.
    pub address: String,
    /// Stable id (default: `host:port`).
    pub id: Option<String>,
    /// Share for the `weighted` strategy (1-1000).
    #[serde(default = "default_weight")]
    pub weight: u32,
    /// Labels shown in /status.
    #[serde(default)]
    pub tags: Vec<String>,
    /// This backend's own thresholds (`max_lag`, `min_peers`, `min_version`).
    #[serde(default)]
    pub health: nodeward_balance::HealthOverrides,
}

/// `[upstream.tls]`: how `https://` backends are verified and whom we present.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpstreamTlsSection {
    /// PEM CA certificates the backends' certificates must chain to (default: the system roots).
    pub ca: Option<PathBuf>,
    /// PEM client certificate chain (mutual TLS).
    pub cert: Option<PathBuf>,
    /// PEM private key of the client certificate.
    pub key: Option<PathBuf>,
}

/// `[upstream.health]`: active checks of every backend.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthSection {
    /// `iri`, `jsonrpc`, `http`, `tcp` or `exec`.
    pub kind: String,
    /// Time between checks.
    #[serde(default = "default_check_interval")]
    pub interval: Duration,
    /// Deadline of one check.
    #[serde(default = "default_check_timeout")]
    pub timeout: Duration,
    /// Passes in a row that bring a critical backend back.
    #[serde(default = "default_rise")]
    pub rise: u32,
    /// Failures in a row that take a backend out.
    #[serde(default = "default_fall")]
    pub fall: u32,
    /// New backends serve before their first check passes.
    #[serde(default)]
    pub start_healthy: bool,
    /// Weight factor of a backend that warns.
    #[serde(default = "default_warn_weight")]
    pub warn_weight: f64,
    /// Largest share of the pool one check reason takes out.
    #[serde(default = "default_share")]
    pub max_ejected_share: f64,
    /// The pool is stalled when its head has not moved for this long.
    #[serde(default = "default_stall_after")]
    pub stall_after: Duration,
    /// Nodes that must reach a head for it to be the pool's head.
    pub quorum: Option<usize>,
    /// iri, jsonrpc: largest lag (milestones or blocks).
    pub max_lag: Option<u64>,
    /// iri, jsonrpc: lag above which the backend only warns.
    pub warn_lag: Option<u64>,
    /// iri, jsonrpc: how far above the pool's head a node may claim to be.
    pub max_ahead: Option<u64>,
    /// iri, jsonrpc: fewest neighbours or peers.
    pub min_peers: Option<u64>,
    /// iri: oldest appVersion.
    pub min_version: Option<String>,
    /// iri: commands the node itself must refuse when asked directly.
    #[serde(default)]
    pub restricted: Vec<String>,
    /// http: the path asked.
    pub path: Option<String>,
    /// http: statuses that pass.
    pub expect_status: Option<Vec<u16>>,
    /// http: a regex the body must match.
    pub expect_body: Option<String>,
    /// exec: the program and its arguments (`{address}`, `{host}`, `{port}`, `{id}` replaced).
    pub command: Option<Vec<String>>,
    /// exec: most output kept.
    pub max_output: Option<ByteSize>,
}

/// `[upstream.hedge]`: a second backend is asked when the first is slow.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HedgeSection {
    /// Hedge when the first attempt takes longer than this quantile of the
    /// command's recent upstream latency.
    #[serde(default = "default_hedge_quantile")]
    pub quantile: f64,
    /// Never hedge sooner than this.
    #[serde(default = "default_hedge_min_delay")]
    pub min_delay: Duration,
    /// Hedges may be at most this share of requests.
    #[serde(default = "default_hedge_budget")]
    pub budget: f64,
}

fn default_connections_per_backend() -> usize {
    128
}
fn default_max_backends() -> usize {
    256
}
fn default_weight() -> u32 {
    1
}
fn default_connect_timeout() -> Duration {
    Duration(std::time::Duration::from_secs(5))
}
fn default_upstream_timeout() -> Duration {
    Duration(std::time::Duration::from_secs(30))
}
fn default_eject() -> Duration {
    Duration(std::time::Duration::from_secs(5))
}
fn default_max_eject() -> Duration {
    Duration(std::time::Duration::from_secs(300))
}
fn default_zero() -> Duration {
    Duration(std::time::Duration::ZERO)
}
fn default_consecutive_failures() -> u32 {
    5
}
fn default_share() -> f64 {
    0.5
}
fn default_max_attempts() -> u32 {
    3
}
fn default_retry_budget() -> f64 {
    0.2
}
fn default_min_retries() -> u32 {
    10
}
fn default_retry_on_status() -> Vec<u16> {
    vec![502, 503, 504]
}
fn default_idle_per_backend() -> usize {
    256
}
fn default_check_interval() -> Duration {
    Duration(std::time::Duration::from_secs(5))
}
fn default_check_timeout() -> Duration {
    Duration(std::time::Duration::from_secs(2))
}
fn default_rise() -> u32 {
    2
}
fn default_fall() -> u32 {
    3
}
fn default_warn_weight() -> f64 {
    0.5
}
fn default_stall_after() -> Duration {
    Duration(std::time::Duration::from_secs(300))
}
fn default_hedge_quantile() -> f64 {
    0.9
}
fn default_hedge_min_delay() -> Duration {
    Duration(std::time::Duration::from_millis(10))
}
fn default_hedge_budget() -> f64 {
    0.1
}

/// `[[route]]`: requests under a path prefix, their upstream and policy.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RouteSection {
    /// Path prefix this route serves (longest prefix wins).
    #[serde(default = "default_path")]
    pub path: String,
    /// How the command is read.
    pub protocol: Protocol,
    /// Upstream name.
    pub upstream: String,
    /// Commands refused with 403 (case-insensitive; `prefix*` allowed).
    #[serde(default)]
    pub deny: Vec<String>,
    /// When set, only these commands pass (case-insensitive; `prefix*` allowed).
    pub allow: Option<Vec<String>>,
    /// Largest request body.
    #[serde(default = "default_max_body")]
    pub max_body: ByteSize,
    /// Deepest JSON nesting accepted.
    #[serde(default = "default_max_depth")]
    pub max_json_depth: usize,
    /// Most calls in one JSON-RPC batch.
    #[serde(default = "default_max_batch")]
    pub max_batch: usize,
    /// Requests (batch elements count one each) per source IP.
    pub per_ip_rate: Option<Rate>,
    /// Upstream timeout for this route (overrides the upstream's).
    pub timeout: Option<Duration>,
    /// Requests allowed in flight on this route at once.
    pub max_inflight: Option<usize>,
    /// Headers every request must carry (e.g. `X-IOTA-API-Version`).
    #[serde(default)]
    pub require_headers: Vec<String>,
    /// Sources allowed on this route (CIDRs; empty = all that reach the gateway).
    #[serde(default)]
    pub allow_ips: Vec<String>,
    /// Sources refused on this route (CIDRs).
    #[serde(default)]
    pub deny_ips: Vec<String>,
    /// Per-command settings.
    #[serde(default)]
    pub command: Vec<CommandSection>,
    /// The read cache's switch and bounds (`[route.cache]`).
    pub cache: Option<super::cache::RouteCacheSection>,
    /// Security headers added to every response of this route (`[route.response_headers]`).
    pub response_headers: Option<ResponseHeadersSection>,
    /// CORS for browser wallets (`[route.cors]`).
    pub cors: Option<CorsSection>,
    /// How API keys are presented and what needs one (`[route.auth]`).
    pub auth: Option<AuthSection>,
    /// API keys accepted on this route (`[[route.key]]`).
    #[serde(default)]
    pub key: Vec<KeySection>,
    /// Request bodies in the access log (`[route.log_body]`).
    pub log_body: Option<LogBodySection>,
    /// Regex rejects (`[route.reject]`).
    pub reject: Option<RejectSection>,
}

/// `[route.reject]`: requests matching any of these patterns get 403 `rejected_pattern`.
#[derive(Debug, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RejectSection {
    /// Regexes on the decoded path.
    pub path: Vec<String>,
    /// Header name -> regex on its value.
    pub headers: std::collections::BTreeMap<String, String>,
    /// Regexes on every decoded string (value or key) of a JSON body.
    pub args: Vec<String>,
}

/// `[route.log_body]`: the request body in the access log, redacted and capped.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogBodySection {
    /// Most bytes of (redacted) body text per line.
    pub max: ByteSize,
    /// Field names redacted in addition to the built-in list (case-insensitive, any depth).
    pub redact: Vec<String>,
    /// Commands whose bodies are not logged at all, in addition to the built-in list.
    pub omit: Vec<String>,
}

impl Default for LogBodySection {
    fn default() -> Self {
        LogBodySection {
            max: ByteSize(1024),
            redact: Vec::new(),
            omit: Vec::new(),
        }
    }
}

/// `[route.auth]`: where keys are read and which commands need one.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSection {
    /// Header carrying the key: `Authorization` (as `Bearer <key>`) or any other (the key as-is).
    pub header: String,
    /// Every request needs a valid key.
    pub required: bool,
    /// Commands only requests with a valid key may call.
    pub key_only: Vec<String>,
}

impl Default for AuthSection {
    fn default() -> Self {
        AuthSection {
            header: "Authorization".into(),
            required: false,
            key_only: Vec::new(),
        }
    }
}

/// `[[route.key]]`: one API key, stored as a salted hash.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySection {
    /// A name for the key (what logs and errors show; never the key).
    pub name: String,
    /// `sha256:<salt>:<digest>` as printed by `nodeward keys hash`.
    pub hash: String,
    /// When set, the only commands this key may call.
    pub commands: Option<Vec<String>>,
    /// Requests per period for this key (all its callers together).
    pub rate: Option<Rate>,
    /// Requests in flight with this key at once.
    pub max_inflight: Option<usize>,
}

/// Which header set `[route.response_headers]` starts from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum HeaderPreset {
    /// Strict headers for a JSON API (grades A+ in the MDN Observatory scoring).
    #[default]
    JsonApi,
    /// No headers: only the ones set explicitly.
    None,
}

/// `[route.response_headers]`: security headers on every response (proxied
/// and refusals). A key set to `""` leaves that header out.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ResponseHeadersSection {
    /// The starting set.
    pub preset: HeaderPreset,
    /// `Strict-Transport-Security` (sent on TLS connections only).
    pub strict_transport_security: Option<String>,
    /// `X-Content-Type-Options`.
    pub content_type_options: Option<String>,
    /// `Content-Security-Policy` (include `frame-ancestors`).
    pub content_security_policy: Option<String>,
    /// `Referrer-Policy`.
    pub referrer_policy: Option<String>,
    /// `Cross-Origin-Resource-Policy`.
    pub cross_origin_resource_policy: Option<String>,
    /// `X-Frame-Options`.
    pub frame_options: Option<String>,
    /// Remove the backend's `Server` and `X-Powered-By` banners.
    pub hide_server: bool,
}

impl Default for ResponseHeadersSection {
    fn default() -> Self {
        ResponseHeadersSection {
            preset: HeaderPreset::JsonApi,
            strict_transport_security: None,
            content_type_options: None,
            content_security_policy: None,
            referrer_policy: None,
            cross_origin_resource_policy: None,
            frame_options: None,
            hide_server: true,
        }
    }
}

/// `[route.cors]`: which browser origins may call this route.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CorsSection {
    /// Allowed origins (`"https://wallet.example"`), or `"*"` without credentials.
    pub allow_origins: Vec<String>,
    /// Send `Access-Control-Allow-Credentials: true` (never with `"*"`).
    #[serde(default)]
    pub allow_credentials: bool,
    /// Methods a preflight may ask for.
    #[serde(default = "default_cors_methods")]
    pub allow_methods: Vec<String>,
    /// Request headers a preflight may ask for (the route's required headers are added).
    #[serde(default = "default_cors_headers")]
    pub allow_headers: Vec<String>,
    /// Response headers the page may read.
    #[serde(default)]
    pub expose_headers: Vec<String>,
    /// How long a browser may cache a preflight answer.
    #[serde(default = "default_cors_max_age")]
    pub max_age: Duration,
}

fn default_cors_methods() -> Vec<String> {
    vec!["GET".into(), "POST".into()]
}
fn default_cors_headers() -> Vec<String> {
    vec!["Content-Type".into()]
}
fn default_cors_max_age() -> Duration {
    Duration(std::time::Duration::from_secs(600))
}

fn default_path() -> String {
    "/".into()
}
fn default_max_body() -> ByteSize {
    ByteSize(64 * 1024)
}
fn default_max_depth() -> usize {
    32
}
fn default_max_batch() -> usize {
    100
}

/// `[[route.command]]`: limits for one command.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandSection {
    /// Command name (case-insensitive).
    pub name: String,
    /// Requests of this command in flight at once (extra ones get 503 at once).
    pub max_inflight: Option<usize>,
    /// Upstream timeout for this command.
    pub timeout: Option<Duration>,
    /// Rate for all sources together.
    pub rate: Option<Rate>,
    /// Rate per source IP.
    pub per_ip_rate: Option<Rate>,
    /// Largest body for this command (checked after the route's max_body).
    pub max_body: Option<ByteSize>,
    /// Send this command to its own upstream pool (e.g. a dedicated PoW node).
    pub upstream: Option<String>,
    /// Whether a request of this command that reached a backend may be
    /// retried on another (default: true for the protocol's read-only commands).
    pub retry: Option<bool>,
    /// Whether this command is hedged when the pool hedges (default: when read-only).
    pub hedge: Option<bool>,
    /// Serve this command's answers from the read cache: a TTL or `"immutable"`.
    pub cache: Option<super::cache::CacheRule>,
    /// Serve these node error objects from the cache briefly (JSON-RPC).
    pub negative_cache: Option<super::cache::NegativeSection>,
}
