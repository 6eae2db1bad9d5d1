//! The scan target: a host, `host:port` or a URL.

use crate::ScanError;
use nodeward_probe::http::Url;

/// What to scan, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Host name or IP (IPv6 without brackets).
    pub host: String,
    /// Port for the TLS part: the URL's port for https (443 unless given), 443 for http URLs.
    pub port: u16,
    /// The URL whose headers are graded.
    pub url: Url,
}

impl Target {
    /// Parses `host`, `host:port`, `[v6]:port` or `http(s)://host[:port]/path`.
    pub fn parse(s: &str) -> Result<Target, ScanError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ScanError::Usage("empty target".into()));
        }
        // A bare IPv6 address has colons that are not a port separator.
        let s_owned;
        let s = if s.parse::<std::net::Ipv6Addr>().is_ok() {
            s_owned = format!("[{s}]");
            s_owned.as_str()
        } else {
            s
        };
        let text = if s.contains("://") {
            s.to_string()
        } else {
            format!("https://{s}")
        };
        let url = Url::parse(&text)
            .map_err(|e| ScanError::Usage(format!("invalid target {s:?}: {e}")))?;
        Ok(Target {
            host: url.host.clone(),
            port: if url.scheme == "https" { url.port } else { 443 },
            url,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let t = Target::parse("node.example").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.url.scheme.as_str()),
            ("node.example", 443, "https")
        );
        let t = Target::parse("127.0.0.1:8443").unwrap();
        assert_eq!(t.port, 8443);
        let t = Target::parse("http://127.0.0.1:8080/api/v1").unwrap();
        assert_eq!(
            (t.port, t.url.port, t.url.path.as_str()),
            (443, 8080, "/api/v1")
        );
        let t = Target::parse("::1").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 443));
        let t = Target::parse("[::1]:8443").unwrap();
        assert_eq!((t.host.as_str(), t.port), ("::1", 8443));
        assert!(Target::parse("").is_err());
        assert!(Target::parse("ftp://x").is_err());
    }
}
