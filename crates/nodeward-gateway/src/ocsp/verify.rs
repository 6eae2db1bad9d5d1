//! Judges an OCSP responder's DER answer for one certificate: a successful
//! basic response, a single response for this CertID, signed by the issuer
//! or by a responder certificate the issuer delegated OCSP signing to, and
//! current (thisUpdate not in the future, nextUpdate not past).

use super::request::Subject;
use super::signature::verifies;
use super::OcspError;
use std::time::{Duration, SystemTime};
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::pkix::ExtendedKeyUsage;
use x509_cert::spki::ObjectIdentifier;
use x509_cert::Certificate;
use x509_ocsp::{BasicOcspResponse, CertStatus, OcspResponse, OcspResponseStatus};

const BASIC: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1.1");
const EKU: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.5.29.37");
const KP_OCSP_SIGNING: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.3.9");

/// Clock difference tolerated between us and the responder.
const SKEW: Duration = Duration::from_secs(300);
/// How long an answer without nextUpdate is taken as current.
const NO_NEXT_UPDATE: Duration = Duration::from_secs(24 * 3600);

/// A verified answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The certificate is good until `next_update`.
    Good {
        /// When the responder vouched for it.
        this_update: SystemTime,
        /// When the answer expires (thisUpdate + 1 day when absent).
        next_update: SystemTime,
    },
    /// The CA revoked the certificate.
    Revoked {
        /// When.
        at: SystemTime,
    },
    /// The responder does not know the certificate.
    Unknown,
}

fn bad(what: impl Into<String>) -> OcspError {
    OcspError::Response(what.into())
}

fn has_ocsp_signing(cert: &Certificate) -> bool {
    cert.tbs_certificate.extensions.iter().flatten().any(|e| {
        e.extn_id == EKU
            && ExtendedKeyUsage::from_der(e.extn_value.as_bytes())
                .is_ok_and(|eku| eku.0.contains(&KP_OCSP_SIGNING))
    })
}

/// A responder certificate the issuer signed for OCSP signing, valid now.
fn delegated(subject: &Subject, cert: &Certificate, now: SystemTime) -> bool {
    let tbs = &cert.tbs_certificate;
    let validity = &tbs.validity;
    tbs.issuer == subject.issuer.tbs_certificate.subject
        && validity.not_before.to_system_time() <= now
        && now <= validity.not_after.to_system_time()
        && has_ocsp_signing(cert)
        && tbs.to_der().is_ok_and(|der| {
            verifies(
                &cert.signature_algorithm.oid,
                &subject.issuer.tbs_certificate.subject_public_key_info,
                &der,
                cert.signature.raw_bytes(),
            )
        })
}

/// Checks `der` (a responder's answer) for `subject` at time `now`.
pub fn verify(subject: &Subject, der: &[u8], now: SystemTime) -> Result<Verdict, OcspError> {
    let response =
        OcspResponse::from_der(der).map_err(|e| bad(format!("not an OCSP response: {e}")))?;
    if response.response_status != OcspResponseStatus::Successful {
        return Err(bad(format!(
            "the responder answered {:?}",
            response.response_status
        )));
    }
    let bytes = response
        .response_bytes
        .ok_or_else(|| bad("successful answer without a response"))?;
    if bytes.response_type != BASIC {
        return Err(bad(format!(
            "unsupported response type {}",
            bytes.response_type
        )));
    }
    let basic = BasicOcspResponse::from_der(bytes.response.as_bytes())
        .map_err(|e| bad(format!("bad basic response: {e}")))?;
    let tbs = basic
        .tbs_response_data
        .to_der()
        .map_err(|e| bad(format!("bad response data: {e}")))?;
    let signature = basic.signature.raw_bytes();
    let alg = &basic.signature_algorithm.oid;
    let by_issuer = verifies(
        alg,
        &subject.issuer.tbs_certificate.subject_public_key_info,
        &tbs,
        signature,
    );
    let by_delegate = || {
        basic.certs.iter().flatten().any(|c| {
            delegated(subject, c, now)
                && verifies(
                    alg,
                    &c.tbs_certificate.subject_public_key_info,
                    &tbs,
                    signature,
                )
        })
    };
    if !by_issuer && !by_delegate() {
        return Err(bad(
            "the signature is neither the issuer's nor an authorised responder's",
        ));
    }
    let id = &subject.cert_id;
    let single = basic
        .tbs_response_data
        .responses
        .iter()
        .find(|r| {
            r.cert_id.hash_algorithm.oid == id.hash_algorithm.oid
                && r.cert_id.issuer_name_hash == id.issuer_name_hash
                && r.cert_id.issuer_key_hash == id.issuer_key_hash
                && r.cert_id.serial_number == id.serial_number
        })
        .ok_or_else(|| bad("the answer is not about this certificate"))?;
    let this_update = single.this_update.0.to_system_time();
    if this_update > now + SKEW {
        return Err(bad("thisUpdate is in the future"));
    }
    let next_update = single
        .next_update
        .map_or(this_update + NO_NEXT_UPDATE, |t| t.0.to_system_time());
    if next_update <= now {
        return Err(bad(format!(
            "the answer expired at {}",
            humantime::format_rfc3339_seconds(next_update)
        )));
    }
    Ok(match single.cert_status {
        CertStatus::Good(_) => Verdict::Good {
            this_update,
            next_update,
        },
        CertStatus::Revoked(info) => Verdict::Revoked {
            at: info.revocation_time.0.to_system_time(),
        },
        CertStatus::Unknown(_) => Verdict::Unknown,
    })
}
