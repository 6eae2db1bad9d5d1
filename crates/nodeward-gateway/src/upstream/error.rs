//! Why one attempt on one backend got no (valid) answer. Typed, so the
//! forwarding loop can tell a request that never left (always moved to the
//! next backend) from one the backend may have acted on (retried only when
//! read-only), and the request side can answer each in one place.

/// Why an attempt failed.
#[derive(Debug, thiserror::Error)]
pub enum UpstreamError {
    /// No connection could be made (refused, unreachable, name not found,
    /// connect timeout). The request was never sent.
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// The TLS handshake failed (bad certificate, wrong CA, refused client
    /// certificate). The request was never sent.
    #[error("TLS: {0}")]
    Tls(String),
    /// The request's deadline passed before the request could be sent (every
    /// connection to the backend was busy, or connecting took too long).
    #[error("no connection became free in time")]
    TimeoutBeforeSend,
    /// The backend did not answer before the request's deadline.
    #[error("no answer in time")]
    Timeout,
    /// The backend closed the connection without answering.
    #[error("the backend closed the connection without answering")]
    ClosedEarly,
    /// Reading or writing failed after the request may have been sent.
    #[error("{0}")]
    Io(#[from] std::io::Error),
    /// The backend's answer is not valid HTTP/1.1.
    #[error("invalid response: {0}")]
    Invalid(&'static str),
}

impl UpstreamError {
    /// Whether the backend may have received (and acted on) the request.
    pub fn was_sent(&self) -> bool {
        !matches!(
            self,
            UpstreamError::Unreachable(_)
                | UpstreamError::Tls(_)
                | UpstreamError::TimeoutBeforeSend
        )
    }
}

impl From<crate::http1::FramingError> for UpstreamError {
    fn from(e: crate::http1::FramingError) -> Self {
        UpstreamError::Invalid(e.0)
    }
}
