//! The Redis keys of `[cluster]`: their checks, and the Redis client they
//! describe (TLS files and the ACL password read from files, never logged).

use crate::{ClusterConfig, ClusterError};
use nodeward_config::Duration;
use std::path::Path;

/// Default `redis_timeout`: an answer slower than this counts as Redis down.
pub fn default_timeout() -> Duration {
    Duration(std::time::Duration::from_secs(1))
}

/// Checks the Redis keys; the message names the key.
pub(crate) fn validate(c: &ClusterConfig) -> Result<(), String> {
    let Some(url) = &c.redis else {
        let stray = c.redis_user.is_some()
            || c.redis_password_file.is_some()
            || c.redis_ca_file.is_some()
            || c.redis_cert_file.is_some()
            || c.redis_prefix.is_some();
        if stray {
            return Err("cluster.redis_*: set cluster.redis first".into());
        }
        return Ok(());
    };
    let tls = url.starts_with("rediss://");
    if !(tls || url.starts_with("redis://")) {
        return Err(format!(
            "cluster.redis: {:?} must start with redis:// or rediss://",
            redact(url)
        ));
    }
    let parsed = redis::parse_redis_url(url)
        .ok_or_else(|| format!("cluster.redis: {:?} is not a Redis URL", redact(url)))?;
    if parsed.password().is_some() {
        return Err(
            "cluster.redis: no password in the URL; put it in cluster.redis_password_file".into(),
        );
    }
    if parsed.host_str().unwrap_or("").is_empty() {
        return Err("cluster.redis: the URL names no host".into());
    }
    if c.redis_user.is_some() && c.redis_password_file.is_none() {
        return Err("cluster.redis_user needs cluster.redis_password_file".into());
    }
    if c.redis_cert_file.is_some() != c.redis_key_file.is_some() {
        return Err("cluster.redis_cert_file and cluster.redis_key_file go together".into());
    }
    if !tls && (c.redis_ca_file.is_some() || c.redis_cert_file.is_some()) {
        return Err("cluster.redis_ca_file/redis_cert_file need a rediss:// URL".into());
    }
    if let Some(p) = &c.redis_prefix {
        if p.is_empty() || p.len() > 128 {
            return Err("cluster.redis_prefix: must be 1-128 characters".into());
        }
    }
    let t = c.redis_timeout.get();
    if t < std::time::Duration::from_millis(10) || t > std::time::Duration::from_secs(30) {
        return Err("cluster.redis_timeout: must be between 10ms and 30s".into());
    }
    if c.limit_batch.is_some_and(|b| b == 0 || b > 10_000) {
        return Err("cluster.limit_batch: must be between 1 and 10000".into());
    }
    match c.instances {
        Some(0) | Some(10_001..) => {
            return Err("cluster.instances: must be between 1 and 10000".into());
        }
        None if c.etcd.is_empty() => {
            return Err(
                "cluster.instances: needed when redis is set without etcd (the split fail mode divides each limit by it)"
                    .into(),
            );
        }
        _ => {}
    }
    Ok(())
}

/// The URL with any `user:password@` cut out, for messages.
fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}***{}", &url[..s + 3], &url[at..]),
        _ => url.to_string(),
    }
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, ClusterError> {
    std::fs::read(path).map_err(|source| ClusterError::File {
        what,
        path: path.display().to_string(),
        source,
    })
}

/// Builds the Redis client `c` describes (URL, ACL user, TLS files).
pub(crate) fn client(c: &ClusterConfig) -> Result<redis::Client, ClusterError> {
    let url = c
        .redis
        .as_deref()
        .ok_or_else(|| ClusterError::Config("cluster.redis is not set".into()))?;
    let bad = |e: redis::RedisError| ClusterError::Config(format!("cluster.redis: {e}"));
    let mut info = redis::IntoConnectionInfo::into_connection_info(url).map_err(bad)?;
    if let Some(file) = &c.redis_password_file {
        let text = read("cluster.redis_password_file", file)?;
        let pw = String::from_utf8_lossy(&text)
            .lines()
            .next()
            .unwrap_or("")
            .to_string();
        let mut settings = info.redis_settings().clone().set_password(pw);
        if let Some(user) = &c.redis_user {
            settings = settings.set_username(user);
        }
        info = info.set_redis_settings(settings);
    }
    if c.redis_ca_file.is_some() || c.redis_cert_file.is_some() {
        let certs = redis::TlsCertificates {
            client_tls: match (&c.redis_cert_file, &c.redis_key_file) {
                (Some(cert), Some(key)) => Some(redis::ClientTlsConfig {
                    client_cert: read("cluster.redis_cert_file", cert)?,
                    client_key: read("cluster.redis_key_file", key)?,
                }),
                _ => None,
            },
            root_cert: match &c.redis_ca_file {
                Some(ca) => Some(read("cluster.redis_ca_file", ca)?),
                None => None,
            },
        };
        redis::Client::build_with_tls(info, certs).map_err(bad)
    } else {
        redis::Client::open(info).map_err(bad)
    }
}

/// Whether a Redis error means the credentials or the ACL are wrong (a
/// setting to fix, not an outage to ride out).
pub(crate) fn is_auth_error(e: &redis::RedisError) -> bool {
    e.kind() == redis::ErrorKind::AuthenticationFailed
        || matches!(e.code(), Some("WRONGPASS" | "NOAUTH" | "NOPERM"))
}

#[cfg(test)]
mod tests {
    #[test]
    fn redacts_credentials() {
        assert_eq!(super::redact("redis://u:pw@h:1"), "redis://***@h:1");
        assert_eq!(super::redact("redis://h:1"), "redis://h:1");
    }
}
