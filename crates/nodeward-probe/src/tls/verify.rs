//! Certificate verification kept apart from the handshake, so a probe can see
//! (and grade) a chain that a normal client would refuse.

use crate::tls::Roots;
use crate::ProbeError;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, SignatureScheme};
use std::sync::{Arc, Mutex};

/// A verifier that accepts every chain but keeps what the server sent.
#[derive(Debug)]
pub(crate) struct Recorder {
    provider: Arc<rustls::crypto::CryptoProvider>,
    /// (chain, stapled OCSP response) of the last handshake.
    pub(crate) seen: Mutex<Option<(Vec<CertificateDer<'static>>, Vec<u8>)>>,
}

impl Recorder {
    pub(crate) fn new(provider: Arc<rustls::crypto::CryptoProvider>) -> Self {
        Recorder {
            provider,
            seen: Mutex::new(None),
        }
    }
}

impl ServerCertVerifier for Recorder {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let mut chain = vec![end_entity.clone().into_owned()];
        chain.extend(intermediates.iter().map(|c| c.clone().into_owned()));
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some((chain, ocsp_response.to_vec()));
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// What verifying a chain against the trust anchors said.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainVerdict {
    /// Chain is trusted and valid for the name.
    Valid,
    /// The leaf is past its notAfter (or before notBefore).
    Expired,
    /// The chain does not lead to a trusted root (self-signed, private CA, missing intermediate).
    Untrusted(String),
    /// The certificate is not valid for the name that was asked for.
    NameMismatch(String),
    /// Any other reason (revoked, bad signature, bad encoding).
    Invalid(String),
}

impl ChainVerdict {
    /// One line for a report.
    pub fn describe(&self) -> String {
        match self {
            ChainVerdict::Valid => "chain trusted and valid for the name".into(),
            ChainVerdict::Expired => "certificate expired or not yet valid".into(),
            ChainVerdict::Untrusted(why) => format!("chain not trusted: {why}"),
            ChainVerdict::NameMismatch(why) => {
                format!("certificate does not match the name: {why}")
            }
            ChainVerdict::Invalid(why) => format!("certificate invalid: {why}"),
        }
    }
}

/// Verifies `chain` (leaf first) for `servername` against `roots` at the current time.
pub fn verify_chain(
    chain: &[CertificateDer<'static>],
    servername: &str,
    roots: &Roots,
) -> Result<ChainVerdict, ProbeError> {
    let Some((leaf, intermediates)) = chain.split_first() else {
        return Ok(ChainVerdict::Invalid(
            "the server sent no certificate".into(),
        ));
    };
    let store = roots.load()?;
    if store.is_empty() {
        return Ok(ChainVerdict::Untrusted("no trust anchors available".into()));
    }
    let verifier = rustls::client::WebPkiServerVerifier::builder_with_provider(
        Arc::new(store),
        super::provider(),
    )
    .build()
    .map_err(|e| ProbeError::Tls(e.to_string()))?;
    let name = super::server_name(servername)?;
    let result = verifier.verify_server_cert(leaf, intermediates, &name, &[], UnixTime::now());
    Ok(match result {
        Ok(_) => ChainVerdict::Valid,
        Err(rustls::Error::InvalidCertificate(e)) => classify(e),
        Err(e) => ChainVerdict::Invalid(e.to_string()),
    })
}

fn classify(e: rustls::CertificateError) -> ChainVerdict {
    use rustls::CertificateError as C;
    match e {
        C::Expired | C::NotValidYet | C::ExpiredContext { .. } | C::NotValidYetContext { .. } => {
            ChainVerdict::Expired
        }
        C::UnknownIssuer => ChainVerdict::Untrusted(
            "unknown issuer (self-signed or private CA, or a missing intermediate)".into(),
        ),
        C::NotValidForName | C::NotValidForNameContext { .. } => {
            ChainVerdict::NameMismatch(e.to_string())
        }
        C::Other(ref o) if format!("{o:?}").contains("CaUsedAsEndEntity") => {
            ChainVerdict::Untrusted(
                "a self-signed CA certificate is used as the server certificate".into(),
            )
        }
        other => ChainVerdict::Invalid(other.to_string()),
    }
}
