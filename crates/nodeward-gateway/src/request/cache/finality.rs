//! Finality for cached JSON-RPC calls that name a block: a block at least
//! `confirmations` below the pool head is final (its answers are immutable);
//! `latest` and recent blocks are pinned to the block hash the pool's chain
//! tracker saw at that height, so a reorg gives them another key, and an
//! answer is stored only if it came from that very block.

use nodeward_balance::pool::PoolHealth;
use serde_json::value::RawValue;
use serde_json::Value;
use std::collections::BTreeMap;

/// A not-yet-final block a call was resolved to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pin {
    /// Its height.
    pub height: u64,
    /// Its hash, as the chain tracker saw it.
    pub hash: [u8; 32],
}

/// What a call under a `confirmations` rule resolves to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Resolved {
    /// A concrete block at least `confirmations` below the head: immutable.
    Final,
    /// `latest`, or a concrete block above that: cached under its hash.
    Pinned(Pin),
    /// Anything else (`pending`, `safe`, `finalized`, `earliest`, hashes,
    /// blocks above the head, an unknown head or hash): not cached.
    Uncached,
}

/// Resolves the block a call of `command` names. `confirmations` make a
/// block final; `chain` is the pool's health (head and recent hashes).
pub fn resolve(
    obj: &BTreeMap<String, Box<RawValue>>,
    command: &str,
    confirmations: u64,
    chain: Option<&PoolHealth>,
) -> Resolved {
    let (Some(chain), Some(params)) = (chain, obj.get("params")) else {
        return Resolved::Uncached;
    };
    let Some(head) = chain.head() else {
        return Resolved::Uncached;
    };
    let Ok(params) = serde_json::from_str::<Value>(params.get()) else {
        return Resolved::Uncached;
    };
    let blocks = crate::request::extract::blocks::named_block(command, &params);
    let pinned = |height: u64| match chain.chain.hash_at(height) {
        Some(hash) => Resolved::Pinned(Pin { height, hash }),
        None => Resolved::Uncached,
    };
    match blocks {
        Some(n) if n.saturating_add(confirmations) <= head => Resolved::Final,
        Some(n) if n <= head => pinned(n),
        Some(_) => Resolved::Uncached,
        None => {
            let tag = crate::request::extract::blocks::block_param(command, &params);
            match (tag.and_then(Value::as_str), chain.chain.head()) {
                // The tracker's newest block is the pool head's block.
                (Some("latest"), Some((n, hash))) if n == head => {
                    Resolved::Pinned(Pin { height: n, hash })
                }
                _ => Resolved::Uncached,
            }
        }
    }
}

/// Appends the pin to a cache key's text.
pub fn key_suffix(pin: &Pin, text: &mut Vec<u8>) {
    text.extend_from_slice(format!("\0@{}:", pin.height).as_bytes());
    for b in pin.hash {
        text.extend_from_slice(format!("{b:02x}").as_bytes());
    }
}

/// Whether an answer (an object without `id`) may be stored under `pin`: a
/// block object in its `result` must be the pinned block (same number and
/// hash); other results carry no block and are judged by the node's head.
pub fn answer_matches(pin: &Pin, rest: &[u8]) -> bool {
    let Ok(v) = serde_json::from_slice::<Value>(rest) else {
        return false;
    };
    let Some(result) = v.get("result").filter(|r| r.is_object()) else {
        return true;
    };
    let number = result.get("number").and_then(Value::as_str);
    let hash = result.get("hash").and_then(Value::as_str);
    match (number, hash) {
        (Some(n), Some(h)) => {
            let mut want = String::with_capacity(66);
            want.push_str("0x");
            for b in pin.hash {
                want.push_str(&format!("{b:02x}"));
            }
            u64::from_str_radix(n.trim_start_matches("0x"), 16) == Ok(pin.height)
                && h.eq_ignore_ascii_case(&want)
        }
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pin() -> Pin {
        Pin {
            height: 16,
            hash: [0xab; 32],
        }
    }

    #[test]
    fn a_block_from_another_branch_is_not_stored() {
        let h = format!("0x{}", "ab".repeat(32));
        let good = format!(r#"{{"result":{{"number":"0x10","hash":"{h}"}}}}"#);
        assert!(answer_matches(&pin(), good.as_bytes()));
        let other = format!(
            r#"{{"result":{{"number":"0x10","hash":"0x{}"}}}}"#,
            "cd".repeat(32)
        );
        assert!(!answer_matches(&pin(), other.as_bytes()));
        let higher = format!(r#"{{"result":{{"number":"0x11","hash":"{h}"}}}}"#);
        assert!(!answer_matches(&pin(), higher.as_bytes()));
        assert!(answer_matches(&pin(), br#"{"result":"0x0"}"#));
        assert!(!answer_matches(&pin(), b"garbage"));
    }

    #[test]
    fn pins_split_keys() {
        let mut a = Vec::new();
        key_suffix(&pin(), &mut a);
        let mut b = Vec::new();
        key_suffix(
            &Pin {
                hash: [0xac; 32],
                ..pin()
            },
            &mut b,
        );
        assert_ne!(a, b);
        assert!(a.ends_with("abab".as_bytes()));
    }
}
