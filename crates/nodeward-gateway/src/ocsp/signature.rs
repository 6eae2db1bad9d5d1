//! Checks an X.509/OCSP signature with ring: maps the signature algorithm
//! and the signer's key to one of ring's verification algorithms.

use x509_cert::spki::{ObjectIdentifier, SubjectPublicKeyInfoOwned};

const EC_PUBLIC_KEY: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.2.1");
const P256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.3.1.7");
const P384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.132.0.34");
const ECDSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.2");
const ECDSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.10045.4.3.3");
const RSA_SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.11");
const RSA_SHA384: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.12");
const RSA_SHA512: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.13");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// Whether `signature` over `message` verifies under `key` with algorithm
/// `alg`; unknown algorithms do not verify.
pub fn verifies(
    alg: &ObjectIdentifier,
    key: &SubjectPublicKeyInfoOwned,
    message: &[u8],
    signature: &[u8],
) -> bool {
    use ring::signature as s;
    let curve = if key.algorithm.oid == EC_PUBLIC_KEY {
        key.algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.decode_as::<ObjectIdentifier>().ok())
    } else {
        None
    };
    let algorithm: &dyn s::VerificationAlgorithm = match (*alg, curve) {
        (ECDSA_SHA256, Some(P256)) => &s::ECDSA_P256_SHA256_ASN1,
        (ECDSA_SHA256, Some(P384)) => &s::ECDSA_P384_SHA256_ASN1,
        (ECDSA_SHA384, Some(P256)) => &s::ECDSA_P256_SHA384_ASN1,
        (ECDSA_SHA384, Some(P384)) => &s::ECDSA_P384_SHA384_ASN1,
        (RSA_SHA256, _) => &s::RSA_PKCS1_2048_8192_SHA256,
        (RSA_SHA384, _) => &s::RSA_PKCS1_2048_8192_SHA384,
        (RSA_SHA512, _) => &s::RSA_PKCS1_2048_8192_SHA512,
        (ED25519, _) => &s::ED25519,
        _ => return false,
    };
    s::UnparsedPublicKey::new(algorithm, key.subject_public_key.raw_bytes())
        .verify(message, signature)
        .is_ok()
}
