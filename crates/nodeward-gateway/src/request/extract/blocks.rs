//! The block numbers a JSON-RPC request names, so it is only sent to nodes
//! that have reached them: a node that has not would answer `null` or
//! "header not found", which a wallet reads as "no such block".

use super::Call;
use serde_json::Value;

/// Where each method takes its block: a parameter position, or the
/// `fromBlock`/`toBlock` fields of a filter object.
enum BlockAt {
    Param(usize),
    Filter,
}

fn block_at(method: &str) -> Option<BlockAt> {
    Some(match method {
        "eth_getblockbynumber"
        | "eth_getblocktransactioncountbynumber"
        | "eth_getunclecountbyblocknumber"
        | "eth_getunclebyblocknumberandindex"
        | "eth_gettransactionbyblocknumberandindex"
        | "eth_getblockreceipts" => BlockAt::Param(0),
        "eth_getbalance"
        | "eth_getcode"
        | "eth_gettransactioncount"
        | "eth_call"
        | "eth_estimategas"
        | "eth_feehistory" => BlockAt::Param(1),
        "eth_getstorageat" | "eth_getproof" => BlockAt::Param(2),
        "eth_getlogs" => BlockAt::Filter,
        _ => return None,
    })
}

/// A concrete block number: a hex quantity, or an EIP-1898 object with
/// `blockNumber`. Tags (`latest`, `safe`, ...) and block hashes name none.
fn number(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => u64::from_str_radix(s.strip_prefix("0x")?, 16).ok(),
        Value::Object(o) => o.get("blockNumber").and_then(number),
        _ => None,
    }
}

fn named_in(call: &Value, at: &BlockAt) -> Option<u64> {
    let params = call.get("params")?;
    match at {
        BlockAt::Param(i) => params.get(*i).and_then(number),
        BlockAt::Filter => {
            let filter = params.get(0)?;
            ["fromBlock", "toBlock"]
                .iter()
                .filter_map(|k| filter.get(*k).and_then(number))
                .max()
        }
    }
}

/// Whether `method` (lowercase) takes a block parameter.
pub fn takes_block(method: &str) -> bool {
    block_at(method).is_some()
}

/// The concrete block number one call of `method` (lowercase) names in
/// `params`, if any (tags and hashes name none).
pub fn named_block(method: &str, params: &Value) -> Option<u64> {
    let call = serde_json::json!({ "params": params });
    named_in(&call, &block_at(method)?)
}

/// The block parameter one call of `method` (lowercase) passes in `params`
/// (a number, tag, hash or EIP-1898 object), when the method takes it at a
/// fixed position (not for `eth_getLogs` filters).
pub fn block_param<'a>(method: &str, params: &'a Value) -> Option<&'a Value> {
    match block_at(method)? {
        BlockAt::Param(i) => params.get(i),
        BlockAt::Filter => None,
    }
}

/// The highest block number the calls of `body` name, if any. The body is
/// parsed again only when a call's method takes a block.
pub fn highest_block(body: &[u8], calls: &[Call]) -> Option<u64> {
    if !calls.iter().any(|c| block_at(&c.command).is_some()) {
        return None;
    }
    let parsed: Value = serde_json::from_slice(body).ok()?;
    let one = |call: &Value| -> Option<u64> {
        let method = call.get("method")?.as_str()?.to_ascii_lowercase();
        named_in(call, &block_at(&method)?)
    };
    match &parsed {
        Value::Array(batch) => batch.iter().filter_map(one).max(),
        single => one(single),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn calls(body: &str) -> Vec<Call> {
        super::super::extract_jsonrpc(body.as_bytes(), 32, 100)
            .unwrap()
            .calls
    }

    #[test]
    fn finds_the_highest_named_block() {
        let b =
            r#"{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["0x64",false]}"#;
        assert_eq!(highest_block(b.as_bytes(), &calls(b)), Some(100));
        let b =
            r#"{"jsonrpc":"2.0","id":1,"method":"eth_getBlockByNumber","params":["latest",false]}"#;
        assert_eq!(highest_block(b.as_bytes(), &calls(b)), None);
        let b = r#"[{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xabc","0x10"]},
                   {"jsonrpc":"2.0","id":2,"method":"eth_call","params":[{"to":"0x1"},{"blockNumber":"0x20"}]},
                   {"jsonrpc":"2.0","id":3,"method":"eth_getLogs","params":[{"fromBlock":"0x5","toBlock":"0x30"}]}]"#;
        assert_eq!(highest_block(b.as_bytes(), &calls(b)), Some(0x30));
        let b = r#"{"jsonrpc":"2.0","id":1,"method":"eth_chainId","params":[]}"#;
        assert_eq!(highest_block(b.as_bytes(), &calls(b)), None);
        let b = r#"{"jsonrpc":"2.0","id":1,"method":"eth_getBalance","params":["0xabc","0xzz"]}"#;
        assert_eq!(highest_block(b.as_bytes(), &calls(b)), None);
    }
}
