//! Reading PEM files for TLS — certificate chains, private keys, CA bundles —
//! with a size cap and errors that name the file. Shared by the listeners'
//! server certificates and the CAs and client certificates used toward
//! backends.

use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::{Path, PathBuf};

/// Largest PEM file read.
const MAX_PEM_BYTES: u64 = 1024 * 1024;

/// Why a PEM file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum PemError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file held no usable PEM item of the expected kind.
    #[error("{}: {what}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        what: String,
    },
}

fn invalid(path: &Path, what: impl Into<String>) -> PemError {
    PemError::Invalid {
        path: path.to_path_buf(),
        what: what.into(),
    }
}

/// Reads a PEM file of at most 1 MiB.
pub fn read(path: &Path) -> Result<Vec<u8>, PemError> {
    let read_err = |source| PemError::Read {
        path: path.to_path_buf(),
        source,
    };
    let meta = std::fs::metadata(path).map_err(read_err)?;
    if meta.len() > MAX_PEM_BYTES {
        return Err(invalid(path, format!("larger than {MAX_PEM_BYTES} bytes")));
    }
    std::fs::read(path).map_err(read_err)
}

/// The certificates in `data` (read from `path`); at least one.
pub fn certs(path: &Path, data: &[u8]) -> Result<Vec<CertificateDer<'static>>, PemError> {
    let certs: Vec<CertificateDer<'static>> = rustls_pemfile::certs(&mut &data[..])
        .collect::<Result<_, _>>()
        .map_err(|e| invalid(path, format!("bad PEM: {e}")))?;
    if certs.is_empty() {
        return Err(invalid(path, "no CERTIFICATE block found"));
    }
    Ok(certs)
}

/// The private key in `data` (read from `path`).
pub fn private_key(path: &Path, data: &[u8]) -> Result<PrivateKeyDer<'static>, PemError> {
    rustls_pemfile::private_key(&mut &data[..])
        .map_err(|e| invalid(path, format!("bad PEM: {e}")))?
        .ok_or_else(|| invalid(path, "no PRIVATE KEY block found"))
}
