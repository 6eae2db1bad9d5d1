//! Bounded, defensive reading of one real file, shared by both host kinds.

use super::{Fact, FileMeta, Unavailable};
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// The largest file a check reads (configuration files are a few KiB; package
/// lists are read through their own bounded reader).
pub const MAX_FILE_BYTES: u64 = 4 * 1024 * 1024;

/// Turns an I/O error on `shown` into a skip (missing, permission) or an error.
pub(crate) fn io_unavailable(shown: &str, err: &std::io::Error) -> Unavailable {
    match err.kind() {
        std::io::ErrorKind::NotFound => Unavailable::skip(format!("{shown}: not found")),
        std::io::ErrorKind::PermissionDenied => Unavailable::skip(format!(
            "{shown}: permission denied (run as root to check this)"
        )),
        _ => match err.raw_os_error() {
            Some(libc::ELOOP) => {
                Unavailable::error(format!("{shown}: too many levels of symlinks"))
            }
            Some(libc::EISDIR) => Unavailable::error(format!("{shown}: is a directory")),
            _ => Unavailable::error(format!("{shown}: cannot read: {err}")),
        },
    }
}

/// Decides whether `bytes` read from `shown` are text, returning it.
pub fn classify_bytes(shown: &str, bytes: Vec<u8>) -> Fact<String> {
    if bytes.contains(&0) {
        return Err(Unavailable::error(format!(
            "{shown}: binary content (NUL bytes), not a text file"
        )));
    }
    match String::from_utf8(bytes) {
        Ok(s) => Ok(s),
        Err(e) => {
            // Configuration may carry Latin-1 comments; keep what is valid,
            // but refuse files that are mostly garbage.
            let bytes = e.into_bytes();
            let text = String::from_utf8_lossy(&bytes).into_owned();
            let bad = text.chars().filter(|&c| c == '\u{FFFD}').count();
            if bad * 20 > text.chars().count().max(1) {
                Err(Unavailable::error(format!(
                    "{shown}: not a text file ({bad} invalid UTF-8 sequences)"
                )))
            } else {
                Ok(text)
            }
        }
    }
}

/// Reads `real` (a path on this machine) as text, naming it `shown` in reasons.
pub(crate) fn read_text_at(real: &Path, shown: &str) -> Fact<String> {
    classify_bytes(shown, read_bytes_at(real, shown, MAX_FILE_BYTES)?)
}

/// Reads `real` as bytes, refusing non-regular files and files over `limit`.
pub(crate) fn read_bytes_at(real: &Path, shown: &str, limit: u64) -> Fact<Vec<u8>> {
    let meta = std::fs::metadata(real).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound && std::fs::symlink_metadata(real).is_ok() {
            Unavailable::error(format!("{shown}: dangling symlink"))
        } else {
            io_unavailable(shown, &e)
        }
    })?;
    if meta.is_dir() {
        return Err(Unavailable::error(format!(
            "{shown}: is a directory, not a file"
        )));
    }
    if !meta.is_file() {
        return Err(Unavailable::error(format!(
            "{shown}: not a regular file (device, FIFO or socket)"
        )));
    }
    if meta.len() > limit {
        return Err(Unavailable::error(format!(
            "{shown}: {} bytes, over the {limit}-byte limit for this file",
            meta.len()
        )));
    }
    let file = std::fs::File::open(real).map_err(|e| io_unavailable(shown, &e))?;
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| io_unavailable(shown, &e))?;
    if bytes.len() as u64 > limit {
        return Err(Unavailable::error(format!(
            "{shown}: grew over the {limit}-byte limit while being read"
        )));
    }
    Ok(bytes)
}

/// Reads a proc/sys pseudo-file (size 0 in metadata) as text, bounded.
pub(crate) fn read_pseudo(real: &Path, limit: u64) -> Fact<String> {
    let shown = real.display().to_string();
    let file = std::fs::File::open(real).map_err(|e| io_unavailable(&shown, &e))?;
    let mut bytes = Vec::new();
    file.take(limit)
        .read_to_end(&mut bytes)
        .map_err(|e| io_unavailable(&shown, &e))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// Metadata of a real path.
pub(crate) fn meta_at(real: &Path, shown: &str) -> Fact<FileMeta> {
    let m = std::fs::metadata(real).map_err(|e| io_unavailable(shown, &e))?;
    Ok(FileMeta {
        is_dir: m.is_dir(),
        size: m.len(),
        mtime: m.mtime(),
        mode: m.mode(),
        uid: m.uid(),
    })
}

/// Sorted names of a real directory.
pub(crate) fn list_at(real: &Path, shown: &str) -> Fact<Vec<String>> {
    let mut names = Vec::new();
    let entries = std::fs::read_dir(real).map_err(|e| io_unavailable(shown, &e))?;
    for entry in entries.take(100_000) {
        let entry = entry.map_err(|e| io_unavailable(shown, &e))?;
        names.push(entry.file_name().to_string_lossy().into_owned());
    }
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_and_garbage_are_errors_latin1_comment_is_not() {
        assert!(classify_bytes("f", b"a\0b".to_vec()).is_err());
        assert!(classify_bytes("f", vec![0xff; 100]).is_err());
        let mut latin = b"# caf\xe9\nPort 22\n".to_vec();
        latin.extend(std::iter::repeat_n(b'x', 100));
        assert!(classify_bytes("f", latin).unwrap().contains("Port 22"));
    }

    #[test]
    fn dangling_symlink_huge_and_missing_files() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &link).unwrap();
        let err = read_text_at(&link, "/etc/link").unwrap_err();
        assert_eq!(err.kind, super::super::UnavailableKind::Error);
        assert!(err.reason.contains("dangling"), "{}", err.reason);

        let missing = read_text_at(&dir.path().join("none"), "/etc/none").unwrap_err();
        assert!(missing.is_missing());

        let huge = dir.path().join("huge");
        let f = std::fs::File::create(&huge).unwrap();
        f.set_len(MAX_FILE_BYTES + 1).unwrap();
        let err = read_text_at(&huge, "/etc/huge").unwrap_err();
        assert!(err.reason.contains("limit"), "{}", err.reason);
    }
}
