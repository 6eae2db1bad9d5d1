//! The read cache's config: `cache = "1s" | "immutable"` and
//! `negative_cache = { ttl, codes }` on a `[[route.command]]`, and the
//! route's `[route.cache]` bounds and switch.
//!
//! Kept apart from `file.rs`/`validate.rs` so the cache's keys, defaults and
//! checks live in one place; the two hook in with one field each.

use nodeward_config::ByteSize;
use serde::de::{self, Deserializer};
use serde::Deserialize;
use std::collections::HashMap;
use std::time::Duration;

/// How long answers of one command may be served from the cache.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheRule {
    /// For this long after the node answered.
    Ttl(Duration),
    /// For as long as the entry stays in the cache (answers that never change,
    /// e.g. `eth_chainId` or `getTrytes` of a hash).
    Immutable,
    /// JSON-RPC calls naming a concrete block at least this many blocks below
    /// the pool's head: immutable. Calls naming a tag (`latest`, `pending`,
    /// `safe`, `finalized`), a hash or a recent block are not cached.
    Confirmed(u64),
}

/// Longest TTL accepted (longer ones are a typo or want `"immutable"`).
const MAX_TTL: Duration = Duration::from_secs(24 * 3600);

/// Most confirmations accepted.
const MAX_CONFIRMATIONS: u64 = 1_000_000;

impl<'de> Deserialize<'de> for CacheRule {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RuleVisitor)
    }
}

struct RuleVisitor;

impl<'de> de::Visitor<'de> for RuleVisitor {
    type Value = CacheRule;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a TTL (\"1s\"), \"immutable\" or { confirmations = N }")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<CacheRule, E> {
        text_rule(text).map_err(E::custom)
    }

    fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<CacheRule, A::Error> {
        let mut confirmations = None;
        while let Some(k) = map.next_key::<String>()? {
            match k.as_str() {
                "confirmations" if confirmations.is_none() => {
                    confirmations = Some(map.next_value::<u64>()?)
                }
                other => {
                    return Err(de::Error::custom(format!(
                    "unknown or repeated key {other:?} in a cache rule (expected `confirmations`)"
                )))
                }
            }
        }
        match confirmations {
            Some(n) if (1..=MAX_CONFIRMATIONS).contains(&n) => Ok(CacheRule::Confirmed(n)),
            Some(_) => Err(de::Error::custom(
                "confirmations must be between 1 and 1000000",
            )),
            None => Err(de::Error::custom(
                "a cache rule table needs `confirmations`",
            )),
        }
    }
}

fn text_rule(text: &str) -> Result<CacheRule, String> {
    {
        if text.eq_ignore_ascii_case("immutable") {
            return Ok(CacheRule::Immutable);
        }
        match humantime::parse_duration(text) {
            Ok(t) if t.is_zero() => {
                Err("a cache TTL must be longer than zero (leave `cache` out to not cache)".into())
            }
            Ok(t) if t > MAX_TTL => Err(
                "a cache TTL must be at most 24h (use \"immutable\" for answers that never change)"
                    .into(),
            ),
            Ok(t) => Ok(CacheRule::Ttl(t)),
            Err(_) => Err(format!(
                "{text:?} is neither a duration (\"1s\", \"500ms\") nor \"immutable\""
            )),
        }
    }
}

/// `negative_cache = { ttl = "500ms", codes = [-32000] }` on a JSON-RPC
/// command: these node error objects are served from the cache for `ttl`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NegativeSection {
    /// How long a cached error is served.
    pub ttl: nodeward_config::Duration,
    /// The JSON-RPC error codes cached.
    pub codes: Vec<i64>,
}

/// A command's checked negative-cache rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegativeRule {
    /// How long a cached error is served.
    pub ttl: Duration,
    /// The error codes cached.
    pub codes: Vec<i64>,
}

/// Longest negative-cache TTL accepted.
const MAX_NEGATIVE_TTL: Duration = Duration::from_secs(60);

/// Most error codes in one rule.
const MAX_CODES: usize = 32;

impl NegativeSection {
    /// Checks the rule: a TTL above zero and at most 60 s, 1 to 32 codes.
    pub fn check(&self) -> Result<NegativeRule, String> {
        let ttl = self.ttl.get();
        if ttl.is_zero() || ttl > MAX_NEGATIVE_TTL {
            return Err(
                "negative_cache.ttl must be above zero and at most 60s (errors are cached briefly)"
                    .into(),
            );
        }
        if self.codes.is_empty() || self.codes.len() > MAX_CODES {
            return Err(format!(
                "negative_cache.codes must list 1 to {MAX_CODES} JSON-RPC error codes"
            ));
        }
        Ok(NegativeRule {
            ttl,
            codes: self.codes.clone(),
        })
    }
}

/// `[route.cache]`: the route's cache switch and bounds.
#[derive(Debug, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RouteCacheSection {
    /// Whether the route caches at all (the per-route switch).
    pub enabled: bool,
    /// Most entries held.
    pub max_entries: usize,
    /// Most bytes of answers held.
    pub max_bytes: ByteSize,
    /// Largest single answer stored (larger ones pass through uncached).
    pub max_entry: ByteSize,
    /// Most requests waiting at once on one shared (coalesced) node call;
    /// further identical requests are refused with 503.
    pub max_waiters: usize,
}

