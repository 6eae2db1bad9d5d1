//! The `[cluster]` config table: where etcd is, how to log in to it, and
//! which key prefix this cluster owns. Off (absent) by default. The Redis
//! keys (cluster-wide rate limits) are checked in `limits::settings`.

use crate::ClusterError;
use nodeward_config::Duration;
use serde::Deserialize;
use std::path::PathBuf;

/// `[cluster]`: join the gateways that share an etcd prefix.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// etcd v3 endpoints, `http://host:2379` or `https://...` (may be empty
    /// when only `redis` is set).
    #[serde(default)]
    pub etcd: Vec<String>,
    /// The key prefix this cluster owns (several clusters can share one etcd).
    #[serde(default = "default_prefix")]
    pub prefix: String,
    /// This instance's name in `{prefix}/instances/` (default: host name and pid).
    #[serde(default)]
    pub name: Option<String>,
    /// TTL of this instance's lease: how long a dead instance stays listed.
    #[serde(default = "default_lease")]
    pub lease_ttl: Duration,
    /// etcd user (with `password_file`).
    #[serde(default)]
    pub user: Option<String>,
    /// File holding the etcd user's password (first line).
    #[serde(default)]
    pub password_file: Option<PathBuf>,
    /// CA certificate (PEM) that signed etcd's server certificate.
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Client certificate (PEM) for etcd's client-certificate auth.
    #[serde(default)]
    pub cert_file: Option<PathBuf>,
    /// Key (PEM) of `cert_file`.
    #[serde(default)]
    pub key_file: Option<PathBuf>,
    /// Redis URL for cluster-wide rate limits (`redis://` or `rediss://`).
    #[serde(default)]
    pub redis: Option<String>,
    /// Redis ACL user (with `redis_password_file`).
    #[serde(default)]
    pub redis_user: Option<String>,
    /// File holding the Redis password (first line).
    #[serde(default)]
    pub redis_password_file: Option<PathBuf>,
    /// CA certificate (PEM) that signed Redis's server certificate.
    #[serde(default)]
    pub redis_ca_file: Option<PathBuf>,
    /// Client certificate (PEM) for Redis's `tls-auth-clients`.
    #[serde(default)]
    pub redis_cert_file: Option<PathBuf>,
    /// Key (PEM) of `redis_cert_file`.
    #[serde(default)]
    pub redis_key_file: Option<PathBuf>,
    /// Prefix of the Redis keys (default: `prefix`).
    #[serde(default)]
    pub redis_prefix: Option<String>,
    /// How long a Redis answer may take before Redis counts as down.
    #[serde(default = "crate::limits::settings::default_timeout")]
    pub redis_timeout: Duration,
    /// Tokens an instance takes from Redis per refill (default: limit/20, 1 to 10 000).
    #[serde(default)]
    pub limit_batch: Option<u32>,
    /// What a cluster-wide limit does while Redis is unreachable.
    #[serde(default)]
    pub limit_fail: crate::limits::FailMode,
    /// Per-rule fail modes, by rule name (as in `/metrics`).
    #[serde(default)]
    pub limit_fail_rules: std::collections::BTreeMap<String, crate::limits::FailMode>,
    /// Instances sharing the limits, for `split` when etcd is not set.
    #[serde(default)]
    pub instances: Option<u32>,
}

fn default_prefix() -> String {
    "/nodeward".into()
}

fn default_lease() -> Duration {
    Duration(std::time::Duration::from_secs(10))
}

impl ClusterConfig {
    /// Checks what serde cannot; the message names the key.
    pub fn validate(&self) -> Result<(), String> {
        if self.etcd.is_empty() && self.redis.is_none() {
            return Err("cluster.etcd: at least one endpoint is needed (or cluster.redis)".into());
        }
        crate::limits::settings::validate(self)?;
        for e in &self.etcd {
            if !(e.starts_with("http://") || e.starts_with("https://")) {
                return Err(format!(
                    "cluster.etcd: {e:?} must start with http:// or https://"
                ));
            }
        }
        if !self.prefix.starts_with('/') || self.prefix.len() < 2 || self.prefix.ends_with('/') {
            return Err(format!(
                "cluster.prefix: {:?} must start with / and not end with /",
                self.prefix
            ));
        }
        let ttl = self.lease_ttl.get().as_secs();
        if !(2..=3600).contains(&ttl) {
            return Err("cluster.lease_ttl: must be between 2s and 1h".into());
        }
        if self.user.is_some() != self.password_file.is_some() {
            return Err("cluster.user and cluster.password_file go together".into());
        }
        if self.cert_file.is_some() != self.key_file.is_some() {
            return Err("cluster.cert_file and cluster.key_file go together".into());
        }
        if let Some(n) = &self.name {
            if n.is_empty() || n.contains('/') || n.len() > 128 {
                return Err(format!(
                    "cluster.name: {n:?} must be 1-128 characters without /"
                ));
            }
        }
        Ok(())
    }

