//! The gateway process: start-up, signal handling, reload and draining.

use crate::admin;
use crate::config::{self, GatewayConfig};
use crate::listen::{guard::ConnGuard, serve, tls};
use crate::log::AccessLog;
use crate::metrics::Metrics;
use crate::state::{Runtime, Shared};
use arc_swap::ArcSwap;
use clap::ValueEnum;
use nodeward_config::ConfigError;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::watch;

/// Why the gateway could not start.
#[derive(Debug, thiserror::Error)]
pub enum GatewayError {
    /// The config file is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A listener could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// A certificate or key could not be loaded.
    #[error("TLS: {0}")]
    Tls(#[from] tls::TlsError),
    /// An ACME listener's TLS config could not be built.
    #[error("ACME listener: {0}")]
    Acme(String),
    /// The admin token could not be read or created.
    #[error(transparent)]
    Token(#[from] admin::token::TokenError),
    /// The runtime, the access log or a signal handler could not start.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The admin API of a running gateway could not be used.
    #[error("{0}")]
    Admin(String),
    /// The upstream pools could not be set up.
    #[error("{0}")]
    Upstream(String),
    /// Cluster mode could not start (an unreadable secret file).
    #[error("{0}")]
    Cluster(String),
}

/// What the gateway process needs from its command line.
#[derive(Debug, Clone)]
pub struct Options {
    /// The config file.
    pub config: PathBuf,
    /// Worker threads (default: one per core).
    pub threads: Option<u16>,
    /// Overrides `[gateway] state_dir`.
    pub state_dir: Option<PathBuf>,
    /// Format of the diagnostic log on stderr.
    pub log_format: LogFormat,
}

/// Diagnostic log formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// JSON lines.
    Json,
}

/// Loads the config with the command line's `--state-dir` applied.
pub fn load_config(args: &Options) -> Result<GatewayConfig, GatewayError> {
    let mut config = config::load(&args.config)?;
    if let Some(dir) = &args.state_dir {
        if config
            .admin
            .as_ref()
            .is_some_and(|a| a.token_file == config.global.state_dir.join("admin.token"))
        {
            if let Some(a) = config.admin.as_mut() {
                a.token_file = dir.join("admin.token");
            }
        }
        config.global.state_dir = dir.clone();
    }
    Ok(config)
}

/// Starts the gateway and serves until told to stop.
pub fn run(args: Options) -> Result<u8, GatewayError> {
    init_tracing(args.log_format);
    let config = load_config(&args)?;
    raise_open_files_limit();
    let threads = args
        .threads
        .map(usize::from)
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
    crate::workers::set_count(threads);
    // Every worker is a current-thread runtime (no work-stealing bookkeeping
    // on each wake-up); this thread is worker 0 and also runs the admin
    // listener, signals, health checks and upkeep.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(serve_until_stopped(config, threads))
}

fn init_tracing(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("NODEWARD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = match format {
        LogFormat::Text => builder
            .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
            .try_init(),
        LogFormat::Json => builder.json().try_init(),
    };
}

/// Raises the soft open-files limit to the hard limit, so the connection
/// caps, not the kernel, decide when connections are refused.
fn raise_open_files_limit() {
    use nix::sys::resource::{getrlimit, setrlimit, Resource};
    if let Ok((soft, hard)) = getrlimit(Resource::RLIMIT_NOFILE) {
        if soft < hard {
            let _ = setrlimit(Resource::RLIMIT_NOFILE, hard, hard);
        }
    }
}

async fn serve_until_stopped(config: GatewayConfig, threads: usize) -> Result<u8, GatewayError> {
    let metrics = Metrics::default();
    let access_log = AccessLog::open(
        &config.global.access_log,
        metrics.access_log_dropped.clone(),
    )?;
    let mut tls_states = Vec::new();
    let challenges = Arc::new(crate::acme::Challenges::default());
    let mut acme_states = Vec::new();
    for l in &config.listeners {
        tls_states.push(match (&l.tls, &l.acme) {
            (Some(files), _) => Some(tls::file_state(files)?),
            (None, Some(acme)) => {
                let state = Arc::new(crate::acme::AcmeState::new(
                    l.bind,
                    acme.clone(),
                    challenges.clone(),
                ));
                let cfg = tls::acme_server_config(state.resolver.clone())
                    .map_err(|e| GatewayError::Acme(e.to_string()))?;
                let slot = state.resolver.slot.clone();
                acme_states.push(state);
                Some(tls::TlsState {
                    current: ArcSwap::new(cfg),
                    slot,
                })
            }
            (None, None) => None,
        });
    }
    let staplers: Vec<_> = config
        .listeners
        .iter()
        .zip(&tls_states)
        .filter_map(|(l, t)| {
            let (ocsp, t) = (l.ocsp?, t.as_ref()?);
            Some(Arc::new(crate::ocsp::Stapler::new(
                l.bind,
                t.slot.clone(),
                ocsp.refresh,
            )))
        })
        .collect();
    let https_port = config
        .listeners
        .iter()
        .find(|l| l.terminates_tls())
        .map_or(443, |l| l.bind.port());
    let admin = match &config.admin {
        Some(a) => {
            let listener = serve::bind(a.bind, false)
                .and_then(tokio::net::TcpListener::from_std)
                .map_err(|source| GatewayError::Bind {
                    addr: a.bind,
                    source,
                })?;
            let token = admin::token::load_or_create(&a.token_file)?;
            if !a.bind.ip().is_loopback() && a.public_read {
                tracing::warn!(bind = %a.bind, "admin /metrics and /status are readable without a token on a non-loopback address");
            }
            Some((
                listener,
                Arc::new(token),
                a.public_read,
                a.bind,
                a.token_file.clone(),
            ))
        }
        None => None,
    };
    let (registry, warning) = crate::upstream::Registry::open(&config.global.state_dir);
    if let Some(w) = warning {
        tracing::error!("{w}");
    }
    let (pools, notes) = registry
        .reconcile(&config.upstreams, true)
        .map_err(GatewayError::Upstream)?;
    for n in notes {
        tracing::warn!("{n}");
    }
    // Check every pool once before taking clients, so that no request goes
    // to a backend that is down or far behind at start.
    // (Each pool's check task started its first round when the registry
    // made the pool; the rounds run side by side.)
    for p in &pools {
        nodeward_balance::health::checker::first_round(&p.balance).await;
    }
    // Cluster-wide limits first: routes compiled below take their shared rules.
    if let Some(c) = config.cluster.as_ref().filter(|c| c.redis.is_some()) {
        let limits = nodeward_cluster::limits::Limits::start(c)
            .await
            .map_err(|e| GatewayError::Cluster(e.to_string()))?;
        crate::request::policy::cluster_rate::install(limits);
    }
    let runtime = Runtime::build(&config, &metrics, pools);
    if let Some(limits) = crate::request::policy::cluster_rate::engine() {
        let (unknown, known) = limits.unknown_fail_rules();
        if !unknown.is_empty() {
            return Err(GatewayError::Cluster(format!(
                "cluster.limit_fail_rules names {} which no rate limit of this config carries; the rules are: {}",
                unknown.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", "),
                known.iter().map(|n| format!("{n:?}")).collect::<Vec<_>>().join(", ")
            )));
        }
    }
    // Client listeners are bound last: once a client can connect, the admin
    // token exists (tests and scripts wait for the client port).
    // One socket per listener and worker, sharing the port (SO_REUSEPORT).
    let mut sockets: Vec<Vec<(usize, std::net::TcpListener)>> =
        (0..threads).map(|_| Vec::new()).collect();
    for (i, l) in config.listeners.iter().enumerate() {
        for worker in sockets.iter_mut() {
            let socket = serve::bind(l.bind, threads > 1).map_err(|source| GatewayError::Bind {
                addr: l.bind,
                source,
            })?;
            worker.push((i, socket));
        }
    }
    crate::minutes::tick();
    let shared = Arc::new(Shared {
        guard: Arc::new(ConnGuard::new(
            config.global.max_connections,
            config.global.max_connections_per_ip,
        )),
        runtime: ArcSwap::from_pointee(runtime),
        metrics,
        access_log,
        tls: tls_states,
        config_path: config.source.clone(),
        listeners: config.listeners.clone(),
        started: Instant::now(),
        last_reload: Mutex::new(None),
        bans: crate::ban::BanTable::open(
            &config.global.state_dir,
            config
                .global
                .autoban
                .as_ref()
                .map_or(100_000, |a| a.max_bans),
        ),
        registry,
        acme: acme_states,
        ocsp: staplers,
        challenges,
        https_port,
        admin_token: ArcSwap::from_pointee(
            admin
                .as_ref()
                .map(|a| a.1.as_str().to_string())
                .unwrap_or_default(),
        ),
        admin_token_file: admin.as_ref().map(|a| a.4.clone()),
        ui: crate::admin::ui::UiState::default(),
        cluster: std::sync::OnceLock::new(),
        pushed: Mutex::new(None),
    });
    if let Some(c) = config.cluster.as_ref().filter(|c| !c.etcd.is_empty()) {
        crate::cluster::start(&shared, c).map_err(GatewayError::Cluster)?;
    }
    let (shutdown_tx, shutdown_rx) = watch::channel(false);
    // Certificates are ordered in the background: the other listeners serve
    // meanwhile, and an ACME listener refuses handshakes until it has one.
    for state in &shared.acme {
        tokio::spawn(
            state
                .clone()
                .run(shared.challenges.clone(), shutdown_rx.clone()),
        );
    }
    // OCSP staples are fetched in the background too, never on the request path.
    for stapler in &shared.ocsp {
        tokio::spawn(stapler.clone().run(shutdown_rx.clone()));
    }
    for l in &config.listeners {
        tracing::info!(bind = %l.bind, tls = l.terminates_tls(), acme = l.acme.is_some(), redirect_https = l.redirect_https, threads, "listening");
    }
    let mut sockets = sockets.into_iter();
    for (i, listener) in sockets.next().into_iter().flatten() {
        tokio::spawn(serve::accept_loop(
            shared.clone(),
            i,
            listener,
            shutdown_rx.clone(),
        ));
    }
    for (worker, listeners) in sockets.enumerate() {
        spawn_worker(worker + 1, shared.clone(), listeners, shutdown_rx.clone())?;
    }
    if let Some((listener, _token, public_read, bind, token_file)) = admin {
        tracing::info!(%bind, token_file = %token_file.display(), "admin listening");
        tokio::spawn(admin::serve_admin(
            shared.clone(),
            listener,
            public_read,
            shutdown_rx.clone(),
        ));
    }
    tokio::spawn(sweep(shared.clone()));

