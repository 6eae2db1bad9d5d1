//! Writing a response to an HTTP/1 client: the head built in one buffer, a
//! body that is already complete sent in the same system call, a streaming
//! body passed on as it arrives (chunked when its length is unknown).

use super::io;
use crate::body::Body;
use http::header::{CONNECTION, CONTENT_LENGTH, DATE, TRANSFER_ENCODING};
use http::{Response, StatusCode};
use http_body::Body as _;
use std::cell::RefCell;
use std::pin::pin;
use std::task::Poll;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::net::TcpStream;

/// Body bytes up to this size are copied next to the head and go out in
/// the same write; larger pieces are written from where they are.
const COALESCE: usize = 16 * 1024;

/// What the response writer needs to know about the request it answers.
#[derive(Debug, Clone, Copy)]
pub struct Answering {
    /// The request was HEAD: the head describes a body that is not sent.
    pub head_request: bool,
    /// The client speaks HTTP/1.0 (no chunked coding).
    pub http10: bool,
    /// Whether the connection may stay open after this response.
    pub keep_alive: bool,
    /// Whether a client that closes its connection while the answer is
    /// waiting on the node ends it (false once a pipelined request is
    /// buffered: readiness then means that request).
    pub watch_closed: bool,
    /// How long a client may take none of the answer before it is cut off.
    pub stall: Duration,
}

/// Sends `response`; returns whether the connection can carry another
/// request (false when the response says close or when the body's end can
/// only be marked by closing). An error means the connection must be
/// aborted: the client left or stalled, or the body failed midway (so
/// closing must not look like a complete answer).
pub async fn send(
    socket: &TcpStream,
    response: Response<Body>,
    req: Answering,
) -> std::io::Result<bool> {
    let (parts, body) = response.into_parts();
    let mut body = pin!(body);
    let status = parts.status;
    let mut keep_alive = req.keep_alive
        && !parts
            .headers
            .get_all(CONNECTION)
            .iter()
            .any(|v| has_token(v.as_bytes(), b"close"));
    let no_body = status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let bodiless = no_body || req.head_request;
    let length = if bodiless {
        None
    } else {
        body.size_hint().exact()
    };
    let chunked = !bodiless && length.is_none() && !req.http10;
    if !bodiless && length.is_none() && req.http10 {
        keep_alive = false; // the end of the body is the end of the connection
    }

    let mut out: Vec<u8> = Vec::with_capacity(
        160 + parts.headers.len() * 48 + length.map_or(0, |n| n.min(COALESCE as u64) as usize),
    );
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in &parts.headers {
        // Framing and connection fields are this hop's, set below; a HEAD
        // or 304 answer keeps the length of the body it describes.
        if name == CONNECTION
            || name == TRANSFER_ENCODING
            || (name == CONTENT_LENGTH && (!bodiless || status == StatusCode::NO_CONTENT))
            || crate::http1::is_hop_by_hop(name)
        {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !parts.headers.contains_key(DATE) {
        out.extend_from_slice(b"date: ");
        with_date(|d| out.extend_from_slice(d));
        out.extend_from_slice(b"\r\n");
    }
    // A HEAD answer without a length of its own gets the length of the body
    // it stands for, as a GET would have had.
    // (A HEAD answer from the node has an empty body and says nothing more
    // than it said itself.)
    let head_length = (req.head_request && !no_body && !parts.headers.contains_key(CONTENT_LENGTH))
        .then(|| body.size_hint().exact())
        .flatten()
        .filter(|n| *n > 0);
    if let Some(n) = length.or(head_length) {
        out.extend_from_slice(b"content-length: ");
        out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        out.extend_from_slice(b"\r\n");
    } else if chunked {
        out.extend_from_slice(b"transfer-encoding: chunked\r\n");
    }
    if !keep_alive {
        out.extend_from_slice(b"connection: close\r\n");
    } else if req.http10 {
        out.extend_from_slice(b"connection: keep-alive\r\n");
    }
    out.extend_from_slice(b"\r\n");
    if bodiless {
        io::write_all(socket, &out, req.stall).await?;
        return Ok(keep_alive);
    }
    let mut closed = io::ClosedWatch::new(socket);

    let mut sent: u64 = 0;
    loop {
        // Take what is ready without waiting; flush the head and anything
        // gathered before waiting for more, so a slow stream is not held back.
        let frame = match std::future::poll_fn(|cx| Poll::Ready(body.as_mut().poll_frame(cx))).await
        {
            Poll::Ready(frame) => frame,
            Poll::Pending => {
                if !out.is_empty() {
                    io::write_all(socket, &out, req.stall).await?;
                    out.clear();
                }
                // While the node is slow to send more, a client that leaves
                // ends the answer (and frees the node's connection).
                let watch = req.watch_closed;
                let next = std::future::poll_fn(|cx| {
                    if let Poll::Ready(frame) = body.as_mut().poll_frame(cx) {
                        return Poll::Ready(Some(frame));
                    }
                    if watch && closed.poll_closed(cx).is_ready() {
                        return Poll::Ready(None);
                    }
                    Poll::Pending
                })
                .await;
                match next {
                    Some(frame) => frame,
                    None => return Err(std::io::ErrorKind::ConnectionAborted.into()),
                }
            }
        };
        let data = match frame {
            None => break,
            Some(Err(e)) => {
                // The node's answer broke off: send what came, then close, so
                // the client sees a truncated body rather than a complete one.
                tracing::debug!(error = %e, "response body failed midway");
                if !out.is_empty() {
                    io::write_all(socket, &out, req.stall).await?;
                }
                return Err(std::io::Error::other("the response body failed midway"));
            }
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) if !data.is_empty() => data,
                _ => continue, // trailers are not passed on
            },
        };
        sent += data.len() as u64;
        if length.is_some_and(|n| sent > n) {
            // Never send more than the length announced.
            if !out.is_empty() {
                io::write_all(socket, &out, req.stall).await?;
            }
            return Err(std::io::Error::other(
                "the response body is longer than announced",
            ));
        }
        if chunked {
            out.extend_from_slice(format!("{:x}\r\n", data.len()).as_bytes());
        }
        if out.len() + data.len() <= COALESCE {
            out.extend_from_slice(&data);
        } else {
            io::write_all(socket, &out, req.stall).await?;
            out.clear();
            io::write_all(socket, &data, req.stall).await?;
        }
        if chunked {
            out.extend_from_slice(b"\r\n");
        }
    }
    if chunked {
        out.extend_from_slice(b"0\r\n\r\n");
    }
    if !out.is_empty() {
        io::write_all(socket, &out, req.stall).await?;
    }
    if length.is_some_and(|n| n != sent) {
        return Err(std::io::Error::other(
            "the response body is shorter than announced",
        ));
    }
    Ok(keep_alive)
}

