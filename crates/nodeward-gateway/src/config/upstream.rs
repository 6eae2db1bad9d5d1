//! Checking `[[upstream]]` tables: backends, strategy, passive ejection,
//! retries, TLS to backends, active health checks and hedging.

use super::file::{BackendSection, HealthSection, HedgeSection, UpstreamSection};
use nodeward_balance::budget::BudgetConfig;
use nodeward_balance::health::{
    CheckKind, ExecCheck, HealthConfig, HttpCheck, IriCheck, JsonRpcCheck,
};
use nodeward_balance::{Address, BackendId, BackendSpec, Origin, PoolConfig, Scheme};
use std::path::PathBuf;
use std::time::Duration;

/// Upper bound of `max_connections_per_backend` (a semaphore's permit count).
const MAX_BACKEND_CONNECTIONS: usize = 1 << 20;

/// A checked upstream pool.
#[derive(Debug, Clone)]
pub struct Upstream {
    /// Its name.
    pub name: String,
    /// The backends the config file lists.
    pub backends: Vec<BackendSpec>,
    /// The watched file of further backends.
    pub backends_file: Option<PathBuf>,
    /// TCP connect (and TLS handshake) timeout.
    pub connect_timeout: Duration,
    /// Default response timeout.
    pub timeout: Duration,
    /// Deadline of one attempt of a read-only request (retried elsewhere after it).
    pub try_timeout: Option<Duration>,
    /// Idle keep-alive connections per backend.
    pub max_idle_per_backend: usize,
    /// Most connections open to one backend; requests beyond wait in line.
    pub max_connections_per_backend: usize,
    /// Selection, ejection, health and size of the pool.
    pub pool: PoolConfig,
    /// TLS client settings for https backends.
    pub tls: Option<crate::tls_client::TlsClient>,
    /// Retries.
    pub retry: RetrySettings,
    /// Hedging, when configured.
    pub hedge: Option<HedgeSettings>,
}

impl Upstream {
    /// Whether the pool's checks report each node's chain head (JSON-RPC),
    /// which block-aware routing needs.
    pub fn tracks_heads(&self) -> bool {
        self.pool
            .health
            .as_ref()
            .is_some_and(|h| matches!(h.kind, CheckKind::Jsonrpc(_)))
    }
}

/// How requests are retried on another backend.
#[derive(Debug, Clone)]
pub struct RetrySettings {
    /// Attempts per client request, all together.
    pub max_attempts: u32,
    /// Retries as a share of first attempts, plus a floor.
    pub budget: BudgetConfig,
    /// Backend statuses a read-only request is retried on.
    pub on_status: Vec<u16>,
}

/// When a second backend is asked.
#[derive(Debug, Clone)]
pub struct HedgeSettings {
    /// The latency quantile after which a hedge is sent.
    pub quantile: f64,
    /// The earliest a hedge is sent.
    pub min_delay: Duration,
    /// Hedges as a share of requests.
    pub budget: BudgetConfig,
}

