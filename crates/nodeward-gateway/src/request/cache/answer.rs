//! JSON-RPC answers without their `id`: stored that way, served with the
//! caller's `id`, and a batch answer assembled in the caller's order.

use serde_json::value::RawValue;
use std::collections::BTreeMap;

/// One answer object read from the node, `id` kept apart.
pub struct NodeAnswer {
    /// The `id` the node echoed (raw JSON).
    pub id: Option<Box<RawValue>>,
    /// The object without `id`, serialised (`{"jsonrpc":"2.0","result":...}`).
    pub rest: Vec<u8>,
    /// Whether it carries a `result` and no `error` (only those are cached).
    pub ok: bool,
    /// Whether the result is `null` ("not there yet" on a node behind, or a
    /// pending transaction): never stored as immutable.
    pub null: bool,
}

/// Splits one answer object; None when it is not an object.
pub fn split(raw: &RawValue) -> Option<NodeAnswer> {
    let mut map: BTreeMap<String, Box<RawValue>> = serde_json::from_str(raw.get()).ok()?;
    let id = map.remove("id");
    let ok = map.contains_key("result") && !map.contains_key("error");
    let null = map.get("result").is_some_and(|r| r.get().trim() == "null");
    let rest = serde_json::to_vec(&map).ok()?;
    Some(NodeAnswer { id, rest, ok, null })
}

/// Writes `rest` (an object without `id`) with `id` put back in, to `out`.
pub fn with_id(rest: &[u8], id: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(b"{\"id\":");
    out.extend_from_slice(id.as_bytes());
    match rest.get(1..) {
        Some(tail) if tail.first().is_some_and(|&b| b != b'}') => {
            out.push(b',');
            out.extend_from_slice(tail);
        }
        _ => out.push(b'}'),
    }
}

/// The `error.code` of an answer object (without `id`), when it is an
/// integer.
pub fn error_code(rest: &[u8]) -> Option<i64> {
    #[derive(serde::Deserialize)]
    struct Error {
        code: i64,
    }
    #[derive(serde::Deserialize)]
    struct Answer {
        error: Error,
    }
    serde_json::from_slice::<Answer>(rest)
        .ok()
        .map(|a| a.error.code)
}

/// An error object for a call the node left unanswered.
pub fn unanswered() -> Vec<u8> {
    br#"{"jsonrpc":"2.0","error":{"code":-32603,"message":"the node did not answer this call"}}"#
        .to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn id_round_trip() {
        let raw: Box<RawValue> =
            serde_json::from_str(r#"{"jsonrpc":"2.0","id":7,"result":"0x1"}"#).unwrap();
        let a = split(&raw).unwrap();
        assert!(a.ok);
        assert_eq!(a.id.unwrap().get(), "7");
        let mut out = Vec::new();
        with_id(&a.rest, r#""abc""#, &mut out);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["id"], "abc");
        assert_eq!(v["result"], "0x1");
        let mut out = Vec::new();
        with_id(b"{}", "null", &mut out);
        assert_eq!(out, b"{\"id\":null}");
    }

    #[test]
    fn errors_are_not_ok() {
        let raw: Box<RawValue> =
            serde_json::from_str(r#"{"id":1,"error":{"code":-1,"message":"x"}}"#).unwrap();
        let a = split(&raw).unwrap();
        assert!(!a.ok);
        assert_eq!(error_code(&a.rest), Some(-1));
        assert_eq!(error_code(br#"{"error":{"code":"x"}}"#), None);
        assert_eq!(error_code(br#"{"result":1}"#), None);
    }
}
