//! Request-body capture for the access log: the body as JSON with configured
//! fields redacted at any depth, cut at a size cap. Bodies whose command
//! could not be read (not JSON, malformed command) are never logged as bytes,
//! only described, so a secret in a malformed body cannot reach the log; the
//! bodies of commands that carry secrets positionally (`personal_*`: the
//! password is a bare array element) are omitted whole.

use crate::request::extract::Call;
use crate::request::policy::commands::CommandSet;
use rustc_hash::FxHashSet as HashSet;
use serde_json::Value;

/// Field names always redacted (compared case-insensitively).
pub const ALWAYS_REDACTED: [&str; 13] = [
    "seed",
    "key",
    "privatekey",
    "private_key",
    "secret",
    "password",
    "passphrase",
    "mnemonic",
    "signature",
    "signaturefragments",
    "signaturemessagefragment",
    "token",
    "apikey",
];

/// Commands whose bodies are never logged (lowercase patterns).
/// JSON-RPC methods that take passwords, passphrases, seeds or private keys as
/// bare array elements (geth's `personal_*`, Bitcoin Core's wallet calls).
pub const ALWAYS_OMITTED: [&str; 8] = [
    "personal_*",
    "wallet*",
    "encryptwallet",
    "importprivkey",
    "importmulti",
    "sethdseed",
    "signrawtransactionwithkey",
    "signmessagewithprivkey",
];

/// What a redacted value is replaced with.
const REDACTED: &str = "[redacted]";

/// A route's capture settings.
#[derive(Debug, Clone)]
pub struct BodyCapture {
    max: usize,
    redact: HashSet<String>,
    omit: CommandSet,
}

impl BodyCapture {
    /// Captures at most `max` bytes, redacting [`ALWAYS_REDACTED`] and `extra`
    /// field names, omitting the bodies of [`ALWAYS_OMITTED`] and `omit` commands.
    pub fn new(max: usize, extra: &[String], omit: &[String]) -> BodyCapture {
        let redact = ALWAYS_REDACTED
            .iter()
            .map(|s| s.to_string())
            .chain(extra.iter().map(|s| s.to_ascii_lowercase()))
            .collect();
        let omit: Vec<String> = ALWAYS_OMITTED
            .iter()
            .map(|s| s.to_string())
            .chain(omit.iter().map(|s| s.to_ascii_lowercase()))
            .collect();
        BodyCapture {
            max,
            redact,
            omit: CommandSet::new(&omit),
        }
    }

    /// The text logged for `body`; `calls` are its commands, `None` when they
    /// could not be read (the body is then described, not copied).
    pub fn capture(&self, body: &[u8], calls: Option<&[Call]>) -> String {
        let Some(calls) = calls else {
            return format!("[not logged: command unreadable, {} bytes]", body.len());
        };
        if let Some(c) = calls.iter().find(|c| self.omit.matches(&c.command)) {
            return format!(
                "[omitted: {} carries secrets, {} bytes]",
                c.command,
                body.len()
            );
        }
        if body.is_empty() {
            return String::new();
        }
        // serde_json stops at 128 levels (an error, not a stack overflow).
        let mut value: Value = match serde_json::from_slice(body) {
            Ok(v) => v,
            Err(_) => return format!("[not JSON, {} bytes, not logged]", body.len()),
        };
        self.redact_in(&mut value);
        let mut text = value.to_string();
        if text.len() > self.max {
            let mut cut = self.max;
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text.truncate(cut);
            text.push_str("...[truncated]");
        }
        text
    }

    fn redact_in(&self, v: &mut Value) {
        match v {
            Value::Object(map) => {
                for (k, child) in map.iter_mut() {
                    if self.redact.contains(&k.to_ascii_lowercase()) {
                        *child = Value::String(REDACTED.into());
                    } else {
                        self.redact_in(child);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|c| self.redact_in(c)),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn call(command: &str) -> Call {
        Call {
            command: command.into(),
            id: None,
        }
    }

    #[test]
    fn redacts_at_any_depth_and_in_any_spelling() {
        let c = BodyCapture::new(4096, &["trunkTransaction".into()], &[]);
        let out = c.capture(
            br#"{"command":"x","SEED":"AAA","p":[{"deep":{"s\u0065ed":"BBB"}}],"trunkTransaction":"CCC"}"#,
            Some(&[call("x")]),
        );
        for secret in ["AAA", "BBB", "CCC"] {
            assert!(!out.contains(secret), "{out}");
        }
        assert!(out.contains("\"command\":\"x\""), "{out}");
        assert_eq!(out.matches(REDACTED).count(), 3, "{out}");
    }

    #[test]
    fn non_json_and_oversized_bodies() {
        let c = BodyCapture::new(20, &[], &["getSecret".into()]);
        let x = [call("x")];
        assert_eq!(
            c.capture(b"seed=SECRET", Some(&x)),
            "[not JSON, 11 bytes, not logged]"
        );
        assert_eq!(
            c.capture(b"{\"seed\":\"SECRET\"}", None),
            "[not logged: command unreadable, 17 bytes]"
        );
        for cmd in ["personal_unlockaccount", "getsecret"] {
            let out = c.capture(
                br#"{"method":"x","params":["0x1","SECRET"]}"#,
                Some(&[call(cmd)]),
            );
            assert!(
                out.starts_with("[omitted: ") && !out.contains("SECRET"),
                "{out}"
            );
        }
        let out = c.capture(
            br#"{"command":"getBalancesXXXXXXXXXXXXXXXXXXXX"}"#,
            Some(&x),
        );
        assert!(
            out.ends_with("...[truncated]") && out.len() <= 20 + 14,
            "{out}"
        );
        let deep = format!("{}{}", "[".repeat(5000), "]".repeat(5000));
        assert!(c
            .capture(deep.as_bytes(), Some(&x))
            .starts_with("[not JSON"));
    }

    proptest! {
        /// Whatever the shape, a value under a redacted key never appears in the capture.
        #[test]
        fn a_secret_under_a_redacted_key_never_appears(
            path in proptest::collection::vec(0usize..3, 0..6),
            key in prop::sample::select(vec!["seed", "Seed", "signatureFragments", "KEY", "mnemonic"]),
        ) {
            let secret = "QWERTYSECRETVALUE";
            let mut v = serde_json::json!({ key: secret });
            for step in path {
                v = match step {
                    0 => serde_json::json!([v]),
                    1 => serde_json::json!({"params": v}),
                    _ => serde_json::json!({"a": 1, "b": [v, 2]}),
                };
            }
            let c = BodyCapture::new(1 << 20, &[], &[]);
            let out = c.capture(v.to_string().as_bytes(), Some(&[call("x")]));
            prop_assert!(!out.contains(secret), "{}", out);
        }
    }
}