/// Checks one `[[upstream]]`; errors are `(key, message)` with the key
/// relative to the table.
pub fn check(
    u: &UpstreamSection,
    relative: &dyn Fn(&std::path::Path) -> PathBuf,
) -> Result<Upstream, (String, String)> {
    let err = |k: &str, m: String| (k.to_string(), m);
    if u.name.is_empty()
        || u.name.len() > 64
        || !u
            .name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
    {
        return Err(err(
            "name",
            "must be 1 to 64 letters, digits, '_', '-' or '.'".into(),
        ));
    }
    let mut backends: Vec<BackendSpec> = Vec::new();
    for (j, b) in u.backends.iter().enumerate() {
        let address = Address::parse(b).map_err(|m| err(&format!("backends[{j}]"), m))?;
        backends.push(BackendSpec::new(address, Origin::Config));
    }
    for (j, b) in u.backend.iter().enumerate() {
        backends.push(backend(b).map_err(|(k, m)| err(&format!("backend[{j}].{k}"), m))?);
    }
    for (j, b) in backends.iter().enumerate() {
        if let Some(o) = backends[..j]
            .iter()
            .find(|o| o.id == b.id || o.address == b.address)
        {
            return Err(err(
                "backends",
                format!(
                    "backend {} ({}) is listed twice (as {} at {})",
                    b.id, b.address, o.id, o.address
                ),
            ));
        }
    }
    if backends.is_empty() && u.backends_file.is_none() && !u.dynamic {
        return Err(err(
            "backends",
            "at least one backend is required (or set backends_file, or dynamic = true for a pool filled by registration)".into(),
        ));
    }
    if !(1..=100_000).contains(&u.max_backends) || backends.len() > u.max_backends {
        return Err(err(
            "max_backends",
            format!(
                "must be between 1 and 100000 and at least the {} backends listed",
                backends.len()
            ),
        ));
    }
    let max_connections_per_backend = match u.max_connections_per_backend {
        0 => {
            return Err(err(
                "max_connections_per_backend",
                "must be at least 1".into(),
            ))
        }
        n if n > MAX_BACKEND_CONNECTIONS => {
            return Err(err(
                "max_connections_per_backend",
                format!("must be at most {MAX_BACKEND_CONNECTIONS}"),
            ))
        }
        n => n,
    };
    let nonzero = |k: &str, d: Duration| {
        if d.is_zero() {
            Err(err(k, "must be longer than zero".into()))
        } else {
            Ok(d)
        }
    };
    let share = |k: &str, v: f64| {
        if (0.0..=1.0).contains(&v) {
            Ok(v)
        } else {
            Err(err(k, format!("must be between 0 and 1 (got {v})")))
        }
    };
    let eject_for = nonzero("eject_for", u.eject_for.get())?;
    let max_eject_for = nonzero("max_eject_for", u.max_eject_for.get())?;
    if max_eject_for < eject_for || max_eject_for > Duration::from_secs(86_400) {
        return Err(err(
            "max_eject_for",
            "must be at least eject_for and at most 1 day".into(),
        ));
    }
    if !(1..=1000).contains(&u.consecutive_failures) {
        return Err(err(
            "consecutive_failures",
            "must be between 1 and 1000".into(),
        ));
    }
    if !(1..=10).contains(&u.max_attempts) {
        return Err(err("max_attempts", "must be between 1 and 10".into()));
    }
    if !(0.0..=10.0).contains(&u.retry_budget) {
        return Err(err("retry_budget", "must be between 0 and 10".into()));
    }
    if let Some(s) = u.retry_on_status.iter().find(|s| !(500..=599).contains(*s)) {
        return Err(err("retry_on_status", format!("{s} is not a 5xx status")));
    }
    if u.slow_start.get() > Duration::from_secs(3600) {
        return Err(err("slow_start", "must be at most 1h".into()));
    }
    let tls = tls(u, &backends, relative)?;
    let health = match &u.health {
        None => None,
        Some(h) => Some(health(h, relative).map_err(|(k, m)| err(&format!("health.{k}"), m))?),
    };
    let hedge = match &u.hedge {
        None => None,
        Some(h) => Some(hedge(h).map_err(|(k, m)| err(&format!("hedge.{k}"), m))?),
    };
    Ok(Upstream {
        name: u.name.clone(),
        backends,
        backends_file: u.backends_file.as_deref().map(relative),
        connect_timeout: nonzero("connect_timeout", u.connect_timeout.get())?,
        timeout: nonzero("timeout", u.timeout.get())?,
        try_timeout: match u.try_timeout {
            None => None,
            Some(t) => Some(nonzero("try_timeout", t.get())?),
        },
        max_idle_per_backend: u.max_idle_per_backend,
        max_connections_per_backend,
        pool: PoolConfig {
            strategy: u.strategy,
            breaker: nodeward_balance::breaker::BreakerConfig {
                consecutive_failures: u.consecutive_failures,
                base: eject_for,
                max: max_eject_for,
            },
            max_ejected_share: share("max_ejected_share", u.max_ejected_share)?,
            slow_start: u.slow_start.get(),
            health,
            max_backends: u.max_backends,
            check_tls: tls.as_ref().map(|t| t.config.clone()),
        },
        tls,
        retry: RetrySettings {
            max_attempts: u.max_attempts,
            budget: BudgetConfig {
                ratio: u.retry_budget,
                min_per_second: u.min_retries_per_second,
            },
            on_status: u.retry_on_status.clone(),
        },
        hedge,
    })
}

fn backend(b: &BackendSection) -> Result<BackendSpec, (String, String)> {
    let address = Address::parse(&b.address).map_err(|m| ("address".to_string(), m))?;
    let id = match &b.id {
        Some(id) => BackendId::parse(id).map_err(|m| ("id".to_string(), m))?,
        None => address.default_id(),
    };
    let spec = BackendSpec {
        id,
        address,
        weight: b.weight,
        tags: b.tags.clone(),
        origin: Origin::Config,
        overrides: b.health.clone(),
    };
    spec.validate().map_err(|m| ("weight".to_string(), m))?;
    Ok(spec)
}

