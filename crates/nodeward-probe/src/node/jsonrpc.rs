//! Ethereum-style JSON-RPC sync state: `eth_syncing`, `eth_blockNumber` and
//! `net_peerCount`, with quantities read in hex (`"0x1a"`) or as plain numbers.

use super::{clip, post_json, NodeError, NodeTarget};
use serde_json::Value;

/// The progress object `eth_syncing` returns while the node catches up.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SyncProgress {
    /// `currentBlock`, when given as a quantity.
    pub current: Option<u64>,
    /// `highestBlock`, when given as a quantity.
    pub highest: Option<u64>,
}

/// A JSON-RPC node's view of its chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainStatus {
    /// None when eth_syncing answered false.
    pub syncing: Option<SyncProgress>,
    /// eth_blockNumber.
    pub head: u64,
    /// net_peerCount, when the node answers it (None if the method errors or is absent).
    pub peers: Option<u64>,
}

/// Reads a JSON-RPC quantity: a `"0x"` hex string, a string of decimal
/// digits, or a JSON number; None for anything else or beyond `u64`.
fn quantity(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => {
            let (digits, radix) = match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
                Some(hex) => (hex, 16),
                None => (s.as_str(), 10),
            };
            // from_str_radix alone would also take a leading '+'.
            if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
                return None;
            }
            u64::from_str_radix(digits, radix).ok()
        }
        _ => None,
    }
}

/// Describes a JSON-RPC error object in at most ~100 bytes of its message.
fn describe_error(e: &Value) -> String {
    let code = e.get("code").and_then(Value::as_i64);
    match (code, e.get("message").and_then(Value::as_str)) {
        (Some(c), Some(m)) => format!("error {c}: {}", clip(m)),
        (None, Some(m)) => format!("error: {}", clip(m)),
        (Some(c), None) => format!("error {c}"),
        (None, None) => format!("error {}", clip(&e.to_string())),
    }
}

/// The `result` of a JSON-RPC answer to `method`, or why there is none.
fn result_of(method: &str, answer: Value) -> Result<Value, NodeError> {
    let Value::Object(mut o) = answer else {
        return Err(NodeError::Invalid(format!(
            "{method}: the answer is not a JSON-RPC object"
        )));
    };
    if let Some(e) = o.get("error").filter(|e| !e.is_null()) {
        return Err(NodeError::Invalid(format!(
            "{method}: {}",
            describe_error(e)
        )));
    }
    o.remove("result")
        .ok_or_else(|| NodeError::Invalid(format!("{method} answered without a result")))
}

/// Calls `method` without parameters and returns its `result`.
async fn call(target: &NodeTarget, method: &'static str) -> Result<Value, NodeError> {
    let body = format!(r#"{{"jsonrpc":"2.0","id":1,"method":"{method}","params":[]}}"#);
    result_of(method, post_json(target, &body).await?)
}

/// Reads an `eth_syncing` result.
fn syncing_of(result: Value) -> Result<Option<SyncProgress>, NodeError> {
    match result {
        Value::Bool(false) => Ok(None),
        Value::Bool(true) => Ok(Some(SyncProgress {
            current: None,
            highest: None,
        })),
        Value::Object(o) => Ok(Some(SyncProgress {
            current: o.get("currentBlock").and_then(quantity),
            highest: o.get("highestBlock").and_then(quantity),
        })),
        _ => Err(NodeError::Invalid(
            "eth_syncing gave neither false nor a progress object".into(),
        )),
    }
}

/// Asks `eth_syncing`, `eth_blockNumber` and `net_peerCount`, one after the
/// other (each within the target's deadline). A JSON-RPC error object for
/// `eth_syncing` or `eth_blockNumber` is a [`NodeError::Invalid`] with its
/// message; any failure of `net_peerCount` only leaves `peers` None.
pub async fn chain_status(target: &NodeTarget) -> Result<ChainStatus, NodeError> {
    let syncing = syncing_of(call(target, "eth_syncing").await?)?;
    let head = block_number(target).await?;
    let peers = call(target, "net_peerCount")
        .await
        .ok()
        .as_ref()
        .and_then(quantity);
    Ok(ChainStatus {
        syncing,
        head,
        peers,
    })
}

/// Asks `eth_blockNumber`: the newest block the node has.
pub async fn block_number(target: &NodeTarget) -> Result<u64, NodeError> {
    let result = call(target, "eth_blockNumber").await?;
    quantity(&result).ok_or_else(|| NodeError::Invalid("eth_blockNumber gave no number".into()))
}

/// A block as the head tracker knows it: its number, hash and parent's hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockId {
    /// The block number.
    pub number: u64,
    /// The block hash (32 bytes).
    pub hash: [u8; 32],
    /// The parent block's hash.
    pub parent: [u8; 32],
}

