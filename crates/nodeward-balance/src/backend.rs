//! Who a backend is: a stable id, an address, a weight, tags, and where it
//! came from (the config file, a watched file, or live registration).

use serde::{Deserialize, Serialize};
use std::fmt;

/// Longest backend id accepted.
pub const MAX_ID_LEN: usize = 64;
/// Highest weight accepted.
pub const MAX_WEIGHT: u32 = 1000;
/// Most tags on one backend, and the longest tag.
pub const MAX_TAGS: usize = 16;
const MAX_TAG_LEN: usize = 64;

/// A backend's stable name within its pool (`node-a`, `10.0.0.5:14265`).
/// Health state, connections and registrations are keyed by it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct BackendId(String);

impl BackendId {
    /// Checks an id: 1 to 64 characters of `A-Z a-z 0-9 . _ : -`.
    pub fn parse(s: &str) -> Result<BackendId, String> {
        if s.is_empty() || s.len() > MAX_ID_LEN {
            return Err(format!(
                "a backend id has 1 to {MAX_ID_LEN} characters (got {})",
                s.len()
            ));
        }
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-')))
        {
            return Err(format!(
                "{:?} is not a backend id: {c:?} is not allowed (letters, digits, '.', '_', ':', '-')",
                crate::shorten(s)
            ));
        }
        Ok(BackendId(s.to_string()))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for BackendId {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        BackendId::parse(&s)
    }
}

impl From<BackendId> for String {
    fn from(id: BackendId) -> String {
        id.0
    }
}

impl fmt::Display for BackendId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How the gateway talks to a backend.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// Plain HTTP/1.1.
    Http,
    /// HTTP/1.1 over TLS, verified; never downgraded to plain HTTP.
    Https,
}

/// A backend's address: scheme, host (DNS name or IP) and port.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Address {
    /// Plain or TLS.
    pub scheme: Scheme,
    /// Host name or IP literal (IPv6 without brackets).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

impl Address {
    /// Parses `http://host[:port]` or `https://host[:port]` with no path,
    /// query or credentials (ports default to 80 and 443).
    pub fn parse(s: &str) -> Result<Address, String> {
        let shown = crate::shorten(s);
        let (scheme, rest) = if let Some(r) = s.strip_prefix("http://") {
            (Scheme::Http, r)
        } else if let Some(r) = s.strip_prefix("https://") {
            (Scheme::Https, r)
        } else if s.contains("://") {
            return Err(format!(
                "{shown:?}: only http:// and https:// backends are supported"
            ));
        } else {
            return Err(format!(
                "{shown:?} needs a scheme (e.g. \"http://{shown}\" or \"https://{shown}\")"
            ));
        };
        let authority = rest.strip_suffix('/').unwrap_or(rest);
        if authority.contains(['/', '?', '#']) {
            return Err(format!(
                "{shown:?}: a backend is a scheme, host and port only, with no path or query"
            ));
        }
        if authority.contains('@') {
            return Err(format!(
                "{shown:?}: credentials in backend URLs are not supported"
            ));
        }
        let default_port = match scheme {
            Scheme::Http => 80,
            Scheme::Https => 443,
        };
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (inner, after) = v6
                .split_once(']')
                .ok_or_else(|| format!("{shown:?}: unclosed '[' in an IPv6 address"))?;
            if inner.parse::<std::net::Ipv6Addr>().is_err() {
                return Err(format!("{shown:?}: {inner:?} is not an IPv6 address"));
            }
            let port = match after {
                "" => default_port,
                p => parse_port(p.strip_prefix(':').unwrap_or("x"), &shown)?,
            };
            (inner.to_string(), port)
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), parse_port(p, &shown)?),
                None => (authority.to_string(), default_port),
            }
        };
        let name_ok = !host.is_empty()
            && host.len() <= 253
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b':' | b'_'));
        if !name_ok {
            return Err(format!(
                "{shown:?}: {:?} is not a host name or IP address",
                crate::shorten(&host)
            ));
        }
        Ok(Address { scheme, host, port })
    }

    /// `host:port` (IPv6 hosts in brackets), as used in Host headers and logs.
    pub fn authority(&self) -> String {
        if self.host.contains(':') {
            format!("[{}]:{}", self.host, self.port)
        } else {
            format!("{}:{}", self.host, self.port)
        }
    }

    /// The default id of a backend at this address: its `host:port`
    /// (IPv6 without brackets), with `https:` in front for TLS backends.
    pub fn default_id(&self) -> BackendId {
        let text = match self.scheme {
            Scheme::Http => format!("{}:{}", self.host, self.port),
            Scheme::Https => format!("https:{}:{}", self.host, self.port),
        };
        let cleaned: String = text
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | ':' | '-') {
                    c
                } else {
                    '_'
                }
            })
            .take(MAX_ID_LEN)
            .collect();
        BackendId(cleaned)
    }
}

