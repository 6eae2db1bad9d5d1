//! The HMAC key that seals the baseline: 32 random bytes, hex, in a root-only
//! file kept apart from the baseline (default /etc/nodeward/fim.key), so whoever
//! rewrites the baseline to hide a change must also have the key.

use crate::error::FimError;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::Path;

/// Key length in bytes.
pub const KEY_LEN: usize = 32;

/// Reads the key at `path`.
pub fn load(path: &Path) -> Result<[u8; KEY_LEN], FimError> {
    let err = |reason: String| FimError::Key {
        path: path.to_path_buf(),
        reason,
    };
    let md = std::fs::metadata(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            err("not found (it is created by `nodeward fim init`; restore it from where you keep a copy)".into())
        } else {
            err(e.to_string())
        }
    })?;
    if md.len() > 1024 {
        return Err(err(format!("{} bytes: not a key file", md.len())));
    }
    if md.permissions().mode() & 0o077 != 0 {
        return Err(err(format!(
            "mode {:04o}: readable or writable by others; `chmod 600` it (and consider the baseline suspect)",
            md.permissions().mode() & 0o7777
        )));
    }
    let text = std::fs::read_to_string(path).map_err(|e| err(e.to_string()))?;
    parse(text.trim()).ok_or_else(|| err(format!("expected {} hex digits", KEY_LEN * 2)))
}

fn parse(hex: &str) -> Option<[u8; KEY_LEN]> {
    if hex.len() != KEY_LEN * 2 || !hex.is_ascii() {
        return None;
    }
    let mut out = [0u8; KEY_LEN];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hex[i * 2..i * 2 + 2], 16).ok()?;
    }
    Some(out)
}

/// Loads the key, creating a new random one (mode 0600, directory 0700 when
/// created) if none exists. Returns the key and whether it was created.
pub fn load_or_create(path: &Path) -> Result<([u8; KEY_LEN], bool), FimError> {
    if path.exists() {
        return Ok((load(path)?, false));
    }
    let mut key = [0u8; KEY_LEN];
    getrandom::fill(&mut key).map_err(|e| FimError::Key {
        path: path.to_path_buf(),
        reason: format!("no randomness: {e}"),
    })?;
    if let Some(dir) = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty() && !d.exists())
    {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(dir)
            .map_err(|e| FimError::io(dir, e))?;
    }
    let hex: String = key.iter().map(|b| format!("{b:02x}")).collect();
    // create_new: never overwrite a key another process just wrote.
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| FimError::io(path, e))?;
    f.write_all(format!("{hex}\n").as_bytes())
        .and_then(|_| f.sync_all())
        .map_err(|e| FimError::io(path, e))?;
    Ok((key, true))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_key_loads_back_and_loose_modes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/fim.key");
        let (k, created) = load_or_create(&p).unwrap();
        assert!(created);
        assert_eq!(load(&p).unwrap(), k);
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o644)).unwrap();
        assert!(load(&p).unwrap_err().to_string().contains("chmod 600"));
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o600)).unwrap();
        std::fs::write(&p, "zz\n").unwrap();
        assert!(load(&p).unwrap_err().to_string().contains("hex"));
    }
}
