//! The HTTPS client instant-acme talks to the ACME server through, with
//! every answer bounded: instant-acme's own client reads bodies whole and
//! waits as long as the server likes, so a broken or hostile directory
//! could make the gateway hold gigabytes or hang an order. Built on the
//! hyper + rustls stack the gateway already uses (one connection per
//! request: an order makes a handful).

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use instant_acme::{BodyWrapper, BytesResponse, HttpClient};
use rustls::pki_types::ServerName;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

/// Largest JSON answer (directory, account, order, authorization, problem).
pub const MAX_JSON_BYTES: usize = 1024 * 1024;
/// Largest certificate chain answer (PEM).
pub const MAX_CHAIN_BYTES: usize = 4 * 1024 * 1024;
/// Longest time one request may take, connection and whole body included.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// instant-acme's HTTP client with size and time bounds.
pub struct BoundedClient {
    tls: Arc<rustls::ClientConfig>,
}

impl BoundedClient {
    /// A client trusting `ca` (a PEM root) or the system roots.
    pub fn new(ca: Option<&Path>) -> Result<Self, crate::tls_client::TlsClientError> {
        Ok(BoundedClient {
            tls: crate::tls_client::client_config(ca, None)?.config,
        })
    }
}

fn other(msg: String) -> instant_acme::Error {
    instant_acme::Error::Other(msg.into())
}

impl HttpClient for BoundedClient {
    fn request(
        &self,
        req: http::Request<BodyWrapper<Bytes>>,
    ) -> Pin<Box<dyn Future<Output = Result<BytesResponse, instant_acme::Error>> + Send>> {
        let tls = self.tls.clone();
        Box::pin(async move {
            let url = req.uri().to_string();
            match tokio::time::timeout(REQUEST_TIMEOUT, exchange(tls, req)).await {
                Ok(r) => r,
                Err(_) => Err(other(format!(
                    "ACME server {url}: no complete answer within {}s",
                    REQUEST_TIMEOUT.as_secs()
                ))),
            }
        })
    }
}

async fn exchange(
    tls: Arc<rustls::ClientConfig>,
    req: http::Request<BodyWrapper<Bytes>>,
) -> Result<BytesResponse, instant_acme::Error> {
    let (mut parts, body) = req.into_parts();
    let url = parts.uri.to_string();
    let fail = |what: String| other(format!("ACME server {url}: {what}"));
    if parts.uri.scheme_str() != Some("https") {
        return Err(fail("not an https:// URL".into()));
    }
    let host = parts
        .uri
        .host()
        .ok_or_else(|| fail("no host".into()))?
        .trim_matches(['[', ']'])
        .to_string();
    let port = parts.uri.port_u16().unwrap_or(443);
    let authority = parts
        .uri
        .authority()
        .map_or(host.clone(), |a| a.to_string());
    let name = ServerName::try_from(host.clone()).map_err(|e| fail(e.to_string()))?;
    let tcp = tokio::net::TcpStream::connect((host.as_str(), port))
        .await
        .map_err(|e| fail(format!("connect: {e}")))?;
    let stream = tokio_rustls::TlsConnector::from(tls)
        .connect(name, tcp)
        .await
        .map_err(|e| fail(format!("TLS: {e}")))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| fail(e.to_string()))?;
    tokio::spawn(conn);
    // Origin form on the wire, with the Host header.
    parts.uri = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .parse()
        .map_err(|e: http::uri::InvalidUri| fail(e.to_string()))?;
    parts.headers.insert(
        http::header::HOST,
        http::HeaderValue::from_str(&authority).map_err(|e| fail(e.to_string()))?,
    );
    let resp = sender
        .send_request(http::Request::from_parts(parts, body))
        .await
        .map_err(|e| fail(e.to_string()))?;
    let (parts, body) = resp.into_parts();
    let chain = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .is_some_and(|v| {
            v.as_bytes()
                .starts_with(b"application/pem-certificate-chain")
        });
    let cap = if chain {
        MAX_CHAIN_BYTES
    } else {
        MAX_JSON_BYTES
    };
    let bytes = Limited::new(body, cap)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                fail(format!("answer larger than {cap} bytes"))
            } else {
                fail(format!("reading the answer: {e}"))
            }
        })?
        .to_bytes();
    Ok(BytesResponse::from(http::Response::from_parts(
        parts,
        Full::new(bytes),
    )))
}
