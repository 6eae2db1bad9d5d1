//! The body framing codec: Content-Length and chunked decoding, strict about
//! anything two HTTP parsers could read differently.

use bytes::{Bytes, BytesMut};

/// Longest chunk-size line (with extensions) accepted.
const MAX_CHUNK_LINE: usize = 4 * 1024;
/// Largest trailer section accepted (trailers are read and dropped).
const MAX_TRAILERS: usize = 16 * 1024;

/// A framing error: the message cannot be delimited safely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct FramingError(pub &'static str);

/// How the body of a message is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Framing {
    /// No body (a request without one; a response to HEAD, 204, 304).
    Empty,
    /// Exactly this many bytes.
    Length(u64),
    /// Chunked transfer coding.
    Chunked,
    /// Everything until the peer closes the connection (responses only).
    UntilClose,
}

/// A Content-Length value: digits only, at most 19 of them (no sign, no
/// spaces inside, no list of values).
pub fn parse_content_length(value: &[u8]) -> Result<u64, FramingError> {
    let digits = value.trim_ascii();
    if digits.is_empty() || digits.len() > 19 || !digits.iter().all(u8::is_ascii_digit) {
        return Err(FramingError("invalid Content-Length"));
    }
    Ok(digits
        .iter()
        .fold(0u64, |n, d| n * 10 + u64::from(d - b'0')))
}

/// Whether a Transfer-Encoding value ends in `chunked`; codings other than
/// chunked are refused (the gateway would have to pass them on undecoded).
pub fn last_coding_is_chunked(value: &[u8]) -> Result<bool, FramingError> {
    let mut last = None;
    for coding in value.split(|b| *b == b',') {
        let coding = coding.trim_ascii();
        if coding.is_empty() {
            continue;
        }
        if !coding.eq_ignore_ascii_case(b"chunked") {
            return Err(FramingError("transfer coding other than chunked"));
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

/// Decodes one message body from the bytes a connection has read.
pub struct Decoder {
    state: State,
}

/// What one step of decoding produced.
pub enum Step {
    /// A piece of the body.
    Data(Bytes),
    /// The buffer holds no more of the body: read from the peer.
    NeedMore,
    /// The decoder moved on without producing data: step again.
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

    /// Called when the peer closed the connection and the buffer holds no
    /// more: the end of an until-close body, an error for any other.
    pub fn at_eof(&mut self) -> Result<(), FramingError> {
        match self.state {
            State::UntilClose | State::Done => {
                self.state = State::Done;
                Ok(())
            }
            _ => Err(FramingError("connection closed in the middle of the body")),
        }
    }

    /// Bytes worth reading next: what is left of a Content-Length body (so
    /// a read never takes the next pipelined message), or `max`.
    pub fn read_hint(&self, max: usize) -> usize {
        match self.state {
            State::Length(n) => usize::try_from(n).unwrap_or(usize::MAX).min(max),
            _ => max,
        }
    }

    /// Decodes what `buf` holds as far as possible, without reading.
    pub fn step(&mut self, buf: &mut BytesMut) -> Result<Step, FramingError> {
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
                    return Err(FramingError("chunk data not followed by CRLF"));
                }
                let _ = buf.split_to(2);
                self.state = State::ChunkSize;
                Ok(Step::Again)
            }
            State::ChunkSize => {
                let window = &buf[..buf.len().min(MAX_CHUNK_LINE)];
                let Some(eol) = memchr::memchr(b'\n', window) else {
                    if buf.len() >= MAX_CHUNK_LINE {
                        return Err(FramingError("chunk-size line too long"));
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
                        return Err(FramingError("trailer section too large"));
                    }
                    return Ok(Step::NeedMore);
                };
                let line = &buf[..eol];
                if line.last() != Some(&b'\r') {
                    return Err(FramingError("bare LF in the chunked trailer"));
                }
                let empty = eol == 1;
                let _ = buf.split_to(eol + 1);
                self.state = if empty {
                    State::Done
                } else if seen + eol + 1 > MAX_TRAILERS {
                    return Err(FramingError("trailer section too large"));
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
fn parse_chunk_size(line: &[u8]) -> Result<u64, FramingError> {
    let bad = || FramingError("invalid chunk size");
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

    fn decode_all(framing: Framing, input: &[u8]) -> Result<Vec<u8>, FramingError> {
        let mut d = Decoder::new(framing);
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        while !d.is_done() {
            match d.step(&mut buf)? {
                Step::Data(b) => out.extend_from_slice(&b),
                Step::Again => {}
                Step::NeedMore => return Err(FramingError("needs more")),
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
}
