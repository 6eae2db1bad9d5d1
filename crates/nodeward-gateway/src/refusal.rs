//! Why a request was refused, and the short error response each protocol expects.

use crate::body::Body;
use crate::protocol::Protocol;
use bytes::Bytes;
use http::{header, HeaderValue, Response, StatusCode};

/// Every reason a request or connection is refused. The code (`denied_command`, ...)
/// appears in the access log, in `/metrics` and in the error body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum Reason {
    /// The command is on the route's deny-list or off its allow-list.
    DeniedCommand,
    /// A per-source or per-command rate limit was hit.
    RateLimited,
    /// The body is larger than allowed.
    BodyTooLarge,
    /// The body is not strict JSON of the protocol's shape.
    BadJson,
    /// JSON nested deeper than allowed.
    JsonTooDeep,
    /// The command key is missing.
    MissingCommand,
    /// The command is not a string, is duplicated, or holds impossible characters.
    BadCommand,
    /// A JSON-RPC batch with too many calls.
    BatchTooLarge,
    /// A REST path with ambiguous spelling.
    BadPath,
    /// The source address is not allowed.
    IpDenied,
    /// Authentication failed (API keys arrive with the guard issue).
    AuthFailed,
    /// A required header is missing.
    MissingHeader,
    /// Malformed HTTP (conflicting framing headers, bad header values).
    BadRequest,
    /// The method is not usable on this route.
    MethodNotAllowed,
    /// The body is compressed or otherwise encoded.
    UnsupportedEncoding,
    /// The client did not send the body in time.
    BodyTimeout,
    /// No route serves the path.
    NoRoute,
    /// The source or the gateway has too many open connections.
    TooManyConnections,
    /// The command's (or route's) in-flight cap is reached.
    InflightCap,
    /// No backend of the pool is healthy, or none could be reached.
    NoHealthyBackend,
    /// The request names a block no backend of the pool has yet.
    BlockUnavailable,
    /// The backend did not answer in time.
    UpstreamTimeout,
    /// The backend answered with something that is not HTTP, or reset.
    UpstreamError,
    /// A CORS preflight from an origin or for a method the route does not allow.
    CorsDenied,
    /// The source is banned (`[gateway.autoban]` or the admin API).
    Banned,
    /// The path, a header or an argument matches a `[route.reject]` pattern.
    RejectedPattern,
    /// The request head is larger than `max_header_size` or has more than
    /// `max_headers` fields.
    HeadTooLarge,
    /// The request head did not arrive within `header_timeout`.
    HeaderTimeout,
}

impl Reason {
    /// Every reason, in a fixed order (metrics index by it).
    pub const ALL: [Reason; 28] = [
        Reason::DeniedCommand,
        Reason::RateLimited,
        Reason::BodyTooLarge,
        Reason::BadJson,
        Reason::JsonTooDeep,
        Reason::MissingCommand,
        Reason::BadCommand,
        Reason::BatchTooLarge,
        Reason::BadPath,
        Reason::IpDenied,
        Reason::AuthFailed,
        Reason::MissingHeader,
        Reason::BadRequest,
        Reason::MethodNotAllowed,
        Reason::UnsupportedEncoding,
        Reason::BodyTimeout,
        Reason::NoRoute,
        Reason::TooManyConnections,
        Reason::InflightCap,
        Reason::NoHealthyBackend,
        Reason::BlockUnavailable,
        Reason::UpstreamTimeout,
        Reason::UpstreamError,
        Reason::CorsDenied,
        Reason::Banned,
        Reason::RejectedPattern,
        Reason::HeadTooLarge,
        Reason::HeaderTimeout,
    ];

