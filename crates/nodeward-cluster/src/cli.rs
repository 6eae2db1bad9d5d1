//! `nodeward cluster status|push|revisions`: the instances registered under
//! a cluster's prefix (lease, revision run, health), publishing a validated
//! config as a new revision, and the revision history; etcd is found through
//! the `[cluster]` table of a config file.

use crate::config::ClusterConfig;
use crate::keys::{self, Kind};
use crate::policy;
use crate::ClusterError;
use etcd_client::{Client, GetOptions};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// `nodeward cluster ...`.
#[derive(Debug, clap::Args)]
pub struct ClusterArgs {
    #[command(subcommand)]
    command: ClusterCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ClusterCommand {
    /// List the live instances (each registered on its own lease) and their health.
    Status {
        /// Configuration file whose [cluster] table says where etcd is.
        #[arg(long, short = 'c', default_value = "/etc/nodeward/nodeward.toml")]
        config: PathBuf,
        /// Output format.
        #[arg(long, default_value = "text", value_parser = ["text", "json"])]
        format: String,
    },
    /// Validate a config as a reload does and publish it as the next revision
    /// every instance applies (its [cluster] table says where etcd is).
    Push {
        /// The config file to push.
        #[arg(long, short = 'c', default_value = "/etc/nodeward/nodeward.toml")]
        config: PathBuf,
        /// Publish the text of stored revision N again, as a new revision.
        #[arg(long, value_name = "N")]
        rollback: Option<u64>,
    },
    /// List the stored revisions (the last 10) and the one instances are told to run.
    Revisions {
        /// Configuration file whose [cluster] table says where etcd is.
        #[arg(long, short = 'c', default_value = "/etc/nodeward/nodeward.toml")]
        config: PathBuf,
        /// Output format.
        #[arg(long, default_value = "text", value_parser = ["text", "json"])]
        format: String,
    },
}

/// Checks a config text read from a path exactly as the gateway's reload
/// does; `Err` is the file:line message.
pub type Validate<'a> = &'a dyn Fn(&Path, &str) -> Result<(), String>;

/// One live instance.
#[derive(Debug, Serialize)]
pub struct Instance {
    /// Its name.
    pub name: String,
    /// What it registered (pid, version, health).
    pub info: serde_json::Value,
    /// Its lease id (hex).
    pub lease: String,
    /// Seconds left on its lease.
    pub ttl: i64,
    /// Seconds since it last renewed its lease (last heard from etcd).
    pub last_heard: i64,
    /// The etcd revision of its registration.
    pub revision: i64,
}

#[derive(Deserialize)]
struct File {
    cluster: Option<ClusterConfig>,
}

/// Reads the `[cluster]` table of `path` (paths resolved against its directory).
pub fn load(path: &Path) -> Result<ClusterConfig, ClusterError> {
    let text =
        nodeward_config::read_config_file(path).map_err(|e| ClusterError::Config(e.to_string()))?;
    let file: File = nodeward_config::load_sections(path, &text)
        .map_err(|e| ClusterError::Config(e.to_string()))?;
    let mut c = file
        .cluster
        .ok_or_else(|| ClusterError::Config(format!("{}: no [cluster] table", path.display())))?;
    c.validate()
        .map_err(|m| ClusterError::Config(format!("{}: {m}", path.display())))?;
    let dir = path.parent().unwrap_or(Path::new("."));
    for p in [
        &mut c.password_file,
        &mut c.ca_file,
        &mut c.cert_file,
        &mut c.key_file,
    ]
    .into_iter()
    .flatten()
    {
        if p.is_relative() {
            *p = dir.join(&*p);
        }
    }
    Ok(c)
}

/// The instances registered under `cfg`'s prefix.
pub async fn instances(cfg: &ClusterConfig) -> Result<Vec<Instance>, ClusterError> {
    let etcd = |e: etcd_client::Error| ClusterError::Etcd(format!("{}: {e}", cfg.etcd.join(", ")));
    let mut client = connect(cfg).await?;
    let root = format!("{}/{}/", cfg.prefix, Kind::Instance.segment());
    let resp = client
        .get(root.as_str(), Some(GetOptions::new().with_prefix()))
        .await
        .map_err(etcd)?;
    let mut out = Vec::new();
    for kv in resp.kvs() {
        let Some((Kind::Instance, name)) =
            kv.key_str().ok().and_then(|k| keys::split(&cfg.prefix, k))
        else {
            continue;
        };
        let (ttl, last_heard) = match kv.lease() {
            0 => (-1, -1),
            id => {
                let l = client.lease_time_to_live(id, None).await.map_err(etcd)?;
                (l.ttl(), (l.granted_ttl() - l.ttl()).max(0))
            }
        };
        out.push(Instance {
            name: name.to_string(),
            info: serde_json::from_slice(kv.value())
                .unwrap_or_else(|_| serde_json::json!({"health": "unreadable registration"})),
            lease: format!("{:x}", kv.lease()),
            ttl,
            last_heard,
            revision: kv.mod_revision(),
        });
    }
    Ok(out)
}

async fn connect(cfg: &ClusterConfig) -> Result<Client, ClusterError> {
    Client::connect(&cfg.etcd, Some(cfg.connect_options()?))
        .await
        .map_err(|e| ClusterError::Etcd(format!("{}: {e}", cfg.etcd.join(", "))))
}

/// Runs `f` against etcd with a 10 s limit on a small runtime.
fn with_etcd<T>(
    cfg: &ClusterConfig,
    f: impl std::future::Future<Output = Result<T, ClusterError>>,
) -> Result<T, ClusterError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ClusterError::Config(format!("runtime: {e}")))?;
    rt.block_on(async {
        tokio::time::timeout(std::time::Duration::from_secs(10), f)
            .await
            .unwrap_or_else(|_| {
                Err(ClusterError::Etcd(format!(
                    "{}: no answer within 10s",
                    cfg.etcd.join(", ")
                )))
            })
    })
}