/// Whether a comma-separated header value holds `token` (any case).
fn has_token(value: &[u8], token: &[u8]) -> bool {
    value
        .split(|b| *b == b',')
        .any(|t| t.trim_ascii().eq_ignore_ascii_case(token))
}

thread_local! {
    /// The Date value, formatted once per second per thread.
    static DATE_CACHE: RefCell<(u64, [u8; 29])> = const { RefCell::new((u64::MAX, [0; 29])) };
}

/// Calls `f` with the current time as an HTTP date (29 bytes).
fn with_date(f: impl FnOnce(&[u8])) {
    let now = SystemTime::now();
    let secs = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    DATE_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.0 != secs {
            let text = httpdate::fmt_http_date(now);
            if text.len() != 29 {
                return f(text.as_bytes());
            }
            cache.1.copy_from_slice(text.as_bytes());
            cache.0 = secs;
        }
        f(&cache.1);
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_http_dates() {
        let mut got = Vec::new();
        with_date(|d| got.extend_from_slice(d));
        let text = String::from_utf8(got).unwrap();
        assert!(httpdate::parse_http_date(&text).is_ok(), "{text}");
        assert!(text.ends_with(" GMT"));
    }

    #[test]
    fn close_tokens_are_found_in_lists() {
        assert!(has_token(b"keep-alive, Close", b"close"));
        assert!(!has_token(b"closed", b"close"));
    }
}