fn tls(
    u: &UpstreamSection,
    backends: &[BackendSpec],
    relative: &dyn Fn(&std::path::Path) -> PathBuf,
) -> Result<Option<crate::tls_client::TlsClient>, (String, String)> {
    let any_https = backends.iter().any(|b| b.address.scheme == Scheme::Https);
    let section = u.tls.as_ref();
    let ca = section.and_then(|t| t.ca.as_deref()).map(relative);
    let pair = match section.map(|t| (t.cert.as_deref(), t.key.as_deref())) {
        Some((Some(c), Some(k))) => Some((relative(c), relative(k))),
        Some((None, None)) | None => None,
        Some(_) => {
            return Err((
                "tls".into(),
                "cert and key go together (mutual TLS needs both)".into(),
            ))
        }
    };
    let built = crate::tls_client::client_config(
        ca.as_deref(),
        pair.as_ref().map(|(c, k)| (c.as_path(), k.as_path())),
    );
    match built {
        Ok(c) => Ok(Some(c)),
        // Without https backends and without [upstream.tls], missing system
        // roots only matter if one is registered later (it is then
        // critical for "tls", never reached over plain HTTP).
        Err(crate::tls_client::TlsClientError::NoRoots) if section.is_none() && !any_https => {
            Ok(None)
        }
        Err(e) => Err(("tls".into(), e.to_string())),
    }
}

