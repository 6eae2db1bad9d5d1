//! Checks what serde cannot and produces the checked [`GatewayConfig`].

use super::file::*;
use super::upstream::Upstream;
use crate::addr::IpSet;
use nodeward_config::{load_sections, read_config_file, ConfigError, Rate};
use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// A fully checked gateway configuration.
#[derive(Debug)]
pub struct GatewayConfig {
    /// The file it came from (for messages and reload).
    pub source: PathBuf,
    /// `[gateway]` with parsed address sets.
    pub global: Global,
    /// Client listeners.
    pub listeners: Vec<Listener>,
    /// Admin listener, if configured.
    pub admin: Option<Admin>,
    /// Upstream pools.
    pub upstreams: Vec<Upstream>,
    /// Routes, longest path prefix first.
    pub routes: Vec<Route>,
    /// Cluster mode (`[cluster]`), with file paths resolved.
    pub cluster: Option<nodeward_cluster::ClusterConfig>,
}

/// Checked `[gateway]`.
#[derive(Debug, Clone)]
pub struct Global {
    /// See [`GlobalSection::state_dir`].
    pub state_dir: PathBuf,
    /// See [`GlobalSection::max_connections`].
    pub max_connections: usize,
    /// See [`GlobalSection::max_connections_per_ip`].
    pub max_connections_per_ip: usize,
    /// See [`GlobalSection::header_timeout`].
    pub header_timeout: Duration,
    /// See [`GlobalSection::body_timeout`].
    pub body_timeout: Duration,
    /// See [`GlobalSection::idle_timeout`].
    pub idle_timeout: Duration,
    /// See [`GlobalSection::drain_timeout`].
    pub drain_timeout: Duration,
    /// See [`GlobalSection::max_header_size`].
    pub max_header_size: usize,
    /// See [`GlobalSection::max_headers`].
    pub max_headers: usize,
    /// See [`GlobalSection::h2c`].
    pub h2c: bool,
    /// See [`GlobalSection::h2_max_concurrent_streams`].
    pub h2_max_concurrent_streams: u32,
    /// Sources whose forwarding headers are believed.
    pub trusted_proxies: IpSet,
    /// Sources that bypass rate limits and per-source connection caps.
    pub trusted: IpSet,
    /// When non-empty, only these sources may connect.
    pub allow_ips: IpSet,
    /// Sources refused at connect time.
    pub deny_ips: IpSet,
    /// Access log destination.
    pub access_log: AccessLogTarget,
    /// Automatic bans, when configured.
    pub autoban: Option<Autoban>,
}

/// Checked `[gateway.autoban]`.
#[derive(Debug, Clone)]
pub struct Autoban {
    /// Violations within `window` that get a source banned.
    pub threshold: u32,
    /// Sliding window.
    pub window: Duration,
    /// First ban length.
    pub ban_for: Duration,
    /// Growth factor per repeat ban.
    pub growth: u32,
    /// Longest ban and memory of past offences.
    pub max_ban: Duration,
    /// Which reasons count, indexed by [`crate::refusal::Reason::index`].
    pub reasons: [bool; crate::refusal::Reason::ALL.len()],
    /// Bound of the violation counters.
    pub max_sources: usize,
    /// Bound of the ban table.
    pub max_bans: usize,
    /// Where violation lines go, when set.
    pub violations_log: Option<PathBuf>,
}

impl Autoban {
    /// Whether a refusal for `reason` counts as a violation.
    pub fn counts(&self, reason: crate::refusal::Reason) -> bool {
        self.reasons[reason.index()]
    }
}

/// Where access log lines go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessLogTarget {
    /// Not written.
    Off,
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
    /// Appended to a file.
    File(PathBuf),
}

/// A checked listener.
#[derive(Debug, Clone)]
pub struct Listener {
    /// Address to bind.
    pub bind: SocketAddr,
    /// TLS files, when TLS is terminated here with files.
    pub tls: Option<TlsFiles>,
    /// ACME settings, when TLS is terminated here with an ACME certificate.
    pub acme: Option<AcmeConfig>,
    /// Redirect everything to HTTPS (plain listeners only).
    pub redirect_https: bool,
    /// OCSP stapling on this TLS listener (None: off or no TLS).
    pub ocsp: Option<OcspConfig>,
}

/// Checked `ocsp_stapling` / `ocsp_refresh` of a TLS listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OcspConfig {
    /// Longest time between two queries (None: half the answer's validity).
    pub refresh: Option<std::time::Duration>,
}

impl Listener {
    /// Whether TLS is terminated on this listener (files or ACME).
    pub fn terminates_tls(&self) -> bool {
        self.tls.is_some() || self.acme.is_some()
    }
}

/// A listener's certificate and key files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM private key.
    pub key: PathBuf,
}

/// Which ACME challenge proves control of the domains.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcmeChallenge {
    /// TLS-ALPN-01, answered on the TLS listener itself.
    TlsAlpn01,
    /// HTTP-01, answered by a `redirect_https` listener on port 80.
    Http01,
}

/// Checked `acme = { ... }`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcmeConfig {
    /// DNS names, lower-case.
    pub domains: Vec<String>,
    /// Account contact URL.
    pub contact: Option<String>,
    /// Directory URL.
    pub directory: String,
    /// Extra root for the directory's HTTPS.
    pub ca: Option<PathBuf>,
    /// Challenge type.
    pub challenge: AcmeChallenge,
    /// Where the account key and certificates live.
    pub state_dir: PathBuf,
}

/// Let's Encrypt's production directory, the default `directory`.
pub const LETS_ENCRYPT_DIRECTORY: &str = "https://acme-v02.api.letsencrypt.org/directory";

