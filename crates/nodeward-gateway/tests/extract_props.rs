//! Property tests for the command extractors: whatever a strict JSON parser
//! decodes as the command is what the gateway sees, or the body is refused;
//! no input panics.

use nodeward_gateway::request::extract::{extract_iri, extract_jsonrpc, normalize_path};
use proptest::prelude::*;
use serde_json::Value;

/// The command a node with a case-insensitive key match would read, or None
/// when there is none or more than one candidate key.
fn reference_command(body: &[u8], key: &str) -> Option<Result<String, ()>> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let obj = v.as_object()?;
    let mut found = obj.iter().filter(|(k, _)| k.eq_ignore_ascii_case(key));
    let (_, value) = found.next()?;
    if found.next().is_some() {
        return Some(Err(()));
    }
    Some(value.as_str().map(|s| s.to_ascii_lowercase()).ok_or(()))
}

/// JSON-escapes `s`, escaping a random subset of characters as \uXXXX.
fn escape_some(s: &str, mask: u64) -> String {
    let mut out = String::from("\"");
    for (i, c) in s.chars().enumerate() {
        if mask >> (i % 64) & 1 == 1 && (c as u32) < 0x10000 {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                c => out.push(c),
            }
        }
    }
    out.push('"');
    out
}

fn arb_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::from),
        "[a-zA-Z0-9 _]{0,12}".prop_map(Value::String),
    ];
    leaf.prop_recursive(4, 32, 6, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            prop::collection::btree_map("[a-z]{1,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn arbitrary_bytes_never_panic_and_agree_with_a_strict_parser(body in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Ok(x) = extract_iri(&body, 32) {
            prop_assert_eq!(reference_command(&body, "command"), Some(Ok(x.calls[0].command.clone())));
        }
        let _ = extract_jsonrpc(&body, 32, 10);
        if let Ok(s) = std::str::from_utf8(&body) {
            let _ = normalize_path(s);
        }
    }

    #[test]
    fn generated_bodies_yield_the_decoded_command(
        key_case in prop::collection::vec(any::<bool>(), 7),
        command in "[a-zA-Z]{1,20}|[a-z]{1,5}\u{0131}[a-z]{0,3}|[a-z ]{1,8}",
        key_mask in any::<u64>(),
        value_mask in any::<u64>(),
        others in prop::collection::btree_map("[a-z]{1,6}", arb_json(), 0..4),
        duplicate in any::<bool>(),
        ws in "[ \t\r\n]{0,3}",
    ) {
        let key: String = "command"
            .chars()
            .zip(&key_case)
            .map(|(c, up)| if *up { c.to_ascii_uppercase() } else { c })
            .collect();
        let mut parts: Vec<String> = others
            .iter()
            .filter(|(k, _)| !k.eq_ignore_ascii_case("command"))
            .map(|(k, v)| format!("{}:{}", serde_json::to_string(k).unwrap(), v))
            .collect();
        parts.push(format!("{ws}{}{ws}:{ws}{}", escape_some(&key, key_mask), escape_some(&command, value_mask)));
        if duplicate {
            parts.push(format!("{}:\"getNodeInfo\"", escape_some("command", key_mask >> 7)));
        }
        let body = format!("{{{}}}", parts.join(","));
        let got = extract_iri(body.as_bytes(), 32);
        let valid_name = command.bytes().all(|b| b.is_ascii_alphanumeric());
        if duplicate || !valid_name {
            prop_assert!(got.is_err(), "accepted {}", body);
        } else {
            prop_assert_eq!(got.unwrap().calls[0].command.clone(), command.to_ascii_lowercase());
        }
    }

    #[test]
    fn jsonrpc_batches_report_every_method(methods in prop::collection::vec("[a-z]{1,8}_[a-zA-Z]{1,8}", 1..12)) {
        let body = format!(
            "[{}]",
            methods.iter().enumerate().map(|(i, m)| format!(r#"{{"jsonrpc":"2.0","id":{i},"method":"{m}"}}"#)).collect::<Vec<_>>().join(",")
        );
        let x = extract_jsonrpc(body.as_bytes(), 32, 10);
        if methods.len() > 10 {
            prop_assert!(x.is_err());
        } else {
            let got: Vec<String> = x.unwrap().calls.into_iter().map(|c| c.command).collect();
            let want: Vec<String> = methods.iter().map(|m| m.to_ascii_lowercase()).collect();
            prop_assert_eq!(got, want);
        }
    }
}
