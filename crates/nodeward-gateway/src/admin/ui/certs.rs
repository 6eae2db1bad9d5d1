//! The listeners' certificate expiry, read from their PEM files at page load
//! (so a reloaded certificate shows at once).

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

/// One listener certificate's validity.
pub struct CertExpiry {
    /// The certificate's subject.
    pub subject: String,
    /// notAfter, Unix seconds.
    pub not_after: i64,
    /// Whole days left (negative once expired).
    pub days_left: i64,
}

/// Reads the leaf certificate of the chain in `path`.
pub fn read(path: &Path) -> Result<CertExpiry, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.len() > 1024 * 1024 {
        return Err(format!("{}: larger than 1 MiB", path.display()));
    }
    let pem = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let der = rustls_pemfile::certs(&mut pem.as_slice())
        .next()
        .ok_or_else(|| format!("{}: no certificate in the file", path.display()))?
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let (_, cert) = x509_parser::parse_x509_certificate(der.as_ref())
        .map_err(|e| format!("{}: not a readable certificate: {e}", path.display()))?;
    let not_after = cert.validity().not_after.timestamp();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    Ok(CertExpiry {
        subject: cert.subject().to_string(),
        not_after,
        days_left: (not_after - now).div_euclid(86_400),
    })
}
