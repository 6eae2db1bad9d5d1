//! Canonical cache keys: the decoded call re-written one way only, so key
//! order, whitespace and string escapes neither split nor collide entries.
//!
//! Objects are written with their keys sorted (the last of duplicate keys
//! wins, as for Go's encoding/json), strings re-escaped by serde_json, and
//! numbers kept as the caller wrote them: a number is never pushed through a
//! float, so two different large integers can never share a key.

use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// Writes `raw` canonically to `out`. Fails only on JSON the extractor would
/// already have refused.
pub fn canonical(raw: &RawValue, out: &mut Vec<u8>) -> Result<(), serde_json::Error> {
    let text = raw.get().trim();
    match text.as_bytes().first() {
        Some(b'{') => {
            let map: BTreeMap<String, Box<RawValue>> = serde_json::from_str(text)?;
            object(&map, None, out)
        }
        Some(b'[') => {
            let items: Vec<Box<RawValue>> = serde_json::from_str(text)?;
            out.push(b'[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                canonical(v, out)?;
            }
            out.push(b']');
            Ok(())
        }
        Some(b'"') => {
            let s: String = serde_json::from_str(text)?;
            serde_json::to_writer(&mut *out, &s)
        }
        // Numbers, true, false, null: as written.
        _ => {
            out.extend_from_slice(text.as_bytes());
            Ok(())
        }
    }
}

/// Writes the object `map` canonically, leaving out the member `skip`.
pub fn object(
    map: &BTreeMap<String, Box<RawValue>>,
    skip: Option<&str>,
    out: &mut Vec<u8>,
) -> Result<(), serde_json::Error> {
    out.push(b'{');
    let mut first = true;
    for (k, v) in map {
        if Some(k.as_str()) == skip {
            continue;
        }
        if !first {
            out.push(b',');
        }
        first = false;
        serde_json::to_writer(&mut *out, k)?;
        out.push(b':');
        canonical(v, out)?;
    }
    out.push(b'}');
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(text: &str) -> String {
        let raw: Box<RawValue> = serde_json::from_str(text).unwrap();
        let mut out = Vec::new();
        canonical(&raw, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn order_whitespace_and_escapes_do_not_split() {
        let a = key(r#"{"method":"eth_getBalance","params":["0xab","latest"]}"#);
        let b = key(r#"{ "params" : [ "0x\u0061b" , "latest" ],
                "method":"eth_getBalance" }"#);
        assert_eq!(a, b);
    }

    #[test]
    fn different_calls_do_not_collide() {
        assert_ne!(
            key(r#"{"p":[123456789012345678901234567890]}"#),
            key(r#"{"p":[123456789012345678901234567891]}"#)
        );
        assert_ne!(key(r#"{"p":"a,b"}"#), key(r#"{"p":["a","b"]}"#));
        assert_ne!(key(r#"{"p":"1"}"#), key(r#"{"p":1}"#));
        // A key holding a quote cannot fake a member boundary.
        assert_ne!(key(r#"{"a\":1,\"b":2}"#), key(r#"{"a":1,"b":2}"#));
    }

    #[test]
    fn last_duplicate_wins() {
        assert_eq!(key(r#"{"a":1,"a":2}"#), key(r#"{"a":2}"#));
    }
}