fn health(
    h: &HealthSection,
    relative: &dyn Fn(&std::path::Path) -> PathBuf,
) -> Result<HealthConfig, (String, String)> {
    let e = |k: &str, m: &str| Err((k.to_string(), m.to_string()));
    let only = |k: &str, set: bool, kinds: &str| -> Result<(), (String, String)> {
        if set {
            Err((
                k.to_string(),
                format!(
                    "applies to kind {kinds} only (this check is kind {:?})",
                    h.kind
                ),
            ))
        } else {
            Ok(())
        }
    };
    let chain = matches!(h.kind.as_str(), "iri" | "jsonrpc");
    if !chain {
        only("max_lag", h.max_lag.is_some(), "iri or jsonrpc")?;
        only("warn_lag", h.warn_lag.is_some(), "iri or jsonrpc")?;
        only("max_ahead", h.max_ahead.is_some(), "iri or jsonrpc")?;
        only("min_peers", h.min_peers.is_some(), "iri or jsonrpc")?;
        only("quorum", h.quorum.is_some(), "iri or jsonrpc")?;
    }
    if h.kind != "iri" {
        only("min_version", h.min_version.is_some(), "iri")?;
        only("restricted", !h.restricted.is_empty(), "iri")?;
    }
    if h.kind != "http" {
        only("path", h.path.is_some(), "http")?;
        only("expect_status", h.expect_status.is_some(), "http")?;
        only("expect_body", h.expect_body.is_some(), "http")?;
    }
    if h.kind != "exec" {
        only("command", h.command.is_some(), "exec")?;
        only("max_output", h.max_output.is_some(), "exec")?;
    }
    let max_lag = h.max_lag.unwrap_or(5);
    if let Some(w) = h.warn_lag {
        if w >= max_lag {
            return e("warn_lag", "must be below max_lag");
        }
    }
    let min_peers = h.min_peers.unwrap_or(1);
    let max_ahead = h.max_ahead.unwrap_or(max_lag.max(3));
    let kind = match h.kind.as_str() {
        "iri" => {
            let restricted = h
                .restricted
                .iter()
                .map(|c| {
                    if c.is_empty() || c.len() > 64 || !c.bytes().all(|b| b.is_ascii_alphanumeric())
                    {
                        Err((
                            "restricted".to_string(),
                            format!("{c:?} is not an IRI command name"),
                        ))
                    } else {
                        Ok(c.clone())
                    }
                })
                .collect::<Result<Vec<_>, _>>()?;
            CheckKind::Iri(IriCheck {
                max_lag,
                warn_lag: h.warn_lag,
                max_ahead,
                min_peers,
                min_version: h.min_version.clone(),
                restricted,
            })
        }
        "jsonrpc" => CheckKind::Jsonrpc(JsonRpcCheck {
            max_lag,
            warn_lag: h.warn_lag,
            max_ahead,
            min_peers,
        }),
        "http" => {
            let path = h.path.clone().unwrap_or_else(|| "/".into());
            if !path.starts_with('/')
                || path.len() > 1024
                || path.bytes().any(|b| b <= b' ' || b == 0x7f)
            {
                return e(
                    "path",
                    "must start with '/' and hold no spaces or control characters",
                );
            }
            let expect_status = h.expect_status.clone().unwrap_or_else(|| vec![200]);
            if expect_status.is_empty() || expect_status.iter().any(|s| !(100..=599).contains(s)) {
                return e("expect_status", "must list HTTP statuses (100-599)");
            }
            let body = match &h.expect_body {
                None => None,
                Some(re) => Some(
                    regex::RegexBuilder::new(re)
                        .size_limit(1 << 20)
                        .build()
                        .map_err(|m| ("expect_body".to_string(), format!("invalid regex: {m}")))?,
                ),
            };
            CheckKind::Http(HttpCheck {
                path,
                expect_status,
                body,
            })
        }
        "tcp" => CheckKind::Tcp,
        "exec" => {
            let Some((program, args)) = h.command.as_ref().and_then(|c| c.split_first()) else {
                return e(
                    "command",
                    "an exec check needs command = [\"/path/to/program\", \"arg\", ...]",
                );
            };
            let program = relative(std::path::Path::new(program));
            let max_output = h
                .max_output
                .map_or(4096, |b| usize::try_from(b.bytes()).unwrap_or(usize::MAX));
            if !(64..=1024 * 1024).contains(&max_output) {
                return e("max_output", "must be between 64 bytes and 1MiB");
            }
            CheckKind::Exec(ExecCheck {
                program,
                args: args.to_vec(),
                max_output,
            })
        }
        other => {
            return Err((
                "kind".to_string(),
                format!("{other:?} is not a check kind (iri, jsonrpc, http, tcp, exec)"),
            ))
        }
    };
    let interval = h.interval.get();
    if interval < Duration::from_millis(100) || interval > Duration::from_secs(3600) {
        return e("interval", "must be between 100ms and 1h");
    }
    let timeout = h.timeout.get();
    if timeout.is_zero() || timeout > Duration::from_secs(300) {
        return e("timeout", "must be between 1ms and 5m");
    }
    if !(1..=100).contains(&h.rise) {
        return e("rise", "must be between 1 and 100");
    }
    if !(1..=100).contains(&h.fall) {
        return e("fall", "must be between 1 and 100");
    }
    if !(h.warn_weight > 0.0 && h.warn_weight <= 1.0) {
        return e("warn_weight", "must be above 0 and at most 1");
    }
    if !(0.0..=1.0).contains(&h.max_ejected_share) {
        return e("max_ejected_share", "must be between 0 and 1");
    }
    if h.quorum == Some(0) {
        return e("quorum", "must be at least 1");
    }
    Ok(HealthConfig {
        kind,
        interval,
        timeout,
        rise: h.rise,
        fall: h.fall,
        start_healthy: h.start_healthy,
        warn_weight: h.warn_weight,
        max_ejected_share: h.max_ejected_share,
        stall_after: h.stall_after.get().max(interval),
        quorum: h.quorum,
    })
}

fn hedge(h: &HedgeSection) -> Result<HedgeSettings, (String, String)> {
    if !(h.quantile > 0.0 && h.quantile < 1.0) {
        return Err((
            "quantile".into(),
            "must be between 0 and 1 (e.g. 0.9)".into(),
        ));
    }
    if !(0.0..=1.0).contains(&h.budget) {
        return Err(("budget".into(), "must be between 0 and 1".into()));
    }
    Ok(HedgeSettings {
        quantile: h.quantile,
        min_delay: h.min_delay.get(),
        budget: BudgetConfig {
            ratio: h.budget,
            min_per_second: 0,
        },
    })
}

#[cfg(test)]
mod tests {
    use crate::config::load_from_str;
    use std::path::Path;

    const BASE: &str = r#"
[[listener]]
bind = "127.0.0.1:14265"
[[upstream]]
name = "iri"
backends = ["http://127.0.0.1:14266", "http://127.0.0.1:14267"]
UPSTREAM
[[route]]
protocol = "iri"
upstream = "iri"
ROUTE
"#;

    fn load(upstream: &str, route: &str) -> Result<crate::config::GatewayConfig, String> {
        let text = BASE.replace("UPSTREAM", upstream).replace("ROUTE", route);
        load_from_str(Path::new("/etc/nodeward/t.toml"), &text).map_err(|e| e.to_string())
    }

