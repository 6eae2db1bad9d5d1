//! One certificate order, start to finish: account (created once, then
//! reused from the state directory), order, challenge answers, CSR with a
//! fresh ECDSA P-256 key, and the issued chain checked before it is stored.

use super::store::{write_private, Store};
use super::Challenges;
use crate::config::{AcmeChallenge, AcmeConfig};
use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount,
    NewOrder, OrderStatus, RetryPolicy,
};
use rustls::sign::CertifiedKey;
use rustls_pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// Why an order failed.
#[derive(Debug, thiserror::Error)]
pub enum IssueError {
    /// The ACME server refused or failed a step.
    #[error("{step}: {source}")]
    Acme {
        /// Which step.
        step: &'static str,
        /// The library's error (includes the server's problem document).
        source: instant_acme::Error,
    },
    /// A state file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// Anything else (unusable certificate, failed authorization, timeout).
    #[error("{0}")]
    Other(String),
}

fn acme(step: &'static str) -> impl FnOnce(instant_acme::Error) -> IssueError {
    move |source| IssueError::Acme { step, source }
}

/// A certificate ready to serve, with its validity window.
pub struct Issued {
    /// The chain and signing key.
    pub key: Arc<CertifiedKey>,
    /// Start of validity.
    pub not_before: SystemTime,
    /// End of validity.
    pub not_after: SystemTime,
}

