//! The gateway's live state: the current runtime (swapped atomically on
//! reload) and what lives for the whole process (metrics, access log,
//! connection counts).

use crate::config::{self, GatewayConfig, Global};
use crate::listen::guard::ConnGuard;
use crate::listen::tls::TlsState;
use crate::log::AccessLog;
use crate::metrics::Metrics;
use crate::request::policy::RoutePolicy;
use crate::upstream::{Registry, UpstreamPool};
use arc_swap::ArcSwap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

/// Everything built from one config load; replaced whole on reload.
pub struct Runtime {
    /// `[gateway]` options.
    pub global: Global,
    /// Compiled routes, longest prefix first.
    pub routes: Vec<RoutePolicy>,
    /// Upstream pools, in config order (they live in the registry and
    /// outlive this runtime).
    pub upstreams: Vec<Arc<UpstreamPool>>,
    /// Whether any route needs the request's `Origin` (CORS configured).
    pub reads_origin: bool,
    /// The raw 503 written to connections refused at accept time, with the
    /// catch-all route's security headers (rendered once per config load).
    pub refusal_503: Vec<u8>,
}

impl Runtime {
    /// Builds the runtime for a checked config whose pools the registry has
    /// reconciled.
    pub fn build(
        config: &GatewayConfig,
        metrics: &Metrics,
        upstreams: Vec<Arc<UpstreamPool>>,
    ) -> Runtime {
        let routes: Vec<RoutePolicy> = config
            .routes
            .iter()
            .map(|r| RoutePolicy::compile(r, metrics))
            .collect();
        Runtime {
            global: config.global.clone(),
            refusal_503: refusal_503(&routes),
            reads_origin: routes
                .iter()
                .any(|r| r.respond.as_ref().is_some_and(|p| p.reads_origin())),
            routes,
            upstreams,
        }
    }
}

