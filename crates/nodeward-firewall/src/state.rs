//! nodeward's state directory and atomic file writes.

use crate::error::{Error, Result};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

/// The default state directory.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/nodeward";

/// The largest state file nodeward reads back.
const MAX_STATE_BYTES: u64 = 64 * 1024 * 1024;

/// Creates `dir` (mode 0700) and its parents.
pub fn ensure_dir(dir: &Path) -> Result<()> {
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .map_err(|e| Error::io(dir, e))
}

/// Writes `bytes` to `path` atomically: a temporary file (mode 0600) in the same
/// directory, fsync, rename over `path`, fsync of the directory.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    nodeward_files::write_private(path, bytes).map_err(|e| Error::io(path, e))
}

/// Serialises `value` as pretty JSON into `path` atomically.
pub fn write_json<T: Serialize>(path: &Path, value: &T) -> Result<()> {
    let text = serde_json::to_vec_pretty(value).map_err(|e| Error::State {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    write_atomic(path, &text)
}

/// Reads JSON from `path`; `Ok(None)` when the file does not exist.
pub fn read_json<T: DeserializeOwned>(path: &Path) -> Result<Option<T>> {
    match fs::metadata(path) {
        Ok(m) if m.len() > MAX_STATE_BYTES => {
            return Err(Error::State {
                path: path.to_path_buf(),
                message: format!("{} bytes is larger than any state nodeward writes", m.len()),
            })
        }
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    }
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    serde_json::from_slice(&bytes)
        .map(Some)
        .map_err(|e| Error::State {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
}

/// Seconds since the Unix epoch.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn atomic_json_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/state.json");
        assert_eq!(read_json::<Vec<u32>>(&path).unwrap(), None);
        write_json(&path, &vec![1u32, 2]).unwrap();
        assert_eq!(read_json::<Vec<u32>>(&path).unwrap(), Some(vec![1, 2]));
        let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        fs::write(&path, b"{not json").unwrap();
        assert!(read_json::<Vec<u32>>(&path)
            .unwrap_err()
            .to_string()
            .contains("corrupt"));
    }
}
