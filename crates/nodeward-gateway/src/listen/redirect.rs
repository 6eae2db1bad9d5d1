//! The HTTP→HTTPS redirect listener (`redirect_https = true`): every request
//! gets a 308 Permanent Redirect to the same host and path on HTTPS, except
//! pending ACME HTTP-01 challenges, which are answered here before any policy.

use crate::acme::Challenges;
use bytes::Bytes;
use http::{header, HeaderValue, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

/// Where HTTP-01 tokens are served (RFC 8555 §8.3).
const CHALLENGE_PREFIX: &str = "/.well-known/acme-challenge/";

/// Serves one plain connection of a redirect listener.
pub async fn serve(
    stream: TcpStream,
    challenges: Arc<Challenges>,
    https_port: u16,
    header_timeout: Duration,
) {
    let service = service_fn(move |req: Request<hyper::body::Incoming>| {
        let resp = respond(&req, &challenges, https_port);
        async move { Ok::<_, Infallible>(resp) }
    });
    let mut b = hyper::server::conn::http1::Builder::new();
    b.timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .max_buf_size(16 * 1024)
        .keep_alive(true);
    let conn = b.serve_connection(TokioIo::new(stream), service);
    // A slow or idle client cannot hold the connection for long.
    let _ = tokio::time::timeout(Duration::from_secs(60), conn).await;
}

fn reply(status: StatusCode, body: &'static str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from_static(body.as_bytes())));
    *r.status_mut() = status;
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    r
}

/// The answer to one request on a redirect listener.
pub fn respond<B>(
    req: &Request<B>,
    challenges: &Challenges,
    https_port: u16,
) -> Response<Full<Bytes>> {
    if let Some(token) = req.uri().path().strip_prefix(CHALLENGE_PREFIX) {
        return match challenges.http(token) {
            Some(answer) => {
                let mut r = Response::new(Full::new(Bytes::from(answer)));
                r.headers_mut().insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/octet-stream"),
                );
                r
            }
            None => reply(StatusCode::NOT_FOUND, "no such ACME challenge\n"),
        };
    }
    let host = req
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| req.uri().host());
    let Some(host) = host.and_then(host_without_port) else {
        return reply(StatusCode::BAD_REQUEST, "missing or invalid Host header\n");
    };
    let path = req.uri().path_and_query().map_or("/", |p| p.as_str());
    let path = if path.starts_with('/') { path } else { "/" };
    let location = if https_port == 443 {
        format!("https://{host}{path}")
    } else {
        format!("https://{host}:{https_port}{path}")
    };
    match HeaderValue::from_str(&location) {
        Ok(loc) => {
            let mut r = reply(StatusCode::PERMANENT_REDIRECT, "redirecting to HTTPS\n");
            r.headers_mut().insert(header::LOCATION, loc);
            r
        }
        Err(_) => reply(StatusCode::BAD_REQUEST, "invalid request target\n"),
    }
}

/// The host part of a Host header if it is a DNS name, an IPv4 address or a
/// bracketed IPv6 address (any port dropped); None for anything else.
pub fn host_without_port(value: &str) -> Option<&str> {
    let value = value.trim();
    if value.is_empty() || value.len() > 260 {
        return None;
    }
    if let Some(rest) = value.strip_prefix('[') {
        let end = rest.find(']')?;
        let literal = &rest[..end];
        literal.parse::<std::net::Ipv6Addr>().ok()?;
        let after = &rest[end + 1..];
        if !(after.is_empty() || valid_port(after.strip_prefix(':')?)) {
            return None;
        }
        return Some(&value[..end + 2]);
    }
    let (name, port) = match value.rsplit_once(':') {
        Some((n, p)) => (n, Some(p)),
        None => (value, None),
    };
    if port.is_some_and(|p| !valid_port(p)) {
        return None;
    }
    let name = name.strip_suffix('.').unwrap_or(name);
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
    ok.then_some(name)
}

fn valid_port(p: &str) -> bool {
    !p.is_empty() && p.len() <= 5 && p.parse::<u16>().is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(host: Option<&str>, target: &str) -> Request<()> {
        let mut b = Request::builder().uri(target);
        if let Some(h) = host {
            b = b.header("host", h);
        }
        b.body(()).unwrap()
    }

    #[test]
    fn redirects_to_https_with_path_and_port() {
        let c = Challenges::default();
        let r = respond(&get(Some("node.example:80"), "/a/b?x=1"), &c, 443);
        assert_eq!(r.status(), 308);
        assert_eq!(r.headers()["location"], "https://node.example/a/b?x=1");
        let r = respond(&get(Some("[::1]:8080"), "/"), &c, 8443);
        assert_eq!(r.headers()["location"], "https://[::1]:8443/");
    }

    #[test]
    fn refuses_bad_hosts() {
        let c = Challenges::default();
        for h in [
            "",
            "a b",
            "evil.example/x",
            "x:99999",
            "[zz]",
            "a..b",
            "x@y",
        ] {
            let r = respond(&get(Some(h), "/"), &c, 443);
            assert_eq!(r.status(), 400, "{h:?}");
        }
        assert_eq!(respond(&get(None, "/"), &c, 443).status(), 400);
    }

    #[test]
    fn answers_pending_challenges_only() {
        let c = Challenges::default();
        c.put_http("tok", "tok.thumb");
        let r = respond(
            &get(Some("n.example"), "/.well-known/acme-challenge/tok"),
            &c,
            443,
        );
        assert_eq!(r.status(), 200);
        let r = respond(
            &get(Some("n.example"), "/.well-known/acme-challenge/other"),
            &c,
            443,
        );
        assert_eq!(r.status(), 404);
    }
}
