//! API keys: who is calling. Keys live in the config only as salted SHA-256
//! hashes (`sha256:<salt hex>:<digest hex>`); a presented key is hashed with
//! every configured key's salt and compared in constant time, and the loop
//! never stops early, so the time taken does not depend on which key (if any)
//! matched or on how much of a digest agreed.

use crate::refusal::{Reason, Reject};
use crate::request::policy::commands::CommandSet;
use crate::request::policy::rate;
use http::{HeaderMap, HeaderName};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// Shortest key accepted (bytes).
pub const MIN_KEY_LEN: usize = 16;
/// Longest key accepted (bytes).
pub const MAX_KEY_LEN: usize = 256;
/// Salt length in a stored hash.
const SALT_LEN: usize = 16;

/// Why a key (presented or stored) is not usable. Never contains the key.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// Too short or too long.
    #[error("an API key is {MIN_KEY_LEN} to {MAX_KEY_LEN} characters long")]
    Length,
    /// Contains something other than visible ASCII.
    #[error("an API key is visible ASCII characters only (no spaces, no control or non-ASCII characters)")]
    Characters,
    /// A stored hash that is not `sha256:<32 hex>:<64 hex>`.
    #[error("not a key hash: expected \"sha256:<32 hex digits salt>:<64 hex digits digest>\" as printed by `nodeward keys hash`")]
    BadHash,
}

/// Checks the form of a key: length and characters.
pub fn check_key(key: &[u8]) -> Result<(), KeyError> {
    if !(MIN_KEY_LEN..=MAX_KEY_LEN).contains(&key.len()) {
        return Err(KeyError::Length);
    }
    if !key.iter().all(|b| (0x21..=0x7e).contains(b)) {
        return Err(KeyError::Characters);
    }
    Ok(())
}

/// A stored key hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyHash {
    salt: [u8; SALT_LEN],
    digest: [u8; 32],
}

impl KeyHash {
    /// Hashes `key` with a new random salt.
    pub fn new(key: &[u8]) -> Result<KeyHash, KeyError> {
        check_key(key)?;
        let mut salt = [0u8; SALT_LEN];
        getrandom::fill(&mut salt).map_err(|_| KeyError::BadHash)?;
        Ok(KeyHash {
            salt,
            digest: digest(&salt, key),
        })
    }

    /// Parses `sha256:<salt hex>:<digest hex>`.
    pub fn parse(s: &str) -> Result<KeyHash, KeyError> {
        let rest = s.strip_prefix("sha256:").ok_or(KeyError::BadHash)?;
        let (salt, dig) = rest.split_once(':').ok_or(KeyError::BadHash)?;
        let mut out = KeyHash {
            salt: [0; SALT_LEN],
            digest: [0; 32],
        };
        unhex(salt, &mut out.salt)?;
        unhex(dig, &mut out.digest)?;
        Ok(out)
    }

    /// Whether `key` hashes to this digest (constant time in the digest comparison).
    fn matches(&self, key: &[u8]) -> bool {
        let d = digest(&self.salt, key);
        let diff = d
            .iter()
            .zip(&self.digest)
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        std::hint::black_box(diff) == 0
    }
}

