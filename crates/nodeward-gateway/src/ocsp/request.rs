//! What an OCSP query is about: the certificate's identity (RFC 6960 CertID:
//! hashes of the issuer's name and key, and the serial number), the
//! responder URL from its Authority Information Access extension, and the
//! DER request sent to that responder.

use super::OcspError;
use x509_cert::der::asn1::{Null, OctetString};
use x509_cert::der::{Decode, Encode};
use x509_cert::ext::pkix::name::GeneralName;
use x509_cert::ext::pkix::AuthorityInfoAccessSyntax;
use x509_cert::spki::{AlgorithmIdentifierOwned, ObjectIdentifier};
use x509_cert::Certificate;
use x509_ocsp::{CertId, OcspRequest, Request, TbsRequest};

/// id-pe-authorityInfoAccess.
const AIA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.1.1");
/// id-ad-ocsp.
const AD_OCSP: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.5.5.7.48.1");
/// SHA-1, the CertID hash every responder understands (RFC 5019).
const SHA1: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.14.3.2.26");

/// A served certificate and its issuer, decoded once.
#[derive(Debug, Clone)]
pub struct Subject {
    /// The end-entity certificate.
    pub leaf: Certificate,
    /// Its issuer (the next certificate of the chain).
    pub issuer: Certificate,
    /// The CertID queries and answers name.
    pub cert_id: CertId,
}

fn sha1(data: &[u8]) -> Result<OctetString, OcspError> {
    let digest = ring::digest::digest(&ring::digest::SHA1_FOR_LEGACY_USE_ONLY, data);
    OctetString::new(digest.as_ref()).map_err(|e| OcspError::Certificate(e.to_string()))
}

/// The OCSP responder URLs a certificate names (AIA, id-ad-ocsp).
pub fn responder_urls(leaf: &Certificate) -> Vec<String> {
    let Some(exts) = &leaf.tbs_certificate.extensions else {
        return Vec::new();
    };
    let Some(aia) = exts.iter().find(|e| e.extn_id == AIA) else {
        return Vec::new();
    };
    let Ok(aia) = AuthorityInfoAccessSyntax::from_der(aia.extn_value.as_bytes()) else {
        return Vec::new();
    };
    aia.0
        .into_iter()
        .filter(|d| d.access_method == AD_OCSP)
        .filter_map(|d| match d.access_location {
            GeneralName::UniformResourceIdentifier(u) => Some(u.to_string()),
            _ => None,
        })
        .collect()
}

impl Subject {
    /// Decodes the leaf and issuer of a chain (leaf first, DER).
    pub fn new(chain: &[impl AsRef<[u8]>]) -> Result<Self, OcspError> {
        let decode = |der: &[u8], what: &str| {
            Certificate::from_der(der)
                .map_err(|e| OcspError::Certificate(format!("{what} certificate: {e}")))
        };
        let leaf = decode(chain.first().ok_or(OcspError::NoIssuer)?.as_ref(), "leaf")?;
        let issuer = decode(chain.get(1).ok_or(OcspError::NoIssuer)?.as_ref(), "issuer")?;
        if leaf.tbs_certificate.issuer != issuer.tbs_certificate.subject {
            return Err(OcspError::Certificate(
                "the second certificate of the chain did not issue the first".into(),
            ));
        }
        let name = issuer
            .tbs_certificate
            .subject
            .to_der()
            .map_err(|e| OcspError::Certificate(e.to_string()))?;
        let key = issuer
            .tbs_certificate
            .subject_public_key_info
            .subject_public_key
            .raw_bytes();
        let cert_id = CertId {
            hash_algorithm: AlgorithmIdentifierOwned {
                oid: SHA1,
                parameters: Some(Null.into()),
            },
            issuer_name_hash: sha1(&name)?,
            issuer_key_hash: sha1(key)?,
            serial_number: leaf.tbs_certificate.serial_number.clone(),
        };
        Ok(Subject {
            leaf,
            issuer,
            cert_id,
        })
    }

    /// The DER OCSP request for this certificate (unsigned, no nonce: the
    /// answer is meant to be cached and stapled, RFC 5019).
    pub fn request(&self) -> Result<Vec<u8>, OcspError> {
        OcspRequest {
            tbs_request: TbsRequest {
                version: Default::default(),
                requestor_name: None,
                request_list: vec![Request {
                    req_cert: self.cert_id.clone(),
                    single_request_extensions: None,
                }],
                request_extensions: None,
            },
            optional_signature: None,
        }
        .to_der()
        .map_err(|e| OcspError::Certificate(format!("encoding the request: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{BasicConstraints, CertificateParams, IsCa, KeyPair};

    /// A CA and a leaf (serial 0x1001) it issued, as DER.
    fn chain() -> Vec<Vec<u8>> {
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        let ca_key = KeyPair::generate().unwrap();
        let ca = ca.self_signed(&ca_key).unwrap();
        let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        leaf.distinguished_name
            .push(rcgen::DnType::CommonName, "localhost");
        leaf.serial_number = Some(vec![0x10, 0x01].into());
        let leaf = leaf
            .signed_by(&KeyPair::generate().unwrap(), &ca, &ca_key)
            .unwrap();
        vec![leaf.der().to_vec(), ca.der().to_vec()]
    }

    #[test]
    fn request_names_the_serial_and_issuer() {
        let der = chain();
        let subject = Subject::new(&der).unwrap();
        let req = subject.request().unwrap();
        let back = OcspRequest::from_der(&req).unwrap();
        assert_eq!(back.tbs_request.request_list[0].req_cert, subject.cert_id);
        assert_eq!(subject.cert_id.serial_number.as_bytes(), [0x10, 0x01]);
    }

    #[test]
    fn a_lone_leaf_has_no_issuer() {
        let der = chain();
        assert!(matches!(Subject::new(&der[..1]), Err(OcspError::NoIssuer)));
        assert!(Subject::new(&[der[1].clone(), der[0].clone()]).is_err());
    }
}
