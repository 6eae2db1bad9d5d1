//! Hashes a regular file's content safely: opened without following links or
//! blocking (a FIFO swapped in is never read), checked to be the inode that was
//! listed, and re-checked after reading so a file that changed meanwhile is
//! reported as such rather than given a hash of a torn read.

use crate::config::HashAlgo;
use crate::entry::{Content, Digest, Entry, Kind};
use crate::packages::{PkgAlgo, PkgDigest};
use std::io::Read;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::Path;

/// Read buffer per worker.
const BUF: usize = 256 * 1024;

enum Hasher {
    Blake3(Box<blake3::Hasher>),
    Sha256(sha2::Sha256),
}

impl Hasher {
    fn new(algo: HashAlgo) -> Self {
        match algo {
            HashAlgo::Blake3 => Hasher::Blake3(Box::new(blake3::Hasher::new())),
            HashAlgo::Sha256 => Hasher::Sha256(<sha2::Sha256 as sha2::Digest>::new()),
        }
    }
    fn update(&mut self, data: &[u8]) {
        match self {
            Hasher::Blake3(h) => {
                h.update(data);
            }
            Hasher::Sha256(h) => sha2::Digest::update(h, data),
        }
    }
    fn finish(self) -> Digest {
        match self {
            Hasher::Blake3(h) => Digest::Blake3(*h.finalize().as_bytes()),
            Hasher::Sha256(h) => Digest::Sha256(sha2::Digest::finalize(h).into()),
        }
    }
}

/// The package database's hasher.
enum Second {
    Md5(md5::Md5),
    Sha256(sha2::Sha256),
    Sha512(sha2::Sha512),
}

impl Second {
    fn new(algo: PkgAlgo) -> Self {
        use sha2::Digest as _;
        match algo {
            PkgAlgo::Md5 => Second::Md5(md5::Md5::new()),
            PkgAlgo::Sha256 => Second::Sha256(sha2::Sha256::new()),
            PkgAlgo::Sha512 => Second::Sha512(sha2::Sha512::new()),
        }
    }
    fn update(&mut self, data: &[u8]) {
        use sha2::Digest as _;
        match self {
            Second::Md5(h) => h.update(data),
            Second::Sha256(h) => h.update(data),
            Second::Sha512(h) => h.update(data),
        }
    }
    fn finish(self) -> PkgDigest {
        use sha2::Digest as _;
        match self {
            Second::Md5(h) => PkgDigest::Md5(h.finalize().into()),
            Second::Sha256(h) => PkgDigest::Sha256(h.finalize().into()),
            Second::Sha512(h) => PkgDigest::Sha512(h.finalize().into()),
        }
    }
}

/// The content of `entry` (a regular file just inspected at `path`), hashed with
/// `algo`; files over `max_size` are not read. `buf` is the worker's read buffer.
pub fn hash_file(
    path: &Path,
    entry: &Entry,
    algo: HashAlgo,
    max_size: u64,
    buf: &mut Vec<u8>,
) -> Content {
    hash_file_also(path, entry, algo, max_size, buf, None).0
}

/// As [`hash_file`], also computing the package database's digest (`also`) in
/// the same read pass: one read, two hashers. The second digest is returned
/// only when the content was hashed.
pub fn hash_file_also(
    path: &Path,
    entry: &Entry,
    algo: HashAlgo,
    max_size: u64,
    buf: &mut Vec<u8>,
    also: Option<PkgAlgo>,
) -> (Content, Option<PkgDigest>) {
    let mut second = also.map(Second::new);
    let content = hash_inner(path, entry, algo, max_size, buf, &mut |data| {
        if let Some(h) = second.as_mut() {
            h.update(data);
        }
    });
    let extra = match (&content, second) {
        (Content::Hashed(_), Some(h)) => Some(h.finish()),
        _ => None,
    };
    (content, extra)
}

