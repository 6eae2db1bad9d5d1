//! Answers to Ethereum-style JSON-RPC calls and batches: head and sync state for
//! health checks, and the error shapes (revert, "header not found", "missing trie
//! node") a load balancer must tell apart when it decides whether to retry.

use serde_json::{json, Value};

use crate::state::State;

/// The method names of a request (one object or a batch), for knobs and counting.
/// Elements without a string `method` are left out.
pub fn methods(req: &Value) -> Vec<&str> {
    match req {
        Value::Array(items) => items
            .iter()
            .filter_map(|i| i.get("method").and_then(Value::as_str))
            .collect(),
        other => other
            .get("method")
            .and_then(Value::as_str)
            .into_iter()
            .collect(),
    }
}

/// The reply to a request: one object, or an array for a batch.
pub fn answer(req: &Value, st: &State) -> Value {
    match req {
        Value::Array(items) if items.is_empty() => error(Value::Null, -32600, "empty batch".into()),
        Value::Array(items) => Value::Array(items.iter().map(|i| answer_one(i, st)).collect()),
        one => answer_one(one, st),
    }
}

fn result(id: Value, result: Value) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "result": result})
}

fn error(id: Value, code: i64, message: String) -> Value {
    json!({"jsonrpc": "2.0", "id": id, "error": {"code": code, "message": message}})
}

fn hex(n: u64) -> String {
    format!("0x{n:x}")
}

