//! Response body framing: Content-Length, chunked, or read-until-close.

use crate::ProbeError;

/// How the body's end is found.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Framing {
    None,
    Length(usize),
    Chunked,
    UntilClose,
}

/// What [`Framing::decode`] could make of the bytes so far.
pub(crate) enum Decoded {
    Complete(Vec<u8>),
    Truncated(Vec<u8>),
    NeedMore,
}

impl Framing {
    pub(crate) fn from_headers(
        headers: &[(String, String)],
        no_body: bool,
    ) -> Result<Framing, ProbeError> {
        if no_body {
            return Ok(Framing::None);
        }
        let te = headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("transfer-encoding"));
        if let Some((_, v)) = te {
            if v.to_ascii_lowercase().contains("chunked") {
                return Ok(Framing::Chunked);
            }
        }
        match headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case("content-length"))
        {
            Some((_, v)) => v
                .trim()
                .parse()
                .map(Framing::Length)
                .map_err(|_| ProbeError::Protocol(format!("invalid Content-Length {v:?}"))),
            None => Ok(Framing::UntilClose),
        }
    }

    pub(crate) fn decode(&self, raw: &[u8], max: usize) -> Result<Decoded, ProbeError> {
        Ok(match *self {
            Framing::None => Decoded::Complete(Vec::new()),
            Framing::Length(n) if raw.len() >= n.min(max) => {
                if n > max {
                    Decoded::Truncated(raw[..max].to_vec())
                } else {
                    Decoded::Complete(raw[..n].to_vec())
                }
            }
            Framing::Length(_) => Decoded::NeedMore,
            Framing::UntilClose if raw.len() >= max => Decoded::Truncated(raw[..max].to_vec()),
            Framing::UntilClose => Decoded::NeedMore,
            Framing::Chunked => match dechunk(raw, max)? {
                (body, true) => Decoded::Complete(body),
                (body, false) if body.len() >= max => Decoded::Truncated(body),
                _ => Decoded::NeedMore,
            },
        })
    }

    pub(crate) fn decode_partial(&self, raw: &[u8], max: usize) -> Vec<u8> {
        match self {
            Framing::Chunked => dechunk(raw, max).map(|(b, _)| b).unwrap_or_default(),
            _ => raw[..raw.len().min(max)].to_vec(),
        }
    }

    pub(crate) fn at_eof(&self, raw: &[u8], max: usize) -> Option<Vec<u8>> {
        match self {
            Framing::UntilClose | Framing::None => Some(raw[..raw.len().min(max)].to_vec()),
            _ => None,
        }
    }
}

/// Decodes as much of a chunked body as is present; `true` when the last chunk was seen.
fn dechunk(mut raw: &[u8], max: usize) -> Result<(Vec<u8>, bool), ProbeError> {
    let mut out = Vec::new();
    loop {
        let Some(eol) = raw.windows(2).position(|w| w == b"\r\n") else {
            if raw.len() > 1024 {
                return Err(ProbeError::Protocol(
                    "chunk size line longer than 1 KiB".into(),
                ));
            }
            return Ok((out, false));
        };
        let line = std::str::from_utf8(&raw[..eol])
            .map_err(|_| ProbeError::Protocol("invalid chunk size line".into()))?;
        let size_text = line.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_text, 16)
            .map_err(|_| ProbeError::Protocol(format!("invalid chunk size {size_text:?}")))?;
        let after = &raw[eol + 2..];
        if size == 0 {
            return Ok((out, true));
        }
        if after.len() < size + 2 {
            let take = after.len().min(size);
            out.extend_from_slice(&after[..take.min(max.saturating_sub(out.len()))]);
            return Ok((out, false));
        }
        out.extend_from_slice(&after[..size.min(max.saturating_sub(out.len()))]);
        if out.len() >= max {
            return Ok((out, false));
        }
        raw = &after[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn dechunks() {
        let (b, done) = dechunk(b"3\r\nabc\r\n2;x=y\r\nde\r\n0\r\n\r\n", 100).unwrap();
        assert_eq!((b.as_slice(), done), (&b"abcde"[..], true));
        assert!(dechunk(b"zz\r\n", 100).is_err());
    }

    proptest! {
        #[test]
        fn never_panics_on_arbitrary_bytes(raw in proptest::collection::vec(any::<u8>(), 0..512), max in 0usize..300) {
            let _ = dechunk(&raw, max);
            for f in [Framing::Chunked, Framing::Length(10), Framing::UntilClose] {
                let _ = f.decode(&raw, max);
                let _ = f.decode_partial(&raw, max);
            }
        }
    }
}