fn hash_inner(
    path: &Path,
    entry: &Entry,
    algo: HashAlgo,
    max_size: u64,
    buf: &mut Vec<u8>,
    also: &mut dyn FnMut(&[u8]),
) -> Content {
    if entry.kind != Kind::File {
        return Content::NotHashed;
    }
    if entry.size > max_size {
        return Content::TooLarge;
    }
    let file = match std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Content::ChangedWhileReading,
        Err(e) => return Content::Unreadable(e.to_string()),
    };
    let before = match file.metadata() {
        Ok(m) => m,
        Err(e) => return Content::Unreadable(e.to_string()),
    };
    // Not the inode that was listed (replaced in between), or no longer a regular file.
    if !before.file_type().is_file() || before.ino() != entry.inode || before.dev() != entry.device
    {
        return Content::ChangedWhileReading;
    }
    if buf.len() < BUF {
        buf.resize(BUF, 0);
    }
    let mut hasher = Hasher::new(algo);
    let mut total: u64 = 0;
    let mut reader = file;
    loop {
        match reader.read(buf) {
            Ok(0) => break,
            Ok(n) => {
                total += n as u64;
                if total > entry.size.max(before.size()) {
                    // Growing while we read.
                    return Content::ChangedWhileReading;
                }
                hasher.update(&buf[..n]);
                also(&buf[..n]);
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Content::Unreadable(format!("read error: {e}")),
        }
    }
    let after = match reader.metadata() {
        Ok(m) => m,
        Err(e) => return Content::Unreadable(e.to_string()),
    };
    let nanos = |s: i64, ns: i64| s as i128 * 1_000_000_000 + ns as i128;
    // Same size as listed, every byte read, and neither time moved since the listing.
    let same = total == entry.size
        && after.size() == entry.size
        && nanos(before.mtime(), before.mtime_nsec()) == entry.mtime_ns
        && nanos(after.mtime(), after.mtime_nsec()) == entry.mtime_ns
        && nanos(before.ctime(), before.ctime_nsec()) == entry.ctime_ns
        && nanos(after.ctime(), after.ctime_nsec()) == entry.ctime_ns;
    if !same {
        return Content::ChangedWhileReading;
    }
    Content::Hashed(hasher.finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inspect::inspect;

    #[test]
    fn same_bytes_same_digest_and_fifos_are_never_opened() {
        let dir = tempfile::tempdir().unwrap();
        let a = dir.path().join("a");
        std::fs::write(&a, b"hello").unwrap();
        let e = inspect(&a).unwrap();
        let mut buf = Vec::new();
        let Content::Hashed(d) = hash_file(&a, &e, HashAlgo::Blake3, 1 << 20, &mut buf) else {
            panic!("not hashed")
        };
        assert_eq!(d, Digest::Blake3(*blake3::hash(b"hello").as_bytes()));
        let Content::Hashed(Digest::Sha256(s)) =
            hash_file(&a, &e, HashAlgo::Sha256, 1 << 20, &mut buf)
        else {
            panic!("not hashed")
        };
        assert_eq!(s[..4], [0x2c, 0xf2, 0x4d, 0xba]);
        assert_eq!(
            hash_file(&a, &e, HashAlgo::Blake3, 2, &mut buf),
            Content::TooLarge
        );
        // Changed after inspection: reported, not hashed.
        std::fs::write(&a, b"hello, world").unwrap();
        assert_eq!(
            hash_file(&a, &e, HashAlgo::Blake3, 1 << 20, &mut buf),
            Content::ChangedWhileReading
        );
        let fifo = dir.path().join("p");
        nix_mkfifo(&fifo);
        let fe = inspect(&fifo).unwrap();
        assert_eq!(fe.kind, Kind::Fifo);
        assert_eq!(
            hash_file(&fifo, &fe, HashAlgo::Blake3, 1 << 20, &mut buf),
            Content::NotHashed
        );
    }

    fn nix_mkfifo(p: &Path) {
        rustix::fs::mkfifoat(rustix::fs::CWD, p, rustix::fs::Mode::from_raw_mode(0o600)).unwrap();
    }
}
