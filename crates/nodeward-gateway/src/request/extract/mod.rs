//! Reading the command out of a request, per protocol.
//!
//! The command name drives every policy decision, so it is read the way the
//! node will read it: with a real JSON parser, after string escapes are
//! decoded. Anything a lenient node parser (IRI's Gson) would accept but a
//! strict parser would not — comments, single quotes, unquoted names,
//! duplicate keys, trailing data, invalid UTF-8 — is refused, never passed.

pub mod blocks;
mod depth;
mod iri;
mod jsonrpc;
mod keys;
mod rest;

pub use depth::check_depth;
pub use iri::extract_iri;
pub use jsonrpc::extract_jsonrpc;
pub use rest::{extract_rest, normalize_path};

/// Longest command name accepted.
pub const MAX_COMMAND_LEN: usize = 128;

/// One call found in a request: a single IRI command, one JSON-RPC call of a
/// batch, or a REST `METHOD /path`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Call {
    /// The command, lowercased (names are compared case-insensitively).
    pub command: String,
    /// The JSON-RPC `id` as raw JSON text, to echo in error responses.
    pub id: Option<String>,
}

/// What extraction found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extraction {
    /// The calls, in request order (one unless `batch`).
    pub calls: Vec<Call>,
    /// Whether the body was a JSON-RPC batch array.
    pub batch: bool,
}

/// Why a command could not be read. Each maps to a reject reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ExtractError {
    /// Not strict JSON, or not the shape the protocol requires.
    #[error("invalid JSON: {0}")]
    BadJson(String),
    /// Nested deeper than the route allows.
    #[error("JSON nested deeper than {0} levels")]
    TooDeep(usize),
    /// The command key is absent.
    #[error("missing {0:?}")]
    MissingCommand(&'static str),
    /// The command key appears more than once (in any letter case).
    #[error("duplicate {0:?} key")]
    DuplicateCommand(&'static str),
    /// The command is not a string, or holds characters no command has.
    #[error("{0}")]
    BadCommand(String),
    /// A JSON-RPC batch with more calls than allowed.
    #[error("batch of more than {0} calls")]
    BatchTooLarge(usize),
    /// A REST path that could be read two ways (encoded slashes, dot segments).
    #[error("ambiguous path: {0}")]
    BadPath(String),
}

/// Whether `b` may appear in a command name.
pub fn is_command_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-' | b'/')
}

/// Checks a decoded command value and returns it lowercased.
pub(crate) fn checked_command(raw: &str) -> Result<String, ExtractError> {
    if raw.is_empty() {
        return Err(ExtractError::BadCommand("empty command".into()));
    }
    if raw.len() > MAX_COMMAND_LEN {
        return Err(ExtractError::BadCommand(format!(
            "command longer than {MAX_COMMAND_LEN} bytes"
        )));
    }
    if !raw.bytes().all(is_command_byte) {
        return Err(ExtractError::BadCommand(
            "command holds characters no command name has".into(),
        ));
    }
    Ok(raw.to_ascii_lowercase())
}

/// Turns a failed parse into an [`ExtractError`]: the error our visitors
/// recorded in `slot` when there is one, else serde_json's own message.
pub(crate) fn parse_error(
    slot: &std::cell::RefCell<Option<ExtractError>>,
    e: serde_json::Error,
) -> ExtractError {
    slot.borrow_mut()
        .take()
        .unwrap_or_else(|| ExtractError::BadJson(e.to_string()))
}
