//! Splitting a byte stream into lines with a hard length limit.
//!
//! Lines longer than [`MAX_LINE`] are dropped whole (never cut into a shorter
//! line that could parse as something else); bytes that are not UTF-8 make the
//! line unusable. Memory stays bounded whatever the input.

/// The longest line nodeward looks at (sshd's own lines stay far below this).
pub const MAX_LINE: usize = 8 * 1024;

/// Accumulates chunks and hands out complete lines.
#[derive(Debug, Default)]
pub struct LineSplitter {
    partial: Vec<u8>,
    /// Inside an over-long line: drop bytes until the next newline.
    skipping: bool,
    /// Lines dropped for being too long.
    pub too_long: u64,
}

impl LineSplitter {
    /// Feeds `chunk`, calling `f` with each complete line (without the newline).
    pub fn feed(&mut self, chunk: &[u8], mut f: impl FnMut(&[u8])) {
        let mut rest = chunk;
        while let Some(pos) = memchr::memchr(b'\n', rest) {
            let piece = &rest[..pos];
            rest = &rest[pos + 1..];
            if self.skipping {
                self.skipping = false;
                continue;
            }
            if self.partial.is_empty() {
                if piece.len() <= MAX_LINE {
                    f(piece);
                } else {
                    self.too_long += 1;
                }
            } else {
                if self.partial.len() + piece.len() <= MAX_LINE {
                    self.partial.extend_from_slice(piece);
                    f(&self.partial);
                } else {
                    self.too_long += 1;
                }
                self.partial.clear();
            }
        }
        if self.skipping {
            return;
        }
        if self.partial.len() + rest.len() > MAX_LINE {
            self.partial.clear();
            self.skipping = true;
            self.too_long += 1;
        } else {
            self.partial.extend_from_slice(rest);
        }
    }

    /// Forgets a partial line (the file was rotated or truncated).
    pub fn reset(&mut self) {
        self.partial.clear();
        self.skipping = false;
    }

    /// Hands out a final line without a newline (end of a file being scanned).
    pub fn finish(&mut self, mut f: impl FnMut(&[u8])) {
        if !self.skipping && !self.partial.is_empty() {
            f(&self.partial);
        }
        self.reset();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(chunks: &[&[u8]]) -> (Vec<Vec<u8>>, u64) {
        let mut s = LineSplitter::default();
        let mut out = Vec::new();
        for c in chunks {
            s.feed(c, |l| out.push(l.to_vec()));
        }
        s.finish(|l| out.push(l.to_vec()));
        (out, s.too_long)
    }

    #[test]
    fn joins_chunks_and_drops_long_lines() {
        let (lines, _) = collect(&[b"ab", b"c\nde", b"f\n", b"g"]);
        assert_eq!(lines, vec![b"abc".to_vec(), b"def".to_vec(), b"g".to_vec()]);
        let long = vec![b'x'; MAX_LINE + 10];
        let (lines, dropped) = collect(&[b"ok\n", &long[..5000], &long[5000..], b"tail\nnext\n"]);
        assert_eq!(lines, vec![b"ok".to_vec(), b"next".to_vec()]);
        assert_eq!(dropped, 1);
    }

    proptest::proptest! {
        #[test]
        fn lines_are_bounded_and_complete(data in proptest::collection::vec(proptest::num::u8::ANY, 0..30000), cut in 0usize..30000) {
            let cut = cut.min(data.len());
            let (lines, _) = collect(&[&data[..cut], &data[cut..]]);
            for l in &lines {
                proptest::prop_assert!(l.len() <= MAX_LINE);
                proptest::prop_assert!(!l.contains(&b'\n'));
            }
        }
    }
}