/// Loads the account from the state directory or registers a new one.
async fn account(cfg: &AcmeConfig, store: &Store) -> Result<Account, IssueError> {
    // Our own client: every answer bounded in size and time.
    let http = super::http::BoundedClient::new(cfg.ca.as_deref())
        .map_err(|e| IssueError::Other(format!("setting up the HTTPS client: {e}")))?;
    let builder = Account::builder_with_http(Box::new(http));
    let path = store.account();
    match std::fs::read(&path) {
        Ok(bytes) => {
            let creds: AccountCredentials = serde_json::from_slice(&bytes).map_err(|e| {
                IssueError::Other(format!(
                    "{}: not ACME account credentials: {e}",
                    path.display()
                ))
            })?;
            return builder
                .from_credentials(creds)
                .await
                .map_err(acme("loading the account"));
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(IssueError::Io {
                path: path.display().to_string(),
                source,
            })
        }
    }
    let contact: Vec<&str> = cfg.contact.iter().map(String::as_str).collect();
    let (account, creds) = builder
        .create(
            &NewAccount {
                contact: &contact,
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            cfg.directory.clone(),
            None,
        )
        .await
        .map_err(acme("registering the account"))?;
    let json = serde_json::to_vec(&creds).map_err(|e| IssueError::Other(e.to_string()))?;
    write_private(&path, &json).map_err(|source| IssueError::Io {
        path: path.display().to_string(),
        source,
    })?;
    tracing::info!(account = %account.id(), directory = %cfg.directory, "ACME account registered");
    Ok(account)
}

/// Builds the TLS-ALPN-01 validation certificate for `domain` (RFC 8737).
pub fn alpn_certificate(domain: &str, digest: &[u8]) -> Result<Arc<CertifiedKey>, IssueError> {
    let other = |e: rcgen::Error| IssueError::Other(format!("TLS-ALPN-01 certificate: {e}"));
    let key = rcgen::KeyPair::generate().map_err(other)?;
    let mut params = rcgen::CertificateParams::new(vec![domain.to_owned()]).map_err(other)?;
    params.custom_extensions = vec![rcgen::CustomExtension::new_acme_identifier(digest)];
    let cert = params.self_signed(&key).map_err(other)?;
    let key_der = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let signer = rustls::crypto::aws_lc_rs::sign::any_supported_type(&key_der)
        .map_err(|e| IssueError::Other(format!("TLS-ALPN-01 key: {e}")))?;
    Ok(Arc::new(CertifiedKey::new(
        vec![cert.der().clone()],
        signer,
    )))
}

/// Turns a PEM chain and key into a servable certificate, checking that the
/// leaf parses and names every domain.
pub fn certified(
    chain_pem: &[u8],
    key_pem: &[u8],
    domains: &[String],
) -> Result<Issued, IssueError> {
    let bad = |m: String| IssueError::Other(format!("certificate: {m}"));
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut &chain_pem[..])
        .collect::<Result<_, _>>()
        .map_err(|e| bad(e.to_string()))?;
    let leaf = certs
        .first()
        .ok_or_else(|| bad("no certificate in the chain".into()))?;
    let (_, x509) = x509_parser::parse_x509_certificate(leaf).map_err(|e| bad(e.to_string()))?;
    let names: Vec<String> = x509
        .subject_alternative_name()
        .ok()
        .flatten()
        .map(|san| {
            san.value
                .general_names
                .iter()
                .filter_map(|n| match n {
                    x509_parser::extensions::GeneralName::DNSName(d) => {
                        Some(d.to_ascii_lowercase())
                    }
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    if let Some(missing) = domains.iter().find(|d| !names.contains(d)) {
        return Err(bad(format!(
            "the issued certificate does not name {missing}"
        )));
    }
    let secs = |t: i64| SystemTime::UNIX_EPOCH + Duration::from_secs(u64::try_from(t).unwrap_or(0));
    let not_before = secs(x509.validity().not_before.timestamp());
    let not_after = secs(x509.validity().not_after.timestamp());
    let key = rustls_pemfile::private_key(&mut &key_pem[..])
        .map_err(|e| bad(e.to_string()))?
        .ok_or_else(|| bad("no private key".into()))?;
    let signer = rustls::crypto::aws_lc_rs::sign::any_supported_type(&key)
        .map_err(|e| bad(format!("key: {e}")))?;
    let ck = CertifiedKey::new(certs, signer);
    ck.keys_match()
        .map_err(|e| bad(format!("key does not match: {e}")))?;
    Ok(Issued {
        key: Arc::new(ck),
        not_before,
        not_after,
    })
}

/// Orders a certificate for `cfg.domains`, answers its challenges, and
/// stores the result. The caller bounds the total time.
pub async fn issue(
    cfg: &AcmeConfig,
    store: &Store,
    challenges: &Challenges,
) -> Result<Issued, IssueError> {
    let account = account(cfg, store).await?;
    let ids: Vec<Identifier> = cfg.domains.iter().cloned().map(Identifier::Dns).collect();
    let mut order = account
        .new_order(&NewOrder::new(&ids))
        .await
        .map_err(acme("creating the order"))?;
    let kind = match cfg.challenge {
        AcmeChallenge::Http01 => ChallengeType::Http01,
        AcmeChallenge::TlsAlpn01 => ChallengeType::TlsAlpn01,
    };
    let mut offered_http = Vec::new();
    let mut offered_alpn = Vec::new();
    let result = async {
        let mut authorizations = order.authorizations();
        while let Some(auth) = authorizations.next().await {
            let mut auth = auth.map_err(acme("fetching an authorization"))?;
            match auth.status {
                AuthorizationStatus::Pending => {}
                AuthorizationStatus::Valid => continue,
                other => {
                    return Err(IssueError::Other(format!("authorization is {other:?}")));
                }
            }
            let mut challenge = auth.challenge(kind.clone()).ok_or_else(|| {
                IssueError::Other(format!("the server offers no {kind:?} challenge"))
            })?;
            let domain = match challenge.identifier().identifier {
                Identifier::Dns(d) => d.clone(),
                other => {
                    return Err(IssueError::Other(format!(
                        "unexpected identifier {other:?}"
                    )))
                }
            };
            let key_auth = challenge.key_authorization();
            match cfg.challenge {
                AcmeChallenge::Http01 => {
                    challenges.put_http(&challenge.token, key_auth.as_str());
                    offered_http.push(challenge.token.clone());
                }
                AcmeChallenge::TlsAlpn01 => {
                    challenges.put_alpn(
                        &domain,
                        alpn_certificate(&domain, key_auth.digest().as_ref())?,
                    );
                    offered_alpn.push(domain);
                }
            }
            challenge
                .set_ready()
                .await
                .map_err(acme("answering a challenge"))?;
        }
        let retries = RetryPolicy::new()
            .initial_delay(Duration::from_millis(200))
            .backoff(1.5)
            .timeout(Duration::from_secs(90));
        let status = order
            .poll_ready(&retries)
            .await
            .map_err(acme("waiting for validation"))?;
        if status != OrderStatus::Ready {
            return Err(IssueError::Other(format!(
                "validation failed: the order is {status:?}"
            )));
        }
        let key = rcgen::KeyPair::generate()
            .map_err(|e| IssueError::Other(format!("certificate key: {e}")))?;
        let mut params = rcgen::CertificateParams::new(cfg.domains.clone())
            .map_err(|e| IssueError::Other(format!("CSR: {e}")))?;
        params.distinguished_name = rcgen::DistinguishedName::new();
        let csr = params
            .serialize_request(&key)
            .map_err(|e| IssueError::Other(format!("CSR: {e}")))?;
        order
            .finalize_csr(csr.der())
            .await
            .map_err(acme("finalizing the order"))?;
        let chain = order
            .poll_certificate(&retries)
            .await
            .map_err(acme("downloading the certificate"))?;
        Ok((chain, key.serialize_pem()))
    }
    .await;
    for t in &offered_http {
        challenges.remove_http(t);
    }
    for d in &offered_alpn {
        challenges.remove_alpn(d);
    }
    let (chain, key_pem) = result?;
    let issued = certified(chain.as_bytes(), key_pem.as_bytes(), &cfg.domains)?;
    let mut bundle = chain.into_bytes();
    if !bundle.ends_with(b"\n") {
        bundle.push(b'\n');
    }
    bundle.extend_from_slice(key_pem.as_bytes());
    let path = store.bundle();
    write_private(&path, &bundle).map_err(|source| IssueError::Io {
        path: path.display().to_string(),
        source,
    })?;
    Ok(issued)
}
