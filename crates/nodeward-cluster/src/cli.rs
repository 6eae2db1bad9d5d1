//! `nodeward cluster status`: the instances registered under a cluster's
//! prefix, each with its lease and health, read from etcd with the
//! `[cluster]` table of a config file.

use crate::config::ClusterConfig;
use crate::keys::{self, Kind};
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
}

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
    let mut client = Client::connect(&cfg.etcd, Some(cfg.connect_options()?))
        .await
        .map_err(etcd)?;
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
        let ttl = match kv.lease() {
            0 => -1,
            id => client
                .lease_time_to_live(id, None)
                .await
                .map_err(etcd)?
                .ttl(),
        };
        out.push(Instance {
            name: name.to_string(),
            info: serde_json::from_slice(kv.value())
                .unwrap_or_else(|_| serde_json::json!({"health": "unreadable registration"})),
            lease: format!("{:x}", kv.lease()),
            ttl,
            revision: kv.mod_revision(),
        });
    }
    Ok(out)
}

/// Runs `nodeward cluster ...`; the exit code (0) or an error.
pub fn run(args: ClusterArgs) -> Result<u8, ClusterError> {
    match args.command {
        ClusterCommand::Status { config, format } => {
            let cfg = load(&config)?;
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| ClusterError::Config(format!("runtime: {e}")))?;
            let list = rt.block_on(async {
                tokio::time::timeout(std::time::Duration::from_secs(10), instances(&cfg))
                    .await
                    .unwrap_or_else(|_| {
                        Err(ClusterError::Etcd(format!(
                            "{}: no answer within 10s",
                            cfg.etcd.join(", ")
                        )))
                    })
            })?;
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
                    println!(
                        "  {:<24} health={} version={} lease={} ttl={}s",
                        i.name,
                        i.info["health"].as_str().unwrap_or("?"),
                        i.info["version"].as_str().unwrap_or("?"),
                        i.lease,
                        i.ttl
                    );
                }
            }
            Ok(0)
        }
    }
}
