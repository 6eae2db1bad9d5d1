//! A lean HTTP/1.1 client connection to a backend.
//!
//! One request at a time and no background task: the request that holds the
//! connection drives it. A request with a small body is written in one system
//! call, the response head is parsed with httparse straight from the read
//! buffer (header values are slices of it, not copies), and the body is
//! decoded in place: Content-Length, chunked, or until the backend closes.
//! Whatever the backend sends that a strict HTTP/1.1 reader would not accept
//! (conflicting lengths, unknown transfer codings, an oversized head, a chunk
//! size that does not parse) ends the connection with an error instead of
//! being passed on.

use super::error::UpstreamError;
use super::stream::Stream;
use crate::http1::is_hop_by_hop;
use crate::http1::{last_coding_is_chunked, parse_content_length, Decoder, Framing, Step};
use bytes::{Bytes, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, EXPECT, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Version};
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Largest response head accepted from a backend.
const MAX_HEAD: usize = 64 * 1024;
/// Most header fields accepted in a response head.
const MAX_HEADERS: usize = 128;
/// Bytes reserved in the read buffer before each read.
const READ_CHUNK: usize = 8 * 1024;
/// Request bodies up to this size go out in the same write as the head.
const COALESCE: usize = 16 * 1024;

/// An open connection to a backend, with the bytes read but not yet used.
pub struct Connection {
    stream: Stream,
    read: BytesMut,
}

/// A parsed response head.
pub struct Head {
    /// Status code (never 1xx).
    pub status: StatusCode,
    /// Header fields to pass on: hop-by-hop ones (the fixed list and those
    /// named in `Connection`) are left out.
    pub headers: HeaderMap,
    /// How the body is delimited.
    pub framing: Framing,
    /// Whether the connection may carry another request after this body.
    pub keep_alive: bool,
}

impl Connection {
    /// Wraps a connected stream.
    pub fn new(stream: Stream) -> Self {
        Connection {
            stream,
            read: BytesMut::new(),
        }
    }

    /// Whether an idle connection can take a request: the backend has
    /// neither closed it nor sent anything unasked. No system call is made
    /// unless the socket has been signalled readable.
    pub fn is_usable(&mut self) -> bool {
        self.read.is_empty() && self.stream.is_idle_and_open()
    }

    /// The first `n` buffered bytes, without taking them (`n <= buffered()`).
    pub fn peek_buffered(&self, n: usize) -> &[u8] {
        &self.read[..n]
    }

    /// Gives back the read buffer of a connection with nothing buffered, so
    /// that an idle connection holds none (its next response reserves one).
    pub fn shed_buffer(&mut self) {
        if self.read.is_empty() {
            self.read = BytesMut::new();
        }
    }

    /// Bytes received after the current response head that are not yet used.
    pub fn buffered(&self) -> usize {
        self.read.len()
    }

    /// Takes the first `n` buffered bytes (`n <= buffered()`).
    pub fn take_buffered(&mut self, n: usize) -> Bytes {
        self.read.split_to(n).freeze()
    }

