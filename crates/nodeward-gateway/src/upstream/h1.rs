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

use super::pool::UpstreamError;
use crate::request::hygiene::is_hop_by_hop;
use bytes::{Bytes, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, EXPECT, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Version};
use std::io;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest response head accepted from a backend.
const MAX_HEAD: usize = 64 * 1024;
/// Most header fields accepted in a response head.
const MAX_HEADERS: usize = 128;
/// Bytes reserved in the read buffer before each read.
const READ_CHUNK: usize = 8 * 1024;
/// Request bodies up to this size go out in the same write as the head.
const COALESCE: usize = 16 * 1024;
/// Longest chunk-size line (with extensions) accepted.
const MAX_CHUNK_LINE: usize = 4 * 1024;
/// Largest trailer section accepted (trailers are read and dropped).
const MAX_TRAILERS: usize = 16 * 1024;

/// An open connection to a backend, with the bytes read but not yet used.
pub struct Connection {
    stream: TcpStream,
    read: BytesMut,
}

/// How the body of a response is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body (HEAD, 204, 304).
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Everything until the backend closes the connection.
    UntilClose,
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
    pub fn new(stream: TcpStream) -> Self {
        Connection {
            stream,
            read: BytesMut::new(),
        }
    }

    /// Whether an idle connection can take a request: the backend has
    /// neither closed it nor sent anything unasked. No system call is made
    /// unless the socket has been signalled readable.
    pub fn is_usable(&self) -> bool {
        if !self.read.is_empty() {
            return false;
        }
        let mut probe = [0u8; 1];
        matches!(self.stream.try_read(&mut probe), Err(e) if e.kind() == io::ErrorKind::WouldBlock)
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

/// A Content-Length value: digits only, at most 19 of them (no sign, no
/// spaces inside, no list of values).
fn parse_content_length(value: &[u8]) -> Result<u64, UpstreamError> {
    let digits = value.trim_ascii();
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(UpstreamError::Invalid(
            "invalid Content-Length in the response",
        ));
    }
    Ok(digits
        .iter()
        .fold(0u64, |n, d| n * 10 + u64::from(d - b'0')))
}

/// Whether a Transfer-Encoding value ends in `chunked`; codings other than
/// chunked are refused (the gateway would have to pass them on undecoded).
fn last_coding_is_chunked(value: &[u8]) -> Result<bool, UpstreamError> {
    let mut last = None;
    for coding in value.split(|b| *b == b',') {
        let coding = coding.trim_ascii();
        if coding.is_empty() {
            continue;
        }
        if !coding.eq_ignore_ascii_case(b"chunked") {
            return Err(UpstreamError::Invalid("transfer coding other than chunked"));
        }
        last = Some(coding);
    }
    Ok(last.is_some())
}

/// Where a body decoder is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// This many bytes of a Content-Length body are left.
    Length(u64),
    /// Expecting a chunk-size line.
    ChunkSize,
    /// This many bytes of the current chunk are left.
    ChunkData(u64),
    /// Expecting the CRLF after a chunk's data.
    ChunkEnd,
    /// Reading (and dropping) trailer fields; the count of bytes so far.
    Trailers(usize),
    /// Reading until the backend closes.
    UntilClose,
    /// The body is complete.
    Done,
}

/// Decodes one response body from a [`Connection`].
pub struct Decoder {
    state: State,
}

/// What one step of decoding produced.
enum Step {
    Data(Bytes),
    NeedMore,
    Again,
}

impl Decoder {
    /// A decoder for a body delimited by `framing`.
    pub fn new(framing: Framing) -> Self {
        let state = match framing {
            Framing::Empty | Framing::Length(0) => State::Done,
            Framing::Length(n) => State::Length(n),
            Framing::Chunked => State::ChunkSize,
            Framing::UntilClose => State::UntilClose,
        };
        Decoder { state }
    }

    /// Whether the whole body has been produced.
    pub fn is_done(&self) -> bool {
        self.state == State::Done
    }

    /// Bytes still expected, when the framing says.
    pub fn remaining(&self) -> Option<u64> {
        match self.state {
            State::Length(n) => Some(n),
            State::Done => Some(0),
            _ => None,
        }
    }

    /// The next piece of the body, reading from `conn` as needed; `None`
    /// once the body is complete.
    pub fn poll_data(
        &mut self,
        conn: &mut Connection,
        cx: &mut Context<'_>,
    ) -> Poll<Result<Option<Bytes>, UpstreamError>> {
        loop {
            if self.state == State::Done {
                return Poll::Ready(Ok(None));
            }
            match self.step(&mut conn.read)? {
                Step::Data(bytes) => return Poll::Ready(Ok(Some(bytes))),
                Step::Again => continue,
                Step::NeedMore => {}
            }
            let n = ready!(conn.poll_fill(cx))?;
            if n == 0 {
                if self.state == State::UntilClose {
                    self.state = State::Done;
                    return Poll::Ready(Ok(None));
                }
                return Poll::Ready(Err(UpstreamError::Invalid(
                    "connection closed in the middle of the response body",
                )));
            }
        }
    }

