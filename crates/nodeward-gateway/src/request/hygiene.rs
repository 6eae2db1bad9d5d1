//! HTTP hygiene: refuse malformed or ambiguous requests before any upstream
//! contact, strip hop-by-hop headers, and set forwarding headers correctly.

use crate::addr::{canonical, IpSet};
use crate::http1::is_hop_by_hop;
use crate::refusal::{Reason, Reject};
use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use std::net::IpAddr;

/// Refuses framing that two parsers could read differently (request smuggling):
/// Content-Length together with Transfer-Encoding, repeated Content-Length,
/// transfer codings other than a single `chunked`, repeated Host.
pub fn check_framing(headers: &HeaderMap) -> Result<(), Reject> {
    let bad = |why: &str| Err(Reject::new(Reason::BadRequest, why.to_string()));
    // One pass over the (few) headers instead of a lookup per name.
    let (mut cl, mut te, mut host) = (0usize, 0usize, 0usize);
    let mut te_chunked = true;
    for (name, value) in headers {
        if name == header::CONTENT_LENGTH {
            cl += 1;
        } else if name == header::TRANSFER_ENCODING {
            te += 1;
            te_chunked &= value.as_bytes().eq_ignore_ascii_case(b"chunked");
        } else if name == header::HOST {
            host += 1;
        }
    }
    if te > 0 && cl > 0 {
        return bad("both Content-Length and Transfer-Encoding are present");
    }
    if cl > 1 {
        return bad("more than one Content-Length header");
    }
    if te > 1 || !te_chunked {
        return bad("only a single Transfer-Encoding: chunked is accepted");
    }
    if host > 1 {
        return bad("more than one Host header");
    }
    Ok(())
}

/// Removes hop-by-hop headers, including those the Connection header names.
pub fn strip_hop_by_hop(headers: &mut HeaderMap) {
    // Most messages carry none, or only `Connection: keep-alive`: one pass over
    // the names, then remove only what is there.
    let mut present: Vec<HeaderName> = Vec::new();
    for name in headers.keys() {
        if is_hop_by_hop(name) {
            present.push(name.clone());
        }
    }
    if present.is_empty() {
        return;
    }
    for value in headers.get_all(header::CONNECTION) {
        let Ok(value) = value.to_str() else { continue };
        for token in value.split(',').map(str::trim) {
            if token.eq_ignore_ascii_case("close")
                || token.eq_ignore_ascii_case("keep-alive")
                || token.is_empty()
            {
                continue;
            }
            if let Ok(name) = HeaderName::from_bytes(token.as_bytes()) {
                present.push(name);
            }
        }
    }
    for name in &present {
        headers.remove(name);
    }
    headers.remove(HeaderName::from_static("keep-alive"));
}

/// The client address a request is judged by: the peer, or — when the peer
/// is a trusted proxy — the right-most X-Forwarded-For entry that is not
/// itself a trusted proxy. Forged entries from untrusted peers are ignored.
pub fn client_ip(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &IpSet) -> IpAddr {
    let peer = canonical(peer);
    if trusted_proxies.is_empty() || !trusted_proxies.contains(peer) {
        return peer;
    }
    let mut client = peer;
    let entries = headers
        .get_all(HeaderName::from_static("x-forwarded-for"))
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.rsplit(','));
    for e in entries.collect::<Vec<_>>().into_iter() {
        match e.trim().parse::<IpAddr>() {
            Ok(ip) => {
                client = canonical(ip);
                if !trusted_proxies.contains(client) {
                    break;
                }
            }
            Err(_) => break,
        }
    }
    client
}

/// Sets X-Forwarded-For and X-Forwarded-Proto for the upstream request:
/// appended to when the peer is a trusted proxy, replaced otherwise.
/// `peer` is the peer address as a header value ([`super::ConnInfo::peer_text`]).
pub fn set_forwarded(headers: &mut HeaderMap, peer: HeaderValue, tls: bool, peer_trusted: bool) {
    let xff = HeaderName::from_static("x-forwarded-for");
    let xfp = HeaderName::from_static("x-forwarded-proto");
    let value = if peer_trusted && headers.contains_key(&xff) {
        let prior: Vec<&str> = headers
            .get_all(&xff)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        let joined = format!("{}, {}", prior.join(", "), peer.to_str().unwrap_or(""));
        HeaderValue::from_str(&joined).unwrap_or(peer)
    } else {
        peer
    };
    headers.insert(xff, value);
    if !(peer_trusted && headers.contains_key(&xfp)) {
        headers.insert(
            xfp,
            HeaderValue::from_static(if tls { "https" } else { "http" }),
        );
    }
    headers.remove(HeaderName::from_static("forwarded"));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hm(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.append(
                HeaderName::from_bytes(k.as_bytes()).unwrap(),
                HeaderValue::from_str(v).unwrap(),
            );
        }
        h
    }

    #[test]
    fn framing_conflicts_are_refused() {
        assert!(check_framing(&hm(&[("content-length", "5")])).is_ok());
        assert!(check_framing(&hm(&[("transfer-encoding", "chunked")])).is_ok());
        assert!(check_framing(&hm(&[
            ("content-length", "5"),
            ("transfer-encoding", "chunked")
        ]))
        .is_err());
        assert!(check_framing(&hm(&[("content-length", "5"), ("content-length", "5")])).is_err());
        assert!(check_framing(&hm(&[("transfer-encoding", "gzip, chunked")])).is_err());
        assert!(check_framing(&hm(&[("host", "a"), ("host", "b")])).is_err());
    }

    #[test]
    fn hop_by_hop_and_connection_named_headers_go() {
        let mut h = hm(&[
            ("connection", "close, x-secret"),
            ("x-secret", "1"),
            ("upgrade", "h2c"),
            ("x-keep", "1"),
        ]);
        strip_hop_by_hop(&mut h);
        assert!(
            h.get("x-secret").is_none()
                && h.get("upgrade").is_none()
                && h.get("connection").is_none()
        );
        assert!(h.get("x-keep").is_some());
    }

    #[test]
    fn forwarded_for_is_trusted_only_from_trusted_proxies() {
        let proxies = IpSet::parse(&["10.0.0.0/8".into()]).unwrap();
        let h = hm(&[("x-forwarded-for", "203.0.113.9, 10.1.1.1")]);
        assert_eq!(
            client_ip("10.0.0.2".parse().unwrap(), &h, &proxies),
            "203.0.113.9".parse::<IpAddr>().unwrap()
        );
        assert_eq!(
            client_ip("198.51.100.1".parse().unwrap(), &h, &proxies),
            "198.51.100.1".parse::<IpAddr>().unwrap()
        );
        let forged = hm(&[("x-forwarded-for", "1.2.3.4, 198.51.100.7")]);
        assert_eq!(
            client_ip("10.0.0.2".parse().unwrap(), &forged, &proxies),
            "198.51.100.7".parse::<IpAddr>().unwrap()
        );
        let mut out = hm(&[("x-forwarded-for", "1.2.3.4")]);
        set_forwarded(
            &mut out,
            HeaderValue::from_static("198.51.100.1"),
            true,
            false,
        );
        assert_eq!(out.get("x-forwarded-for").unwrap(), "198.51.100.1");
        assert_eq!(out.get("x-forwarded-proto").unwrap(), "https");
    }
}
