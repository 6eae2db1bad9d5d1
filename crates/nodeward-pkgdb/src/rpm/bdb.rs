//! A read-only reader of BerkeleyDB hash databases, enough to list the values
//! of rpm's `Packages` file (CentOS/RHEL 7 and 8 keep their rpm database in
//! one): the meta page says the page size, byte order and last page; every hash
//! page holds key/data pairs, a data item is either inline or a chain of
//! overflow pages. The file is untrusted input: every offset, length and page
//! chain is bounded, and nothing is ever written.

/// The BerkeleyDB hash magic number.
const HASH_MAGIC: u32 = 0x0006_1561;
/// Page header size (LSN, pgno, prev, next, entries, hf_offset, level, type).
const PAGE_HEADER: usize = 26;
/// Page types.
const P_HASH_UNSORTED: u8 = 2;
const P_OVERFLOW: u8 = 7;
const P_HASHMETA: u8 = 8;
const P_HASH: u8 = 13;
/// Item types on hash pages.
const H_KEYDATA: u8 = 1;
const H_OFFPAGE: u8 = 3;
/// Meta flag: pages carry checksums (which move the item array).
const DBMETA_CHKSUM: u8 = 0x01;
/// Largest value assembled from overflow pages (an rpm header is < 16 MiB).
const MAX_VALUE: usize = 64 << 20;

/// Why a file could not be read as a BerkeleyDB hash database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BdbError {
    /// Not a BerkeleyDB hash database.
    #[error("not a BerkeleyDB hash database ({0})")]
    NotHash(String),
    /// A feature this reader does not handle.
    #[error("unsupported BerkeleyDB database: {0}")]
    Unsupported(String),
    /// Inconsistent structure.
    #[error("damaged BerkeleyDB database: {0}")]
    Damaged(String),
}

struct Db<'a> {
    bytes: &'a [u8],
    page_size: usize,
    pages: usize,
    big_endian: bool,
}

impl<'a> Db<'a> {
    fn u16_at(&self, b: &[u8], off: usize) -> Option<u16> {
        let s: [u8; 2] = b.get(off..off + 2)?.try_into().ok()?;
        Some(if self.big_endian {
            u16::from_be_bytes(s)
        } else {
            u16::from_le_bytes(s)
        })
    }

    fn u32_at(&self, b: &[u8], off: usize) -> Option<u32> {
        let s: [u8; 4] = b.get(off..off + 4)?.try_into().ok()?;
        Some(if self.big_endian {
            u32::from_be_bytes(s)
        } else {
            u32::from_le_bytes(s)
        })
    }

    fn page(&self, n: usize) -> Option<&'a [u8]> {
        if n >= self.pages {
            return None;
        }
        self.bytes.get(n * self.page_size..(n + 1) * self.page_size)
    }

    /// A value stored on overflow pages, starting at page `first`, `len` bytes long.
    fn overflow(&self, first: u32, len: usize) -> Result<Vec<u8>, BdbError> {
        if len > MAX_VALUE {
            return Err(BdbError::Damaged(format!(
                "an overflow item of {len} bytes"
            )));
        }
        let mut out = Vec::with_capacity(len);
        let mut next = first as usize;
        let mut seen = std::collections::HashSet::new();
        while out.len() < len {
            if !seen.insert(next) {
                return Err(BdbError::Damaged("an overflow chain loops".into()));
            }
            let page = self.page(next).ok_or_else(|| {
                BdbError::Damaged(format!("overflow page {next} is past the end"))
            })?;
            if page[25] != P_OVERFLOW {
                return Err(BdbError::Damaged(format!(
                    "page {next} is not an overflow page"
                )));
            }
            let on_page = self.u16_at(page, 22).unwrap_or(0) as usize;
            let data = page
                .get(PAGE_HEADER..PAGE_HEADER + on_page)
                .ok_or_else(|| {
                    BdbError::Damaged(format!("overflow page {next} claims {on_page} bytes"))
                })?;
            let take = data.len().min(len - out.len());
            out.extend_from_slice(&data[..take]);
            next = self.u32_at(page, 16).unwrap_or(0) as usize;
            if next == 0 && out.len() < len {
                return Err(BdbError::Damaged(format!(
                    "an overflow chain ends after {} of {len} bytes",
                    out.len()
                )));
            }
        }
        Ok(out)
    }
}

