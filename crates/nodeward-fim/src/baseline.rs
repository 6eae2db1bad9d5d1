//! The baseline file: one file, written atomically with mode 0600 and sealed
//! with an HMAC-SHA256 under a key kept elsewhere.
//!
//! Layout: `NWFIM\n` (6 bytes), format version (u32 LE), payload length (u64
//! LE), the payload (postcard-encoded [`Baseline`]), then the 32-byte HMAC over
//! everything before it. A truncated, rewritten or foreign file is refused with
//! a message that says which of these it is.

use crate::config::HashAlgo;
use crate::entry::Entry;
use crate::error::FimError;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use std::path::Path;

const MAGIC: &[u8; 6] = b"NWFIM\n";
/// The format version this nodeward writes and the highest it reads
/// (2 added the package versions and mismatches; 1 is still read).
pub const FORMAT_VERSION: u32 = 2;
const HEADER: usize = 6 + 4 + 8;
const TAG: usize = 32;
/// The largest baseline read (bounds memory on a damaged length field).
pub const MAX_BASELINE_BYTES: u64 = 8 << 30;

/// The stored state of the host.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    /// When it was taken (Unix seconds).
    pub created: i64,
    /// Host name at the time.
    pub host: String,
    /// nodeward version that wrote it.
    pub writer: String,
    /// The digest algorithm of every entry.
    pub hash: String,
    /// Entries sorted by path bytes.
    pub entries: Vec<Entry>,
    /// Installed package versions when it was taken (name, version); empty
    /// when the package database was not read.
    pub packages: Vec<(String, String)>,
    /// Package-owned files whose content did not match their package's
    /// checksum (sorted): still reported while they stay unchanged.
    pub mismatches: Vec<Vec<u8>>,
}

/// Format version 1: no package information.
#[derive(Deserialize)]
struct BaselineV1 {
    created: i64,
    host: String,
    writer: String,
    hash: String,
    entries: Vec<Entry>,
}

impl Baseline {
    /// The entry for `path`, by binary search.
    pub fn get(&self, path: &[u8]) -> Option<&Entry> {
        self.entries
            .binary_search_by(|e| e.path.as_slice().cmp(path))
            .ok()
            .map(|i| &self.entries[i])
    }

    /// The digest algorithm as a config value.
    pub fn algo(&self) -> HashAlgo {
        if self.hash == "sha256" {
            HashAlgo::Sha256
        } else {
            HashAlgo::Blake3
        }
    }
}

type HmacSha256 = Hmac<sha2::Sha256>;

fn mac(key: &[u8; 32]) -> HmacSha256 {
    // HMAC takes keys of any length; 32 bytes can never be refused.
    <HmacSha256 as Mac>::new_from_slice(key).expect("HMAC accepts any key length")
}

/// Encodes and seals `baseline`.
pub fn encode(baseline: &Baseline, key: &[u8; 32]) -> Result<Vec<u8>, String> {
    let payload = postcard::to_stdvec(baseline).map_err(|e| format!("cannot encode: {e}"))?;
    let mut out = Vec::with_capacity(HEADER + payload.len() + TAG);
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&payload);
    let mut m = mac(key);
    m.update(&out);
    out.extend_from_slice(&m.finalize().into_bytes());
    Ok(out)
}

