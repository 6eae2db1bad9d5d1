//! Reading a JSON-RPC answer that arrived whole, to tell a node that lacks
//! what was asked (not yet synced to that block, state pruned: another node
//! may have it) from a final answer (an execution revert is the chain's
//! verdict, the same on every node).

/// Messages of errors another node may not give.
const NODE_STATE_ERRORS: [&str; 4] = [
    "header not found",
    "missing trie node",
    "unknown block",
    "block not found",
];

/// Largest answer read to classify it.
pub const MAX_CLASSIFIED: usize = 64 * 1024;

/// Whether `body` is a JSON-RPC error (of a single call) that comes from
/// this node's state rather than from the chain.
pub fn is_node_state_error(body: &[u8]) -> bool {
    if body.len() > MAX_CLASSIFIED || memchr::memmem::find(body, b"\"error\"").is_none() {
        return false;
    }
    #[derive(serde::Deserialize)]
    struct Answer {
        error: Option<ErrorObject>,
    }
    #[derive(serde::Deserialize)]
    struct ErrorObject {
        message: Option<String>,
    }
    let Ok(answer) = serde_json::from_slice::<Answer>(body) else {
        return false;
    };
    let Some(message) = answer.error.and_then(|e| e.message) else {
        return false;
    };
    let lower = message.to_ascii_lowercase();
    NODE_STATE_ERRORS.iter().any(|m| lower.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_state_errors_are_told_from_final_answers() {
        assert!(is_node_state_error(
            br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"header not found"}}"#
        ));
        assert!(is_node_state_error(
            br#"{"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"missing trie node 9a3b (path )"}}"#
        ));
        assert!(!is_node_state_error(
            br#"{"jsonrpc":"2.0","id":1,"error":{"code":3,"message":"execution reverted"}}"#
        ));
        assert!(!is_node_state_error(
            br#"{"jsonrpc":"2.0","id":1,"result":"0x1"}"#
        ));
        assert!(!is_node_state_error(
            br#"[{"error":{"message":"header not found"}}]"#
        ));
        assert!(!is_node_state_error(b"garbage \"error\""));
    }
}
