//! OCSP stapling for TLS listeners (file and ACME certificates): the
//! responder named in the certificate is asked in the background, its answer
//! verified and stapled through rustls, refreshed at half its validity, and
//! removed when it expires or says the certificate is revoked. Never on the
//! request path.

pub mod fetch;
pub mod request;
pub mod signature;
pub mod stapler;
pub mod verify;

pub use stapler::Stapler;

/// Why no staple could be had.
#[derive(Debug, thiserror::Error)]
pub enum OcspError {
    /// The chain has no issuer certificate after the leaf.
    #[error("the certificate chain has no issuer certificate after the leaf, so no OCSP request can be made")]
    NoIssuer,
    /// A certificate could not be decoded.
    #[error("{0}")]
    Certificate(String),
    /// The responder could not be asked.
    #[error("OCSP responder {0}")]
    Fetch(String),
    /// The answer was unusable.
    #[error("OCSP answer refused: {0}")]
    Response(String),
}