/// Checks one ACME domain name: a DNS name, no IP address, wildcards only
/// where the challenge allows them (neither HTTP-01 nor TLS-ALPN-01 does).
fn check_acme_domain(d: &str) -> Result<String, String> {
    let d = d.trim_end_matches('.').to_ascii_lowercase();
    if d.is_empty() || d.len() > 253 {
        return Err("a domain must have 1 to 253 characters".into());
    }
    if d.parse::<std::net::IpAddr>().is_ok() {
        return Err(format!(
            "{d} is an IP address; ACME here issues for DNS names only"
        ));
    }
    if d.starts_with("*.") {
        return Err(format!(
            "{d}: wildcard names need the DNS-01 challenge, which the gateway does not do"
        ));
    }
    for label in d.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !ok {
            return Err(format!("{d} is not a valid DNS name"));
        }
    }
    Ok(d)
}

/// The checked admin listener.
#[derive(Debug, Clone)]
pub struct Admin {
    /// Address to bind.
    pub bind: SocketAddr,
    /// File holding the bearer token.
    pub token_file: PathBuf,
    /// Whether /metrics and /status need no token.
    pub public_read: bool,
}

/// A checked route.
#[derive(Debug, Clone)]
pub struct Route {
    /// Path prefix.
    pub path: String,
    /// Protocol.
    pub protocol: Protocol,
    /// Index into [`GatewayConfig::upstreams`].
    pub upstream: usize,
    /// Denied command patterns (lowercase).
    pub deny: Vec<String>,
    /// Allowed command patterns (lowercase), when an allow-list is set.
    pub allow: Option<Vec<String>>,
    /// Largest body in bytes.
    pub max_body: usize,
    /// Deepest JSON nesting.
    pub max_json_depth: usize,
    /// Largest JSON-RPC batch.
    pub max_batch: usize,
    /// Per-source rate.
    pub per_ip_rate: Option<Rate>,
    /// Upstream timeout.
    pub timeout: Duration,
    /// Route-wide in-flight cap.
    pub max_inflight: Option<usize>,
    /// Required request headers.
    pub require_headers: Vec<http::HeaderName>,
    /// Sources allowed on this route.
    pub allow_ips: IpSet,
    /// Sources refused on this route.
    pub deny_ips: IpSet,
    /// Per-command settings, names lowercase.
    pub commands: Vec<CommandLimits>,
    /// Security headers for every response, when configured.
    pub security_headers: Option<super::SecurityHeaders>,
    /// CORS, when configured.
    pub cors: Option<super::Cors>,
    /// API keys, when configured.
    pub auth: Option<AuthConfig>,
    /// Body capture for the access log, when configured.
    pub log_body: Option<crate::request::capture::BodyCapture>,
    /// Regex rejects, when configured.
    pub reject: Option<crate::request::patterns::Rejects>,
    /// The read cache, when some command is cached and the route's switch is on.
    pub cache: Option<super::CacheConfig>,
}

/// Checked `[route.auth]` with the route's keys.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Header carrying keys.
    pub header: http::HeaderName,
    /// Every request needs a key.
    pub required: bool,
    /// Command patterns (lowercase) that need a key.
    pub key_only: Vec<String>,
    /// The keys.
    pub keys: Vec<ApiKeyConfig>,
}

/// A checked `[[route.key]]`.
#[derive(Debug, Clone)]
pub struct ApiKeyConfig {
    /// Name.
    pub name: String,
    /// Salted hash.
    pub hash: crate::request::auth::KeyHash,
    /// Allowed command patterns (lowercase), when limited.
    pub commands: Option<Vec<String>>,
    /// Rate for this key.
    pub rate: Option<Rate>,
    /// In-flight cap for this key.
    pub max_inflight: Option<usize>,
}

/// Checked per-command settings.
#[derive(Debug, Clone)]
pub struct CommandLimits {
    /// Lowercase command name.
    pub name: String,
    /// In-flight cap.
    pub max_inflight: Option<usize>,
    /// Upstream timeout.
    pub timeout: Option<Duration>,
    /// Rate for everyone together.
    pub rate: Option<Rate>,
    /// Rate per source.
    pub per_ip_rate: Option<Rate>,
    /// Body cap in bytes.
    pub max_body: Option<usize>,
    /// Index of the command's own upstream, when it has one.
    pub upstream: Option<usize>,
    /// Whether a request that reached a backend may be retried on another
    /// (None: the protocol's read-only list decides).
    pub retry: Option<bool>,
    /// Whether it is hedged (None: when read-only).
    pub hedge: Option<bool>,
}

/// Reads and checks the gateway's tables of the config file at `path`.
pub fn load(path: &Path) -> Result<GatewayConfig, ConfigError> {
    let text = read_config_file(path)?;
    load_from_str(path, &text)
}

/// For `nodeward config check`: checks the gateway's tables of `text` when
/// the file has any (a file for other commands only is fine).
pub fn check_text(path: &Path, text: &str) -> Result<(), ConfigError> {
    let file: GatewayFile = load_sections(path, text)?;
    if file.listener.is_empty()
        && file.route.is_empty()
        && file.upstream.is_empty()
        && file.admin.is_none()
    {
        return Ok(());
    }
    Checker { path }.check(file).map(|_| ())
}

/// Checks the gateway's tables of `text` (read from `path`).
pub fn load_from_str(path: &Path, text: &str) -> Result<GatewayConfig, ConfigError> {
    let file: GatewayFile = load_sections(path, text)?;
    Checker { path }.check(file)
}

struct Checker<'a> {
    path: &'a Path,
}

/// JSON nesting serde_json itself refuses beyond.
const HARD_MAX_DEPTH: usize = 120;

