//! Parsing a client's request head: bounded in size and field count, and
//! strict about anything that would let two HTTP parsers delimit the body
//! differently. The body's framing is decided here, once.

use crate::http1::{last_coding_is_chunked, parse_content_length, Framing};
use crate::refusal::{Reason, Reject};
use bytes::BytesMut;
use http::header::{CONNECTION, CONTENT_LENGTH, EXPECT, HOST, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Uri, Version};
use std::mem::MaybeUninit;

/// The most header fields `max_headers` may allow (the config's bound).
const MAX_FIELDS: usize = 1000;

/// A complete request head, taken off the front of the read buffer.
pub struct RequestHead {
    /// Method, target, version and header fields (all of them, as sent).
    pub request: Request<()>,
    /// How the request body is delimited.
    pub framing: Framing,
    /// Whether the client asked to keep the connection open afterwards.
    pub keep_alive: bool,
    /// Whether the client waits for `100 Continue` before sending the body.
    pub expect_continue: bool,
}

/// The limits a head is parsed under.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest head, in bytes.
    pub max_size: usize,
    /// Most header fields.
    pub max_fields: usize,
}

/// Parses one request head from the front of `buf` and removes it.
/// `Ok(None)`: not a whole head yet (and not over the size limit).
pub fn parse(buf: &mut BytesMut, limits: Limits) -> Result<Option<RequestHead>, Reject> {
    // Empty lines before a request line are ignored (RFC 9112 2.2): some
    // clients send a CRLF after a body. Dropped here, so that they never
    // make an idle connection look like one with half a request.
    let blank = buf
        .iter()
        .take_while(|b| matches!(b, b'\r' | b'\n'))
        .count();
    if blank > 0 {
        let _ = buf.split_to(blank);
    }
    if buf.is_empty() {
        return Ok(None);
    }
    let too_large = || {
        Reject::new(
            Reason::HeadTooLarge,
            format!(
                "the request head is larger than {} bytes or has more than {} fields",
                limits.max_size, limits.max_fields
            ),
        )
    };
    let bad = |why: &str| Reject::new(Reason::BadRequest, why.to_string());
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_FIELDS];
    let slots = &mut slots[..limits.max_fields.clamp(1, MAX_FIELDS)];
    let mut parsed = httparse::Request::new(&mut []);
    let len = match parsed.parse_with_uninit_headers(buf, slots) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => {
            return if buf.len() > limits.max_size {
                Err(too_large())
            } else {
                Ok(None)
            }
        }
        Err(httparse::Error::TooManyHeaders) => return Err(too_large()),
        Err(e) => return Err(bad(&format!("malformed request head ({e})"))),
    };
    if len > limits.max_size {
        return Err(too_large());
    }
    let version = match parsed.version {
        Some(1) => Version::HTTP_11,
        _ => Version::HTTP_10,
    };
    let method = Method::from_bytes(parsed.method.unwrap_or("").as_bytes())
        .map_err(|_| bad("invalid method"))?;
    if method == Method::CONNECT {
        return Err(bad("CONNECT is not served"));
    }
    let target = parsed.path.unwrap_or("");
    let base = buf.as_ptr() as usize;
    // Where in the head each kept value lies: values become slices of the
    // frozen head instead of copies.
    let span = |value: &[u8]| -> Result<(usize, usize), Reject> {
        (value.as_ptr() as usize)
            .checked_sub(base)
            .filter(|start| start + value.len() <= len)
            .map(|start| (start, start + value.len()))
            .ok_or_else(|| bad("header value outside the request head"))
    };
    let target_span = span(target.as_bytes())?;
    let mut fields: Vec<(HeaderName, usize, usize)> = Vec::with_capacity(parsed.headers.len());
    let mut content_length: Option<u64> = None;
    let mut chunked = false;
    let mut hosts = 0;
    let (mut said_close, mut said_keep_alive) = (false, false);
    let mut expect_continue = false;
    for h in parsed.headers.iter() {
        let name =
            HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| bad("invalid header name"))?;
        if name == CONTENT_LENGTH {
            if content_length.is_some() {
                return Err(bad("more than one Content-Length header"));
            }
            content_length = Some(parse_content_length(h.value).map_err(|e| bad(e.0))?);
        } else if name == TRANSFER_ENCODING {
            if chunked {
                return Err(bad("only a single Transfer-Encoding: chunked is accepted"));
            }
            if version == Version::HTTP_10 {
                return Err(bad("Transfer-Encoding in an HTTP/1.0 request"));
            }
            // Exactly `chunked`: a list (`gzip, chunked`) would have to be
            // passed on undecoded, and `chunked, chunked` is ambiguous.
            let only_chunked = last_coding_is_chunked(h.value).unwrap_or(false)
                && h.value.trim_ascii().eq_ignore_ascii_case(b"chunked");
            if !only_chunked {
                return Err(bad("only a single Transfer-Encoding: chunked is accepted"));
            }
            chunked = true;
        } else if name == HOST {
            hosts += 1;
            if hosts > 1 {
                return Err(bad("more than one Host header"));
            }
        } else if name == CONNECTION {
            for token in h.value.split(|b| *b == b',') {
                let token = token.trim_ascii();
                said_close |= token.eq_ignore_ascii_case(b"close");
                said_keep_alive |= token.eq_ignore_ascii_case(b"keep-alive");
            }
        } else if name == EXPECT {
            expect_continue = version == Version::HTTP_11
                && h.value.trim_ascii().eq_ignore_ascii_case(b"100-continue");
        }
        let (start, end) = span(h.value)?;
        fields.push((name, start, end));
    }
    if chunked && content_length.is_some() {
        return Err(bad("both Content-Length and Transfer-Encoding are present"));
    }
    let keep_alive = !said_close && (version == Version::HTTP_11 || said_keep_alive);
    let head = buf.split_to(len).freeze();
    let uri = Uri::from_maybe_shared(head.slice(target_span.0..target_span.1))
        .map_err(|_| bad("invalid request target"))?;
    let mut headers = HeaderMap::with_capacity(fields.len());
    for (name, start, end) in fields {
        let value = HeaderValue::from_maybe_shared(head.slice(start..end))
            .map_err(|_| bad("invalid header value"))?;
        headers.append(name, value);
    }
    let framing = if chunked {
        Framing::Chunked
    } else {
        match content_length {
            None | Some(0) => Framing::Empty,
            Some(n) => Framing::Length(n),
        }
    };
    let mut request = Request::new(());
    *request.method_mut() = method;
    *request.uri_mut() = uri;
    *request.version_mut() = version;
    *request.headers_mut() = headers;
    Ok(Some(RequestHead {
        request,
        framing,
        keep_alive,
        expect_continue: expect_continue && framing != Framing::Empty,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        max_size: 4096,
        max_fields: 8,
    };

    fn head(raw: &[u8]) -> Result<Option<RequestHead>, Reject> {
        parse(&mut BytesMut::from(raw), LIMITS)
    }

    #[test]
    fn a_plain_post_keeps_its_fields_and_leaves_the_body() {
        let mut buf = BytesMut::from(
            &b"POST /api?x=1 HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nX-A: b\r\n\r\nhello"[..],
        );
        let h = parse(&mut buf, LIMITS).unwrap().unwrap();
        assert_eq!(h.request.method(), Method::POST);
        assert_eq!(h.request.uri().path(), "/api");
        assert_eq!(h.request.uri().query(), Some("x=1"));
        assert_eq!(h.request.headers()["x-a"], "b");
        assert_eq!(h.framing, Framing::Length(5));
        assert!(h.keep_alive);
        assert_eq!(&buf[..], b"hello");
    }

    #[test]
    fn partial_heads_wait_and_oversized_ones_are_refused() {
        assert!(head(b"POST / HTTP/1.1\r\nHost: a\r\n").unwrap().is_none());
        let mut blank = BytesMut::from(&b"\r\n\r\n"[..]);
        assert!(parse(&mut blank, LIMITS).unwrap().is_none());
        assert!(blank.is_empty(), "blank lines are dropped");
        let big = format!("POST / HTTP/1.1\r\nX: {}\r\n", "a".repeat(5000));
        assert_eq!(
            head(big.as_bytes()).err().unwrap().reason,
            Reason::HeadTooLarge
        );
        let many: String = (0..9).map(|i| format!("X-{i}: 1\r\n")).collect();
        let many = format!("GET / HTTP/1.1\r\n{many}\r\n");
        assert_eq!(
            head(many.as_bytes()).err().unwrap().reason,
            Reason::HeadTooLarge
        );
    }

    #[test]
    fn ambiguous_framing_is_refused() {
        for raw in [
            &b"POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n"[..],
            b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n",
            b"POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
            b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
            b"POST / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
            b"POST / HTTP/1.1\r\nBad Name: x\r\n\r\n",
            b"POST / HTTP/1.1\r\nX: a\r\n folded\r\n\r\n",
            b"POST / HTTP/2.0\r\n\r\n",
            b"CONNECT a:443 HTTP/1.1\r\n\r\n",
        ] {
            let got = head(raw);
            assert!(
                got.as_ref().is_err_and(|r| r.reason == Reason::BadRequest),
                "{:?}",
                String::from_utf8_lossy(raw)
            );
        }
    }

    #[test]
    fn keep_alive_and_expect_follow_the_version() {
        let h = head(b"GET / HTTP/1.0\r\n\r\n").unwrap().unwrap();
        assert!(!h.keep_alive);
        let h = head(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(h.keep_alive);
        let h = head(b"GET / HTTP/1.1\r\nConnection: close\r\n\r\n")
            .unwrap()
            .unwrap();
        assert!(!h.keep_alive);
        let h =
            head(b"POST / HTTP/1.1\r\nExpect: 100-continue\r\nTransfer-Encoding: chunked\r\n\r\n")
                .unwrap()
                .unwrap();
        assert!(h.expect_continue);
        assert_eq!(h.framing, Framing::Chunked);
    }
}
