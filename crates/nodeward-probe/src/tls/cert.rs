//! What a report needs to know about a certificate, read from its DER.

use crate::ProbeError;
use x509_parser::prelude::*;
use x509_parser::public_key::PublicKey;

/// The public key algorithm of a certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyType {
    /// RSA.
    Rsa,
    /// Elliptic curve (ECDSA).
    Ec,
    /// Ed25519 / Ed448.
    EdDsa,
    /// DSA.
    Dsa,
    /// Anything else.
    Other,
}

impl KeyType {
    /// Short name (`RSA`, `EC`).
    pub fn name(self) -> &'static str {
        match self {
            KeyType::Rsa => "RSA",
            KeyType::Ec => "EC",
            KeyType::EdDsa => "EdDSA",
            KeyType::Dsa => "DSA",
            KeyType::Other => "unknown",
        }
    }

    /// The RSA-equivalent strength in bits that the SSL Labs key score uses
    /// (EC keys count as the RSA size of the same security: P-256 = 3072).
    pub fn rsa_equivalent_bits(self, bits: u32) -> u32 {
        match self {
            KeyType::Ec | KeyType::EdDsa => match bits {
                0..=159 => 512,
                160..=223 => 1024,
                224..=255 => 2048,
                256..=383 => 3072,
                384..=511 => 7680,
                _ => 15360,
            },
            _ => bits,
        }
    }
}

/// The fields of a certificate that scans and checks report.
#[derive(Debug, Clone)]
pub struct CertInfo {
    /// Subject distinguished name.
    pub subject: String,
    /// Issuer distinguished name.
    pub issuer: String,
    /// DNS names and IP addresses of the subjectAltName extension.
    pub alt_names: Vec<String>,
    /// notBefore, seconds since the Unix epoch.
    pub not_before: i64,
    /// notAfter, seconds since the Unix epoch.
    pub not_after: i64,
    /// Public key algorithm.
    pub key_type: KeyType,
    /// Public key size in bits.
    pub key_bits: u32,
    /// Signature algorithm name (`sha256WithRSAEncryption`).
    pub signature_algorithm: String,
    /// Subject equals issuer.
    pub self_signed: bool,
}

impl CertInfo {
    /// Reads a DER certificate.
    pub fn parse(der: &[u8]) -> Result<CertInfo, ProbeError> {
        let (_, cert) = X509Certificate::from_der(der)
            .map_err(|e| ProbeError::Protocol(format!("unparsable certificate: {e}")))?;
        let alt_names = cert
            .subject_alternative_name()
            .ok()
            .flatten()
            .map(|ext| {
                ext.value
                    .general_names
                    .iter()
                    .filter_map(|n| match n {
                        GeneralName::DNSName(d) => Some(d.to_string()),
                        GeneralName::IPAddress(ip) => match ip.len() {
                            4 => Some(
                                std::net::Ipv4Addr::new(ip[0], ip[1], ip[2], ip[3]).to_string(),
                            ),
                            16 => <[u8; 16]>::try_from(*ip)
                                .ok()
                                .map(|b| std::net::Ipv6Addr::from(b).to_string()),
                            _ => None,
                        },
                        _ => None,
                    })
                    .collect()
            })
            .unwrap_or_default();
        let spki = cert.public_key();
        let (key_type, key_bits) = match spki.parsed() {
            Ok(PublicKey::RSA(rsa)) => (KeyType::Rsa, rsa.key_size() as u32),
            Ok(PublicKey::EC(ec)) => (KeyType::Ec, ec.key_size() as u32),
            Ok(PublicKey::DSA(_)) => (KeyType::Dsa, 0),
            _ => {
                let oid = spki.algorithm.algorithm.to_id_string();
                if oid == "1.3.101.112" {
                    (KeyType::EdDsa, 256)
                } else if oid == "1.3.101.113" {
                    (KeyType::EdDsa, 456)
                } else {
                    (KeyType::Other, 0)
                }
            }
        };
        let sig_oid = cert.signature_algorithm.algorithm.clone();
        let signature_algorithm =
            x509_parser::objects::oid2sn(&sig_oid, x509_parser::objects::oid_registry())
                .map(|s| s.to_string())
                .unwrap_or_else(|_| sig_oid.to_id_string());
        Ok(CertInfo {
            subject: cert.subject().to_string(),
            issuer: cert.issuer().to_string(),
            alt_names,
            not_before: cert.validity().not_before.timestamp(),
            not_after: cert.validity().not_after.timestamp(),
            key_type,
            key_bits,
            signature_algorithm,
            self_signed: cert.subject().as_raw() == cert.issuer().as_raw(),
        })
    }

    /// Whole days from `now` (Unix seconds) until notAfter; negative when expired.
    pub fn days_left(&self, now: i64) -> i64 {
        (self.not_after - now).div_euclid(86_400)
    }
}

/// The current time in Unix seconds.
pub fn now_unix() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}