fn when(at: u64) -> String {
    humantime::format_rfc3339_seconds(std::time::UNIX_EPOCH + std::time::Duration::from_secs(at))
        .to_string()
}

/// `cluster push`: validates, then publishes; the exit code or an error.
fn push(config: &Path, rollback: Option<u64>, validate: Validate<'_>) -> Result<u8, ClusterError> {
    let cfg = load(config)?;
    let text = match rollback {
        None => nodeward_config::read_config_file(config)
            .map_err(|e| ClusterError::Config(e.to_string()))?,
        Some(n) => with_etcd(&cfg, async {
            let mut c = connect(&cfg).await?;
            let h = policy::history(&mut c, &cfg.prefix).await?;
            h.into_iter()
                .find(|r| r.number == n)
                .map(|r| r.config)
                .ok_or_else(|| {
                    ClusterError::Config(format!(
                        "revision {n} is not in the history (the last {} are kept)",
                        policy::KEEP
                    ))
                })
        })?,
    };
    if let Err(e) = validate(config, &text) {
        eprintln!("{e}");
        eprintln!("nodeward: cluster push: refused, nothing published");
        return Ok(2);
    }
    let rev = with_etcd(&cfg, async {
        let mut c = connect(&cfg).await?;
        policy::publish(&mut c, &cfg.prefix, text).await
    })?;
    println!(
        "pushed revision {} ({}) under {}",
        rev.number,
        rev.short_digest(),
        cfg.prefix
    );
    Ok(0)
}

/// `cluster revisions`.
fn revisions(config: &Path, format: &str) -> Result<u8, ClusterError> {
    let cfg = load(config)?;
    let (list, running) = with_etcd(&cfg, async {
        let mut c = connect(&cfg).await?;
        let list = policy::history(&mut c, &cfg.prefix).await?;
        let running = policy::running(&mut c, &cfg.prefix).await?;
        Ok((list, running))
    })?;
    let current = running.map(|r| r.number);
    if format == "json" {
        let v = serde_json::json!({
            "schema_version": 1,
            "command": "cluster revisions",
            "prefix": cfg.prefix,
            "current": current,
            "revisions": list.iter().map(|r| serde_json::json!({
                "number": r.number,
                "digest": r.digest,
                "by": r.by,
                "at": r.at,
                "bytes": r.config.len(),
            })).collect::<Vec<_>>(),
        });
        println!("{v:#}");
    } else {
        println!("{} revision(s) under {}", list.len(), cfg.prefix);
        for r in &list {
            let mark = if Some(r.number) == current { "*" } else { " " };
            println!(
                "{mark} {:>6}  {}  {}  {}  {} bytes",
                r.number,
                r.short_digest(),
                when(r.at),
                r.by,
                r.config.len()
            );
        }
    }
    Ok(0)
}

/// Runs `nodeward cluster ...` (`validate` checks a config to push as the
/// gateway's reload does); the exit code or an error.
pub fn run(args: ClusterArgs, validate: Validate<'_>) -> Result<u8, ClusterError> {
    match args.command {
        ClusterCommand::Push { config, rollback } => push(&config, rollback, validate),
        ClusterCommand::Revisions { config, format } => revisions(&config, &format),
        ClusterCommand::Status { config, format } => {
            let cfg = load(&config)?;
            let list = with_etcd(&cfg, instances(&cfg))?;
            if format == "json" {
                let v = serde_json::json!({
                    "schema_version": 1,
                    "command": "cluster status",
                    "prefix": cfg.prefix,
                    "instances": list,
                });
                println!("{v:#}");
            } else {
                println!("{} instance(s) under {}", list.len(), cfg.prefix);
                for i in &list {
                    let revision = match i.info["revision"].as_u64() {
                        Some(n) => n.to_string(),
                        None => "local".into(),
                    };
                    println!(
                        "  {:<24} health={} revision={} version={} lease={} ttl={}s last_heard={}s ago",
                        i.name,
                        i.info["health"].as_str().unwrap_or("?"),
                        revision,
                        i.info["version"].as_str().unwrap_or("?"),
                        i.lease,
                        i.ttl,
                        i.last_heard
                    );
                    if let Some(e) = i.info["policy_error"].as_str() {
                        println!("      load error: {e}");
                    }
                }
            }
            Ok(0)
        }
    }
}