/// Checks the seal of `bytes` (read from `path`) and decodes it.
pub fn decode(
    bytes: &[u8],
    path: &Path,
    key: &[u8; 32],
    key_path: &Path,
) -> Result<Baseline, FimError> {
    let damaged = |reason: &str| FimError::Damaged {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    if bytes.len() < HEADER || &bytes[..6] != MAGIC {
        return Err(damaged("not a nodeward fim baseline (wrong magic)"));
    }
    let version = u32::from_le_bytes(bytes[6..10].try_into().unwrap_or([0; 4]));
    if version > FORMAT_VERSION {
        return Err(FimError::NewerFormat {
            path: path.to_path_buf(),
            found: version,
            supported: FORMAT_VERSION,
        });
    }
    if version == 0 {
        return Err(damaged("format version 0"));
    }
    let len = u64::from_le_bytes(bytes[10..18].try_into().unwrap_or([0; 8]));
    let expected = (HEADER as u64)
        .checked_add(len)
        .and_then(|n| n.checked_add(TAG as u64));
    match expected {
        Some(n) if n == bytes.len() as u64 => {}
        Some(n) if n > bytes.len() as u64 => {
            return Err(damaged(&format!(
                "truncated: {} bytes, the header announces {n}",
                bytes.len()
            )))
        }
        _ => {
            return Err(damaged(&format!(
                "{} bytes, the header announces {len} of payload",
                bytes.len()
            )))
        }
    }
    let body_end = bytes.len() - TAG;
    let mut m = mac(key);
    m.update(&bytes[..body_end]);
    if m.verify_slice(&bytes[body_end..]).is_err() {
        return Err(FimError::Tampered {
            path: path.to_path_buf(),
            key: key_path.to_path_buf(),
        });
    }
    let undecodable = |e: postcard::Error| {
        damaged(&format!(
            "sealed but undecodable ({e}): written by an incompatible nodeward?"
        ))
    };
    if version == 1 {
        let v1: BaselineV1 = postcard::from_bytes(&bytes[HEADER..body_end]).map_err(undecodable)?;
        return Ok(Baseline {
            created: v1.created,
            host: v1.host,
            writer: v1.writer,
            hash: v1.hash,
            entries: v1.entries,
            packages: Vec::new(),
            mismatches: Vec::new(),
        });
    }
    postcard::from_bytes(&bytes[HEADER..body_end]).map_err(undecodable)
}

/// Reads and verifies the baseline at `path`.
pub fn load(path: &Path, key: &[u8; 32], key_path: &Path) -> Result<Baseline, FimError> {
    let md = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(FimError::NoBaseline(path.to_path_buf()))
        }
        Err(e) => return Err(FimError::io(path, e)),
    };
    if md.len() > MAX_BASELINE_BYTES {
        return Err(FimError::Damaged {
            path: path.to_path_buf(),
            reason: format!("{} bytes, more than any baseline nodeward writes", md.len()),
        });
    }
    let bytes = std::fs::read(path).map_err(|e| FimError::io(path, e))?;
    decode(&bytes, path, key, key_path)
}

/// Writes `bytes` to `path` atomically: a 0600 temporary file in the same
/// directory, synced, renamed over, and the directory synced. Missing parent
/// directories are created with mode 0700.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), FimError> {
    nodeward_files::write_private(path, bytes).map_err(|e| FimError::io(path, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Baseline {
        Baseline {
            created: 1,
            host: "h".into(),
            writer: "t".into(),
            hash: "blake3".into(),
            entries: vec![],
            packages: vec![("dpkg".into(), "1.21".into())],
            mismatches: vec![b"/usr/bin/x".to_vec()],
        }
    }

    #[test]
    fn seal_detects_every_kind_of_damage() {
        let key = [7u8; 32];
        let p = Path::new("b");
        let kp = Path::new("k");
        let bytes = encode(&sample(), &key).unwrap();
        assert_eq!(decode(&bytes, p, &key, kp).unwrap(), sample());
        // One flipped payload byte.
        let mut t = bytes.clone();
        let i = HEADER + 1;
        t[i] ^= 1;
        assert!(matches!(
            decode(&t, p, &key, kp),
            Err(FimError::Tampered { .. })
        ));
        // Another key.
        assert!(matches!(
            decode(&bytes, p, &[8u8; 32], kp),
            Err(FimError::Tampered { .. })
        ));
        // Cut short.
        let e = decode(&bytes[..bytes.len() - 5], p, &key, kp)
            .unwrap_err()
            .to_string();
        assert!(e.contains("truncated"), "{e}");
        // Foreign file, newer format.
        assert!(decode(b"hello world, this is not it", p, &key, kp)
            .unwrap_err()
            .to_string()
            .contains("magic"));
        let mut newer = bytes.clone();
        newer[6] = 9;
        assert!(matches!(
            decode(&newer, p, &key, kp),
            Err(FimError::NewerFormat { found: 9, .. })
        ));
        // A huge announced length never allocates.
        let mut huge = bytes.clone();
        huge[10..18].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(decode(&huge, p, &key, kp).is_err());
    }
}