/// Renders the accept-time 503 once, with the catch-all route's headers.
fn refusal_503(routes: &[RoutePolicy]) -> Vec<u8> {
    const BODY: &str = r#"{"error":"too many connections","reason":"too_many_connections"}"#;
    let mut headers = http::HeaderMap::new();
    if let Some(policy) = routes
        .iter()
        .find(|r| r.path == "/")
        .and_then(|r| r.respond.as_ref())
    {
        policy.apply(&mut headers, false, None);
    }
    let mut out = format!(
        "HTTP/1.1 503 Service Unavailable\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n",
        BODY.len()
    )
    .into_bytes();
    for (name, value) in &headers {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(BODY.as_bytes());
    out
}

/// The result of the last reload, shown on /status.
#[derive(Debug, Clone)]
pub struct ReloadStatus {
    /// When it happened.
    pub at: SystemTime,
    /// Whether the new config was applied.
    pub ok: bool,
    /// Why not, or what needs a restart.
    pub message: String,
}

/// State shared by every listener and connection.
pub struct Shared {
    /// The current runtime.
    pub runtime: ArcSwap<Runtime>,
    /// Process-wide metrics.
    pub metrics: Metrics,
    /// The access log.
    pub access_log: AccessLog,
    /// Connection admission.
    pub guard: Arc<ConnGuard>,
    /// Per-listener TLS configurations (None for plain listeners).
    pub tls: Vec<Option<TlsState>>,
    /// The config file reloads read.
    pub config_path: PathBuf,
    /// The listeners as first bound (reload cannot change them).
    pub listeners: Vec<config::Listener>,
    /// Process start.
    pub started: Instant,
    /// The last reload's result.
    pub last_reload: Mutex<Option<ReloadStatus>>,
    /// Banned sources and violation counters (survive reloads and restarts).
    pub bans: crate::ban::BanTable,
    /// The upstream pools and registrations (survive reloads).
    pub registry: Registry,
    /// ACME listeners' certificate states.
    pub acme: Vec<Arc<crate::acme::AcmeState>>,
    /// TLS listeners' OCSP stapling states.
    pub ocsp: Vec<Arc<crate::ocsp::Stapler>>,
    /// Pending ACME challenge answers.
    pub challenges: Arc<crate::acme::Challenges>,
    /// Port of the first TLS listener, for HTTPS redirects.
    pub https_port: u16,
    /// The admin token (re-read from `admin_token_file` on reload, so a
    /// rotated token takes effect and invalidates status-page sessions).
    pub admin_token: ArcSwap<String>,
    /// Where the admin token lives (None without an `[admin]` listener).
    pub admin_token_file: Option<PathBuf>,
    /// The status page's sessions and login throttle.
    pub ui: crate::admin::ui::UiState,
    /// Cluster mode, when `[cluster]` is configured (set once at start).
    pub cluster: std::sync::OnceLock<Arc<nodeward_cluster::Cluster>>,
    /// The pushed config revision running (`cluster push`), if any; its lock
    /// also keeps two reloads from interleaving.
    pub pushed: Mutex<Option<nodeward_cluster::policy::Revision>>,
}

impl Shared {
    /// Re-reads the config file and swaps in the new runtime and certificates.
    /// On any error the running configuration stays as it was.
    pub fn reload(&self) -> Result<String, String> {
        self.record(self.try_reload(None))
    }

    /// Applies pushed revision `rev` exactly as a reload does: merged with
    /// this instance's own tables (see `pushed`), all-or-nothing, the running
    /// configuration kept on error.
    pub fn apply_revision(
        &self,
        rev: nodeward_cluster::policy::Revision,
    ) -> Result<String, String> {
        let n = rev.number;
        self.record(
            self.try_reload(Some(rev))
                .map(|m| format!("revision {n}: {m}"))
                .map_err(|e| format!("revision {n}: {e}")),
        )
    }

    fn record(&self, result: Result<String, String>) -> Result<String, String> {
        let (ok, message) = match &result {
            Ok(m) => (true, m.clone()),
            Err(e) => (false, e.clone()),
        };
        let counter = if ok {
            &self.metrics.reloads_ok
        } else {
            &self.metrics.reloads_failed
        };
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if ok {
            tracing::info!(config = %self.config_path.display(), "configuration reloaded; {message}");
        } else {
            tracing::error!(config = %self.config_path.display(), "reload failed, keeping the running configuration: {message}");
        }
        *self.last_reload.lock().unwrap_or_else(|p| p.into_inner()) = Some(ReloadStatus {
            at: SystemTime::now(),
            ok,
            message,
        });
        result
    }

    fn try_reload(
        &self,
        incoming: Option<nodeward_cluster::policy::Revision>,
    ) -> Result<String, String> {
        let mut pushed = self.pushed.lock().unwrap_or_else(|p| p.into_inner());
        let local =
            nodeward_config::read_config_file(&self.config_path).map_err(|e| e.to_string())?;
        let config = match incoming.as_ref().or(pushed.as_ref()) {
            None => config::load_from_str(&self.config_path, &local).map_err(|e| e.to_string())?,
            Some(rev) => crate::pushed::effective(&self.config_path, &local, rev)?,
        };
        let message = self.apply_config(config)?;
        if let Some(rev) = incoming {
            *pushed = Some(rev);
        }
        Ok(message)
    }

    /// Swaps in a checked config; nothing changes on error.
    fn apply_config(&self, config: config::GatewayConfig) -> Result<String, String> {
        let mut notes = Vec::new();
        let same_listeners = config.listeners.len() == self.listeners.len()
            && config.listeners.iter().zip(&self.listeners).all(|(a, b)| {
                a.bind == b.bind
                    && a.tls.is_some() == b.tls.is_some()
                    && a.acme == b.acme
                    && a.redirect_https == b.redirect_https
            });
        if !same_listeners {
            notes.push(
                "listener addresses, TLS on/off, ACME settings or redirect_https changed: restart to apply those".to_string(),
            );
        }
        // Load every certificate first so a bad one changes nothing.
        let mut new_tls = Vec::new();
        for (i, state) in self.tls.iter().enumerate() {
            if let (Some(state), Some(files)) =
                (state, config.listeners.get(i).and_then(|l| l.tls.as_ref()))
            {
                new_tls.push((
                    state,
                    crate::listen::tls::load_certified(files).map_err(|e| e.to_string())?,
                ));
            }
        }
        let new_token = match &self.admin_token_file {
            Some(path) => {
                Some(crate::admin::token::load_or_create(path).map_err(|e| e.to_string())?)
            }
            None => None,
        };
        let (pools, pool_notes) = self.registry.reconcile(&config.upstreams, false)?;
        notes.extend(pool_notes);
        let runtime = Runtime::build(&config, &self.metrics, pools);
        if runtime.global.access_log != self.runtime.load().global.access_log {
            notes.push("access_log changed: restart to apply it".to_string());
        }
        for (state, key) in new_tls {
            state.slot.install(key);
        }
        self.guard.set_limits(
            runtime.global.max_connections,
            runtime.global.max_connections_per_ip,
        );
        self.runtime.store(Arc::new(runtime));
        if let Some(token) = new_token {
            if token != **self.admin_token.load() {
                self.admin_token.store(Arc::new(token));
                notes.push(
                    "admin token rotated: status-page sessions signed with the old one are refused"
                        .into(),
                );
            }
        }
        Ok(if notes.is_empty() {
            "applied".into()
        } else {
            notes.join("; ")
        })
    }
}
