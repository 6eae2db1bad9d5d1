//! Following a plain log file like `tail -F`: new lines as they arrive, across
//! rotation (the path now names a new file) and truncation (copytruncate).

use super::lines::LineSplitter;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

/// Bytes read per poll at most (keeps one busy file from starving the others).
const READ_BUDGET: usize = 4 * 1024 * 1024;

/// A followed file.
#[derive(Debug)]
pub struct FileFollower {
    path: PathBuf,
    file: Option<(File, u64, u64)>, // file, dev, inode
    pos: u64,
    splitter: LineSplitter,
}

impl FileFollower {
    /// Follows `path`; existing content is read only when `from_start`.
    pub fn new(path: &Path, from_start: bool) -> Self {
        let mut f = FileFollower {
            path: path.to_path_buf(),
            file: None,
            pos: 0,
            splitter: LineSplitter::default(),
        };
        f.open(!from_start);
        f
    }

    /// The followed path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open(&mut self, at_end: bool) -> bool {
        match File::open(&self.path).and_then(|f| f.metadata().map(|m| (f, m))) {
            Ok((file, meta)) => {
                self.pos = if at_end { meta.len() } else { 0 };
                self.file = Some((file, meta.dev(), meta.ino()));
                self.splitter.reset();
                true
            }
            Err(_) => false,
        }
    }

    fn read_available(&mut self, f: &mut impl FnMut(&[u8])) -> usize {
        let Some((file, _, _)) = self.file.as_mut() else {
            return 0;
        };
        if file.seek(SeekFrom::Start(self.pos)).is_err() {
            return 0;
        }
        let mut buf = vec![0u8; 64 * 1024];
        let mut total = 0;
        while total < READ_BUDGET {
            match file.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    self.pos += n as u64;
                    total += n;
                    self.splitter.feed(&buf[..n], &mut *f);
                }
            }
        }
        total
    }

    /// Reads what is new, calling `f` per complete line; returns the bytes read.
    pub fn poll(&mut self, mut f: impl FnMut(&[u8])) -> usize {
        if self.file.is_none() {
            // Appeared after we started (or after rotation): read it from the start.
            if !self.open(false) {
                return 0;
            }
        }
        let mut n = self.read_available(&mut f);
        let Some((_, dev, ino)) = self.file.as_ref().map(|(a, b, c)| (a, *b, *c)) else {
            return n;
        };
        match std::fs::metadata(&self.path) {
            Ok(m) if m.dev() != dev || m.ino() != ino => {
                // Rotated: the old file is drained above; continue with the new one.
                if self.open(false) {
                    n += self.read_available(&mut f);
                }
            }
            Ok(m) if m.len() < self.pos => {
                // Truncated in place.
                self.pos = 0;
                self.splitter.reset();
                n += self.read_available(&mut f);
            }
            Ok(_) => {}
            // Moved away and not recreated yet: keep draining the old handle.
            Err(_) => {}
        }
        n
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn lines(f: &mut FileFollower) -> Vec<String> {
        let mut out = Vec::new();
        f.poll(|l| out.push(String::from_utf8_lossy(l).into_owned()));
        out
    }

    #[test]
    fn follows_appends_rotation_and_truncation() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.log");
        std::fs::write(&path, "old\n").unwrap();
        let mut f = FileFollower::new(&path, false);
        assert!(lines(&mut f).is_empty());
        let mut w = std::fs::OpenOptions::new()
            .append(true)
            .open(&path)
            .unwrap();
        w.write_all(b"one\ntw").unwrap();
        assert_eq!(lines(&mut f), vec!["one"]);
        w.write_all(b"o\n").unwrap();
        assert_eq!(lines(&mut f), vec!["two"]);
        // Rotation: rename away, write the tail to the old file, create a new one.
        std::fs::rename(&path, dir.path().join("auth.log.1")).unwrap();
        w.write_all(b"late\n").unwrap();
        std::fs::write(&path, "fresh\n").unwrap();
        assert_eq!(lines(&mut f), vec!["late", "fresh"]);
        // Truncation (copytruncate).
        std::fs::write(&path, "").unwrap();
        assert!(lines(&mut f).is_empty());
        std::fs::write(&path, "after\n").unwrap();
        assert_eq!(lines(&mut f), vec!["after"]);
    }

    #[test]
    fn missing_file_is_picked_up_when_it_appears() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("later.log");
        let mut f = FileFollower::new(&path, false);
        assert!(lines(&mut f).is_empty());
        std::fs::write(&path, "hello\n").unwrap();
        assert_eq!(lines(&mut f), vec!["hello"]);
    }
}