    #[test]
    fn pool_settings_load_with_defaults_and_tables() {
        let c = load(
            "strategy = \"peak_ewma\"\n[[upstream.backend]]\naddress = \"http://10.0.0.9:14265\"\nid = \"n9\"\nweight = 3\ntags = [\"eu\"]\n[upstream.health]\nkind = \"iri\"\nmax_lag = 3\nmin_version = \"1.8.6\"\nrestricted = [\"addNeighbors\"]\n[upstream.hedge]\nquantile = 0.95\n",
            "",
        )
        .unwrap();
        let u = &c.upstreams[0];
        assert_eq!(u.backends.len(), 3);
        assert_eq!((u.backends[2].id.as_str(), u.backends[2].weight), ("n9", 3));
        assert_eq!(u.pool.strategy, nodeward_balance::Strategy::PeakEwma);
        let h = u.pool.health.as_ref().unwrap();
        assert_eq!((h.rise, h.fall, h.interval.as_secs()), (2, 3, 5));
        assert_eq!(h.kind.lag_limits(), Some((3, None, 3)));
        assert_eq!(u.retry.max_attempts, 3);
        assert_eq!(u.retry.on_status, vec![502, 503, 504]);
        assert!(u.hedge.is_some());
        // System roots, so an https backend registered later is verified.
        assert!(u.tls.is_some());
    }

    #[test]
    fn wrong_keys_and_values_are_named() {
        let cases = [
            (
                "[upstream.health]\nkind = \"http\"\nmax_lag = 3\n",
                "upstream[0].health.max_lag",
            ),
            (
                "[upstream.health]\nkind = \"carrier-pigeon\"\n",
                "upstream[0].health.kind",
            ),
            (
                "[upstream.health]\nkind = \"iri\"\nquorum = 0\n",
                "upstream[0].health.quorum",
            ),
            (
                "[upstream.health]\nkind = \"iri\"\nwarn_lag = 9\nmax_lag = 5\n",
                "warn_lag",
            ),
            (
                "[upstream.health]\nkind = \"exec\"\n",
                "upstream[0].health.command",
            ),
            (
                "[upstream.health]\nkind = \"http\"\nexpect_body = \"(\"\n",
                "expect_body",
            ),
            (
                "[upstream.health]\nkind = \"tcp\"\ninterval = \"1ms\"\n",
                "interval",
            ),
            ("max_attempts = 0\n", "upstream[0].max_attempts"),
            ("retry_on_status = [404]\n", "retry_on_status"),
            ("max_ejected_share = 1.5\n", "max_ejected_share"),
            ("strategy = \"random\"\n", "unknown variant `random`"),
            (
                "[[upstream.backend]]\naddress = \"http://127.0.0.1:14266\"\nid = \"dup\"\n",
                "listed twice",
            ),
            (
                "[[upstream.backend]]\naddress = \"http://10.0.0.1:1\"\nweight = 0\n",
                "weight",
            ),
            (
                "[upstream.tls]\nca = \"/nonexistent/ca.pem\"\n",
                "/nonexistent/ca.pem",
            ),
            (
                "[upstream.tls]\ncert = \"/x.pem\"\n",
                "cert and key go together",
            ),
            ("[upstream.hedge]\nquantile = 1.0\n", "hedge.quantile"),
        ];
        for (upstream, want) in cases {
            let e = load(upstream, "").unwrap_err();
            assert!(e.contains(want), "{upstream:?}: {e}");
        }
        let e = load(
            "",
            "[[route.command]]\nname = \"broadcastTransactions\"\nhedge = true\n",
        )
        .unwrap_err();
        assert!(e.contains("never sent twice"), "{e}");
        assert!(load(
            "",
            "[[route.command]]\nname = \"getBalances\"\nhedge = true\n"
        )
        .is_ok());
    }

    #[test]
    fn an_empty_pool_needs_to_say_where_backends_come_from() {
        let text = BASE
            .replace(
                "backends = [\"http://127.0.0.1:14266\", \"http://127.0.0.1:14267\"]",
                "",
            )
            .replace("UPSTREAM", "")
            .replace("ROUTE", "");
        let e = load_from_str(Path::new("/t.toml"), &text)
            .unwrap_err()
            .to_string();
        assert!(e.contains("dynamic = true"), "{e}");
        let text = text.replace("name = \"iri\"", "name = \"iri\"\ndynamic = true");
        assert!(load_from_str(Path::new("/t.toml"), &text).is_ok());
    }
}