    /// The stable reason code.
    pub fn code(self) -> &'static str {
        match self {
            Reason::DeniedCommand => "denied_command",
            Reason::RateLimited => "rate_limited",
            Reason::BodyTooLarge => "body_too_large",
            Reason::BadJson => "bad_json",
            Reason::JsonTooDeep => "json_too_deep",
            Reason::MissingCommand => "missing_command",
            Reason::BadCommand => "bad_command",
            Reason::BatchTooLarge => "batch_too_large",
            Reason::BadPath => "bad_path",
            Reason::IpDenied => "ip_denied",
            Reason::AuthFailed => "auth_failed",
            Reason::MissingHeader => "missing_header",
            Reason::BadRequest => "bad_request",
            Reason::MethodNotAllowed => "method_not_allowed",
            Reason::UnsupportedEncoding => "unsupported_encoding",
            Reason::BodyTimeout => "body_timeout",
            Reason::NoRoute => "no_route",
            Reason::TooManyConnections => "too_many_connections",
            Reason::InflightCap => "inflight_cap",
            Reason::NoHealthyBackend => "no_healthy_backend",
            Reason::BlockUnavailable => "block_unavailable",
            Reason::UpstreamTimeout => "upstream_timeout",
            Reason::UpstreamError => "upstream_error",
            Reason::CorsDenied => "cors_denied",
            Reason::Banned => "banned",
            Reason::RejectedPattern => "rejected_pattern",
            Reason::HeadTooLarge => "head_too_large",
            Reason::HeaderTimeout => "header_timeout",
        }
    }

    /// The HTTP status sent for this reason.
    pub fn status(self) -> StatusCode {
        match self {
            Reason::DeniedCommand
            | Reason::IpDenied
            | Reason::CorsDenied
            | Reason::Banned
            | Reason::RejectedPattern => StatusCode::FORBIDDEN,
            Reason::RateLimited => StatusCode::TOO_MANY_REQUESTS,
            Reason::BodyTooLarge | Reason::BatchTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Reason::BadJson
            | Reason::JsonTooDeep
            | Reason::MissingCommand
            | Reason::BadCommand
            | Reason::BadPath
            | Reason::MissingHeader
            | Reason::BadRequest => StatusCode::BAD_REQUEST,
            Reason::AuthFailed => StatusCode::UNAUTHORIZED,
            Reason::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Reason::UnsupportedEncoding => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Reason::BodyTimeout | Reason::HeaderTimeout => StatusCode::REQUEST_TIMEOUT,
            Reason::HeadTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Reason::NoRoute => StatusCode::NOT_FOUND,
            Reason::TooManyConnections
            | Reason::InflightCap
            | Reason::NoHealthyBackend
            | Reason::BlockUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Reason::UpstreamTimeout => StatusCode::GATEWAY_TIMEOUT,
            Reason::UpstreamError => StatusCode::BAD_GATEWAY,
        }
    }

    /// Position in [`Reason::ALL`].
    pub fn index(self) -> usize {
        self as usize
    }

    /// The JSON-RPC error code for this reason.
    fn jsonrpc_code(self) -> i32 {
        match self {
            Reason::BadJson | Reason::JsonTooDeep => -32700,
            Reason::MissingCommand | Reason::BadCommand | Reason::BatchTooLarge => -32600,
            Reason::DeniedCommand => -32601,
            Reason::RateLimited => -32005,
            _ => -32000,
        }
    }
}

/// A refusal: the reason plus a short human explanation.
#[derive(Debug, Clone)]
pub struct Reject {
    /// Why.
    pub reason: Reason,
    /// A short, safe explanation (never echoes request secrets).
    pub detail: String,
    /// The JSON-RPC id to echo, when known.
    pub id: Option<String>,
}

impl Reject {
    /// A refusal for `reason` with `detail`.
    pub fn new(reason: Reason, detail: impl Into<String>) -> Self {
        Reject {
            reason,
            detail: detail.into(),
            id: None,
        }
    }

    /// The JSON-RPC error object for one call of a batch, without its `id`
    /// (the batch assembly puts the caller's back): the same code, message
    /// and reason a single refused call gets.
    pub fn jsonrpc_element(&self) -> String {
        format!(r#"{{"jsonrpc":"2.0",{}}}"#, self.jsonrpc_error_member())
    }

    /// `"error":{...}`: code, message and reason, shared by whole and
    /// per-call refusals.
    fn jsonrpc_error_member(&self) -> String {
        format!(
            r#""error":{{"code":{},"message":{},"data":{{"reason":"{}"}}}}"#,
            self.reason.jsonrpc_code(),
            json_string(&self.detail),
            self.reason.code()
        )
    }

    /// Renders the protocol's own error shape.
    pub fn into_response(self, protocol: Option<Protocol>) -> Response<Body> {
        let body = match protocol {
            Some(Protocol::Jsonrpc) => format!(
                r#"{{"jsonrpc":"2.0","id":{},{}}}"#,
                self.id.as_deref().unwrap_or("null"),
                self.jsonrpc_error_member()
            ),
            _ => format!(
                r#"{{"error":{},"reason":"{}"}}"#,
                json_string(&self.detail),
                self.reason.code()
            ),
        };
        let mut resp = Response::new(crate::body::full(Bytes::from(body)));
        *resp.status_mut() = self.reason.status();
        let h = resp.headers_mut();
        h.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        if matches!(self.reason, Reason::RateLimited) {
            h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
        }
        resp
    }
}

/// Encodes `s` as a JSON string literal.
fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indices_match_all() {
        for (i, r) in Reason::ALL.iter().enumerate() {
            assert_eq!(r.index(), i);
        }
    }

    #[test]
    fn jsonrpc_error_echoes_the_id() {
        let mut r = Reject::new(Reason::DeniedCommand, "method admin_peers is not allowed");
        r.id = Some("7".into());
        let resp = r.into_response(Some(Protocol::Jsonrpc));
        assert_eq!(resp.status(), StatusCode::FORBIDDEN);
    }
}
