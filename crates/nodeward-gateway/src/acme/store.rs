//! The ACME state files: the account credentials and, per certificate, the
//! chain and key. Written atomically (temporary file, fsync, rename) with
//! mode 0600 under `<state_dir>/acme/`.

use std::path::{Path, PathBuf};

/// Where one listener's ACME files live.
#[derive(Debug, Clone)]
pub struct Store {
    dir: PathBuf,
    name: String,
}

impl Store {
    /// Files under `dir` for a certificate named after its first domain.
    pub fn new(dir: &Path, first_domain: &str) -> Self {
        Store {
            dir: dir.to_path_buf(),
            name: first_domain.to_owned(),
        }
    }

    /// The account credentials file (one account per directory URL host is
    /// not needed: one file per certificate keeps listeners independent).
    pub fn account(&self) -> PathBuf {
        self.dir.join(format!("{}.account.json", self.name))
    }

    /// The certificate chain (PEM, leaf first) followed by its private key
    /// (PEM, PKCS#8), in one file so that one rename replaces both.
    pub fn bundle(&self) -> PathBuf {
        self.dir.join(format!("{}.pem", self.name))
    }
}

/// Writes `bytes` to `path` atomically with mode 0600, creating the directory (0700).
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    nodeward_files::write_private(path, bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn writes_private_files_atomically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("acme/x.key.pem");
        write_private(&path, b"one").unwrap();
        write_private(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!dir.path().join("acme/x.key.pem.tmp").exists());
    }
}
