//! The `[cluster]` config table: where etcd is, how to log in to it, and
//! which key prefix this cluster owns. Off (absent) by default.

use crate::ClusterError;
use nodeward_config::Duration;
use serde::Deserialize;
use std::path::PathBuf;

/// `[cluster]`: join the gateways that share an etcd prefix.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ClusterConfig {
    /// etcd v3 endpoints, `http://host:2379` or `https://...`.
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
        if self.etcd.is_empty() {
            return Err("cluster.etcd: at least one endpoint is needed".into());
        }
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
}
