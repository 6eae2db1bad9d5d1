//! The node API protocols a route can speak; they decide how a request's
//! command is read and how refusals are shaped.

use serde::Deserialize;

/// Which protocol a route speaks, deciding how the command is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// IOTA IRI/Hornet legacy API: JSON body `{"command": "..."}`.
    Iri,
    /// JSON-RPC 2.0 (Ethereum, Bitcoin style): `method`, batches allowed.
    Jsonrpc,
    /// REST: the command is `METHOD /path`.
    Rest,
}

/// IRI commands that only read: sending one twice changes nothing.
const IRI_READ_ONLY: [&str; 11] = [
    "getnodeinfo",
    "getnodeapiconfiguration",
    "gettips",
    "findtransactions",
    "gettrytes",
    "getbalances",
    "getinclusionstates",
    "wereaddressesspentfrom",
    "checkconsistency",
    "getlatestsolidsubtanglemilestone",
    "getmissingtransactions",
];

/// JSON-RPC methods that only read (exact names).
const JSONRPC_READ_ONLY: [&str; 16] = [
    "eth_call",
    "eth_blocknumber",
    "eth_chainid",
    "net_version",
    "net_listening",
    "net_peercount",
    "eth_gasprice",
    "eth_estimategas",
    "eth_feehistory",
    "eth_maxpriorityfeepergas",
    "eth_syncing",
    "eth_protocolversion",
    "web3_clientversion",
    "eth_blobbasefee",
    "getblockcount",
    "getbestblockhash",
];

/// JSON-RPC method prefixes that only read (`eth_getBalance`, `eth_getLogs`, ...;
/// Bitcoin-style `getblock`, `getrawtransaction`, ...).
const JSONRPC_READ_ONLY_PREFIXES: [&str; 2] = ["eth_get", "getblock"];

impl Protocol {
    /// Whether `command` (lowercase, as extracted) only reads, so that a
    /// request of it may be sent to a second backend. State-changing calls
    /// (`broadcastTransactions`, `attachToTangle`, `eth_sendRawTransaction`,
    /// ...) are not on these lists and are never sent twice. A route's
    /// `[[route.command]] retry` overrides this.
    pub fn is_read_only(self, command: &str) -> bool {
        match self {
            Protocol::Iri => IRI_READ_ONLY.contains(&command),
            Protocol::Jsonrpc => {
                JSONRPC_READ_ONLY.contains(&command)
                    || JSONRPC_READ_ONLY_PREFIXES
                        .iter()
                        .any(|p| command.starts_with(p))
            }
            Protocol::Rest => command.starts_with("get ") || command.starts_with("head "),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Protocol;

    #[test]
    fn read_only_commands_per_protocol() {
        assert!(Protocol::Iri.is_read_only("getbalances"));
        assert!(!Protocol::Iri.is_read_only("broadcasttransactions"));
        assert!(!Protocol::Iri.is_read_only("attachtotangle"));
        assert!(!Protocol::Iri.is_read_only("gettransactionstoapprove"));
        assert!(Protocol::Jsonrpc.is_read_only("eth_getbalance"));
        assert!(Protocol::Jsonrpc.is_read_only("eth_call"));
        assert!(!Protocol::Jsonrpc.is_read_only("eth_sendrawtransaction"));
        assert!(!Protocol::Jsonrpc.is_read_only("personal_sign"));
        assert!(Protocol::Rest.is_read_only("get /api/v1/info"));
        assert!(!Protocol::Rest.is_read_only("post /api/v1/messages"));
    }
}