impl Checker<'_> {
    fn err(&self, at: impl Into<String>, msg: impl Into<String>) -> ConfigError {
        ConfigError::invalid(self.path, at, msg)
    }

    /// `ocsp_stapling` / `ocsp_refresh` of listener `i`'s `tls`.
    fn ocsp(&self, i: usize, t: &TlsSection) -> Result<Option<OcspConfig>, ConfigError> {
        let at = format!("listener[{i}].tls.ocsp_stapling");
        let on = match &t.ocsp_stapling {
            None | Some(OcspStapling::Bool(true)) => true,
            Some(OcspStapling::Bool(false)) => false,
            Some(OcspStapling::Word(w)) if w == "on" => true,
            Some(OcspStapling::Word(w)) if w == "off" => false,
            Some(OcspStapling::Word(w)) => {
                return Err(self.err(at, format!("{w:?}: use true, false, \"on\" or \"off\"")))
            }
        };
        let refresh = t.ocsp_refresh.map(|d| d.0);
        if refresh.is_some_and(|d| d < std::time::Duration::from_secs(1)) {
            return Err(self.err(
                format!("listener[{i}].tls.ocsp_refresh"),
                "must be at least 1s",
            ));
        }
        Ok(on.then_some(OcspConfig { refresh }))
    }

    fn listener_tls(
        &self,
        i: usize,
        t: TlsSection,
        global: &Global,
    ) -> Result<(Option<TlsFiles>, Option<AcmeConfig>), ConfigError> {
        let at = format!("listener[{i}].tls");
        match (t.cert, t.key, t.acme) {
            (Some(cert), Some(key), None) => Ok((
                Some(TlsFiles {
                    cert: self.relative(&cert),
                    key: self.relative(&key),
                }),
                None,
            )),
            (None, None, Some(a)) => {
                let at = format!("{at}.acme");
                if a.domains.is_empty() {
                    return Err(
                        self.err(format!("{at}.domains"), "at least one domain is required")
                    );
                }
                let mut domains = Vec::new();
                for d in &a.domains {
                    let d =
                        check_acme_domain(d).map_err(|m| self.err(format!("{at}.domains"), m))?;
                    if !domains.contains(&d) {
                        domains.push(d);
                    }
                }
                let challenge = match a.challenge.as_deref() {
                    None | Some("tls-alpn-01") => AcmeChallenge::TlsAlpn01,
                    Some("http-01") => AcmeChallenge::Http01,
                    Some(other) => {
                        return Err(self.err(
                            format!("{at}.challenge"),
                            format!(
                                "unknown challenge {other:?}: use \"tls-alpn-01\" or \"http-01\""
                            ),
                        ))
                    }
                };
                let directory = a.directory.unwrap_or_else(|| LETS_ENCRYPT_DIRECTORY.into());
                if !directory.starts_with("https://") {
                    return Err(self.err(
                        format!("{at}.directory"),
                        "the directory must be an https:// URL",
                    ));
                }
                if let Some(c) = &a.contact {
                    if !c.starts_with("mailto:") || c.len() <= 7 || c.contains(char::is_whitespace)
                    {
                        return Err(self.err(
                            format!("{at}.contact"),
                            "contact must look like mailto:ops@example.org",
                        ));
                    }
                }
                Ok((
                    None,
                    Some(AcmeConfig {
                        domains,
                        contact: a.contact,
                        directory,
                        ca: a.ca.map(|p| self.relative(&p)),
                        challenge,
                        state_dir: global.state_dir.join("acme"),
                    }),
                ))
            }
            (_, _, Some(_)) => Err(self.err(at, "use either acme or cert/key, not both")),
            _ => Err(self.err(at, "tls needs both cert and key, or acme")),
        }
    }

    fn check(&self, file: GatewayFile) -> Result<GatewayConfig, ConfigError> {
        let global = self.global(file.gateway)?;
        if file.listener.is_empty() {
            return Err(self.err("listener", "at least one [[listener]] is required"));
        }
        let mut binds = HashSet::new();
        let mut listeners = Vec::new();
        for (i, l) in file.listener.into_iter().enumerate() {
            let at = format!("listener[{i}].bind");
            let bind = self.addr(&at, &l.bind)?;
            if !binds.insert(bind) {
                return Err(self.err(at, format!("{bind} is bound twice")));
            }
            let ocsp = match &l.tls {
                None => None,
                Some(t) => self.ocsp(i, t)?,
            };
            let (tls, acme) = match l.tls {
                None => (None, None),
                Some(t) => self.listener_tls(i, t, &global)?,
            };
            if l.redirect_https && (tls.is_some() || acme.is_some()) {
                return Err(self.err(
                    format!("listener[{i}].redirect_https"),
                    "a redirect listener is plain HTTP; remove its tls",
                ));
            }
            listeners.push(Listener {
                bind,
                tls,
                acme,
                redirect_https: l.redirect_https,
                ocsp,
            });
        }
        let redirect = listeners.iter().any(|l| l.redirect_https);
        if let Some(i) = listeners.iter().position(|l| {
            l.acme
                .as_ref()
                .is_some_and(|a| a.challenge == AcmeChallenge::Http01)
        }) {
            if !redirect {
                return Err(self.err(
                    format!("listener[{i}].tls.acme.challenge"),
                    "http-01 needs a plain listener with redirect_https = true (port 80) to answer it",
                ));
            }
        }
        let admin = match file.admin {
            None => None,
            Some(a) => {
                let bind = self.addr("admin.bind", &a.bind)?;
                if binds.contains(&bind) {
                    return Err(self.err("admin.bind", format!("{bind} is also a client listener")));
                }
                let token_file = a
                    .token_file
                    .map(|p| self.relative(&p))
                    .unwrap_or_else(|| global.state_dir.join("admin.token"));
                Some(Admin {
                    bind,
                    token_file,
                    public_read: a.public_read,
                })
            }
        };
        let mut upstreams = Vec::new();
        for (i, u) in file.upstream.into_iter().enumerate() {
            upstreams.push(self.upstream(i, u, &upstreams)?);
        }
        if file.route.is_empty() {
            return Err(self.err("route", "at least one [[route]] is required"));
        }
        let mut routes = Vec::new();
        for (i, r) in file.route.into_iter().enumerate() {
            let route = self.route(i, r, &upstreams)?;
            if routes.iter().any(|o: &Route| o.path == route.path) {
                return Err(self.err(
                    format!("route[{i}].path"),
                    format!("two routes serve path {:?}", route.path),
                ));
            }
            routes.push(route);
        }
        routes.sort_by_key(|r| std::cmp::Reverse(r.path.len()));
        let cluster = match file.cluster {
            None => None,
            Some(mut c) => {
                c.validate().map_err(|m| self.err("cluster", m))?;
                for p in [
                    &mut c.password_file,
                    &mut c.ca_file,
                    &mut c.cert_file,
                    &mut c.key_file,
                    &mut c.redis_password_file,
                    &mut c.redis_ca_file,
                    &mut c.redis_cert_file,
                    &mut c.redis_key_file,
                ]
                .into_iter()
                .flatten()
                {
                    *p = self.relative(p);
                }
                Some(c)
            }
        };
        Ok(GatewayConfig {
            cluster,
            source: self.path.to_path_buf(),
            global,
            listeners,
            admin,
            upstreams,
            routes,
        })
    }

    /// Resolves a relative path against the config file's directory.
    fn relative(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            return p.to_path_buf();
        }
        self.path
            .parent()
            .map_or_else(|| p.to_path_buf(), |d| d.join(p))
    }

    fn addr(&self, at: &str, s: &str) -> Result<SocketAddr, ConfigError> {
        s.parse().map_err(|_| {
            self.err(
                at,
                format!(
                    "{s:?} is not an IP:port address (e.g. \"127.0.0.1:14265\" or \"[::1]:14265\")"
                ),
            )
        })
    }

    fn ipset(&self, at: &str, list: &[String]) -> Result<IpSet, ConfigError> {
        IpSet::parse(list).map_err(|e| self.err(at, e))
    }

    fn positive(&self, at: &str, v: usize) -> Result<usize, ConfigError> {
        if v == 0 {
            return Err(self.err(at, "must be at least 1"));
        }
        Ok(v)
    }

    fn nonzero(&self, at: &str, d: Duration) -> Result<Duration, ConfigError> {
        if d.is_zero() {
            return Err(self.err(at, "must be longer than zero"));
        }
        Ok(d)
    }

    fn global(&self, g: GlobalSection) -> Result<Global, ConfigError> {
        let access_log = match g.access_log.as_str() {
            "off" | "" => AccessLogTarget::Off,
            "stdout" => AccessLogTarget::Stdout,
            "stderr" => AccessLogTarget::Stderr,
            p => AccessLogTarget::File(self.relative(Path::new(p))),
        };
        let max_header_size = usize::try_from(g.max_header_size.bytes()).unwrap_or(usize::MAX);
        if !(1024..=1024 * 1024).contains(&max_header_size) {
            return Err(self.err("gateway.max_header_size", "must be between 1KiB and 1MiB"));
        }
        if !(1..=1000).contains(&g.max_headers) {
            return Err(self.err("gateway.max_headers", "must be between 1 and 1000"));
        }
        if g.h2_max_concurrent_streams == 0 || g.h2_max_concurrent_streams > 10_000 {
            return Err(self.err(
                "gateway.h2_max_concurrent_streams",
                "must be between 1 and 10000",
            ));
        }
        let autoban = match &g.autoban {
            None => None,
            Some(a) => Some(self.autoban(a)?),
        };
        Ok(Global {
            autoban,
            state_dir: self.relative(&g.state_dir),
            max_connections: self.positive("gateway.max_connections", g.max_connections)?,
            max_connections_per_ip: self
                .positive("gateway.max_connections_per_ip", g.max_connections_per_ip)?,
            header_timeout: self.nonzero("gateway.header_timeout", g.header_timeout.get())?,
            body_timeout: self.nonzero("gateway.body_timeout", g.body_timeout.get())?,
            idle_timeout: self.nonzero("gateway.idle_timeout", g.idle_timeout.get())?,
            drain_timeout: g.drain_timeout.get(),
            max_header_size,
            max_headers: g.max_headers,
            h2c: g.h2c,
            h2_max_concurrent_streams: g.h2_max_concurrent_streams,
            trusted_proxies: self.ipset("gateway.trusted_proxies", &g.trusted_proxies)?,
            trusted: self.ipset("gateway.trusted", &g.trusted)?,
            allow_ips: self.ipset("gateway.allow_ips", &g.allow_ips)?,
            deny_ips: self.ipset("gateway.deny_ips", &g.deny_ips)?,
            access_log,
        })
    }

    fn upstream(
        &self,
        i: usize,
        u: UpstreamSection,
        before: &[Upstream],
    ) -> Result<Upstream, ConfigError> {
        if before.iter().any(|o| o.name == u.name) {
            return Err(self.err(
                format!("upstream[{i}].name"),
                format!("upstream {:?} is defined twice", u.name),
            ));
        }
        super::upstream::check(&u, &|p| self.relative(p))
            .map_err(|(k, m)| self.err(format!("upstream[{i}].{k}"), m))
    }

    fn route(
        &self,
        i: usize,
        r: RouteSection,
        upstreams: &[Upstream],
    ) -> Result<Route, ConfigError> {
        let at = |k: &str| format!("route[{i}].{k}");
        if !r.path.starts_with('/') {
            return Err(self.err(at("path"), format!("{:?} must start with '/'", r.path)));
        }
        let upstream = upstreams
            .iter()
            .position(|u| u.name == r.upstream)
            .ok_or_else(|| {
                let names: Vec<&str> = upstreams.iter().map(|u| u.name.as_str()).collect();
                self.err(
                    at("upstream"),
                    format!(
                        "no [[upstream]] is named {:?} (defined: {names:?})",
                        r.upstream
                    ),
                )
            })?;
        let patterns = |key: &str, list: &[String]| -> Result<Vec<String>, ConfigError> {
            list.iter()
                .enumerate()
                .map(|(j, p)| {
                    check_pattern(r.protocol, p)
                        .map_err(|m| self.err(format!("route[{i}].{key}[{j}]"), m))
                })
                .collect()
        };
        let deny = patterns("deny", &r.deny)?;
        let allow = match &r.allow {
            Some(list) => Some(patterns("allow", list)?),
            None => None,
        };
        let max_body = usize::try_from(r.max_body.bytes()).unwrap_or(usize::MAX);
        if max_body == 0 || max_body > 64 * 1024 * 1024 {
            return Err(self.err(at("max_body"), "must be between 1 byte and 64MiB"));
        }
        if r.max_json_depth == 0 || r.max_json_depth > HARD_MAX_DEPTH {
            return Err(self.err(
                at("max_json_depth"),
                format!("must be between 1 and {HARD_MAX_DEPTH}"),
            ));
        }
        if r.max_batch == 0 || r.max_batch > 10_000 {
            return Err(self.err(at("max_batch"), "must be between 1 and 10000"));
        }
        let mut require_headers = Vec::new();
        for (j, h) in r.require_headers.iter().enumerate() {
            require_headers.push(http::HeaderName::from_bytes(h.as_bytes()).map_err(|_| {
                self.err(
                    format!("route[{i}].require_headers[{j}]"),
                    format!("{h:?} is not a header name"),
                )
            })?);
        }
        let mut commands: Vec<CommandLimits> = Vec::new();
        let mut cache_rules = std::collections::HashMap::new();
        let mut negative_rules = std::collections::HashMap::new();
        for (j, c) in r.command.iter().enumerate() {
            let cat = |k: &str| format!("route[{i}].command[{j}].{k}");
            let name = check_pattern(r.protocol, &c.name).map_err(|m| self.err(cat("name"), m))?;
            if name.ends_with('*') {
                return Err(self.err(
                    cat("name"),
                    "per-command settings take an exact name, not a pattern",
                ));
            }
            if commands.iter().any(|o| o.name == name) {
                return Err(self.err(
                    cat("name"),
                    format!("command {:?} is configured twice", c.name),
                ));
            }
            if c.max_inflight == Some(0) {
                return Err(self.err(
                    cat("max_inflight"),
                    "must be at least 1 (deny the command instead)",
                ));
            }
            let own_upstream = match &c.upstream {
                None => None,
                Some(name) => Some(upstreams.iter().position(|u| &u.name == name).ok_or_else(
                    || {
                        let names: Vec<&str> = upstreams.iter().map(|u| u.name.as_str()).collect();
                        self.err(
                            cat("upstream"),
                            format!("no [[upstream]] is named {name:?} (defined: {names:?})"),
                        )
                    },
                )?),
            };
            if c.hedge == Some(true) && !c.retry.unwrap_or_else(|| r.protocol.is_read_only(&name)) {
                return Err(self.err(
                    cat("hedge"),
                    format!("{name} is not read-only, so it is never sent twice; set retry = true only if it truly changes nothing"),
                ));
            }
            let timeout = match c.timeout {
                Some(t) => Some(self.nonzero(&cat("timeout"), t.get())?),
                // A command with its own pool waits as long as that pool says.
                None => own_upstream.map(|u| upstreams[u].timeout),
            };
            if let Some(rule) = c.cache {
                if r.protocol == Protocol::Rest {
                    return Err(self.err(cat("cache"), "the cache serves iri and jsonrpc routes"));
                }
                if !r.protocol.is_read_only(&name) {
                    return Err(self.err(
                        cat("cache"),
                        format!("{name} is not on the protocol's read-only list, so its answers are never cached"),
                    ));
                }
                if let super::CacheRule::Confirmed(_) = rule {
                    if r.protocol != Protocol::Jsonrpc
                        || !crate::request::extract::blocks::takes_block(&name)
                    {
                        return Err(self.err(
                            cat("cache"),
                            format!("{name} names no block: `confirmations` applies to JSON-RPC calls that take a block number"),
                        ));
                    }
                }
                cache_rules.insert(name.clone(), rule);
            }
            if let Some(n) = &c.negative_cache {
                if r.protocol != Protocol::Jsonrpc {
                    return Err(self.err(
                        cat("negative_cache"),
                        "the negative cache keeps JSON-RPC error objects (by code)",
                    ));
                }
                if !r.protocol.is_read_only(&name) {
                    return Err(self.err(
                        cat("negative_cache"),
                        format!("{name} is not on the protocol's read-only list, so its answers are never cached"),
                    ));
                }
                let rule = n.check().map_err(|m| self.err(cat("negative_cache"), m))?;
                negative_rules.insert(name.clone(), rule);
            }
            commands.push(CommandLimits {
                name,
                max_inflight: c.max_inflight,
                timeout,
                rate: c.rate,
                per_ip_rate: c.per_ip_rate,
                max_body: c
                    .max_body
                    .map(|b| usize::try_from(b.bytes()).unwrap_or(usize::MAX)),
                upstream: own_upstream,
                retry: c.retry,
                hedge: c.hedge,
            });
        }
        if r.max_inflight == Some(0) {
            return Err(self.err(at("max_inflight"), "must be at least 1"));
        }
        let timeout = match r.timeout {
            Some(t) => self.nonzero(&at("timeout"), t.get())?,
            None => upstreams[upstream].timeout,
        };
        let security_headers = match &r.response_headers {
            Some(h) => Some(
                super::SecurityHeaders::check(h)
                    .map_err(|(k, m)| self.err(at(&format!("response_headers.{k}")), m))?,
            ),
            None => None,
        };
        let auth = self.auth(i, &r, &deny)?;
        let mut cors_headers = require_headers.clone();
        if let Some(a) = &auth {
            cors_headers.push(a.header.clone());
        }
        let cors = match &r.cors {
            Some(c) => Some(
                super::Cors::check(c, &cors_headers)
                    .map_err(|(k, m)| self.err(at(&format!("cors.{k}")), m))?,
            ),
            None => None,
        };
        let log_body = match &r.log_body {
            None => None,
            Some(l) => {
                let max = usize::try_from(l.max.bytes()).unwrap_or(usize::MAX);
                if !(16..=64 * 1024).contains(&max) {
                    return Err(self.err(at("log_body.max"), "must be between 16 bytes and 64KiB"));
                }
                if let Some((j, f)) = l
                    .redact
                    .iter()
                    .enumerate()
                    .find(|(_, f)| f.is_empty() || f.len() > 256)
                {
                    return Err(self.err(
                        format!("route[{i}].log_body.redact[{j}]"),
                        format!("{f:?} is not a field name (1 to 256 characters)"),
                    ));
                }
                let omit = l
                    .omit
                    .iter()
                    .enumerate()
                    .map(|(j, c)| {
                        check_pattern(r.protocol, c)
                            .map_err(|m| self.err(format!("route[{i}].log_body.omit[{j}]"), m))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                Some(crate::request::capture::BodyCapture::new(
                    max, &l.redact, &omit,
                ))
            }
        };
        let reject = match &r.reject {
            None => None,
            Some(rj) => {
                let headers: Vec<(String, String)> = rj
                    .headers
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                Some(
                    crate::request::patterns::Rejects::new(&rj.path, &headers, &rj.args)
                        .map_err(|(k, m)| self.err(at(&format!("reject.{k}")), m))?,
                )
            }
        };
        let cache = super::cache::check(r.cache.as_ref(), cache_rules, negative_rules)
            .map_err(|(k, m)| self.err(at(&format!("cache.{k}")), m))?;
        Ok(Route {
            cache,
            reject,
            log_body,
            security_headers,
            cors,
            auth,
            path: r.path,
            protocol: r.protocol,
            upstream,
            deny,
            allow,
            max_body,
            max_json_depth: r.max_json_depth,
            max_batch: r.max_batch,
            per_ip_rate: r.per_ip_rate,
            timeout,
            max_inflight: r.max_inflight,
            require_headers,
            allow_ips: self.ipset(&at("allow_ips"), &r.allow_ips)?,
            deny_ips: self.ipset(&at("deny_ips"), &r.deny_ips)?,
            commands,
        })
    }
}

impl Checker<'_> {
    fn autoban(&self, a: &AutobanSection) -> Result<Autoban, ConfigError> {
        use crate::refusal::Reason;
        let at = |k: &str| format!("gateway.autoban.{k}");
        if !(1..=1_000_000).contains(&a.threshold) {
            return Err(self.err(at("threshold"), "must be between 1 and 1000000"));
        }
        if !(1..=1000).contains(&a.growth) {
            return Err(self.err(at("growth"), "must be between 1 and 1000"));
        }
        if !(1..=10_000_000).contains(&a.max_sources) {
            return Err(self.err(at("max_sources"), "must be between 1 and 10000000"));
        }
        if !(1..=10_000_000).contains(&a.max_bans) {
            return Err(self.err(at("max_bans"), "must be between 1 and 10000000"));
        }
        let ban_for = self.nonzero(&at("ban_for"), a.ban_for.get())?;
        let max_ban = self.nonzero(&at("max_ban"), a.max_ban.get())?;
        if max_ban < ban_for {
            return Err(self.err(at("max_ban"), "must not be shorter than ban_for"));
        }
        // Bounds keep every time computation (now + ban, window x 2) far from overflow.
        if max_ban > Duration::from_secs(3650 * 86_400) {
            return Err(self.err(at("max_ban"), "must be at most 3650 days"));
        }
        if a.window.get() > Duration::from_secs(86_400) {
            return Err(self.err(at("window"), "must be at most 1 day"));
        }
        let mut reasons = [false; Reason::ALL.len()];
        for (j, name) in a.reasons.iter().enumerate() {
            let r = Reason::ALL
                .iter()
                .find(|r| r.code() == name)
                .ok_or_else(|| {
                    let codes: Vec<&str> = Reason::ALL.iter().map(|r| r.code()).collect();
                    self.err(
                        format!("gateway.autoban.reasons[{j}]"),
                        format!(
                            "{name:?} is not a refusal reason (one of {})",
                            codes.join(", ")
                        ),
                    )
                })?;
            reasons[r.index()] = true;
        }
        Ok(Autoban {
            threshold: a.threshold,
            window: self.nonzero(&at("window"), a.window.get())?,
            ban_for,
            growth: a.growth,
            max_ban,
            reasons,
            max_sources: a.max_sources,
            max_bans: a.max_bans,
            violations_log: a.violations_log.as_ref().map(|p| self.relative(p)),
        })
    }

    fn auth(
        &self,
        i: usize,
        r: &RouteSection,
        deny: &[String],
    ) -> Result<Option<AuthConfig>, ConfigError> {
        if r.auth.is_none() && r.key.is_empty() {
            return Ok(None);
        }
        let default = AuthSection::default();
        let a = r.auth.as_ref().unwrap_or(&default);
        let at = |k: &str| format!("route[{i}].auth.{k}");
        let header = http::HeaderName::from_bytes(a.header.as_bytes())
            .map_err(|_| self.err(at("header"), format!("{:?} is not a header name", a.header)))?;
        if r.key.is_empty() {
            return Err(self.err(
                format!("route[{i}].key"),
                "[route.auth] needs at least one [[route.key]] (create one with `nodeward keys generate | tee key.txt | nodeward keys hash`)",
            ));
        }
        let denied = crate::request::policy::commands::CommandSet::new(deny);
        let mut key_only = Vec::new();
        for (j, c) in a.key_only.iter().enumerate() {
            let p = check_pattern(r.protocol, c)
                .map_err(|m| self.err(format!("route[{i}].auth.key_only[{j}]"), m))?;
            if denied.matches(&p) {
                return Err(self.err(
                    format!("route[{i}].auth.key_only[{j}]"),
                    format!("{c:?} is also on the route's deny list, so no key could reach it; remove it from deny"),
                ));
            }
            key_only.push(p);
        }
        let mut keys: Vec<ApiKeyConfig> = Vec::new();
        for (j, k) in r.key.iter().enumerate() {
            let kat = |f: &str| format!("route[{i}].key[{j}].{f}");
            if k.name.is_empty() || keys.iter().any(|o| o.name == k.name) {
                return Err(self.err(kat("name"), "each key needs its own, non-empty name"));
            }
            let hash = crate::request::auth::KeyHash::parse(&k.hash)
                .map_err(|e| self.err(kat("hash"), e.to_string()))?;
            if keys.iter().any(|o| o.hash == hash) {
                return Err(self.err(kat("hash"), "the same hash is configured twice"));
            }
            let commands = match &k.commands {
                None => None,
                Some(list) => Some(
                    list.iter()
                        .enumerate()
                        .map(|(n, c)| {
                            check_pattern(r.protocol, c).map_err(|m| {
                                self.err(format!("route[{i}].key[{j}].commands[{n}]"), m)
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()?,
                ),
            };
            if k.max_inflight == Some(0) {
                return Err(self.err(kat("max_inflight"), "must be at least 1"));
            }
            keys.push(ApiKeyConfig {
                name: k.name.clone(),
                hash,
                commands,
                rate: k.rate,
                max_inflight: k.max_inflight,
            });
        }
        Ok(Some(AuthConfig {
            header,
            required: a.required,
            key_only,
            keys,
        }))
    }
}

/// Checks a command pattern for a protocol and returns it lowercased.
fn check_pattern(protocol: Protocol, p: &str) -> Result<String, String> {
    let lower = p.to_ascii_lowercase();
    let body = lower.strip_suffix('*').unwrap_or(&lower);
    match protocol {
        Protocol::Iri | Protocol::Jsonrpc => {
            if lower == "*" {
                return Ok(lower);
            }
            if body.is_empty() || !body.bytes().all(crate::request::extract::is_command_byte) {
                return Err(format!(
                    "{p:?} is not a command name (letters, digits, '_', '.', ':', '-'; optionally ending in '*')"
                ));
            }
        }
        Protocol::Rest => {
            let (method, path) = body.split_once(' ').ok_or_else(|| {
                format!("{p:?}: a REST command is \"METHOD /path\" (e.g. \"POST /api/v1/admin*\")")
            })?;
            if !(method == "*"
                || (!method.is_empty() && method.bytes().all(|b| b.is_ascii_alphabetic())))
            {
                return Err(format!("{p:?}: {method:?} is not an HTTP method"));
            }
            if !(path.starts_with('/') || path.is_empty() && lower.ends_with('*')) {
                return Err(format!("{p:?}: the path must start with '/'"));
            }
        }
    }
    Ok(lower)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = r#"
[[listener]]
bind = "127.0.0.1:14265"

[[upstream]]
name = "iri"
backends = ["http://127.0.0.1:14266"]

[[route]]
protocol = "iri"
upstream = "iri"
deny = ["addNeighbors"]
"#;

    fn load_str(s: &str) -> Result<GatewayConfig, ConfigError> {
        load_from_str(Path::new("/etc/nodeward/t.toml"), s)
    }

    fn with_listener(listener: &str) -> String {
        MINIMAL.replace("bind = \"127.0.0.1:14265\"", listener)
    }

    #[test]
    fn ocsp_stapling_defaults_on_and_checks_its_values() {
        let tls = |extra: &str| {
            with_listener(&format!(
                "bind = \"127.0.0.1:14265\"\ntls = {{ cert = \"c.pem\", key = \"k.pem\"{extra} }}"
            ))
        };
        let c = load_str(&tls("")).unwrap();
        assert_eq!(c.listeners[0].ocsp, Some(OcspConfig { refresh: None }));
        for off in [", ocsp_stapling = \"off\"", ", ocsp_stapling = false"] {
            assert_eq!(load_str(&tls(off)).unwrap().listeners[0].ocsp, None);
        }
        let c = load_str(&tls(", ocsp_stapling = \"on\", ocsp_refresh = \"1h\"")).unwrap();
        assert_eq!(
            c.listeners[0].ocsp.unwrap().refresh,
            Some(std::time::Duration::from_secs(3600))
        );
        let e = load_str(&tls(", ocsp_stapling = \"maybe\""))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("listener[0].tls.ocsp_stapling") && e.contains("maybe"),
            "{e}"
        );
        let e = load_str(&tls(", ocsp_refresh = \"10ms\""))
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("ocsp_refresh") && e.contains("at least 1s"),
            "{e}"
        );
        // Plain listeners have no stapling.
        assert_eq!(load_str(MINIMAL).unwrap().listeners[0].ocsp, None);
    }

    #[test]
    fn acme_listener_loads_with_defaults() {
        let c = load_str(&with_listener(
            "bind = \"127.0.0.1:14265\"\ntls = { acme = { domains = [\"Node.Example.org\"] } }",
        ))
        .unwrap();
        let a = c.listeners[0].acme.as_ref().unwrap();
        assert_eq!(a.domains, vec!["node.example.org".to_string()]);
        assert_eq!(a.directory, LETS_ENCRYPT_DIRECTORY);
        assert_eq!(a.challenge, AcmeChallenge::TlsAlpn01);
        assert!(c.listeners[0].terminates_tls() && c.listeners[0].tls.is_none());
    }

    #[test]
    fn bad_acme_settings_are_refused_with_their_key() {
        let cases = [
            ("domains = []", "domains", "at least one"),
            ("domains = [\"10.0.0.1\"]", "domains", "IP address"),
            ("domains = [\"*.example.org\"]", "domains", "wildcard"),
            ("domains = [\"a..b\"]", "domains", "not a valid DNS name"),
            (
                "domains = [\"a.org\"], challenge = \"dns-01\"",
                "challenge",
                "unknown challenge",
            ),
            (
                "domains = [\"a.org\"], directory = \"http://ca/dir\"",
                "directory",
                "https://",
            ),
            (
                "domains = [\"a.org\"], contact = \"ops@a.org\"",
                "contact",
                "mailto:",
            ),
            (
                "domains = [\"a.org\"], challenge = \"http-01\"",
                "challenge",
                "redirect_https",
            ),
        ];
        for (acme, key, msg) in cases {
            let text = with_listener(&format!(
                "bind = \"127.0.0.1:14265\"\ntls = {{ acme = {{ {acme} }} }}"
            ));
            let e = load_str(&text).unwrap_err().to_string();
            assert!(
                e.contains(&format!("listener[0].tls.acme.{key}")),
                "{acme}: {e}"
            );
            assert!(e.contains(msg), "{acme}: {e}");
        }
        let e = load_str(&with_listener(
            "bind = \"127.0.0.1:14265\"\ntls = { cert = \"c.pem\", acme = { domains = [\"a.org\"] } }",
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("either acme or cert/key"), "{e}");
        let e = load_str(&with_listener(
            "bind = \"127.0.0.1:14265\"\nredirect_https = true\ntls = { cert = \"c.pem\", key = \"k.pem\" }",
        ))
        .unwrap_err()
        .to_string();
        assert!(e.contains("listener[0].redirect_https"), "{e}");
    }

    #[test]
    fn minimal_config_loads_with_defaults() {
        let c = load_str(MINIMAL).unwrap();
        assert_eq!(c.routes[0].max_body, 65536);
        assert_eq!(c.routes[0].deny, vec!["addneighbors".to_string()]);
        assert_eq!(c.global.max_connections, 4096);
        assert_eq!(
            c.upstreams[0].backends[0].address.to_string(),
            "http://127.0.0.1:14266"
        );
    }

    #[test]
    fn unknown_keys_name_the_line() {
        let text = MINIMAL.replace("deny = [", "dney = [");
        let e = load_str(&text).unwrap_err().to_string();
        assert!(e.starts_with("/etc/nodeward/t.toml:12:"), "{e}");
        assert!(e.contains("dney"), "{e}");
    }

    #[test]
    fn references_and_values_are_checked() {
        let bad_upstream = MINIMAL.replace("upstream = \"iri\"", "upstream = \"hornet\"");
        assert!(load_str(&bad_upstream)
            .unwrap_err()
            .to_string()
            .contains("no [[upstream]] is named \"hornet\""));
        let bad_bind = MINIMAL.replace("127.0.0.1:14265", "localhost:14265");
        assert!(load_str(&bad_bind)
            .unwrap_err()
            .to_string()
            .contains("listener[0].bind"));
        let bad_backend = MINIMAL.replace("http://127.0.0.1:14266", "https://node:443/api");
        assert!(load_str(&bad_backend)
            .unwrap_err()
            .to_string()
            .contains("no path or query"));
        let bad_cmd = MINIMAL.replace("\"addNeighbors\"", "\"add Neighbors\"");
        assert!(load_str(&bad_cmd)
            .unwrap_err()
            .to_string()
            .contains("route[0].deny[0]"));
        let bad_rate = format!("{MINIMAL}per_ip_rate = \"fast\"\n");
        assert!(load_str(&bad_rate)
            .unwrap_err()
            .to_string()
            .contains("invalid rate"));
        let bad_cidr = MINIMAL.replace(
            "[[listener]]",
            "[gateway]\ntrusted = [\"10.0.0.0/33\"]\n[[listener]]",
        );
        assert!(load_str(&bad_cidr)
            .unwrap_err()
            .to_string()
            .contains("gateway.trusted"));
    }

    #[test]
    fn relative_paths_resolve_against_the_config_dir() {
        let text = MINIMAL.replace(
            "bind = \"127.0.0.1:14265\"",
            "bind = \"127.0.0.1:14265\"\ntls = { cert = \"c.pem\", key = \"/k.pem\" }",
        );
        let c = load_str(&text).unwrap();
        let tls = c.listeners[0].tls.as_ref().unwrap();
        assert!(c.listeners[0].acme.is_none());
        assert_eq!(tls.cert, PathBuf::from("/etc/nodeward/c.pem"));
        assert_eq!(tls.key, PathBuf::from("/k.pem"));
    }

    #[test]
    fn rest_patterns() {
        assert_eq!(
            check_pattern(Protocol::Rest, "POST /api/*").unwrap(),
            "post /api/*"
        );
        assert!(check_pattern(Protocol::Rest, "/api").is_err());
        assert!(check_pattern(Protocol::Rest, "P0ST /api").is_err());
        assert!(check_pattern(Protocol::Jsonrpc, "admin_*").is_ok());
    }
}