    let mut hup = signal(SignalKind::hangup())?;
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    loop {
        tokio::select! {
            _ = hup.recv() => { let _ = shared.reload(); }
            _ = term.recv() => break,
            _ = int.recv() => break,
        }
    }
    let drain = shared.runtime.load().global.drain_timeout;
    tracing::info!(open = shared.guard.open(), timeout = ?drain, "stopping: draining connections");
    let _ = shutdown_tx.send(true);
    let deadline = Instant::now() + drain;
    while shared.guard.open() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shared.registry.stop();
    shared.access_log.flush();
    shared.bans.save_if_dirty();
    shared.bans.flush_violations();
    let left = shared.guard.open();
    if left > 0 {
        tracing::warn!(left, "drain timeout reached; closing remaining connections");
    } else {
        tracing::info!("drained; bye");
    }
    Ok(0)
}

/// Starts worker thread `index`: its own current-thread runtime accepting
/// on its own sockets until shutdown; its connections then finish there
/// while the main thread drains (the process exits after the drain).
fn spawn_worker(
    index: usize,
    shared: Arc<Shared>,
    listeners: Vec<(usize, std::net::TcpListener)>,
    shutdown: watch::Receiver<bool>,
) -> Result<(), GatewayError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    std::thread::Builder::new()
        .name(format!("nodeward-gw-{index}"))
        .spawn(move || {
            crate::workers::enter(index);
            runtime.block_on(async move {
                for (i, listener) in listeners {
                    tokio::spawn(serve::accept_loop(
                        shared.clone(),
                        i,
                        listener,
                        shutdown.clone(),
                    ));
                }
                // Keep serving open connections until the process exits.
                std::future::pending::<()>().await;
            });
        })?;
    Ok(())
}

/// Periodic upkeep of per-source tables: rate limiters every 10 s, the ban
/// table (and saving it) every 2 s.
async fn sweep(shared: Arc<Shared>) {
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    let mut ticks: u64 = 0;
    let mut published = crate::majority::Published::default();
    loop {
        tick.tick().await;
        crate::minutes::tick();
        ticks += 1;
        let rt = shared.runtime.load();
        if ticks.is_multiple_of(5) {
            for r in &rt.routes {
                r.sweep();
            }
        }
        shared.bans.sweep(rt.global.autoban.as_ref());
        if let Some(c) = shared.cluster.get() {
            let ready = crate::admin::pools::readiness(&shared).is_ok();
            c.link()
                .set_health(if ready { "ready" } else { "degraded" });
            crate::majority::publish(&shared, c, &mut published);
        }
    }
}
