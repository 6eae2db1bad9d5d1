//! A small HTTP/1.1 client with bounded header and body sizes and one deadline
//! for the whole exchange, over plain TCP or TLS.

mod body;
mod url;

pub use url::Url;

use crate::{tcp, tls, ProbeError};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Most header lines accepted in a response.
pub const MAX_HEADERS: usize = 256;

/// Size and time limits for one exchange.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest status line plus headers accepted.
    pub max_header_bytes: usize,
    /// Body bytes kept; the rest is not read and the response is marked truncated.
    pub max_body_bytes: usize,
    /// Deadline for connect, TLS, request and response together.
    pub deadline: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_header_bytes: 64 * 1024,
            max_body_bytes: 1024 * 1024,
            deadline: Duration::from_secs(10),
        }
    }
}

/// A request to send.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `POST`, `HEAD`, ...
    pub method: String,
    /// Where to send it.
    pub url: Url,
    /// Extra headers (Host, Connection and Content-Length are set automatically).
    pub headers: Vec<(String, String)>,
    /// The request body (empty for none).
    pub body: Vec<u8>,
    /// Name for SNI, certificate verification and the Host header when it
    /// differs from the URL's host (scanning an IP address for a named site).
    pub server_name: Option<String>,
}

impl Request {
    /// A GET of `url` with no extra headers.
    pub fn get(url: Url) -> Self {
        Request {
            method: "GET".into(),
            url,
            headers: Vec::new(),
            body: Vec::new(),
            server_name: None,
        }
    }

    /// A POST of a JSON body, as node APIs expect.
    pub fn post_json(url: Url, body: &str) -> Self {
        Request {
            method: "POST".into(),
            url,
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                ("X-IOTA-API-Version".into(), "1".into()),
            ],
            body: body.as_bytes().to_vec(),
            server_name: None,
        }
    }
}

/// A response as received.
#[derive(Debug, Clone)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Headers in the order received; names as sent.
    pub headers: Vec<(String, String)>,
    /// The (decoded) body, at most `max_body_bytes`.
    pub body: Vec<u8>,
    /// Whether the body was cut at the limit.
    pub body_truncated: bool,
    /// Time from the start of connect to the end of the body.
    pub elapsed: Duration,
}