impl Default for RouteCacheSection {
    fn default() -> Self {
        RouteCacheSection {
            enabled: true,
            max_entries: 10_000,
            max_bytes: ByteSize(64 * 1024 * 1024),
            max_entry: ByteSize(1024 * 1024),
            max_waiters: 1000,
        }
    }
}

/// The checked cache settings of one route.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// Most entries.
    pub max_entries: usize,
    /// Most bytes.
    pub max_bytes: u64,
    /// Largest answer stored.
    pub max_entry: usize,
    /// Most waiters per shared call.
    pub max_waiters: usize,
    /// Lowercase command -> rule.
    pub rules: HashMap<String, CacheRule>,
    /// Lowercase command -> negative-cache rule.
    pub negative: HashMap<String, NegativeRule>,
}

/// Checks `[route.cache]` against the route's command rules. Returns `None`
/// when nothing on the route is cached (no rules, or `enabled = false`);
/// `Err((key, message))` names the offending key under `[route.cache]`.
pub fn check(
    section: Option<&RouteCacheSection>,
    rules: HashMap<String, CacheRule>,
    negative: HashMap<String, NegativeRule>,
) -> Result<Option<CacheConfig>, (&'static str, String)> {
    let default = RouteCacheSection::default();
    let s = section.unwrap_or(&default);
    if !(1..=10_000_000).contains(&s.max_entries) {
        return Err(("max_entries", "must be between 1 and 10000000".into()));
    }
    if !(4096..=(64u64 << 30)).contains(&s.max_bytes.bytes()) {
        return Err(("max_bytes", "must be between 4KiB and 64GiB".into()));
    }
    let max_entry = s.max_entry.bytes();
    if max_entry == 0 || max_entry > s.max_bytes.bytes() || max_entry > MAX_ENTRY_CAP {
        return Err((
            "max_entry",
            "must be more than zero, at most max_bytes and at most 64MiB".into(),
        ));
    }
    if !(1..=100_000).contains(&s.max_waiters) {
        return Err(("max_waiters", "must be between 1 and 100000".into()));
    }
    if !s.enabled || (rules.is_empty() && negative.is_empty()) {
        return Ok(None);
    }
    Ok(Some(CacheConfig {
        max_entries: s.max_entries,
        max_bytes: s.max_bytes.bytes(),
        max_entry: max_entry as usize,
        max_waiters: s.max_waiters,
        rules,
        negative,
    }))
}

/// Hard cap on `max_entry` (an answer is read whole before it is stored).
pub const MAX_ENTRY_CAP: u64 = 64 * 1024 * 1024;

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(text: &str) -> Result<CacheRule, String> {
        #[derive(Deserialize)]
        struct T {
            cache: CacheRule,
        }
        toml::from_str::<T>(&format!("cache = {text:?}"))
            .map(|t| t.cache)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn rules_parse() {
        assert_eq!(rule("1s").unwrap(), CacheRule::Ttl(Duration::from_secs(1)));
        assert_eq!(rule("Immutable").unwrap(), CacheRule::Immutable);
        assert!(rule("0s").unwrap_err().contains("longer than zero"));
        assert!(rule("forever").unwrap_err().contains("immutable"));
        assert!(rule("48h").unwrap_err().contains("24h"));
        #[derive(Deserialize)]
        struct T {
            cache: CacheRule,
        }
        let t: T = toml::from_str("cache = { confirmations = 12 }").unwrap();
        assert_eq!(t.cache, CacheRule::Confirmed(12));
        assert!(toml::from_str::<T>("cache = { confirmations = 0 }").is_err());
        assert!(toml::from_str::<T>("cache = { ttl = 1 }").is_err());
    }

    #[test]
    fn bounds_checked() {
        let mut rules = HashMap::new();
        rules.insert("x".to_string(), CacheRule::Immutable);
        let none = HashMap::new;
        assert!(check(None, rules.clone(), none()).unwrap().is_some());
        let off = RouteCacheSection {
            enabled: false,
            ..Default::default()
        };
        assert!(check(Some(&off), rules.clone(), none()).unwrap().is_none());
        let bad = RouteCacheSection {
            max_entry: ByteSize(1 << 40),
            ..Default::default()
        };
        assert_eq!(check(Some(&bad), rules, none()).unwrap_err().0, "max_entry");
    }

    #[test]
    fn negative_rules_checked() {
        let n = |t: &str| toml::from_str::<NegativeSection>(t).map_err(|e| e.to_string());
        let ok = n("ttl = \"500ms\"\ncodes = [-32000]")
            .unwrap()
            .check()
            .unwrap();
        assert_eq!(ok.codes, vec![-32000]);
        assert!(n("ttl = \"2m\"\ncodes = [1]")
            .unwrap()
            .check()
            .unwrap_err()
            .contains("60s"));
        assert!(n("ttl = \"1s\"\ncodes = []")
            .unwrap()
            .check()
            .unwrap_err()
            .contains("codes"));
        assert!(n("ttl = \"1s\"\ncodes = [1]\nextra = 1").is_err());
    }
}