    /// This instance's name.
    pub fn instance_name(&self) -> String {
        self.name.clone().unwrap_or_else(|| {
            let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
                .map(|h| h.trim().to_string())
                .unwrap_or_else(|_| "host".into());
            format!("{host}-{}", std::process::id())
        })
    }

    /// The etcd connect options: auth and TLS, secrets read from files.
    pub(crate) fn connect_options(&self) -> Result<etcd_client::ConnectOptions, ClusterError> {
        let read = |what: &'static str, path: &PathBuf| {
            std::fs::read(path).map_err(|source| ClusterError::File {
                what,
                path: path.display().to_string(),
                source,
            })
        };
        let mut opts = etcd_client::ConnectOptions::new()
            .with_connect_timeout(std::time::Duration::from_secs(2))
            .with_timeout(std::time::Duration::from_secs(5))
            .with_keep_alive(
                std::time::Duration::from_secs(2),
                std::time::Duration::from_secs(2),
            );
        if let (Some(user), Some(file)) = (&self.user, &self.password_file) {
            let pw = String::from_utf8_lossy(&read("cluster.password_file", file)?)
                .lines()
                .next()
                .unwrap_or("")
                .to_string();
            opts = opts.with_user(user.clone(), pw);
        }
        if self.ca_file.is_some() || self.cert_file.is_some() {
            let mut tls = etcd_client::TlsOptions::new();
            if let Some(ca) = &self.ca_file {
                tls = tls.ca_certificate(etcd_client::Certificate::from_pem(read(
                    "cluster.ca_file",
                    ca,
                )?));
            }
            if let (Some(c), Some(k)) = (&self.cert_file, &self.key_file) {
                tls = tls.identity(etcd_client::Identity::from_pem(
                    read("cluster.cert_file", c)?,
                    read("cluster.key_file", k)?,
                ));
            }
            opts = opts.with_tls(tls);
        }
        Ok(opts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<ClusterConfig, String> {
        let c: ClusterConfig = toml::from_str(s).map_err(|e| e.to_string())?;
        c.validate().map(|()| c)
    }

    #[test]
    fn defaults_and_errors() {
        let c = parse(r#"etcd = ["http://127.0.0.1:2379"]"#).unwrap();
        assert_eq!(c.prefix, "/nodeward");
        assert_eq!(c.lease_ttl.get().as_secs(), 10);
        assert!(parse(r#"etcd = []"#).unwrap_err().contains("cluster.etcd"));
        assert!(parse(r#"etcd = ["127.0.0.1:2379"]"#)
            .unwrap_err()
            .contains("http://"));
        assert!(parse("etcd = [\"http://a:1\"]\nprefix = \"x/\"")
            .unwrap_err()
            .contains("cluster.prefix"));
        assert!(parse("etcd = [\"http://a:1\"]\nuser = \"u\"")
            .unwrap_err()
            .contains("password_file"));
        assert!(parse("etcd = [\"http://a:1\"]\nbogus = 1")
            .unwrap_err()
            .contains("bogus"));
    }

    #[test]
    fn redis_keys() {
        let c = parse("redis = \"redis://127.0.0.1:6379\"\ninstances = 3").unwrap();
        assert!(c.etcd.is_empty());
        assert_eq!(c.limit_fail, crate::limits::FailMode::Split);
        assert!(parse("redis = \"http://a:1\"\ninstances = 3")
            .unwrap_err()
            .contains("cluster.redis"));
        assert!(parse("redis = \"redis://a:1\"")
            .unwrap_err()
            .contains("cluster.instances"));
        assert!(
            parse("redis = \"redis://a:1\"\ninstances = 2\nredis_user = \"u\"")
                .unwrap_err()
                .contains("redis_password_file")
        );
        assert!(
            parse("redis = \"redis://a:1\"\ninstances = 2\nredis_ca_file = \"ca\"")
                .unwrap_err()
                .contains("rediss://")
        );
        assert!(
            parse("redis = \"redis://a:1\"\ninstances = 2\nlimit_fail = \"maybe\"")
                .unwrap_err()
                .contains("maybe")
        );
        assert!(parse("redis = \"redis://u:pw@a:1\"\ninstances = 2")
            .unwrap_err()
            .contains("redis_password_file"));
    }
}
