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

/// Hand-made answers, good and bad, signed in-process: every way an answer
/// can be wrong must be refused, because a refused answer only means no
/// staple, while an accepted forged one would be served to every client.
#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
    };
    use ring::rand::SystemRandom;
    use ring::signature::{EcdsaKeyPair, ECDSA_P256_SHA256_ASN1_SIGNING};
    use x509_cert::der::asn1::{BitString, Null, OctetString};
    use x509_cert::spki::AlgorithmIdentifierOwned;
    use x509_ocsp::CertId;
    use x509_ocsp::{
        OcspGeneralizedTime, ResponderId, ResponseBytes, ResponseData, RevokedInfo, SingleResponse,
        Version,
    };

    const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
    const HOUR: Duration = Duration::from_secs(3600);

    /// A P-256 key usable both by rcgen (certificates) and ring (answers).
    struct Key {
        cert: KeyPair,
        sign: EcdsaKeyPair,
    }

    fn key() -> Key {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng).unwrap();
        Key {
            cert: KeyPair::try_from(pkcs8.as_ref()).unwrap(),
            sign: EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, pkcs8.as_ref(), &rng)
                .unwrap(),
        }
    }

    fn ca_params(name: &str) -> CertificateParams {
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.distinguished_name.push(DnType::CommonName, name);
        p
    }

    /// A CA, the leaf it issued, and a responder certificate it issued with
    /// or without the OCSP-signing purpose.
    struct Pki {
        ca: rcgen::Certificate,
        ca_key: Key,
        subject: Subject,
    }

    impl Pki {
        fn new() -> Pki {
            let ca_key = key();
            let ca = ca_params("Test CA").self_signed(&ca_key.cert).unwrap();
            let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
            leaf.serial_number = Some(vec![0x10, 0x01].into());
            let leaf = leaf.signed_by(&key().cert, &ca, &ca_key.cert).unwrap();
            let subject = Subject::new(&[leaf.der().to_vec(), ca.der().to_vec()]).unwrap();
            Pki {
                ca,
                ca_key,
                subject,
            }
        }

        fn responder(&self, ocsp_purpose: bool) -> (Certificate, Key) {
            let k = key();
            let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
            p.distinguished_name.push(DnType::CommonName, "Test OCSP");
            if ocsp_purpose {
                p.extended_key_usages = vec![ExtendedKeyUsagePurpose::OcspSigning];
            }
            let c = p.signed_by(&k.cert, &self.ca, &self.ca_key.cert).unwrap();
            (Certificate::from_der(c.der()).unwrap(), k)
        }
    }

    fn time(t: SystemTime) -> OcspGeneralizedTime {
        OcspGeneralizedTime::try_from(t).unwrap()
    }

    /// One answer about `id`, signed by `signer`, carrying `certs`.
    struct Answer<'a> {
        id: CertId,
        status: CertStatus,
        this_update: SystemTime,
        next_update: Option<SystemTime>,
        signer: &'a Key,
        certs: Option<Vec<Certificate>>,
    }

    fn answer<'a>(pki: &Pki, signer: &'a Key) -> Answer<'a> {
        let now = SystemTime::now();
        Answer {
            id: pki.subject.cert_id.clone(),
            status: CertStatus::Good(Null),
            this_update: now - HOUR,
            next_update: Some(now + 24 * HOUR),
            signer,
            certs: None,
        }
    }

    fn encode(a: &Answer<'_>) -> Vec<u8> {
        let data = ResponseData {
            version: Version::V1,
            responder_id: ResponderId::ByKey(OctetString::new(vec![0u8; 20]).unwrap()),
            produced_at: time(SystemTime::now()),
            responses: vec![SingleResponse {
                cert_id: a.id.clone(),
                cert_status: a.status,
                this_update: time(a.this_update),
                next_update: a.next_update.map(time),
                single_extensions: None,
            }],
            response_extensions: None,
        };
        let tbs = data.to_der().unwrap();
        let sig = a.signer.sign.sign(&SystemRandom::new(), &tbs).unwrap();
        let basic = BasicOcspResponse {
            tbs_response_data: data,
            signature_algorithm: AlgorithmIdentifierOwned {
                oid: ECDSA_SHA256,
                parameters: None,
            },
            signature: BitString::from_bytes(sig.as_ref()).unwrap(),
            certs: a.certs.clone(),
        };
        OcspResponse {
            response_status: OcspResponseStatus::Successful,
            response_bytes: Some(ResponseBytes {
                response_type: BASIC,
                response: OctetString::new(basic.to_der().unwrap()).unwrap(),
            }),
        }
        .to_der()
        .unwrap()
    }

    fn refused(pki: &Pki, der: &[u8], why: &str) {
        match verify(&pki.subject, der, SystemTime::now()) {
            Err(OcspError::Response(msg)) => assert!(msg.contains(why), "{msg}"),
            other => panic!("expected a refusal ({why}), got {other:?}"),
        }
    }

    #[test]
    fn the_issuers_answer_is_accepted_with_its_status() {
        let pki = Pki::new();
        let a = answer(&pki, &pki.ca_key);
        assert!(matches!(
            verify(&pki.subject, &encode(&a), SystemTime::now()),
            Ok(Verdict::Good { .. })
        ));
        let revoked_at = SystemTime::now() - 2 * HOUR;
        let a = Answer {
            status: CertStatus::Revoked(RevokedInfo {
                revocation_time: time(revoked_at),
                revocation_reason: None,
            }),
            ..answer(&pki, &pki.ca_key)
        };
        match verify(&pki.subject, &encode(&a), SystemTime::now()).unwrap() {
            Verdict::Revoked { at } => {
                assert!(at.duration_since(revoked_at).unwrap_or_default() < Duration::from_secs(1))
            }
            other => panic!("{other:?}"),
        }
        let a = Answer {
            status: CertStatus::Unknown(Null),
            ..answer(&pki, &pki.ca_key)
        };
        assert_eq!(
            verify(&pki.subject, &encode(&a), SystemTime::now()).unwrap(),
            Verdict::Unknown
        );
    }

    #[test]
    fn a_delegated_responder_needs_the_ocsp_signing_purpose() {
        let pki = Pki::new();
        let (cert, k) = pki.responder(true);
        let a = Answer {
            certs: Some(vec![cert]),
            ..answer(&pki, &k)
        };
        assert!(matches!(
            verify(&pki.subject, &encode(&a), SystemTime::now()),
            Ok(Verdict::Good { .. })
        ));
        let (cert, k) = pki.responder(false);
        let a = Answer {
            certs: Some(vec![cert]),
            ..answer(&pki, &k)
        };
        refused(&pki, &encode(&a), "neither the issuer's");
    }

    #[test]
    fn a_look_alike_ca_or_a_lone_responder_is_refused() {
        let pki = Pki::new();
        // Same name as the real CA, another key: signs the answer and a
        // responder certificate with the OCSP purpose.
        let rogue_key = key();
        let rogue = ca_params("Test CA").self_signed(&rogue_key.cert).unwrap();
        refused(
            &pki,
            &encode(&answer(&pki, &rogue_key)),
            "neither the issuer's",
        );
        let k = key();
        let mut p = CertificateParams::new(Vec::<String>::new()).unwrap();
        p.extended_key_usages = vec![ExtendedKeyUsagePurpose::OcspSigning];
        let forged = p.signed_by(&k.cert, &rogue, &rogue_key.cert).unwrap();
        let a = Answer {
            certs: Some(vec![Certificate::from_der(forged.der()).unwrap()]),
            ..answer(&pki, &k)
        };
        refused(&pki, &encode(&a), "neither the issuer's");
        // A responder that includes no certificate at all.
        let (_, k) = pki.responder(true);
        refused(&pki, &encode(&answer(&pki, &k)), "neither the issuer's");
    }

    #[test]
    fn an_answer_about_another_certificate_is_refused() {
        let pki = Pki::new();
        let mut id = pki.subject.cert_id.clone();
        id.serial_number = x509_cert::serial_number::SerialNumber::new(&[0x10, 0x02]).unwrap();
        let a = Answer {
            id,
            ..answer(&pki, &pki.ca_key)
        };
        refused(&pki, &encode(&a), "not about this certificate");
    }

    #[test]
    fn stale_and_future_answers_are_refused() {
        let pki = Pki::new();
        let now = SystemTime::now();
        let a = Answer {
            this_update: now - 48 * HOUR,
            next_update: Some(now - HOUR),
            ..answer(&pki, &pki.ca_key)
        };
        refused(&pki, &encode(&a), "expired");
        // No nextUpdate: current for a day after thisUpdate, then expired.
        let a = Answer {
            this_update: now - 25 * HOUR,
            next_update: None,
            ..answer(&pki, &pki.ca_key)
        };
        refused(&pki, &encode(&a), "expired");
        let a = Answer {
            this_update: now + HOUR,
            next_update: Some(now + 48 * HOUR),
            ..answer(&pki, &pki.ca_key)
        };
        refused(&pki, &encode(&a), "in the future");
        // Within the tolerated clock skew, a future thisUpdate is fine.
        let a = Answer {
            this_update: now + Duration::from_secs(60),
            ..answer(&pki, &pki.ca_key)
        };
        assert!(verify(&pki.subject, &encode(&a), now).is_ok());
    }

    #[test]
    fn tampered_truncated_and_unsuccessful_answers_are_refused() {
        let pki = Pki::new();
        let good = encode(&answer(&pki, &pki.ca_key));
        // Flip a bit inside the signed data: the serial number of the CertID
        // is unchanged, but the signature no longer matches.
        let at = good
            .windows(4)
            .position(|w| w == b"\x18\x0f20")
            .expect("a GeneralizedTime in the answer");
        let mut tampered = good.clone();
        tampered[at + 5] ^= 0x01;
        assert!(verify(&pki.subject, &tampered, SystemTime::now()).is_err());
        for len in [0, 1, 5, good.len() / 2, good.len() - 1] {
            assert!(verify(&pki.subject, &good[..len], SystemTime::now()).is_err());
        }
        // OCSPResponse { responseStatus tryLater(3) }
        refused(&pki, &[0x30, 0x03, 0x0a, 0x01, 0x03], "TryLater");
        // Successful but without responseBytes.
        refused(&pki, &[0x30, 0x03, 0x0a, 0x01, 0x00], "without a response");
    }
}
