//! IOTA IRI / Hornet legacy API: the body is `{"command": "<name>", ...}`.
//!
//! IRI reads bodies with Gson in lenient mode, which also accepts comments,
//! single-quoted and unquoted strings, `=`/`=>` separators and more. Such
//! bodies are not strict JSON and are refused here, so no spelling reaches the
//! node that the gateway did not decode the same way. `command` keys in any
//! letter case count, and more than one is refused.

use super::keys::{fail, ErrorSlot, Key, MaybeStr};
use super::{check_depth, checked_command, parse_error, Call, ExtractError, Extraction};
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use std::fmt;

const KEY: &str = "command";

/// Reads the IRI command from `body`, refusing anything IRI could read differently.
pub fn extract_iri(body: &[u8], max_depth: usize) -> Result<Extraction, ExtractError> {
    check_depth(body, max_depth)?;
    let slot = ErrorSlot::default();
    let mut de = serde_json::Deserializer::from_slice(body);
    let command = CommandObject { slot: &slot }
        .deserialize(&mut de)
        .and_then(|c| de.end().map(|()| c))
        .map_err(|e| parse_error(&slot, e))?;
    Ok(Extraction {
        calls: vec![Call { command, id: None }],
        batch: false,
    })
}

/// Deserialises one object and returns its checked, lowercased `command`.
pub(super) struct CommandObject<'s> {
    pub slot: &'s ErrorSlot,
}

impl<'de> DeserializeSeed<'de> for CommandObject<'_> {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<String, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for CommandObject<'_> {
    type Value = String;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object with a \"command\"")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<String, A::Error> {
        let mut command: Option<String> = None;
        while let Some(Key(key)) = map.next_key::<Key>()? {
            if !key.eq_ignore_ascii_case(KEY) {
                map.next_value::<IgnoredAny>()?;
                continue;
            }
            if command.is_some() {
                return Err(fail(self.slot, ExtractError::DuplicateCommand(KEY)));
            }
            let MaybeStr(value) = map.next_value::<MaybeStr>()?;
            let value = value.ok_or_else(|| {
                fail(
                    self.slot,
                    ExtractError::BadCommand("\"command\" must be a string".into()),
                )
            })?;
            command = Some(checked_command(&value).map_err(|e| fail(self.slot, e))?);
        }
        command.ok_or_else(|| fail(self.slot, ExtractError::MissingCommand(KEY)))
    }

    fn visit_seq<A: de::SeqAccess<'de>>(self, _seq: A) -> Result<String, A::Error> {
        Err(fail(
            self.slot,
            ExtractError::BadJson("the body must be a JSON object, not an array".into()),
        ))
    }

    fn visit_str<E: de::Error>(self, _v: &str) -> Result<String, E> {
        Err(fail(
            self.slot,
            ExtractError::BadJson("the body must be a JSON object".into()),
        ))
    }

    fn visit_i64<E: de::Error>(self, _v: i64) -> Result<String, E> {
        Err(fail(
            self.slot,
            ExtractError::BadJson("the body must be a JSON object".into()),
        ))
    }

    fn visit_u64<E: de::Error>(self, _v: u64) -> Result<String, E> {
        Err(fail(
            self.slot,
            ExtractError::BadJson("the body must be a JSON object".into()),
        ))
    }

    fn visit_f64<E: de::Error>(self, _v: f64) -> Result<String, E> {
        Err(fail(
            self.slot,
            ExtractError::BadJson("the body must be a JSON object".into()),
        ))
    }

    fn visit_bool<E: de::Error>(self, _v: bool) -> Result<String, E> {
        Err(fail(
            self.slot,
            ExtractError::BadJson("the body must be a JSON object".into()),
        ))
    }

    fn visit_unit<E: de::Error>(self) -> Result<String, E> {
        Err(fail(
            self.slot,
            ExtractError::BadJson("the body must be a JSON object".into()),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmd(body: &str) -> Result<String, ExtractError> {
        extract_iri(body.as_bytes(), 32).map(|e| e.calls[0].command.clone())
    }

    #[test]
    fn reads_the_decoded_command() {
        assert_eq!(cmd(r#"{"command":"getNodeInfo"}"#).unwrap(), "getnodeinfo");
        assert_eq!(
            cmd(" {\n\t\"command\" :\r\n \"AddNEIGHBORS\" } ").unwrap(),
            "addneighbors"
        );
        assert_eq!(
            cmd(r#"{"command":"\u0061ddNeighbors"}"#).unwrap(),
            "addneighbors"
        );
        assert_eq!(
            cmd(r#"{"\u0063ommand":"addNeighbors"}"#).unwrap(),
            "addneighbors"
        );
        assert_eq!(
            cmd(r#"{"COMMAND":"addNeighbors"}"#).unwrap(),
            "addneighbors"
        );
        assert_eq!(
            cmd(r#"{"command":"getNodeInfo","note":"getNeighbors"}"#).unwrap(),
            "getnodeinfo"
        );
    }

    #[test]
    fn refuses_what_a_lenient_parser_would_read_differently() {
        let cases = [
            r#"{"command":"getNodeInfo","command":"addNeighbors"}"#,
            r#"{"command":"getNodeInfo","Command":"addNeighbors"}"#,
            r#"{"command":"getNodeInfo","\u0063ommand":"addNeighbors"}"#,
            r#"{command:"addNeighbors"}"#,
            r#"{'command':'addNeighbors'}"#,
            r#"{"command":"addNeighbors"/*x*/}"#,
            r#"{"command"="addNeighbors"}"#,
            r#"{"command":"getNodeInfo"} {"command":"addNeighbors"}"#,
            r#"{"command":"getNodeInfo";"x":1}"#,
            "\u{feff}{\"command\":\"getNodeInfo\"}",
            r#"{"command":"addNeighbors\u0000"}"#,
            r#"{"command":"addNe\u0131ghbors"}"#,
            r#"{"command":" addNeighbors"}"#,
            r#"{"command":"\ud800"}"#,
            r#"{"command":["addNeighbors"]}"#,
            r#"{"command":null}"#,
            r#"{"command":1}"#,
            r#"{"x":1}"#,
            r#"[{"command":"getNodeInfo"}]"#,
            r#""command""#,
            "",
            "{",
        ];
        for c in cases {
            assert!(cmd(c).is_err(), "accepted {c:?}");
        }
        assert!(extract_iri(b"{\"command\":\"get\xff\"}", 32).is_err());
    }

    #[test]
    fn error_kinds() {
        assert!(matches!(
            cmd(r#"{"x":1}"#),
            Err(ExtractError::MissingCommand(_))
        ));
        assert!(matches!(
            cmd(r#"{"command":1}"#),
            Err(ExtractError::BadCommand(_))
        ));
        assert!(matches!(
            cmd(r#"{"command":"a","command":"b"}"#),
            Err(ExtractError::DuplicateCommand(_))
        ));
        assert!(matches!(cmd("{"), Err(ExtractError::BadJson(_))));
        let deep = format!(
            "{{\"command\":\"getNodeInfo\",\"x\":{}{}}}",
            "[".repeat(100),
            "]".repeat(100)
        );
        assert!(matches!(cmd(&deep), Err(ExtractError::TooDeep(32))));
    }
}