impl std::fmt::Display for KeyHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("sha256:")?;
        for b in self.salt {
            write!(f, "{b:02x}")?;
        }
        f.write_str(":")?;
        for b in self.digest {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

fn digest(salt: &[u8], key: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(salt);
    h.update(key);
    h.finalize().into()
}

fn unhex(s: &str, out: &mut [u8]) -> Result<(), KeyError> {
    if s.len() != out.len() * 2 {
        return Err(KeyError::BadHash);
    }
    for (i, pair) in s.as_bytes().chunks(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16).ok_or(KeyError::BadHash)?;
        let lo = (pair[1] as char).to_digit(16).ok_or(KeyError::BadHash)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Ok(())
}

/// One configured key with its own limits.
pub struct ApiKey {
    /// The key's name (logged instead of the key).
    pub name: String,
    hash: KeyHash,
    commands: Option<CommandSet>,
    rate: Option<rate::Global>,
    inflight: Option<Arc<Semaphore>>,
}

impl ApiKey {
    /// Builds a key from its checked settings.
    pub fn new(k: &crate::config::ApiKeyConfig) -> ApiKey {
        ApiKey {
            name: k.name.clone(),
            hash: k.hash.clone(),
            commands: k.commands.as_ref().map(|c| CommandSet::new(c)),
            rate: k
                .rate
                .map(|r| rate::Global::named(r, &format!("key {}", k.name))),
            inflight: k.max_inflight.map(|n| Arc::new(Semaphore::new(n))),
        }
    }
}

/// A route's key checking.
pub struct KeyRing {
    header: HeaderName,
    bearer: bool,
    required: bool,
    key_only: CommandSet,
    keys: Vec<ApiKey>,
}

impl KeyRing {
    /// Builds the ring of a route.
    pub fn new(a: &crate::config::AuthConfig) -> KeyRing {
        KeyRing {
            bearer: a.header == http::header::AUTHORIZATION,
            header: a.header.clone(),
            required: a.required,
            key_only: CommandSet::new(&a.key_only),
            keys: a.keys.iter().map(ApiKey::new).collect(),
        }
    }

    /// The header that carries keys (removed before forwarding).
    pub fn header(&self) -> &HeaderName {
        &self.header
    }

    /// Finds the caller's key. `Ok(None)`: no key presented (and none required).
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Option<&ApiKey>, Reject> {
        let mut values = headers.get_all(&self.header).iter();
        let Some(value) = values.next() else {
            if self.required {
                return Err(fail("an API key is required"));
            }
            return Ok(None);
        };
        if values.next().is_some() {
            return Err(fail("send one API key"));
        }
        let mut presented = value.as_bytes();
        if self.bearer {
            let scheme = presented.get(..7).unwrap_or_default();
            if !scheme.eq_ignore_ascii_case(b"bearer ") {
                return Err(fail("expected Authorization: Bearer <API key>"));
            }
            presented = &presented[7..];
        }
        if let Err(e) = check_key(presented) {
            return Err(fail(&e.to_string()));
        }
        let mut found = None;
        for k in &self.keys {
            // Every key is tried, matched or not, so timing tells nothing.
            if k.hash.matches(presented) && found.is_none() {
                found = Some(k);
            }
        }
        found.map(Some).ok_or_else(|| fail("unknown API key"))
    }

    /// Checks the commands of a request against the key (or its absence):
    /// key-only commands need a key, a key limited to some commands gets 403
    /// for the others, and the key's rate and in-flight cap apply.
    pub fn admit(
        &self,
        key: Option<&ApiKey>,
        commands: impl Iterator<Item = impl AsRef<str>> + Clone,
    ) -> Result<Option<OwnedSemaphorePermit>, Reject> {
        let Some(key) = key else {
            if let Some(c) = commands.clone().find(|c| self.key_only.matches(c.as_ref())) {
                return Err(fail(&format!("command {} needs an API key", c.as_ref())));
            }
            return Ok(None);
        };
        if let Some(set) = &key.commands {
            if let Some(c) = commands.clone().find(|c| !set.matches(c.as_ref())) {
                return Err(Reject::new(
                    Reason::DeniedCommand,
                    format!("this API key may not call {}", c.as_ref()),
                ));
            }
        }
        let n = u32::try_from(commands.clone().count()).unwrap_or(u32::MAX);
        if key.rate.as_ref().is_some_and(|r| !r.allow(n)) {
            return Err(Reject::new(
                Reason::RateLimited,
                "too many requests with this API key",
            ));
        }
        match &key.inflight {
            None => Ok(None),
            Some(sem) => sem.clone().try_acquire_owned().map(Some).map_err(|_| {
                Reject::new(
                    Reason::InflightCap,
                    "too many requests in flight with this API key",
                )
            }),
        }
    }
}

fn fail(detail: &str) -> Reject {
    Reject::new(Reason::AuthFailed, detail)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_round_trip_and_match_only_their_key() {
        let h = KeyHash::new(b"correct-horse-battery-staple").unwrap();
        let parsed = KeyHash::parse(&h.to_string()).unwrap();
        assert_eq!(parsed, h);
        assert!(parsed.matches(b"correct-horse-battery-staple"));
        assert!(!parsed.matches(b"correct-horse-battery-stapler"));
    }

    #[test]
    fn bad_keys_and_hashes_are_refused() {
        assert_eq!(check_key(b"short"), Err(KeyError::Length));
        assert_eq!(check_key(&[b'a'; 257]), Err(KeyError::Length));
        assert_eq!(
            check_key("ключ-ключ-ключ-ключ".as_bytes()),
            Err(KeyError::Characters)
        );
        assert_eq!(
            check_key(b"with space in the key"),
            Err(KeyError::Characters)
        );
        for bad in [
            "",
            "sha256:",
            "md5:00:00",
            "sha256:zz:00",
            &format!("sha256:{}:{}", "0".repeat(32), "0".repeat(63)),
        ] {
            assert_eq!(KeyHash::parse(bad), Err(KeyError::BadHash), "{bad}");
        }
    }
}
