//! The RPM header blob, as the rpm database stores one per installed package
//! (rpm's file format: a header structure without its 8-byte magic): two
//! big-endian 32-bit counts — index entries `il`, data bytes `dl` — then `il`
//! 16-byte entries (tag, type, offset, count) and `dl` bytes of data. Only the
//! few tags that name a package are read: NAME, VERSION, RELEASE, EPOCH, ARCH
//! ([`parse`]), and for file verification ([`files`]) the file list: DIRNAMES,
//! BASENAMES, DIRINDEXES, FILEDIGESTS, FILEDIGESTALGO, FILEFLAGS, INSTALLTIME.

use super::vercmp::Evr;

/// Tag numbers (rpmtag.h).
const TAG_NAME: u32 = 1000;
const TAG_VERSION: u32 = 1001;
const TAG_RELEASE: u32 = 1002;
const TAG_EPOCH: u32 = 1003;
const TAG_ARCH: u32 = 1022;
const TAG_INSTALLTIME: u32 = 1008;
const TAG_FILEDIGESTS: u32 = 1035;
const TAG_FILEFLAGS: u32 = 1037;
const TAG_DIRINDEXES: u32 = 1116;
const TAG_BASENAMES: u32 = 1117;
const TAG_DIRNAMES: u32 = 1118;
const TAG_FILEDIGESTALGO: u32 = 5011;
/// `RPMFILE_CONFIG` in FILEFLAGS: a %config file, the admin's to edit.
pub const RPMFILE_CONFIG: u32 = 1;
/// Data types.
const TYPE_INT32: u32 = 4;
const TYPE_STRING: u32 = 6;
const TYPE_STRING_ARRAY: u32 = 8;
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

/// One file of a package, as its header lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpmFile {
    /// Absolute path (raw bytes).
    pub path: Vec<u8>,
    /// The digest as rpm stores it (lower-case hex); empty for directories,
    /// symlinks and ghost files.
    pub digest_hex: String,
    /// FILEFLAGS (see [`RPMFILE_CONFIG`]).
    pub flags: u32,
}

/// A package's identity and files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageFiles {
    /// Name, version, arch.
    pub id: PackageId,
    /// INSTALLTIME (Unix seconds; 0 when absent).
    pub install_time: u32,
    /// FILEDIGESTALGO (PGPHASHALGO: 1 MD5, 2 SHA-1, 8 SHA-256, 10 SHA-512; 1 when absent).
    pub digest_algo: u32,
    /// Every file.
    pub files: Vec<RpmFile>,
}

struct Index<'a> {
    blob: &'a [u8],
    data: &'a [u8],
    il: usize,
}

impl<'a> Index<'a> {
    fn new(blob: &'a [u8]) -> Result<Self, HeaderError> {
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
        Ok(Index {
            blob,
            data,
            il: il as usize,
        })
    }

    /// (type, offset, count) of `tag`.
    fn find(&self, tag: u32) -> Result<Option<(u32, usize, usize)>, HeaderError> {
        for i in 0..self.il {
            let at = 8 + i * 16;
            if be32(self.blob, at) != Some(tag) {
                continue;
            }
            let (Some(ty), Some(offset), Some(count)) = (
                be32(self.blob, at + 4),
                be32(self.blob, at + 8),
                be32(self.blob, at + 12),
            ) else {
                return Err(HeaderError::Truncated("index"));
            };
            if offset as usize >= self.data.len() || count == 0 || count > MAX_DATA {
                return Err(HeaderError::BadTag(tag));
            }
            return Ok(Some((ty, offset as usize, count as usize)));
        }
        Ok(None)
    }

    fn strings(&self, tag: u32) -> Result<Vec<&'a [u8]>, HeaderError> {
        let Some((ty, offset, count)) = self.find(tag)? else {
            return Ok(Vec::new());
        };
        if ty != TYPE_STRING_ARRAY && ty != TYPE_STRING {
            return Err(HeaderError::BadTag(tag));
        }
        let mut rest = &self.data[offset..];
        let mut out = Vec::with_capacity(count.min(rest.len()));
        for _ in 0..count {
            let end = memchr::memchr(0, rest).ok_or(HeaderError::BadTag(tag))?;
            out.push(&rest[..end]);
            rest = &rest[end + 1..];
        }
        Ok(out)
    }

    fn ints(&self, tag: u32) -> Result<Vec<u32>, HeaderError> {
        let Some((ty, offset, count)) = self.find(tag)? else {
            return Ok(Vec::new());
        };
        if ty != TYPE_INT32 || count > (self.data.len() - offset) / 4 {
            return Err(HeaderError::BadTag(tag));
        }
        (0..count)
            .map(|i| be32(self.data, offset + i * 4).ok_or(HeaderError::BadTag(tag)))
            .collect()
    }
}

/// Parses a package's identity and file list out of one header blob.
pub fn files(blob: &[u8]) -> Result<PackageFiles, HeaderError> {
    let id = parse(blob)?;
    let index = Index::new(blob)?;
    let dirs = index.strings(TAG_DIRNAMES)?;
    let bases = index.strings(TAG_BASENAMES)?;
    let dir_of = index.ints(TAG_DIRINDEXES)?;
    let digests = index.strings(TAG_FILEDIGESTS)?;
    let flags = index.ints(TAG_FILEFLAGS)?;
    if dir_of.len() != bases.len() || (!digests.is_empty() && digests.len() != bases.len()) {
        return Err(HeaderError::BadTag(TAG_BASENAMES));
    }
    let mut out = Vec::with_capacity(bases.len());
    for (i, base) in bases.iter().enumerate() {
        let dir = dirs
            .get(dir_of[i] as usize)
            .ok_or(HeaderError::BadTag(TAG_DIRINDEXES))?;
        out.push(RpmFile {
            path: [*dir, *base].concat(),
            digest_hex: digests
                .get(i)
                .map(|d| String::from_utf8_lossy(d).to_ascii_lowercase())
                .unwrap_or_default(),
            flags: flags.get(i).copied().unwrap_or(0),
        });
    }
    Ok(PackageFiles {
        id,
        install_time: index.ints(TAG_INSTALLTIME)?.first().copied().unwrap_or(0),
        digest_algo: index
            .ints(TAG_FILEDIGESTALGO)?
            .first()
            .copied()
            .unwrap_or(1),
        files: out,
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

    #[test]
    fn a_header_without_files_has_an_empty_list() {
        let f = files(&build("a", None, "1", "1", "noarch")).unwrap();
        assert!(f.files.is_empty());
        assert_eq!(f.digest_algo, 1);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(b in proptest::collection::vec(any::<u8>(), 0..300)) {
            let _ = parse(&b);
            let _ = files(&b);
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