fn parse_port(p: &str, shown: &str) -> Result<u16, String> {
    match p.parse::<u16>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!(
            "{shown:?}: {:?} is not a port (1-65535)",
            crate::shorten(p)
        )),
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::Http => "http",
            Scheme::Https => "https",
        };
        write!(f, "{scheme}://{}", self.authority())
    }
}

impl Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Address::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// Where a backend came from; `/status` shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    /// The `[[upstream]]` table of the config file.
    Config,
    /// The upstream's watched `backends_file`.
    File,
    /// Registered through the admin API or `nodeward gateway backends add`.
    Registered,
}

impl Origin {
    /// Where backends of this origin are changed, for messages.
    pub fn place(self) -> &'static str {
        match self {
            Origin::Config => "the config file",
            Origin::File => "the watched backends file",
            Origin::Registered => "registration",
        }
    }

    /// The origin's name in `/status` and errors.
    pub fn name(self) -> &'static str {
        match self {
            Origin::Config => "config",
            Origin::File => "file",
            Origin::Registered => "registered",
        }
    }
}

/// Per-backend changes to the pool's health thresholds (only numbers and
/// versions: which program an exec check runs comes from the config file).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthOverrides {
    /// Largest lag (milestones or blocks) before the backend is critical.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_lag: Option<u64>,
    /// Fewest neighbours or peers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_peers: Option<u64>,
    /// Oldest node version accepted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_version: Option<String>,
}

impl HealthOverrides {
    /// Whether nothing is overridden.
    pub fn is_empty(&self) -> bool {
        self.max_lag.is_none() && self.min_peers.is_none() && self.min_version.is_none()
    }
}

/// Everything that defines one backend of a pool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendSpec {
    /// Stable id within the pool.
    pub id: BackendId,
    /// Where it is.
    pub address: Address,
    /// Relative share of requests (1-1000) for the `weighted` strategy.
    pub weight: u32,
    /// Free-form labels shown in `/status`.
    pub tags: Vec<String>,
    /// Where it came from.
    pub origin: Origin,
    /// Its own health thresholds, if any.
    pub overrides: HealthOverrides,
}

impl BackendSpec {
    /// A backend at `address` with its default id, weight 1 and no tags.
    pub fn new(address: Address, origin: Origin) -> BackendSpec {
        BackendSpec {
            id: address.default_id(),
            address,
            weight: 1,
            tags: Vec::new(),
            origin,
            overrides: HealthOverrides::default(),
        }
    }

    /// Checks the weight and tags.
    pub fn validate(&self) -> Result<(), String> {
        if self.weight == 0 || self.weight > MAX_WEIGHT {
            return Err(format!(
                "weight must be 1 to {MAX_WEIGHT} (got {})",
                self.weight
            ));
        }
        if self.tags.len() > MAX_TAGS {
            return Err(format!("at most {MAX_TAGS} tags (got {})", self.tags.len()));
        }
        if let Some(t) = self
            .tags
            .iter()
            .find(|t| t.is_empty() || t.len() > MAX_TAG_LEN || t.chars().any(char::is_control))
        {
            return Err(format!(
                "tag {:?} must have 1 to {MAX_TAG_LEN} printable characters",
                crate::shorten(t)
            ));
        }
        if let Some(v) = &self.overrides.min_version {
            if v.is_empty() || v.len() > 32 {
                return Err("health.min_version must have 1 to 32 characters".into());
            }
        }
        Ok(())
    }

    /// Whether `other` is the same backend (same address and TLS), so that
    /// its connections and health can be carried over.
    pub fn same_endpoint(&self, other: &BackendSpec) -> bool {
        self.address == other.address
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_parse_strictly() {
        let a = Address::parse("http://127.0.0.1:14265").unwrap();
        assert_eq!(
            (a.scheme, a.host.as_str(), a.port),
            (Scheme::Http, "127.0.0.1", 14265)
        );
        assert_eq!(a.default_id().as_str(), "127.0.0.1:14265");
        let a = Address::parse("https://node.example/").unwrap();
        assert_eq!(a.port, 443);
        assert_eq!(a.default_id().as_str(), "https:node.example:443");
        let a = Address::parse("http://[::1]:8545").unwrap();
        assert_eq!(a.authority(), "[::1]:8545");
        assert_eq!(a.to_string(), "http://[::1]:8545");
        for bad in [
            "ftp://x:1",
            "127.0.0.1:80",
            "http://x:1/api",
            "http://u:p@x:1",
            "http://x:0",
            "http://x:99999",
            "http://",
            "http://[zz]:1",
            "http://a b:1",
            "http://x:1?q",
        ] {
            assert!(Address::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn ids_are_checked() {
        assert!(BackendId::parse("node-a.eu_1:x").is_ok());
        assert!(BackendId::parse("").is_err());
        assert!(BackendId::parse("a/b").is_err());
        assert!(BackendId::parse(&"x".repeat(65)).is_err());
    }
}
