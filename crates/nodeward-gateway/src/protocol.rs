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
