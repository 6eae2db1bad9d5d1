//! REST APIs (Hornet's /api/..., ILP connectors' admin endpoints): the command
//! is `METHOD /path`, with the path decoded and checked so that no second
//! spelling of a denied path (`%2e%2e`, `%2F`, `//`, `\`) reaches the node.

use super::{Call, ExtractError, Extraction};
use std::borrow::Cow;

/// Builds the `method /path` command of a REST request (both lowercased).
pub fn extract_rest(method: &http::Method, path: &str) -> Result<Extraction, ExtractError> {
    let normalized = normalize_path(path)?;
    let mut command = String::with_capacity(method.as_str().len() + 1 + normalized.len());
    command.push_str(&method.as_str().to_ascii_lowercase());
    command.push(' ');
    command.push_str(&normalized.to_ascii_lowercase());
    Ok(Extraction {
        calls: vec![Call { command, id: None }],
        batch: false,
    })
}

/// Decodes percent-escapes of unreserved characters and refuses paths that a
/// backend could resolve to something else: encoded `/`, `\` or NUL, dot
/// segments, empty segments, and non-ASCII after decoding.
///
/// Runs on every request (routing uses it): linear in the path length, and
/// the path is borrowed, not copied, when it holds no percent-escape.
pub fn normalize_path(path: &str) -> Result<Cow<'_, str>, ExtractError> {
    let bad = |why: &str| ExtractError::BadPath(format!("{why} in {path:?}"));
    if !path.starts_with('/') {
        return Err(bad("path must start with '/'"));
    }
    let bytes = path.as_bytes();
    let decoded: Cow<'_, str> = if bytes.contains(&b'%') {
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            let b = bytes[i];
            if b == b'%' {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .ok_or_else(|| bad("truncated percent-escape"))?;
                let s = std::str::from_utf8(hex).map_err(|_| bad("bad percent-escape"))?;
                let v = u8::from_str_radix(s, 16).map_err(|_| bad("bad percent-escape"))?;
                match v {
                    b'/' | b'\\' | 0 => return Err(bad("encoded '/', '\\' or NUL")),
                    _ if v.is_ascii_alphanumeric() || b"-._~".contains(&v) => out.push(v),
                    // Reserved characters stay escaped: they are data, not structure.
                    _ => out.extend_from_slice(&bytes[i..i + 3]),
                }
                i += 3;
                continue;
            }
            out.push(b);
            i += 1;
        }
        Cow::Owned(String::from_utf8(out).map_err(|_| bad("invalid bytes"))?)
    } else {
        Cow::Borrowed(path)
    };
    if decoded.bytes().any(|b| b == b'\\' || !b.is_ascii_graphic()) {
        return Err(bad("backslash, space or non-ASCII byte"));
    }
    // Segments after the leading '/'; only the last may be empty ("/a/").
    let mut segments = decoded[1..].split('/').peekable();
    while let Some(seg) = segments.next() {
        if seg == "." || seg == ".." {
            return Err(bad("dot segment"));
        }
        if seg.is_empty() && segments.peek().is_some() {
            return Err(bad("empty path segment"));
        }
    }
    Ok(decoded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalizes_and_refuses() {
        assert_eq!(normalize_path("/api/v1/info").unwrap(), "/api/v1/info");
        assert_eq!(normalize_path("/api/%76%31/info").unwrap(), "/api/v1/info");
        assert_eq!(normalize_path("/").unwrap(), "/");
        assert_eq!(normalize_path("/a/").unwrap(), "/a/");
        assert_eq!(normalize_path("/a%20b").unwrap(), "/a%20b");
        for bad in [
            "/api/../admin",
            "/api/%2e%2e/admin",
            "/api%2fadmin",
            "//admin",
            "/a\\b",
            "/a%00",
            "/a%zz",
            "/a%2",
        ] {
            assert!(normalize_path(bad).is_err(), "{bad}");
        }
        // Long paths are checked in one pass; the segment rules still hold at the end.
        let long = "/a".repeat(8_000);
        assert_eq!(normalize_path(&long).unwrap(), long.as_str());
        assert!(normalize_path(&format!("{long}//b")).is_err());
        assert!(matches!(
            normalize_path("/plain/path").unwrap(),
            Cow::Borrowed(_)
        ));
        let x = extract_rest(&http::Method::POST, "/API/Admin").unwrap();
        assert_eq!(x.calls[0].command, "post /api/admin");
    }
}