/// Every data value in the hash database `bytes` (keys are not returned), in
/// page order. At most `max_values` are read.
pub fn hash_values(bytes: &[u8], max_values: usize) -> Result<Vec<Vec<u8>>, BdbError> {
    if bytes.len() < 512 {
        return Err(BdbError::NotHash(format!("{} bytes", bytes.len())));
    }
    let le = u32::from_le_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
    let be = u32::from_be_bytes([bytes[12], bytes[13], bytes[14], bytes[15]]);
    let big_endian = match (le == HASH_MAGIC, be == HASH_MAGIC) {
        (true, _) => false,
        (_, true) => true,
        _ => return Err(BdbError::NotHash(format!("magic 0x{le:08x}"))),
    };
    let probe = Db {
        bytes,
        page_size: 0,
        pages: 0,
        big_endian,
    };
    let page_size = probe.u32_at(bytes, 20).unwrap_or(0) as usize;
    if !(512..=65536).contains(&page_size) || !page_size.is_power_of_two() {
        return Err(BdbError::Damaged(format!("page size {page_size}")));
    }
    if bytes[24] != 0 {
        return Err(BdbError::Unsupported("encrypted".into()));
    }
    if bytes[25] != P_HASHMETA {
        return Err(BdbError::NotHash(format!("meta page type {}", bytes[25])));
    }
    if bytes[26] & DBMETA_CHKSUM != 0 {
        return Err(BdbError::Unsupported("page checksums".into()));
    }
    let last = probe.u32_at(bytes, 32).unwrap_or(0) as usize;
    let pages = (bytes.len() / page_size).min(last.saturating_add(1));
    let db = Db {
        bytes,
        page_size,
        pages,
        big_endian,
    };
    let mut out = Vec::new();
    for n in 1..pages {
        let Some(page) = db.page(n) else { break };
        if page[25] != P_HASH && page[25] != P_HASH_UNSORTED {
            continue;
        }
        let entries = db.u16_at(page, 20).unwrap_or(0) as usize;
        if PAGE_HEADER + entries * 2 > page_size {
            return Err(BdbError::Damaged(format!(
                "page {n} claims {entries} items"
            )));
        }
        let offset = |i: usize| db.u16_at(page, PAGE_HEADER + i * 2).unwrap_or(0) as usize;
        // Items alternate key, data; each runs from its offset to the previous item's.
        for i in (1..entries).step_by(2) {
            let start = offset(i);
            let end = if i == 0 { page_size } else { offset(i - 1) };
            if start < PAGE_HEADER + entries * 2 || start >= end || end > page_size {
                return Err(BdbError::Damaged(format!(
                    "page {n} item {i} spans {start}..{end}"
                )));
            }
            let item = &page[start..end];
            let value = match item[0] {
                H_KEYDATA => item[1..].to_vec(),
                H_OFFPAGE => {
                    let first = db.u32_at(item, 4).ok_or_else(|| {
                        BdbError::Damaged(format!("page {n} item {i}: short off-page item"))
                    })?;
                    let len = db.u32_at(item, 8).ok_or_else(|| {
                        BdbError::Damaged(format!("page {n} item {i}: short off-page item"))
                    })? as usize;
                    db.overflow(first, len)?
                }
                // Duplicates: rpm's Packages has none.
                _ => continue,
            };
            if out.len() >= max_values {
                return Err(BdbError::Damaged(format!("more than {max_values} values")));
            }
            out.push(value);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A hash database with one inline and one overflow value, laid out as
    /// BerkeleyDB 5.3 writes it (meta page, one hash page, two overflow pages).
    fn sample() -> Vec<u8> {
        let ps = 512usize;
        let mut db = vec![0u8; ps * 4];
        let put32 =
            |b: &mut [u8], off: usize, v: u32| b[off..off + 4].copy_from_slice(&v.to_le_bytes());
        let put16 =
            |b: &mut [u8], off: usize, v: u16| b[off..off + 2].copy_from_slice(&v.to_le_bytes());
        put32(&mut db, 12, HASH_MAGIC);
        put32(&mut db, 16, 9);
        put32(&mut db, 20, ps as u32);
        db[25] = P_HASHMETA;
        put32(&mut db, 32, 3);
        // Page 1: a hash page with two pairs: (k1, inline "abc") and (k2, off-page 600 bytes).
        let p = ps;
        db[p + 25] = P_HASH;
        put16(&mut db, p + 20, 4);
        let items: [&[u8]; 4] = [
            &[H_KEYDATA, 1, 0, 0, 0],
            &[H_KEYDATA, b'a', b'b', b'c'],
            &[H_KEYDATA, 2, 0, 0, 0],
            &[H_OFFPAGE, 0, 0, 0, 2, 0, 0, 0, 0x58, 0x02, 0, 0],
        ];
        let mut end = ps;
        for (i, item) in items.iter().enumerate() {
            let start = end - item.len();
            db[p + start..p + end].copy_from_slice(item);
            put16(&mut db, p + PAGE_HEADER + i * 2, start as u16);
            end = start;
        }
        // Pages 2 and 3: 600 bytes of 7s, 486 + 114.
        for (n, len, next) in [(2usize, 486u16, 3u32), (3, 114, 0)] {
            let o = n * ps;
            db[o + 25] = P_OVERFLOW;
            put32(&mut db, o + 16, next);
            put16(&mut db, o + 22, len);
            for b in &mut db[o + PAGE_HEADER..o + PAGE_HEADER + len as usize] {
                *b = 7;
            }
        }
        db
    }

    #[test]
    fn inline_and_overflow_values_are_read_and_damage_is_named() {
        let db = sample();
        let v = hash_values(&db, 10).unwrap();
        assert_eq!(v.len(), 2);
        assert_eq!(v[0], b"abc");
        assert_eq!(v[1], vec![7u8; 600]);
        // An overflow chain that loops back on itself.
        let mut looped = db.clone();
        looped[3 * 512 + 16..3 * 512 + 20].copy_from_slice(&2u32.to_le_bytes());
        looped[3 * 512 + 22..3 * 512 + 24].copy_from_slice(&0u16.to_le_bytes());
        assert!(hash_values(&looped, 10).is_err());
        // Cut short, foreign, too many values.
        assert!(
            hash_values(&db[..600], 10).is_ok_and(|v| v.is_empty())
                || hash_values(&db[..600], 10).is_err()
        );
        assert!(matches!(
            hash_values(&[0u8; 1024], 10),
            Err(BdbError::NotHash(_))
        ));
        assert!(hash_values(&db, 1).is_err());
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        let db = sample();
        for i in 0..db.len() {
            for v in [0u8, 0xff, 0x7f] {
                let mut d = db.clone();
                d[i] = v;
                let _ = hash_values(&d, 100);
            }
        }
    }
}
