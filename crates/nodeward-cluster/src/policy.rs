//! Pushed config revisions (`nodeward cluster push`): the value format, its
//! integrity check, and the etcd transaction that makes each revision number
//! won by exactly one push.
//!
//! `{prefix}/policy/current` holds the revision every instance runs;
//! `{prefix}/policy/history/{n:010}` keeps the last [`KEEP`] for
//! `cluster revisions` and `cluster push --rollback N`.

use crate::keys::{self, Kind};
use crate::ClusterError;
use etcd_client::{Client, Compare, CompareOp, GetOptions, Txn, TxnOp};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The policy key every instance applies.
pub const CURRENT: &str = "current";

/// Revisions kept in the history.
pub const KEEP: u64 = 10;

/// Largest config text a revision may carry (etcd's default request limit is
/// 1.5 MiB and one push writes the text twice).
pub const MAX_CONFIG: usize = 512 * 1024;

/// One pushed config revision, as stored in etcd (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revision {
    /// Its number: 1 for the first push, one more for each.
    pub number: u64,
    /// SHA-256 of `config`, hex.
    pub digest: String,
    /// Who pushed it (`user@host`).
    pub by: String,
    /// When (seconds since the Unix epoch, the pushing host's clock; shown only).
    pub at: u64,
    /// The config file's text.
    pub config: String,
}

/// SHA-256 of `text`, hex.
pub fn digest(text: &str) -> String {
    Sha256::digest(text.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Revision {
    /// A revision `number` of `config`, pushed now by this user and host.
    pub fn new(number: u64, config: String) -> Revision {
        let user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .unwrap_or_else(|_| "unknown".into());
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .unwrap_or_else(|_| "host".into());
        Revision {
            number,
            digest: digest(&config),
            by: format!("{user}@{host}"),
            at: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            config,
        }
    }

    /// Reads a stored revision, checking its size, fields and digest (a key
    /// corrupted or written by hand is refused, never half-applied).
    pub fn parse(bytes: &[u8]) -> Result<Revision, String> {
        if bytes.len() > MAX_CONFIG * 2 {
            return Err(format!("{} bytes is too large for a revision", bytes.len()));
        }
        let r: Revision =
            serde_json::from_slice(bytes).map_err(|e| format!("not a revision: {e}"))?;
        if r.number == 0 {
            return Err("revision number 0".into());
        }
        if digest(&r.config) != r.digest {
            return Err(format!(
                "revision {}: the config does not match its digest",
                r.number
            ));
        }
        Ok(r)
    }

    /// The first 12 hex digits of the digest.
    pub fn short_digest(&self) -> &str {
        self.digest.get(..12).unwrap_or(&self.digest)
    }
}

/// The history name of revision `n`.
pub fn history_name(n: u64) -> String {
    format!("history/{n:010}")
}

/// The current revision and the etcd mod revision of its key (0 when none).
async fn current(client: &mut Client, prefix: &str) -> Result<(Option<Revision>, i64), String> {
    let key = keys::key(prefix, Kind::Policy, CURRENT);
    let resp = client
        .get(key.as_str(), None)
        .await
        .map_err(|e| e.to_string())?;
    match resp.kvs().first() {
        None => Ok((None, 0)),
        Some(kv) => {
            // A corrupted current key does not block a new push: the next
            // number then comes from the history.
            Ok((Revision::parse(kv.value()).ok(), kv.mod_revision()))
        }
    }
}

/// The stored history, oldest first (unreadable entries skipped).
pub async fn history(client: &mut Client, prefix: &str) -> Result<Vec<Revision>, ClusterError> {
    let root = keys::key(prefix, Kind::Policy, "history/");
    let resp = client
        .get(root.as_str(), Some(GetOptions::new().with_prefix()))
        .await
        .map_err(|e| ClusterError::Etcd(e.to_string()))?;
    let mut out: Vec<Revision> = resp
        .kvs()
        .iter()
        .filter_map(|kv| Revision::parse(kv.value()).ok())
        .collect();
    out.sort_by_key(|r| r.number);
    Ok(out)
}

/// The revision instances are told to run, if any.
pub async fn running(client: &mut Client, prefix: &str) -> Result<Option<Revision>, ClusterError> {
    current(client, prefix)
        .await
        .map(|(r, _)| r)
        .map_err(ClusterError::Etcd)
}

/// Publishes `config` as the next revision in one etcd transaction: it
/// succeeds only if `current` is unchanged since it was read, so two pushes
/// can never both win the same number (the loser gets an error and can push
/// again). Drops the history entry that falls out of the last [`KEEP`].
pub async fn publish(
    client: &mut Client,
    prefix: &str,
    config: String,
) -> Result<Revision, ClusterError> {
    if config.len() > MAX_CONFIG {
        return Err(ClusterError::Config(format!(
            "the config is {} bytes; a pushed revision holds at most {MAX_CONFIG}",
            config.len()
        )));
    }
    let (cur, mod_rev) = current(client, prefix).await.map_err(ClusterError::Etcd)?;
    let last = match cur {
        Some(r) => r.number,
        None => history(client, prefix)
            .await?
            .last()
            .map_or(0, |r| r.number),
    };
    let rev = Revision::new(last + 1, config);
    let value = serde_json::to_vec(&rev).map_err(|e| ClusterError::Config(e.to_string()))?;
    let cur_key = keys::key(prefix, Kind::Policy, CURRENT);
    let mut ops = vec![
        TxnOp::put(cur_key.as_str(), value.clone(), None),
        TxnOp::put(
            keys::key(prefix, Kind::Policy, &history_name(rev.number)),
            value,
            None,
        ),
    ];
    if rev.number > KEEP {
        ops.push(TxnOp::delete(
            keys::key(prefix, Kind::Policy, &history_name(rev.number - KEEP)),
            None,
        ));
    }
    let txn = Txn::new()
        .when([Compare::mod_revision(
            cur_key.as_str(),
            CompareOp::Equal,
            mod_rev,
        )])
        .and_then(ops);
    let resp = client
        .txn(txn)
        .await
        .map_err(|e| ClusterError::Etcd(e.to_string()))?;
    if !resp.succeeded() {
        return Err(ClusterError::Etcd(format!(
            "another push took revision {} meanwhile; nothing written, push again",
            rev.number
        )));
    }
    Ok(rev)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_checks_the_digest_and_fields() {
        let r = Revision::new(3, "[gateway]\n".into());
        let bytes = serde_json::to_vec(&r).unwrap();
        assert_eq!(Revision::parse(&bytes).unwrap(), r);
        let mut bad = r.clone();
        bad.config.push('x');
        let err = Revision::parse(&serde_json::to_vec(&bad).unwrap()).unwrap_err();
        assert!(err.contains("digest"), "{err}");
        assert!(Revision::parse(b"garbage")
            .unwrap_err()
            .contains("not a revision"));
        assert_eq!(history_name(7), "history/0000000007");
        assert_eq!(r.short_digest().len(), 12);
    }
}