impl Response {
    /// Every value of header `name` (case-insensitive), in order.
    pub fn header_all<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The body as text (invalid UTF-8 replaced).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `req` and reads the response within `limits`. For `https` URLs the
/// given TLS config is used, or one that verifies against the system roots.
pub async fn fetch(
    req: &Request,
    tls_config: Option<Arc<rustls::ClientConfig>>,
    limits: &Limits,
) -> Result<Response, ProbeError> {
    let start = Instant::now();
    let what = format!("HTTP {} {}", req.method, req.url);
    match tokio::time::timeout(limits.deadline, exchange(req, tls_config, limits, start)).await {
        Err(_) => Err(ProbeError::timeout(what, limits.deadline)),
        Ok(r) => r,
    }
}

async fn exchange(
    req: &Request,
    tls_config: Option<Arc<rustls::ClientConfig>>,
    limits: &Limits,
    start: Instant,
) -> Result<Response, ProbeError> {
    let tcp = tcp::connect_host(&req.url.host, req.url.port, limits.deadline).await?;
    if req.url.scheme == "https" {
        let config = match tls_config {
            Some(c) => c,
            None => Arc::new(tls::client_config(&tls::Roots::System, true, None)?),
        };
        // This client speaks HTTP/1.1 only: offering h2 by ALPN makes an h2
        // server (nodeward gateway, nginx with http2) answer in h2 frames.
        let config = if config.alpn_protocols.iter().any(|p| p != b"http/1.1") {
            let mut c = (*config).clone();
            c.alpn_protocols = vec![b"http/1.1".to_vec()];
            Arc::new(c)
        } else {
            config
        };
        let name = req.server_name.as_deref().unwrap_or(&req.url.host);
        let stream = tls::handshake(tcp, name, config, limits.deadline).await?;
        send_and_read(stream, req, limits, start).await
    } else {
        send_and_read(tcp, req, limits, start).await
    }
}

fn request_bytes(req: &Request) -> Vec<u8> {
    let host = match &req.server_name {
        Some(name) => Url {
            host: name.clone(),
            ..req.url.clone()
        }
        .host_header(),
        None => req.url.host_header(),
    };
    let mut head = format!(
        "{} {} HTTP/1.1\r\nHost: {host}\r\n",
        req.method, req.url.path
    );
    let mut has_ua = false;
    for (n, v) in &req.headers {
        has_ua |= n.eq_ignore_ascii_case("user-agent");
        head.push_str(&format!("{n}: {v}\r\n"));
    }
    if !has_ua {
        head.push_str(concat!(
            "User-Agent: nodeward/",
            env!("CARGO_PKG_VERSION"),
            "\r\n"
        ));
    }
    if !req.body.is_empty() || req.method == "POST" {
        head.push_str(&format!("Content-Length: {}\r\n", req.body.len()));
    }
    head.push_str("Accept: */*\r\nConnection: close\r\n\r\n");
    let mut bytes = head.into_bytes();
    bytes.extend_from_slice(&req.body);
    bytes
}

async fn send_and_read<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    req: &Request,
    limits: &Limits,
    start: Instant,
) -> Result<Response, ProbeError> {
    stream
        .write_all(&request_bytes(req))
        .await
        .map_err(|e| ProbeError::io("sending the request", e))?;
    let mut buf: Vec<u8> = Vec::with_capacity(8192);
    let mut chunk = [0u8; 8192];
    // Read until the header is complete.
    let (status, headers, header_len) = loop {
        let mut storage = [httparse::EMPTY_HEADER; MAX_HEADERS];
        let mut parsed = httparse::Response::new(&mut storage);
        match parsed.parse(&buf) {
            Ok(httparse::Status::Complete(len)) => {
                let status = parsed.code.unwrap_or(0);
                let headers = parsed
                    .headers
                    .iter()
                    .map(|h| {
                        (
                            h.name.to_string(),
                            String::from_utf8_lossy(h.value).into_owned(),
                        )
                    })
                    .collect::<Vec<_>>();
                break (status, headers, len);
            }
            Ok(httparse::Status::Partial) => {}
            Err(httparse::Error::TooManyHeaders) => {
                return Err(ProbeError::Protocol(format!(
                    "response has more than {MAX_HEADERS} header lines"
                )))
            }
            Err(e) => {
                return Err(ProbeError::Protocol(format!(
                    "invalid HTTP response header: {e} (first bytes: {:?})",
                    String::from_utf8_lossy(&buf[..buf.len().min(40)])
                )))
            }
        }
        if buf.len() > limits.max_header_bytes {
            return Err(ProbeError::Protocol(format!(
                "response header larger than {} bytes",
                limits.max_header_bytes
            )));
        }
        let n = match stream.read(&mut chunk).await {
            Ok(n) => n,
            // Before the header is complete, EOF and reset both mean "no response".
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset
                ) =>
            {
                0
            }
            Err(e) => return Err(read_error(e)),
        };
        if n == 0 {
            return Err(ProbeError::Protocol(if buf.is_empty() {
                "connection closed before any response".into()
            } else {
                "connection closed inside the response header".into()
            }));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let mut rest = buf.split_off(header_len);
    let no_body =
        req.method == "HEAD" || status == 204 || status == 304 || (100..200).contains(&status);
    let framing = body::Framing::from_headers(&headers, no_body)?;
    let raw_limit = limits
        .max_body_bytes
        .saturating_mul(2)
        .saturating_add(64 * 1024);
    let (body, truncated) = loop {
        match framing.decode(&rest, limits.max_body_bytes)? {
            body::Decoded::Complete(b) => break (b, false),
            body::Decoded::Truncated(b) => break (b, true),
            body::Decoded::NeedMore => {}
        }
        if rest.len() > raw_limit {
            break (framing.decode_partial(&rest, limits.max_body_bytes), true);
        }
        let n = read_some(&mut stream, &mut chunk).await?;
        if n == 0 {
            match framing.at_eof(&rest, limits.max_body_bytes) {
                Some(b) => break (b, false),
                None => {
                    return Err(ProbeError::Protocol(
                        "connection closed before the end of the body".into(),
                    ))
                }
            }
        }
        rest.extend_from_slice(&chunk[..n]);
    };
    Ok(Response {
        status,
        headers,
        body,
        body_truncated: truncated,
        elapsed: start.elapsed(),
    })
}

async fn read_some<S: AsyncRead + Unpin>(
    stream: &mut S,
    chunk: &mut [u8],
) -> Result<usize, ProbeError> {
    match stream.read(chunk).await {
        Ok(n) => Ok(n),
        // A peer that closes without close_notify still ended its response.
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => Ok(0),
        Err(e) => Err(read_error(e)),
    }
}

/// A read error; a TLS alert the peer sent after the handshake (with TLS
/// 1.3, "certificate required" arrives so) is a TLS error, not I/O.
fn read_error(e: std::io::Error) -> ProbeError {
    let tls = e
        .get_ref()
        .is_some_and(|inner| inner.downcast_ref::<rustls::Error>().is_some());
    if tls {
        ProbeError::Tls(e.to_string())
    } else {
        ProbeError::io("reading the response", e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_names_the_server_name_in_host() {
        let mut req = Request::get(Url::parse("https://127.0.0.1:8443/api").unwrap());
        req.server_name = Some("node.example".into());
        let text = String::from_utf8(request_bytes(&req)).unwrap();
        assert!(
            text.starts_with("GET /api HTTP/1.1\r\nHost: node.example:8443\r\n"),
            "{text}"
        );
        assert!(text.ends_with("Connection: close\r\n\r\n"));
    }

    #[tokio::test]
    async fn a_header_line_over_the_limit_is_refused() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        tokio::spawn(async move {
            let (mut s, _) = listener.accept().await.unwrap();
            let mut buf = [0u8; 1024];
            let _ = s.read(&mut buf).await;
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nX-Big: ").await;
            let _ = s.write_all(&vec![b'a'; 200 * 1024]).await;
        });
        let url = Url::parse(&format!("http://127.0.0.1:{port}/")).unwrap();
        let err = fetch(&Request::get(url), None, &Limits::default())
            .await
            .unwrap_err();
        assert!(err.to_string().contains("larger than 65536 bytes"), "{err}");
    }
}