    /// Writes one request. `headers` must already be cleaned for forwarding
    /// (hop-by-hop headers removed, Host present); the body's framing is set
    /// here from its length, whatever the client declared.
    pub async fn send_request(
        &mut self,
        method: &Method,
        target: &str,
        headers: &HeaderMap,
        body: &Bytes,
    ) -> io::Result<()> {
        let coalesce = body.len() <= COALESCE;
        let mut out = Vec::with_capacity(
            256 + target.len() + headers.len() * 48 + if coalesce { body.len() } else { 0 },
        );
        out.extend_from_slice(method.as_str().as_bytes());
        out.push(b' ');
        out.extend_from_slice(target.as_bytes());
        out.extend_from_slice(b" HTTP/1.1\r\n");
        for (name, value) in headers {
            if name == CONTENT_LENGTH || name == TRANSFER_ENCODING || name == EXPECT {
                continue;
            }
            out.extend_from_slice(name.as_str().as_bytes());
            out.extend_from_slice(b": ");
            out.extend_from_slice(value.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        if !body.is_empty() || !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS) {
            out.extend_from_slice(b"content-length: ");
            out.extend_from_slice(itoa::Buffer::new().format(body.len()).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"\r\n");
        if coalesce {
            out.extend_from_slice(body);
            self.stream.write_all(&out).await
        } else {
            self.stream.write_all(&out).await?;
            self.stream.write_all(body).await
        }
    }

    /// Reads the response head for a request made with `method`, skipping
    /// informational (1xx) responses.
    pub async fn read_head(&mut self, method: &Method) -> Result<Head, UpstreamError> {
        loop {
            match parse_head(&mut self.read, method)? {
                Parsed::Head(head) => return Ok(head),
                Parsed::Informational => continue,
                Parsed::Partial => {}
            }
            if self.read.len() >= MAX_HEAD {
                return Err(UpstreamError::Invalid("response head larger than 64 KiB"));
            }
            self.reserve();
            let n = self.stream.read_buf(&mut self.read).await?;
            if n == 0 {
                return Err(if self.read.is_empty() {
                    UpstreamError::ClosedEarly
                } else {
                    UpstreamError::Invalid("connection closed in the middle of the response head")
                });
            }
        }
    }

    fn reserve(&mut self) {
        if self.read.capacity() - self.read.len() < 1024 {
            self.read.reserve(READ_CHUNK);
        }
    }

    /// Reads more bytes into the buffer; `Ok(0)` at the end of the stream.
    fn poll_fill(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        self.reserve();
        tokio_util::io::poll_read_buf(Pin::new(&mut self.stream), cx, &mut self.read)
    }

    /// The next piece of the body `decoder` is reading, reading from the
    /// backend as needed; `None` once the body is complete.
    pub fn poll_body(
        &mut self,
        decoder: &mut Decoder,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Option<Bytes>, UpstreamError>> {
        loop {
            if decoder.is_done() {
                return Poll::Ready(Ok(None));
            }
            match decoder.step(&mut self.read)? {
                Step::Data(bytes) => return Poll::Ready(Ok(Some(bytes))),
                Step::Again => continue,
                Step::NeedMore => {}
            }
            let n = ready!(self.poll_fill(cx))?;
            if n == 0 {
                decoder.at_eof()?;
                return Poll::Ready(Ok(None));
            }
        }
    }
}

/// What [`parse_head`] found at the front of the buffer.
enum Parsed {
    /// A final response head (removed from the buffer).
    Head(Head),
    /// An informational (1xx) head, removed; the final one follows.
    Informational,
    /// Not a whole head yet.
    Partial,
}

/// Parses one response head from the front of `buf` and removes it.
fn parse_head(buf: &mut BytesMut, method: &Method) -> Result<Parsed, UpstreamError> {
    if buf.is_empty() {
        return Ok(Parsed::Partial);
    }
    let mut slots = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut slots);
    let len = match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(Parsed::Partial),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(UpstreamError::Invalid(
                "more than 128 response header fields",
            ))
        }
        Err(_) => return Err(UpstreamError::Invalid("malformed response head")),
    };
    let code = response.code.unwrap_or(0);
    let status = StatusCode::from_u16(code)
        .map_err(|_| UpstreamError::Invalid("response status out of range"))?;
    if status == StatusCode::SWITCHING_PROTOCOLS {
        return Err(UpstreamError::Invalid("unexpected 101 Switching Protocols"));
    }
    if status.is_informational() {
        let _ = buf.split_to(len);
        return Ok(Parsed::Informational);
    }
    let version = if response.version == Some(1) {
        Version::HTTP_11
    } else {
        Version::HTTP_10
    };
    // Header values become slices of the frozen head: remember where each is.
    let base = buf.as_ptr() as usize;
    let mut fields: Vec<(HeaderName, usize, usize)> = Vec::with_capacity(response.headers.len());
    let mut content_length: Option<u64> = None;
    let mut transfer_encoding = false;
    let mut chunked = false;
    let mut keep_alive = version == Version::HTTP_11;
    // Hop-by-hop fields named in Connection, removed once all are read.
    let mut connection_listed: Vec<HeaderName> = Vec::new();
    for h in response.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes())
            .map_err(|_| UpstreamError::Invalid("invalid response header name"))?;
        if name == CONTENT_LENGTH {
            let n = parse_content_length(h.value)?;
            if content_length.is_some_and(|m| m != n) {
                return Err(UpstreamError::Invalid("conflicting Content-Length headers"));
            }
            if content_length.is_some() {
                continue;
            }
            content_length = Some(n);
        } else if name == TRANSFER_ENCODING {
            transfer_encoding = true;
            chunked = last_coding_is_chunked(h.value)?;
            continue;
        } else if name == CONNECTION {
            for token in h.value.split(|b| *b == b',') {
                let token = token.trim_ascii();
                if token.eq_ignore_ascii_case(b"close") {
                    keep_alive = false;
                } else if token.eq_ignore_ascii_case(b"keep-alive") {
                    keep_alive |= version == Version::HTTP_10;
                } else if let Ok(listed) = HeaderName::from_bytes(token) {
                    connection_listed.push(listed);
                }
            }
            continue;
        } else if is_hop_by_hop(&name) {
            continue;
        }
        // httparse's values are slices of `buf`; checked so that a parser
        // change could never turn into an out-of-range slice (a panic).
        let start = (h.value.as_ptr() as usize)
            .checked_sub(base)
            .filter(|start| start + h.value.len() <= len)
            .ok_or(UpstreamError::Invalid(
                "header value outside the response head",
            ))?;
        fields.push((name, start, start + h.value.len()));
    }
    let head = buf.split_to(len).freeze();
    let mut headers = HeaderMap::with_capacity(fields.len());
    for (name, start, end) in fields {
        let value = HeaderValue::from_maybe_shared(head.slice(start..end))
            .map_err(|_| UpstreamError::Invalid("invalid response header value"))?;
        headers.append(name, value);
    }
    for name in &connection_listed {
        headers.remove(name);
    }
    if transfer_encoding && content_length.is_some() {
        return Err(UpstreamError::Invalid(
            "both Transfer-Encoding and Content-Length in the response",
        ));
    }
    if transfer_encoding && !chunked {
        return Err(UpstreamError::Invalid("transfer coding other than chunked"));
    }
    let framing = if *method == Method::HEAD
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        Framing::Empty
    } else if chunked {
        Framing::Chunked
    } else if let Some(n) = content_length {
        Framing::Length(n)
    } else {
        keep_alive = false;
        Framing::UntilClose
    };
    Ok(Parsed::Head(Head {
        status,
        headers,
        framing,
        keep_alive,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_with_conflicting_framing_are_refused() {
        for head in [
            &b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
            b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: +5\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
            b"HTTP/1.1 101 Switching Protocols\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nBad Header: x\r\n\r\n",
        ] {
            let mut buf = BytesMut::from(head);
            assert!(parse_head(&mut buf, &Method::POST).is_err(), "{head:?}");
        }
    }

    fn final_head(buf: &mut BytesMut, method: &Method) -> Head {
        match parse_head(buf, method) {
            Ok(Parsed::Head(h)) => h,
            _ => panic!("no final head in {buf:?}"),
        }
    }

    #[test]
    fn heads_give_framing_and_reuse() {
        let mut buf = BytesMut::from(
            &b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\nX-A: b\r\n\r\nhi"[..],
        );
        assert!(matches!(
            parse_head(&mut buf, &Method::POST).unwrap(),
            Parsed::Informational
        ));
        let head = final_head(&mut buf, &Method::POST);
        assert_eq!(head.framing, Framing::Length(2));
        assert!(!head.keep_alive);
        assert_eq!(head.headers["x-a"], "b");
        assert!(!head.headers.contains_key("connection"));
        assert_eq!(&buf[..], b"hi");
        let mut buf = BytesMut::from(
            &b"HTTP/1.1 200 OK\r\nX-Empty:\r\nX-Blank:   \r\nContent-Length: 0\r\n\r\n"[..],
        );
        let head = final_head(&mut buf, &Method::POST);
        assert_eq!(head.headers["x-empty"], "");
        assert_eq!(head.headers["x-blank"], "");
        let mut buf = BytesMut::from(
            &b"HTTP/1.1 200 OK\r\nConnection: X-Secret\r\nX-Secret: 1\r\nKeep-Alive: 5\r\nContent-Length: 0\r\n\r\n"[..],
        );
        let head = final_head(&mut buf, &Method::POST);
        assert!(head.keep_alive);
        assert_eq!(head.headers.len(), 1, "{:?}", head.headers);
        let mut buf = BytesMut::from(&b"HTTP/1.0 200 OK\r\n\r\nrest"[..]);
        let head = final_head(&mut buf, &Method::GET);
        assert_eq!(head.framing, Framing::UntilClose);
        let mut buf = BytesMut::from(&b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n"[..]);
        let head = final_head(&mut buf, &Method::HEAD);
        assert_eq!(head.framing, Framing::Empty);
    }
}
