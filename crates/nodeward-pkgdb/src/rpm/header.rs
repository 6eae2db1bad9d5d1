//! The RPM header blob, as the rpm database stores one per installed package
//! (rpm's file format: a header structure without its 8-byte magic): two
//! big-endian 32-bit counts — index entries `il`, data bytes `dl` — then `il`
//! 16-byte entries (tag, type, offset, count) and `dl` bytes of data. Only the
//! few tags that name a package are read: NAME, VERSION, RELEASE, EPOCH, ARCH.

use super::vercmp::Evr;

/// Tag numbers (rpmtag.h).
const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_ARCH: u32 = 1022;
/// Data types.
const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
/// rpm's own limits on a header: entries and data bytes.
const MAX_ENTRIES: u32 = 0xffff;
const MAX_DATA: u32 = 256 * 1024 * 1024;

/// The identity of one installed package.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageId {
    /// Name.
    pub name: String,
    /// Epoch, version, release.
    pub evr: Evr,
    /// Architecture (empty for gpg-pubkey pseudo-packages, which have none).
    pub arch: String,
}

/// Why a header blob could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HeaderError {
    /// Shorter than its own counts say.
    #[error("truncated header ({0})")]
    Truncated(&'static str),
    /// Counts beyond rpm's limits.
    #[error("header claims {entries} entries and {data} data bytes, beyond rpm's limits")]
    TooLarge {
        /// Index entries claimed.
        entries: u32,
        /// Data bytes claimed.
        data: u32,
    },
    /// A tag has the wrong type or points outside the data.
    #[error("tag {0} is malformed")]
    BadTag(u32),
    /// A required tag is missing.
    #[error("no {0} tag")]
    Missing(&'static str),
}

fn be32(b: &[u8], at: usize) -> Option<u32> {
    b.get(at..at + 4)
        .map(|s| u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Parses the package identity out of one header blob.
pub fn parse(blob: &[u8]) -> Result<PackageId, HeaderError> {
    let il = be32(blob, 0).ok_or(HeaderError::Truncated("counts"))?;
    let dl = be32(blob, 4).ok_or(HeaderError::Truncated("counts"))?;
    if il == 0 || il > MAX_ENTRIES || dl > MAX_DATA {
        return Err(HeaderError::TooLarge {
            entries: il,
            data: dl,
        });
    }
    let index_end = 8 + il as usize * 16;
    let data = blob
        .get(index_end..index_end + dl as usize)
        .ok_or(HeaderError::Truncated("data"))?;
    let (mut name, mut version, mut release, mut epoch, mut arch) = (None, None, None, None, None);
    for i in 0..il as usize {
        let at = 8 + i * 16;
        let (Some(tag), Some(ty), Some(offset), Some(count)) = (
            be32(blob, at),
            be32(blob, at + 4),
            be32(blob, at + 8),
            be32(blob, at + 12),
        ) else {
            return Err(HeaderError::Truncated("index"));
        };
        let want_string = match tag {
            TAG_NAME | TAG_VERSION | TAG_RELEASE | TAG_ARCH => true,
            TAG_EPOCH => false,
            _ => continue,
        };
        let offset = offset as usize;
        if offset >= data.len() || count == 0 {
            return Err(HeaderError::BadTag(tag));
        }
        if want_string {
            if ty != TYPE_STRING {
                return Err(HeaderError::BadTag(tag));
            }
            let rest = &data[offset..];
            let end = memchr::memchr(0, rest).ok_or(HeaderError::BadTag(tag))?;
            let s = std::str::from_utf8(&rest[..end])
                .map_err(|_| HeaderError::BadTag(tag))?
                .to_string();
            match tag {
                TAG_NAME => name = Some(s),
                TAG_VERSION => version = Some(s),
                TAG_RELEASE => release = Some(s),
                _ => arch = Some(s),
            }
        } else {
            if ty != TYPE_INT32 {
                return Err(HeaderError::BadTag(tag));
            }
            epoch = Some(be32(data, offset).ok_or(HeaderError::BadTag(tag))?);
        }
    }
    let name = name.ok_or(HeaderError::Missing("NAME"))?;
    let version = version.ok_or(HeaderError::Missing("VERSION"))?;
    let release = release.ok_or(HeaderError::Missing("RELEASE"))?;
    Ok(PackageId {
        name,
        evr: Evr {
            epoch: u64::from(epoch.unwrap_or(0)),
            version,
            release,
        },
        arch: arch.unwrap_or_default(),
    })
}

/// Builds a header blob like rpm's (a region tag first, then the entries),
/// for tests and fuzzing.
pub fn build(name: &str, epoch: Option<u32>, version: &str, release: &str, arch: &str) -> Vec<u8> {
    let mut entries: Vec<[u32; 4]> = Vec::new();
    let mut data: Vec<u8> = Vec::new();
    for (tag, s) in [
        (TAG_NAME, name),
        (TAG_VERSION, version),
        (TAG_RELEASE, release),
        (TAG_ARCH, arch),
    ] {
        entries.push([tag, TYPE_STRING, data.len() as u32, 1]);
        data.extend_from_slice(s.as_bytes());
        data.push(0);
    }
    if let Some(e) = epoch {
        while !data.len().is_multiple_of(4) {
            data.push(0);
        }
        entries.push([TAG_EPOCH, TYPE_INT32, data.len() as u32, 1]);
        data.extend_from_slice(&e.to_be_bytes());
    }
    // Region trailer (HEADERIMMUTABLE, BIN, -(il*16), 16), as rpm writes it.
    let il = entries.len() as u32 + 1;
    entries.insert(0, [63, 7, data.len() as u32, 16]);
    for v in [63u32, 7, (-(il as i32 * 16)) as u32, 16] {
        data.extend_from_slice(&v.to_be_bytes());
    }
    let mut out = Vec::new();
    out.extend_from_slice(&il.to_be_bytes());
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    for e in entries {
        for v in e {
            out.extend_from_slice(&v.to_be_bytes());
        }
    }
    out.extend_from_slice(&data);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn reads_name_evr_arch() {
        let b = build("openssl", Some(1), "3.0.7", "27.el9", "x86_64");
        let p = parse(&b).unwrap();
        assert_eq!(p.name, "openssl");
        assert_eq!(p.evr.to_string(), "1:3.0.7-27.el9");
        assert_eq!(p.arch, "x86_64");
        let p = parse(&build("bash", None, "5.1.8", "9.el9", "x86_64")).unwrap();
        assert_eq!(p.evr.epoch, 0);
    }

    #[test]
    fn malformed_headers_are_errors() {
        let b = build("a", None, "1", "1", "noarch");
        assert!(matches!(
            parse(&b[..b.len() - 3]),
            Err(HeaderError::Truncated(_))
        ));
        assert!(parse(&[0, 1, 0, 0, 0, 0, 0, 0]).is_err());
        let mut huge = b.clone();
        huge[0..4].copy_from_slice(&0x10000u32.to_be_bytes());
        assert!(matches!(parse(&huge), Err(HeaderError::TooLarge { .. })));
        // NAME pointing past the data.
        let mut bad = b.clone();
        bad[8 + 16 + 8..8 + 16 + 12].copy_from_slice(&9999u32.to_be_bytes());
        assert_eq!(parse(&bad), Err(HeaderError::BadTag(1000)));
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse(&b);
        }

        #[test]
        fn mutated_headers_never_panic(i in 0usize..200, v in any::<u8>()) {
            let mut b = build("kernel-core", Some(0), "5.14.0", "362.8.1.el9_3", "x86_64");
            let n = b.len();
            b[i % n] = v;
            let _ = parse(&b);
        }
    }
}
