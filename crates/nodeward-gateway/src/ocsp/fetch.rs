//! Asks an OCSP responder over HTTP (RFC 6960 appendix A: POST of the DER
//! request), with the answer's size and the whole exchange's time bounded.
//! Only `http://` responders: OCSP answers are signed, and a TLS responder
//! would need its own revocation check.

use super::OcspError;
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::rt::TokioIo;
use std::time::Duration;

/// Largest answer accepted (real ones are a few KiB).
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;
/// Longest time one query may take, connection included.
pub const TIMEOUT: Duration = Duration::from_secs(10);

fn fail(url: &str, what: impl std::fmt::Display) -> OcspError {
    OcspError::Fetch(format!("{url}: {what}"))
}

/// POSTs `request` to `url` and returns the responder's DER answer.
pub async fn fetch(url: &str, request: Vec<u8>) -> Result<Vec<u8>, OcspError> {
    match tokio::time::timeout(TIMEOUT, exchange(url, request)).await {
        Ok(r) => r,
        Err(_) => Err(fail(
            url,
            format!("no answer within {}s", TIMEOUT.as_secs()),
        )),
    }
}

async fn exchange(url: &str, request: Vec<u8>) -> Result<Vec<u8>, OcspError> {
    let uri: http::Uri = url.parse().map_err(|e| fail(url, e))?;
    if uri.scheme_str() != Some("http") {
        return Err(fail(url, "only http:// OCSP responders are supported"));
    }
    let host = uri.host().ok_or_else(|| fail(url, "no host"))?;
    let port = uri.port_u16().unwrap_or(80);
    let authority = uri.authority().map_or(host.to_string(), |a| a.to_string());
    let stream = tokio::net::TcpStream::connect((host.trim_matches(['[', ']']), port))
        .await
        .map_err(|e| fail(url, format!("connect: {e}")))?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| fail(url, e))?;
    tokio::spawn(conn);
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    let req = http::Request::post(path)
        .header(http::header::HOST, authority)
        .header(http::header::CONTENT_TYPE, "application/ocsp-request")
        .header(http::header::ACCEPT, "application/ocsp-response")
        .body(Full::new(Bytes::from(request)))
        .map_err(|e| fail(url, e))?;
    let resp = sender.send_request(req).await.map_err(|e| fail(url, e))?;
    if resp.status() != http::StatusCode::OK {
        return Err(fail(url, format!("HTTP status {}", resp.status())));
    }
    let body = Limited::new(resp.into_body(), MAX_RESPONSE_BYTES)
        .collect()
        .await
        .map_err(|e| {
            if e.is::<http_body_util::LengthLimitError>() {
                fail(
                    url,
                    format!("answer larger than {MAX_RESPONSE_BYTES} bytes"),
                )
            } else {
                fail(url, e)
            }
        })?;
    Ok(body.to_bytes().to_vec())
}
