//! The admin bearer token: created once (random, mode 0600, written
//! atomically), compared in constant time, never logged.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

/// Why the token could not be read or created.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// Reading, creating or writing the token file failed.
    #[error("admin token file {path}: {source} (set [admin] token_file or [gateway] state_dir to a writable place)")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The file exists but holds no usable token.
    #[error("admin token file {path}: {what}")]
    Bad {
        /// The file.
        path: String,
        /// What is wrong.
        what: String,
    },
}

/// Reads the token at `path`, creating a new random one if the file is missing.
pub fn load_or_create(path: &Path) -> Result<String, TokenError> {
    let io = |source| TokenError::Io {
        path: path.display().to_string(),
        source,
    };
    match std::fs::read(path) {
        Ok(bytes) => {
            let meta = std::fs::metadata(path).map_err(io)?;
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(file = %path.display(), "admin token file is readable by group/others; chmod 600 it");
            }
            let text = String::from_utf8(bytes).map_err(|_| TokenError::Bad {
                path: path.display().to_string(),
                what: "not UTF-8 text".into(),
            })?;
            let token = text.trim().to_string();
            if token.len() < 16 || token.len() > 512 || !token.bytes().all(|b| b.is_ascii_graphic())
            {
                return Err(TokenError::Bad {
                    path: path.display().to_string(),
                    what: "a token is 16 to 512 printable ASCII characters".into(),
                });
            }
            Ok(token)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut raw = [0u8; 32];
            getrandom::fill(&mut raw).map_err(|e| io(std::io::Error::other(e.to_string())))?;
            let token: String = raw.iter().map(|b| format!("{b:02x}")).collect();
            nodeward_files::write_private(path, format!("{token}\n").as_bytes()).map_err(io)?;
            tracing::info!(file = %path.display(), "created a new admin token");
            Ok(token)
        }
        Err(e) => Err(io(e)),
    }
}

/// Compares a presented token with the expected one in time independent of
/// where they differ.
pub fn matches(presented: &[u8], expected: &[u8]) -> bool {
    if presented.len() != expected.len() {
        return false;
    }
    presented
        .iter()
        .zip(expected)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creates_then_reads_a_private_token() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/admin.token");
        let t1 = load_or_create(&p).unwrap();
        assert_eq!(t1.len(), 64);
        assert_eq!(
            std::fs::metadata(&p).unwrap().permissions().mode() & 0o777,
            0o600
        );
        assert_eq!(load_or_create(&p).unwrap(), t1);
        std::fs::write(&p, "short").unwrap();
        assert!(load_or_create(&p).is_err());
    }

    #[test]
    fn constant_time_compare() {
        assert!(matches(b"abc", b"abc"));
        assert!(!matches(b"abd", b"abc"));
        assert!(!matches(b"ab", b"abc"));
    }
}
