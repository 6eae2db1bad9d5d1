//! JSON-RPC 2.0 (Ethereum-, Bitcoin-style nodes): `method` of one call or of
//! every call in a batch array.
//!
//! Go's encoding/json (geth and friends) matches keys case-insensitively and
//! lets the last duplicate win; other nodes take the first. So `method` keys
//! count in any letter case and a second one is refused. Every batch element
//! is checked; batches are capped before they are fully parsed.

use super::keys::{fail, ErrorSlot, Key, MaybeStr};
use super::{check_depth, checked_command, parse_error, Call, ExtractError, Extraction};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;
use std::fmt;

const KEY: &str = "method";
/// Longest `id` echoed back in error responses (longer ones echo as null).
const MAX_ECHOED_ID: usize = 256;

/// Reads the method of every call in `body`.
pub fn extract_jsonrpc(
    body: &[u8],
    max_depth: usize,
    max_batch: usize,
) -> Result<Extraction, ExtractError> {
    check_depth(body, max_depth)?;
    let slot = ErrorSlot::default();
    let mut de = serde_json::Deserializer::from_slice(body);
    let extraction = Top {
        slot: &slot,
        max_batch,
    }
    .deserialize(&mut de)
    .and_then(|x| de.end().map(|()| x))
    .map_err(|e| parse_error(&slot, e))?;
    Ok(extraction)
}

struct Top<'s> {
    slot: &'s ErrorSlot,
    max_batch: usize,
}

impl<'de> DeserializeSeed<'de> for Top<'_> {
    type Value = Extraction;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Extraction, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = Extraction;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON-RPC call object or a batch array")
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Extraction, A::Error> {
        let call = CallObject { slot: self.slot }.visit_map(map)?;
        Ok(Extraction {
            calls: vec![call],
            batch: false,
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Extraction, A::Error> {
        let mut calls = Vec::new();
        while let Some(call) = seq.next_element_seed(CallObject { slot: self.slot })? {
            if calls.len() == self.max_batch {
                return Err(fail(self.slot, ExtractError::BatchTooLarge(self.max_batch)));
            }
            calls.push(call);
        }
        if calls.is_empty() {
            return Err(fail(self.slot, ExtractError::BadJson("empty batch".into())));
        }
        Ok(Extraction { calls, batch: true })
    }

    fn visit_str<E: de::Error>(self, _v: &str) -> Result<Extraction, E> {
        Err(not_a_call(self.slot))
    }
    fn visit_i64<E: de::Error>(self, _v: i64) -> Result<Extraction, E> {
        Err(not_a_call(self.slot))
    }
    fn visit_u64<E: de::Error>(self, _v: u64) -> Result<Extraction, E> {
        Err(not_a_call(self.slot))
    }
    fn visit_f64<E: de::Error>(self, _v: f64) -> Result<Extraction, E> {
        Err(not_a_call(self.slot))
    }
    fn visit_bool<E: de::Error>(self, _v: bool) -> Result<Extraction, E> {
        Err(not_a_call(self.slot))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Extraction, E> {
        Err(not_a_call(self.slot))
    }
}

fn not_a_call<E: de::Error>(slot: &ErrorSlot) -> E {
    fail(
        slot,
        ExtractError::BadJson("the body must be a JSON-RPC call object or a batch array".into()),
    )
}

/// One call object: its checked method and raw id.
struct CallObject<'s> {
    slot: &'s ErrorSlot,
}

impl<'de> DeserializeSeed<'de> for CallObject<'_> {
    type Value = Call;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Call, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for CallObject<'_> {
    type Value = Call;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON-RPC call object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Call, A::Error> {
        let mut method: Option<String> = None;
        let mut id: Option<Option<String>> = None;
        while let Some(Key(key)) = map.next_key::<Key>()? {
            if key.eq_ignore_ascii_case(KEY) {
                if method.is_some() {
                    return Err(fail(self.slot, ExtractError::DuplicateCommand(KEY)));
                }
                let MaybeStr(value) = map.next_value::<MaybeStr>()?;
                let value = value.ok_or_else(|| {
                    fail(
                        self.slot,
                        ExtractError::BadCommand("\"method\" must be a string".into()),
                    )
                })?;
                method = Some(checked_command(&value).map_err(|e| fail(self.slot, e))?);
            } else if key.eq_ignore_ascii_case("id") {
                if id.is_some() {
                    return Err(fail(
                        self.slot,
                        ExtractError::BadJson("duplicate \"id\" key".into()),
                    ));
                }
                let raw: &RawValue = map.next_value()?;
                let text = raw.get();
                id = Some((text.len() <= MAX_ECHOED_ID).then(|| text.to_owned()));
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        let command = method.ok_or_else(|| fail(self.slot, ExtractError::MissingCommand(KEY)))?;
        Ok(Call {
            command,
            id: id.flatten(),
        })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _seq: A) -> Result<Call, A::Error> {
        Err(fail(
            self.slot,
            ExtractError::BadJson("a batch element must be a call object".into()),
        ))
    }
    fn visit_str<E: de::Error>(self, _v: &str) -> Result<Call, E> {
        Err(element_not_object(self.slot))
    }
    fn visit_i64<E: de::Error>(self, _v: i64) -> Result<Call, E> {
        Err(element_not_object(self.slot))
    }
    fn visit_u64<E: de::Error>(self, _v: u64) -> Result<Call, E> {
        Err(element_not_object(self.slot))
    }
    fn visit_f64<E: de::Error>(self, _v: f64) -> Result<Call, E> {
        Err(element_not_object(self.slot))
    }
    fn visit_bool<E: de::Error>(self, _v: bool) -> Result<Call, E> {
        Err(element_not_object(self.slot))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Call, E> {
        Err(element_not_object(self.slot))
    }
}

fn element_not_object<E: de::Error>(slot: &ErrorSlot) -> E {
    fail(
        slot,
        ExtractError::BadJson("a batch element must be a call object".into()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn methods(body: &str) -> Result<Vec<String>, ExtractError> {
        extract_jsonrpc(body.as_bytes(), 32, 10)
            .map(|e| e.calls.into_iter().map(|c| c.command).collect())
    }

    #[test]
    fn single_and_batch() {
        assert_eq!(
            methods(r#"{"jsonrpc":"2.0","id":1,"method":"eth_blockNumber","params":[]}"#).unwrap(),
            vec!["eth_blocknumber"]
        );
        assert_eq!(
            methods(r#"[{"method":"eth_chainId","id":1},{"METHOD":"admin_peers","id":2}]"#)
                .unwrap(),
            vec!["eth_chainid", "admin_peers"]
        );
        let x = extract_jsonrpc(br#"{"id":"abc","method":"x"}"#, 32, 10).unwrap();
        assert_eq!(x.calls[0].id.as_deref(), Some("\"abc\""));
        assert!(!x.batch);
    }

    #[test]
    fn refuses_ambiguous_or_oversized() {
        for c in [
            r#"{"method":"eth_call","Method":"admin_addPeer"}"#,
            r#"{"method":"eth_call","\u006dethod":"admin_addPeer"}"#,
            r#"[]"#,
            r#"[1]"#,
            r#"[{"method":"a"},[]]"#,
            r#"{"params":[]}"#,
            r#"{"method":{"x":1}}"#,
            r#"{"id":1,"id":2,"method":"a"}"#,
            r#"{method:"a"}"#,
        ] {
            assert!(methods(c).is_err(), "accepted {c}");
        }
        let big = format!("[{}]", [r#"{"method":"a"}"#; 11].join(","));
        assert_eq!(methods(&big), Err(ExtractError::BatchTooLarge(10)));
    }
}