    /// Decodes what `buf` holds as far as possible, without reading.
    fn step(&mut self, buf: &mut BytesMut) -> Result<Step, UpstreamError> {
        match self.state {
            State::Done => Ok(Step::Again),
            State::Length(left) | State::ChunkData(left) => {
                if buf.is_empty() {
                    return Ok(Step::NeedMore);
                }
                let n = usize::try_from(left).unwrap_or(usize::MAX).min(buf.len());
                let left = left - n as u64;
                self.state = match (self.state, left) {
                    (State::Length(_), 0) => State::Done,
                    (State::Length(_), l) => State::Length(l),
                    (_, 0) => State::ChunkEnd,
                    (_, l) => State::ChunkData(l),
                };
                Ok(Step::Data(buf.split_to(n).freeze()))
            }
            State::UntilClose => {
                if buf.is_empty() {
                    return Ok(Step::NeedMore);
                }
                Ok(Step::Data(buf.split().freeze()))
            }
            State::ChunkEnd => {
                if buf.len() < 2 {
                    return Ok(Step::NeedMore);
                }
                if &buf[..2] != b"\r\n" {
                    return Err(UpstreamError::Invalid("chunk data not followed by CRLF"));
                }
                let _ = buf.split_to(2);
                self.state = State::ChunkSize;
                Ok(Step::Again)
            }
            State::ChunkSize => {
                let window = &buf[..buf.len().min(MAX_CHUNK_LINE)];
                let Some(eol) = memchr::memchr(b'\n', window) else {
                    if buf.len() >= MAX_CHUNK_LINE {
                        return Err(UpstreamError::Invalid("chunk-size line too long"));
                    }
                    return Ok(Step::NeedMore);
                };
                let size = parse_chunk_size(&buf[..eol])?;
                let _ = buf.split_to(eol + 1);
                self.state = if size == 0 {
                    State::Trailers(0)
                } else {
                    State::ChunkData(size)
                };
                Ok(Step::Again)
            }
            State::Trailers(seen) => {
                let Some(eol) = memchr::memchr(b'\n', buf) else {
                    if seen + buf.len() > MAX_TRAILERS {
                        return Err(UpstreamError::Invalid("trailer section too large"));
                    }
                    return Ok(Step::NeedMore);
                };
                let line = &buf[..eol];
                if line.last() != Some(&b'\r') {
                    return Err(UpstreamError::Invalid("bare LF in the chunked trailer"));
                }
                let empty = eol == 1;
                let _ = buf.split_to(eol + 1);
                self.state = if empty {
                    State::Done
                } else if seen + eol + 1 > MAX_TRAILERS {
                    return Err(UpstreamError::Invalid("trailer section too large"));
                } else {
                    State::Trailers(seen + eol + 1)
                };
                Ok(Step::Again)
            }
        }
    }
}

/// Parses a chunk-size line without its LF: hex digits, optional extensions
/// after `;` (ignored), and the CR.
fn parse_chunk_size(line: &[u8]) -> Result<u64, UpstreamError> {
    let bad = || UpstreamError::Invalid("invalid chunk size");
    let line = line.strip_suffix(b"\r").ok_or_else(bad)?;
    let digits_end = line
        .iter()
        .position(|b| !b.is_ascii_hexdigit())
        .unwrap_or(line.len());
    let (digits, rest) = line.split_at(digits_end);
    if digits.is_empty() || digits.len() > 15 {
        return Err(bad());
    }
    let rest = rest.trim_ascii_start();
    if !(rest.is_empty() || rest[0] == b';') || rest.iter().any(|b| *b < 0x20 && *b != b'\t') {
        return Err(bad());
    }
    Ok(digits.iter().fold(0u64, |n, d| {
        n * 16 + u64::from((*d as char).to_digit(16).unwrap_or(0))
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(framing: Framing, input: &[u8]) -> Result<Vec<u8>, UpstreamError> {
        let mut d = Decoder::new(framing);
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while !d.is_done() {
            match d.step(&mut buf)? {
                Step::Data(b) => out.extend_from_slice(&b),
                Step::Again => {}
                Step::NeedMore => return Err(UpstreamError::Invalid("needs more")),
            }
        }
        assert!(buf.is_empty(), "left over: {buf:?}");
        Ok(out)
    }

    #[test]
    fn chunked_bodies_decode_with_extensions_and_trailers() {
        let body = b"5;name=value\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: 1\r\n\r\n";
        assert_eq!(decode_all(Framing::Chunked, body).unwrap(), b"hello world");
    }

    #[test]
    fn bad_chunk_framing_is_refused() {
        for bad in [
            &b"5\r\nhelloX\r\n0\r\n\r\n"[..],
            b"-5\r\nhello\r\n0\r\n\r\n",
            b"5 5\r\nhello\r\n0\r\n\r\n",
            b"ffffffffffffffff\r\nx",
            b"5\nhello\r\n0\r\n\r\n",
            b"0\r\nX: 1\n\r\n",
        ] {
            assert!(decode_all(Framing::Chunked, bad).is_err(), "{bad:?}");
        }
    }

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