/// A well-mixed 64-bit value from `x` (splitmix64).
fn mix(x: u64) -> u64 {
    let mut z = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A 32-byte hash, as `0x` + 64 hex digits, that depends only on `seed`.
fn hash32(seed: u64) -> String {
    let mut s = String::with_capacity(66);
    s.push_str("0x");
    for i in 0..4u64 {
        s.push_str(&format!("{:016x}", mix(seed ^ mix(i))));
    }
    s
}

/// The hash of block `n`: the same on every test node, so nodes agree,
/// unless a node was told to fork (`fork_seed`): then blocks from
/// `fork_from` up get other hashes, as after a reorg.
pub fn block_hash(n: u64, st: &State) -> String {
    if st.fork_seed != 0 && n >= st.fork_from {
        hash32(n ^ mix(st.fork_seed))
    } else {
        hash32(n)
    }
}

/// The block a block parameter names: a hex number, a tag, or an EIP-1898
/// object; a missing parameter means "latest".
fn block_number(p: Option<&Value>, head: u64) -> Result<u64, String> {
    match p {
        None | Some(Value::Null) => Ok(head),
        Some(Value::String(s)) => match s.as_str() {
            "latest" | "pending" | "safe" | "finalized" => Ok(head),
            "earliest" => Ok(0),
            s => s
                .strip_prefix("0x")
                .and_then(|h| u64::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("invalid block number {s:?}")),
        },
        Some(Value::Number(n)) => n
            .as_u64()
            .ok_or_else(|| format!("invalid block number {n}")),
        Some(Value::Object(o)) if o.contains_key("blockNumber") => {
            block_number(o.get("blockNumber"), head)
        }
        Some(Value::Object(o)) if o.contains_key("blockHash") => Ok(head),
        Some(other) => Err(format!("invalid block parameter {other}")),
    }
}

const MISSING_TRIE: &str = "missing trie node abc (path )";

fn answer_one(req: &Value, st: &State) -> Value {
    let Value::Object(obj) = req else {
        return error(Value::Null, -32600, "invalid request".into());
    };
    let id = obj.get("id").cloned().unwrap_or(Value::Null);
    let Some(method) = obj.get("method").and_then(Value::as_str) else {
        return error(id, -32600, "invalid request: no method".into());
    };
    let params: &[Value] = match obj.get("params") {
        Some(Value::Array(p)) => p,
        _ => &[],
    };
    let head = st.head;
    if st.huge_result.iter().any(|m| m == method) {
        return result(id, json!("7".repeat(1 << 20)));
    }
    match method {
        "eth_blockNumber" => result(id, json!(hex(head))),
        "eth_syncing" if st.syncing => result(
            id,
            json!({"currentBlock": hex(head), "highestBlock": hex(st.highest()), "startingBlock": "0x0"}),
        ),
        "eth_syncing" => result(id, json!(false)),
        "net_peerCount" => result(id, json!(hex(st.peers))),
        "eth_chainId" => result(id, json!("0x1")),
        "net_version" => result(id, json!("1")),
        "web3_clientVersion" => result(id, json!(format!("testnode/{}", st.name))),
        "eth_getBlockByNumber" => match block_number(params.first(), head) {
            Err(e) => error(id, -32602, e),
            Ok(n) if n > head => result(id, Value::Null),
            Ok(n) => result(
                id,
                json!({
                    "number": hex(n),
                    "hash": block_hash(n, st),
                    "parentHash": n.checked_sub(1).map_or_else(|| format!("0x{}", "0".repeat(64)), |p| block_hash(p, st)),
                    "node": st.name,
                }),
            ),
        },
        "eth_getBalance" => match block_number(params.get(1), head) {
            Err(e) => error(id, -32602, e),
            Ok(_) if st.missing_trie => error(id, -32000, MISSING_TRIE.into()),
            Ok(n) if n > head => error(id, -32000, "header not found".into()),
            Ok(_) => result(id, json!("0x0")),
        },
        "eth_call" => {
            let tx = params.first();
            let data = tx
                .and_then(|t| t.get("data").or_else(|| t.get("input")))
                .and_then(Value::as_str);
            if data == Some("0xrevert") {
                return error(id, 3, "execution reverted".into());
            }
            match block_number(params.get(1), head) {
                Err(e) => error(id, -32602, e),
                Ok(_) if st.missing_trie => error(id, -32000, MISSING_TRIE.into()),
                Ok(n) if n > head => error(id, -32000, "header not found".into()),
                Ok(_) => {
                    let hexname: String = st.name.bytes().map(|b| format!("{b:02x}")).collect();
                    result(id, json!(format!("0x{hexname}")))
                }
            }
        }
        "eth_sendRawTransaction" => {
            let raw = params.first().and_then(Value::as_str).unwrap_or("");
            // FNV-1a of the raw transaction, so equal inputs give equal hashes.
            let seed = raw.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
                (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
            });
            result(id, json!(hash32(seed)))
        }
        other => error(
            id,
            -32601,
            format!("the method {other} does not exist/is not available"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(st: &State, method: &str, params: Value) -> Value {
        answer(
            &json!({"jsonrpc": "2.0", "id": 7, "method": method, "params": params}),
            st,
        )
    }

    #[test]
    fn head_sync_and_blocks() {
        let mut st = State::new("n1");
        assert_eq!(call(&st, "eth_blockNumber", json!([]))["result"], "0x64");
        assert_eq!(call(&st, "eth_syncing", json!([]))["result"], false);
        st.syncing = true;
        st.highest = Some(200);
        let r = call(&st, "eth_syncing", json!([]));
        assert_eq!(r["result"]["highestBlock"], "0xc8");
        let b = call(&st, "eth_getBlockByNumber", json!(["0x10", false]));
        assert_eq!(b["result"]["number"], "0x10");
        assert_eq!(b["result"]["hash"], block_hash(16, &st));
        assert_eq!(b["result"]["parentHash"], block_hash(15, &st));
        let canonical = block_hash(100, &st);
        let forked = st
            .patched(&json!({"fork_seed": 7, "fork_from": 100}))
            .unwrap();
        assert_ne!(block_hash(100, &forked), canonical);
        assert_eq!(block_hash(99, &forked), block_hash(99, &st));
        assert_eq!(b["id"], 7);
        assert_eq!(
            call(&st, "eth_getBlockByNumber", json!(["0x65", false]))["result"],
            Value::Null
        );
        assert_eq!(
            call(&st, "eth_getBlockByNumber", json!(["latest", false]))["result"]["number"],
            "0x64"
        );
        assert_eq!(
            call(&st, "eth_getBlockByNumber", json!(["zz"]))["error"]["code"],
            -32602
        );
    }

    #[test]
    fn call_errors() {
        let mut st = State::new("ab");
        assert_eq!(
            call(&st, "eth_call", json!([{"data": "0x"}, "latest"]))["result"],
            "0x6162"
        );
        let r = call(&st, "eth_call", json!([{"data": "0xrevert"}, "latest"]));
        assert_eq!(
            r["error"],
            json!({"code": 3, "message": "execution reverted"})
        );
        let r = call(&st, "eth_call", json!([{}, "0x1000"]));
        assert_eq!(r["error"]["message"], "header not found");
        let r = call(&st, "eth_getBalance", json!(["0xabc", "0x1000"]));
        assert_eq!(r["error"]["code"], -32000);
        st.missing_trie = true;
        let r = call(&st, "eth_getBalance", json!(["0xabc", "latest"]));
        assert!(r["error"]["message"]
            .as_str()
            .unwrap()
            .starts_with("missing trie node"));
        assert_eq!(call(&st, "nope", json!([]))["error"]["code"], -32601);
    }

    #[test]
    fn batches_echo_ids() {
        let st = State::new("n1");
        let req = json!([
            {"jsonrpc": "2.0", "id": "a", "method": "eth_chainId"},
            {"jsonrpc": "2.0", "id": 2, "method": "net_version"},
            5
        ]);
        let r = answer(&req, &st);
        assert_eq!(r[0]["id"], "a");
        assert_eq!(r[1]["result"], "1");
        assert_eq!(r[2]["error"]["code"], -32600);
        assert_eq!(methods(&req), vec!["eth_chainId", "net_version"]);
        assert_eq!(answer(&json!([]), &st)["error"]["code"], -32600);
    }
}