/// Reads a 32-byte `0x`-hex hash.
fn hash32(v: &Value) -> Option<[u8; 32]> {
    let hex = v.as_str()?.strip_prefix("0x")?;
    if hex.len() != 64 {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}

/// Asks `eth_getBlockByNumber("latest", false)`: the number, hash and parent
/// hash of the node's newest block (what a head tracker needs to see reorgs).
pub async fn head_block(target: &NodeTarget) -> Result<BlockId, NodeError> {
    let body =
        r#"{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["latest",false]}"#;
    let method = "eth_getBlockByNumber";
    let result = result_of(method, post_json(target, body).await?)?;
    block_id(&result).ok_or_else(|| {
        NodeError::Invalid(format!("{method}: no block number, hash and parentHash"))
    })
}

fn block_id(v: &Value) -> Option<BlockId> {
    Some(BlockId {
        number: quantity(v.get("number")?)?,
        hash: hash32(v.get("hash")?)?,
        parent: hash32(v.get("parentHash")?)?,
    })
}

#[cfg(test)]
mod tests {
    use super::super::test_server::{closed_port, target, Server};
    use super::*;
    use crate::http::Url;
    use proptest::prelude::*;

    /// A node answering `result` (raw JSON) per method; unknown methods get
    /// the "method not found" error object.
    async fn node(answers: &'static [(&'static str, &'static str)]) -> Server {
        Server::start(move |req| {
            let v: Value = serde_json::from_str(&req.body).unwrap_or(Value::Null);
            let method = v.get("method").and_then(Value::as_str).unwrap_or("");
            match answers.iter().find(|(m, _)| *m == method) {
                Some((_, answer)) if answer.starts_with("HTTP ") => {
                    (answer[5..].parse().unwrap(), "{}".into())
                }
                Some((_, answer)) if answer.starts_with('!') => (200, answer[1..].into()),
                Some((_, result)) => (
                    200,
                    format!(r#"{{"jsonrpc":"2.0","id":1,"result":{result}}}"#),
                ),
                None => (
                    200,
                    format!(
                        r#"{{"jsonrpc":"2.0","id":1,"error":{{"code":-32601,"message":"the method {method} does not exist/is not available"}}}}"#
                    ),
                ),
            }
        })
        .await
    }

    #[test]
    fn block_ids() {
        use serde_json::json;
        let h = format!("0x{}", "ab".repeat(32));
        let p = format!("0x{}", "01".repeat(32));
        let b = block_id(&json!({"number": "0x10", "hash": h, "parentHash": p})).unwrap();
        assert_eq!((b.number, b.hash[0], b.parent[31]), (16, 0xab, 1));
        assert!(block_id(&json!({"number": "0x10", "hash": "0xab", "parentHash": p})).is_none());
        assert!(block_id(&json!({"number": "0x10", "hash": h})).is_none());
        assert!(block_id(&json!(null)).is_none());
        let odd = format!("0x{}", "é".repeat(32));
        assert!(hash32(&json!(odd)).is_none());
    }

    #[test]
    fn quantities() {
        use serde_json::json;
        assert_eq!(quantity(&json!("0x1a")), Some(26));
        assert_eq!(quantity(&json!("0X1A")), Some(26));
        assert_eq!(quantity(&json!("0x0")), Some(0));
        assert_eq!(quantity(&json!(26)), Some(26));
        assert_eq!(quantity(&json!("26")), Some(26));
        assert_eq!(quantity(&json!("0xffffffffffffffff")), Some(u64::MAX));
        for bad in [
            json!("0x"),
            json!(""),
            json!("0x+1"),
            json!("+1"),
            json!("-1"),
            json!("0x1g"),
            json!("0x10000000000000000"),
            json!(-1),
            json!(1.5),
            json!(null),
            json!([1]),
        ] {
            assert_eq!(quantity(&bad), None, "{bad}");
        }
    }

    #[tokio::test]
    async fn hex_numbers_and_not_syncing() {
        let s = node(&[
            ("eth_syncing", "false"),
            ("eth_blockNumber", "\"0x1a\""),
            ("net_peerCount", "\"0x5\""),
        ])
        .await;
        let status = chain_status(&target(s.url())).await.unwrap();
        assert_eq!(
            status,
            ChainStatus {
                syncing: None,
                head: 26,
                peers: Some(5)
            }
        );
        let seen = s.seen();
        assert_eq!(seen.len(), 3);
        assert_eq!(
            seen[0].body,
            r#"{"jsonrpc":"2.0","id":1,"method":"eth_syncing","params":[]}"#
        );
    }

    #[tokio::test]
    async fn decimal_numbers_and_a_progress_object() {
        let s = node(&[
            (
                "eth_syncing",
                r#"{"startingBlock":"0x0","currentBlock":16,"highestBlock":"0x20"}"#,
            ),
            ("eth_blockNumber", "16"),
            ("net_peerCount", "3"),
        ])
        .await;
        let status = chain_status(&target(s.url())).await.unwrap();
        assert_eq!(
            status.syncing,
            Some(SyncProgress {
                current: Some(16),
                highest: Some(32)
            })
        );
        assert_eq!((status.head, status.peers), (16, Some(3)));
    }

    #[tokio::test]
    async fn syncing_true_has_no_progress_numbers() {
        let s = node(&[("eth_syncing", "true"), ("eth_blockNumber", "\"0x1\"")]).await;
        let status = chain_status(&target(s.url())).await.unwrap();
        assert_eq!(
            status.syncing,
            Some(SyncProgress {
                current: None,
                highest: None
            })
        );
    }

    #[tokio::test]
    async fn peers_absent_or_failing_is_none() {
        // net_peerCount is not served: the method-not-found error object.
        let s = node(&[("eth_syncing", "false"), ("eth_blockNumber", "\"0x64\"")]).await;
        let status = chain_status(&target(s.url())).await.unwrap();
        assert_eq!((status.head, status.peers), (100, None));
        // An HTTP error or a non-number for it is the same.
        for peers in ["HTTP 500", "\"many\""] {
            let answers: &'static [(&str, &str)] = Box::leak(Box::new([
                ("eth_syncing", "false"),
                ("eth_blockNumber", "\"0x64\""),
                ("net_peerCount", peers),
            ]));
            let s = node(answers).await;
            let status = chain_status(&target(s.url())).await.unwrap();
            assert_eq!(status.peers, None, "{peers}");
        }
    }

    #[tokio::test]
    async fn an_error_object_is_invalid_with_its_message() {
        let s = node(&[("eth_syncing", "false")]).await;
        let err = chain_status(&target(s.url())).await.unwrap_err();
        assert!(matches!(err, NodeError::Invalid(_)), "{err:?}");
        assert!(!err.is_not_json());
        assert_eq!(
            err.to_string(),
            "invalid answer: eth_blockNumber: error -32601: the method eth_blockNumber does not exist/is not available"
        );
        let s = node(&[]).await;
        let err = chain_status(&target(s.url())).await.unwrap_err();
        assert!(
            err.to_string().contains("eth_syncing: error -32601"),
            "{err}"
        );
    }

    #[tokio::test]
    async fn wrong_shapes_are_invalid() {
        for (answers, want) in [
            (
                &[("eth_syncing", "null"), ("eth_blockNumber", "1")] as &'static [(&str, &str)],
                "eth_syncing gave neither false nor a progress object",
            ),
            (
                &[("eth_syncing", "false"), ("eth_blockNumber", "\"0x10000000000000000\"")],
                "eth_blockNumber gave no number",
            ),
            (
                &[("eth_syncing", "false"), ("eth_blockNumber", "!{\"jsonrpc\":\"2.0\"}")],
                "eth_blockNumber answered without a result",
            ),
            (
                &[("eth_syncing", "![]")],
                "eth_syncing: the answer is not a JSON-RPC object",
            ),
            (
                &[(
                    "eth_syncing",
                    "!{\"error\":{\"code\":1,\"message\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx SECRET\"}}",
                )],
                "eth_syncing: error 1: xxxx",
            ),
        ] {
            let s = node(answers).await;
            let err = chain_status(&target(s.url())).await.unwrap_err();
            assert!(matches!(err, NodeError::Invalid(_)), "{err:?}");
            assert!(err.to_string().contains(want), "{err}");
            assert!(!err.to_string().contains("SECRET"), "{err}");
        }
    }

    #[tokio::test]
    async fn block_number_alone() {
        let s = node(&[("eth_blockNumber", "\"0x6e\"")]).await;
        assert_eq!(block_number(&target(s.url())).await.unwrap(), 110);
        assert_eq!(s.seen().len(), 1);
        let s = node(&[("eth_blockNumber", "HTTP 403")]).await;
        let err = block_number(&target(s.url())).await.unwrap_err();
        assert!(matches!(err, NodeError::Status(403)), "{err:?}");
        let url = Url::parse(&format!("http://127.0.0.1:{}/", closed_port().await)).unwrap();
        let err = block_number(&target(url)).await.unwrap_err();
        assert!(matches!(err, NodeError::Unreachable(_)), "{err:?}");
    }

    proptest! {
        #[test]
        fn any_answer_reads_without_panicking(body in proptest::collection::vec(any::<u8>(), 0..512)) {
            if let Ok(v) = serde_json::from_slice::<Value>(&body) {
                let _ = quantity(&v);
                if let Ok(r) = result_of("eth_syncing", v) {
                    let _ = syncing_of(r);
                }
            }
        }

        #[test]
        fn any_string_quantity_reads_without_panicking(s in "(0[xX])?[0-9a-fA-F+-]{0,40}") {
            let _ = quantity(&Value::String(s));
        }
    }
}
