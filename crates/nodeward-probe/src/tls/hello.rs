//! Hand-built ClientHellos for SSLv3 to TLS 1.2 and a bounded reader for the
//! server's first flight, so versions and suites rustls refuses to speak can
//! still be tested. Nothing past ServerHelloDone is ever sent.

use super::suites::{KeyExchange, Suite, LEGACY};
use crate::{tcp, ProbeError};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A protocol version on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(pub u16);

impl Version {
    /// SSL 3.0.
    pub const SSL3: Version = Version(0x0300);
    /// TLS 1.0.
    pub const TLS10: Version = Version(0x0301);
    /// TLS 1.1.
    pub const TLS11: Version = Version(0x0302);
    /// TLS 1.2.
    pub const TLS12: Version = Version(0x0303);
    /// TLS 1.3.
    pub const TLS13: Version = Version(0x0304);
    /// The versions a hand-built hello can test.
    pub const LEGACY: [Version; 4] = [
        Version::SSL3,
        Version::TLS10,
        Version::TLS11,
        Version::TLS12,
    ];

    /// `SSLv3`, `TLS 1.0`, ...
    pub fn name(self) -> &'static str {
        match self.0 {
            0x0300 => "SSLv3",
            0x0301 => "TLS 1.0",
            0x0302 => "TLS 1.1",
            0x0303 => "TLS 1.2",
            0x0304 => "TLS 1.3",
            _ => "unknown",
        }
    }
}

/// What the server answered to one ClientHello.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HelloOutcome {
    /// The server picked `version` and `suite`; `chain` is its Certificate message (DER, leaf first).
    Accepted {
        /// Version in the ServerHello.
        version: Version,
        /// The chosen suite code.
        suite: u16,
        /// Certificates the server sent (empty if it did not get that far).
        chain: Vec<Vec<u8>>,
        /// Size in bits of the DH prime in the ServerKeyExchange (DHE suites only).
        dh_bits: Option<u32>,
    },
    /// The server refused: an alert (description code) or a close.
    Refused(String),
}

const MAX_RECORD: usize = 16384 + 2048;
const MAX_FLIGHT: usize = 256 * 1024;

/// Extras a probe can ask of a hand-built ClientHello.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HelloOptions {
    /// Offer DEFLATE (method 1) before null compression (the CRIME probe).
    pub deflate: bool,
    /// Send the heartbeat extension, peer_allowed_to_send (the Heartbleed probe).
    pub heartbeat: bool,
    /// Add TLS_FALLBACK_SCSV (0x5600) to the suites (RFC 7507).
    pub fallback_scsv: bool,
    /// Named groups to offer instead of the default list.
    pub groups: Option<Vec<u16>>,
    /// For a renegotiating hello: the renegotiation_info extension with this
    /// client verify_data, in place of the renegotiation SCSV (RFC 5746 §3.5).
    pub renegotiation_info: Option<Vec<u8>>,
}

/// Default supported_groups: x25519, P-256, P-384, P-521, ffdhe2048, ffdhe3072.
const DEFAULT_GROUPS: [u16; 6] = [0x001d, 0x0017, 0x0018, 0x0019, 0x0100, 0x0101];

/// Builds a ClientHello record offering `suites` at `version` with SNI `servername`.
pub fn build_client_hello(version: Version, suites: &[u16], servername: &str) -> Vec<u8> {
    build_client_hello_with(version, suites, servername, &HelloOptions::default())
}

/// [`build_client_hello`] with the extras in `opts`.
pub fn build_client_hello_with(
    version: Version,
    suites: &[u16],
    servername: &str,
    opts: &HelloOptions,
) -> Vec<u8> {
    let hs = client_hello_message(version, suites, servername, opts, &pseudo_random());
    let record_version = if version == Version::SSL3 {
        0x0300u16
    } else {
        0x0301
    };
    let mut rec = vec![22u8];
    rec.extend_from_slice(&record_version.to_be_bytes());
    put_u16(&mut rec, hs.len() as u16);
    rec.extend_from_slice(&hs);
    rec
}

/// The ClientHello handshake message (type, 24-bit length, body) with `random`.
pub(crate) fn client_hello_message(
    version: Version,
    suites: &[u16],
    servername: &str,
    opts: &HelloOptions,
    random: &[u8; 32],
) -> Vec<u8> {
    let mut body = Vec::with_capacity(512);
    body.extend_from_slice(&version.0.to_be_bytes());
    body.extend_from_slice(random);
    body.push(0); // no session id
                  // At most 1000 suites keep the message far under the 16 KiB record limit.
    let mut codes: Vec<u16> = suites.iter().copied().take(1000).collect();
    if opts.renegotiation_info.is_none() {
        codes.push(0x00FF); // renegotiation SCSV, as real clients send
    }
    if opts.fallback_scsv {
        codes.push(0x5600);
    }
    put_u16(&mut body, (codes.len() * 2) as u16);
    for c in codes {
        body.extend_from_slice(&c.to_be_bytes());
    }
    if opts.deflate {
        body.extend_from_slice(&[2, 1, 0]); // compression: DEFLATE, null
    } else {
        body.extend_from_slice(&[1, 0]); // compression: null only
    }
    if version >= Version::TLS10 {
        let mut ext = Vec::new();
        let is_name = servername.parse::<std::net::IpAddr>().is_err() && !servername.is_empty();
        if is_name && servername.len() < 256 {
            let n = servername.as_bytes();
            let mut sni = Vec::new();
            put_u16(&mut sni, (n.len() + 3) as u16);
            sni.push(0);
            put_u16(&mut sni, n.len() as u16);
            sni.extend_from_slice(n);
            put_ext(&mut ext, 0x0000, &sni);
        }
        let groups: Vec<u16> = match &opts.groups {
            Some(g) => g.iter().copied().take(100).collect(),
            None => DEFAULT_GROUPS.to_vec(),
        };
        put_ext(&mut ext, 0x000a, &list16(&groups));
        put_ext(&mut ext, 0x000b, &[1, 0]); // ec_point_formats: uncompressed
        if version >= Version::TLS12 {
            let schemes = [
                0x0403, 0x0503, 0x0603, 0x0804, 0x0805, 0x0806, 0x0401, 0x0501, 0x0601, 0x0807,
                0x0203, 0x0201, 0x0402, 0x0202,
            ];
            put_ext(&mut ext, 0x000d, &list16(&schemes));
        }
        if opts.heartbeat {
            put_ext(&mut ext, 0x000f, &[1]); // heartbeat: peer_allowed_to_send
        }
        if let Some(verify) = &opts.renegotiation_info {
            let mut ri = vec![verify.len().min(255) as u8];
            ri.extend(verify.iter().take(255));
            put_ext(&mut ext, 0xff01, &ri);
        }
        put_u16(&mut body, ext.len() as u16);
        body.extend_from_slice(&ext);
    }
    let mut hs = vec![1u8];
    hs.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
    hs.extend_from_slice(&body);
    hs
}

fn put_u16(v: &mut Vec<u8>, x: u16) {
    v.extend_from_slice(&x.to_be_bytes());
}

fn list16(items: &[u16]) -> Vec<u8> {
    let mut v = Vec::new();
    put_u16(&mut v, (items.len() * 2) as u16);
    for i in items {
        put_u16(&mut v, *i);
    }
    v
}

fn put_ext(out: &mut Vec<u8>, kind: u16, data: &[u8]) {
    put_u16(out, kind);
    put_u16(out, data.len() as u16);
    out.extend_from_slice(data);
}

/// Client random: not a secret (no key is ever derived), only needs to differ per hello.
pub(crate) fn pseudo_random() -> [u8; 32] {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let mut x = (nanos as u64) ^ 0x9E37_79B9_7F4A_7C15;
    let mut out = [0u8; 32];
    for b in out.iter_mut() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        *b = x as u8;
    }
    out
}

/// Parses the server's first flight from `data`, up to ServerHelloDone.
/// `Ok(None)` means more bytes are needed; with `eof` (the server closed) a
/// flight that got as far as the ServerHello is taken as it is.
pub fn parse_flight(data: &[u8], eof: bool) -> Result<Option<HelloOutcome>, ProbeError> {
    let mut handshake = Vec::new();
    let mut pos = 0;
    let mut hello: Option<(Version, u16)> = None;
    let mut chain: Vec<Vec<u8>> = Vec::new();
    let mut dh_bits: Option<u32> = None;
    while data.len() >= pos + 5 {
        let ctype = data[pos];
        let len = u16::from_be_bytes([data[pos + 3], data[pos + 4]]) as usize;
        if !(20..=23).contains(&ctype) || data[pos + 1] != 3 {
            if data[pos..].starts_with(b"HTTP/") {
                return Err(ProbeError::Protocol(
                    "the server answered in plain HTTP, not TLS".into(),
                ));
            }
            return Err(ProbeError::Protocol(format!(
                "not a TLS record (first byte 0x{ctype:02x})"
            )));
        }
        if len > MAX_RECORD {
            return Err(ProbeError::Protocol(format!(
                "TLS record of {len} bytes is over the limit"
            )));
        }
        if data.len() < pos + 5 + len {
            break;
        }
        let frag = &data[pos + 5..pos + 5 + len];
        pos += 5 + len;
        match ctype {
            21 => {
                let desc = frag.get(1).copied().unwrap_or(0);
                if hello.is_some() {
                    break;
                }
                return Ok(Some(HelloOutcome::Refused(format!(
                    "alert {}",
                    alert_name(desc)
                ))));
            }
            22 => handshake.extend_from_slice(frag),
            _ => {}
        }
        // Walk complete handshake messages.
        let mut hp = 0;
        while handshake.len() >= hp + 4 {
            let mtype = handshake[hp];
            let mlen =
                u32::from_be_bytes([0, handshake[hp + 1], handshake[hp + 2], handshake[hp + 3]])
                    as usize;
            if mlen > MAX_FLIGHT {
                return Err(ProbeError::Protocol(
                    "handshake message over the size limit".into(),
                ));
            }
            if handshake.len() < hp + 4 + mlen {
                break;
            }
            let msg = &handshake[hp + 4..hp + 4 + mlen];
            hp += 4 + mlen;
            match mtype {
                2 => hello = Some(parse_server_hello(msg)?),
                11 => chain = parse_certificates(msg)?,
                12 => {
                    let dhe = hello.is_some_and(|(_, s)| {
                        matches!(Suite::by_code(s).key_exchange(), KeyExchange::Dhe)
                            || Suite::by_code(s).name.starts_with("TLS_DH_anon")
                    });
                    if dhe {
                        dh_bits = dh_prime_bits(msg);
                    }
                }
                14 => {
                    if let Some((version, suite)) = hello {
                        return Ok(Some(HelloOutcome::Accepted {
                            version,
                            suite,
                            chain,
                            dh_bits,
                        }));
                    }
                }
                _ => {}
            }
        }
    }
    if let (true, Some((version, suite))) = (eof, hello) {
        return Ok(Some(HelloOutcome::Accepted {
            version,
            suite,
            chain,
            dh_bits,
        }));
    }
    Ok(None)
}

/// Bit length of the prime `p` at the start of a DHE ServerKeyExchange.
pub(crate) fn dh_prime_bits(msg: &[u8]) -> Option<u32> {
    let len = u16::from_be_bytes([*msg.first()?, *msg.get(1)?]) as usize;
    let p = msg.get(2..2 + len)?;
    let first = p.iter().position(|b| *b != 0)?;
    Some(((p.len() - first) * 8) as u32 - p[first].leading_zeros())
}

fn parse_server_hello(msg: &[u8]) -> Result<(Version, u16), ProbeError> {
    let bad = || ProbeError::Protocol("malformed ServerHello".into());
    if msg.len() < 2 + 32 + 1 {
        return Err(bad());
    }
    let version = Version(u16::from_be_bytes([msg[0], msg[1]]));
    let sid_len = msg[34] as usize;
    let at = 35 + sid_len;
    let suite = msg.get(at..at + 2).ok_or_else(bad)?;
    Ok((version, u16::from_be_bytes([suite[0], suite[1]])))
}

fn parse_certificates(msg: &[u8]) -> Result<Vec<Vec<u8>>, ProbeError> {
    let bad = || ProbeError::Protocol("malformed Certificate message".into());
    let total = u32::from_be_bytes([
        0,
        *msg.first().ok_or_else(bad)?,
        *msg.get(1).ok_or_else(bad)?,
        *msg.get(2).ok_or_else(bad)?,
    ]) as usize;
    let list = msg.get(3..3 + total).ok_or_else(bad)?;
    let mut out = Vec::new();
    let mut p = 0;
    while p + 3 <= list.len() {
        let l = u32::from_be_bytes([0, list[p], list[p + 1], list[p + 2]]) as usize;
        let der = list.get(p + 3..p + 3 + l).ok_or_else(bad)?;
        out.push(der.to_vec());
        p += 3 + l;
    }
    Ok(out)
}

pub(crate) fn alert_name(desc: u8) -> String {
    match desc {
        40 => "handshake_failure".into(),
        70 => "protocol_version".into(),
        71 => "insufficient_security".into(),
        47 => "illegal_parameter".into(),
        80 => "internal_error".into(),
        112 => "unrecognized_name".into(),
        100 => "no_renegotiation".into(),
        10 => "unexpected_message".into(),
        86 => "inappropriate_fallback".into(),
        d => format!("{d}"),
    }
}

/// Sends one ClientHello and reads the server's first flight, within `deadline`.
pub async fn try_hello(
    addr: SocketAddr,
    servername: &str,
    version: Version,
    suites: &[u16],
    deadline: Duration,
) -> Result<HelloOutcome, ProbeError> {
    let work = async {
        let mut tcp = tcp::connect(addr, deadline).await?;
        tcp.write_all(&build_client_hello(version, suites, servername))
            .await
            .map_err(|e| ProbeError::io("sending ClientHello", e))?;
        let mut data = Vec::new();
        let mut chunk = [0u8; 8192];
        loop {
            if let Some(outcome) = parse_flight(&data, false)? {
                return Ok(outcome);
            }
            if data.len() > MAX_FLIGHT {
                return Err(ProbeError::Protocol(
                    "server's first flight over 256 KiB".into(),
                ));
            }
            match tcp.read(&mut chunk).await {
                Ok(0) => {
                    return Ok(match parse_flight(&data, true)? {
                        Some(o) => o,
                        None if data.is_empty() => {
                            HelloOutcome::Refused("connection closed".into())
                        }
                        None => HelloOutcome::Refused("connection closed mid-handshake".into()),
                    })
                }
                Ok(n) => data.extend_from_slice(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                    return Ok(HelloOutcome::Refused("connection reset".into()))
                }
                Err(e) => return Err(ProbeError::io("reading ServerHello", e)),
            }
        }
    };
    match tokio::time::timeout(deadline, work).await {
        Err(_) => Err(ProbeError::timeout(
            format!("{} handshake with {addr}", version.name()),
            deadline,
        )),
        Ok(r) => r,
    }
}

/// What one legacy version gave.
#[derive(Debug, Clone, Default)]
pub struct VersionSupport {
    /// Suites the server accepted, in the order it chose them (its preference).
    pub suites: Vec<Suite>,
    /// The certificate chain from the first accepted handshake.
    pub chain: Vec<Vec<u8>>,
    /// The smallest DH prime seen with a DHE suite, in bits.
    pub min_dh_bits: Option<u32>,
}

/// Finds every suite of [`LEGACY`] the server accepts at `version` by offering
/// the list, removing the chosen suite and asking again until it refuses.
pub async fn enumerate(
    addr: SocketAddr,
    servername: &str,
    version: Version,
    deadline: Duration,
) -> Result<VersionSupport, ProbeError> {
    let mut remaining: Vec<u16> = LEGACY.iter().map(|s| s.code).collect();
    let mut support = VersionSupport::default();
    while !remaining.is_empty() {
        match try_hello(addr, servername, version, &remaining, deadline).await? {
            HelloOutcome::Accepted {
                version: v,
                suite,
                chain,
                dh_bits,
            } if v == version && remaining.contains(&suite) => {
                if support.chain.is_empty() {
                    support.chain = chain;
                }
                if let Some(bits) = dh_bits {
                    support.min_dh_bits = Some(support.min_dh_bits.map_or(bits, |m| m.min(bits)));
                }
                support.suites.push(Suite::by_code(suite));
                remaining.retain(|c| *c != suite);
            }
            _ => break,
        }
    }
    Ok(support)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn hello_has_consistent_lengths() {
        let rec = build_client_hello(Version::TLS12, &[0xC02F, 0x002F], "node.example");
        assert_eq!(rec[0], 22);
        let len = u16::from_be_bytes([rec[3], rec[4]]) as usize;
        assert_eq!(len, rec.len() - 5);
        let hs_len = u32::from_be_bytes([0, rec[6], rec[7], rec[8]]) as usize;
        assert_eq!(hs_len, rec.len() - 9);
        assert_eq!(&rec[9..11], &[3, 3]);
    }

    #[test]
    fn options_add_deflate_heartbeat_scsv_and_groups() {
        let opts = HelloOptions {
            deflate: true,
            heartbeat: true,
            fallback_scsv: true,
            groups: Some(vec![19]),
            renegotiation_info: None,
        };
        let rec = build_client_hello_with(Version::TLS11, &[0xC013], "", &opts);
        let len = u16::from_be_bytes([rec[3], rec[4]]) as usize;
        assert_eq!(len, rec.len() - 5);
        // version(2) random(32) sid(1) then suites
        let b = &rec[9..];
        assert_eq!(&b[35..43], &[0, 6, 0xC0, 0x13, 0x00, 0xFF, 0x56, 0x00]);
        assert_eq!(&b[43..46], &[2, 1, 0]);
        let ext = &b[46..];
        let windows = |needle: &[u8]| ext.windows(needle.len()).any(|w| w == needle);
        assert!(windows(&[0x00, 0x0f, 0, 1, 1]), "heartbeat extension");
        assert!(windows(&[0x00, 0x0a, 0, 4, 0, 2, 0, 19]), "one group");
    }

    #[test]
    fn reads_an_alert_and_rejects_garbage() {
        let alert = [21, 3, 1, 0, 2, 2, 40];
        assert_eq!(
            parse_flight(&alert, false).unwrap(),
            Some(HelloOutcome::Refused("alert handshake_failure".into()))
        );
        assert!(parse_flight(b"HTTP/1.1 400 Bad Request\r\n", false).is_err());
        assert_eq!(parse_flight(&[22, 3, 3, 0], false).unwrap(), None);
    }

    #[test]
    fn dh_prime_size() {
        let mut msg = vec![0, 129, 0];
        msg.extend(std::iter::repeat_n(0xffu8, 128));
        assert_eq!(dh_prime_bits(&msg), Some(1024));
        assert_eq!(dh_prime_bits(&[0, 2, 0x01, 0x00]), Some(9));
        assert_eq!(dh_prime_bits(&[0, 9]), None);
    }

    proptest! {
        #[test]
        fn parse_never_panics(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = parse_flight(&data, true);
        }

        #[test]
        fn parse_never_panics_on_handshake_records(body in proptest::collection::vec(any::<u8>(), 0..600)) {
            let mut rec = vec![22, 3, 3];
            rec.extend_from_slice(&(body.len() as u16).to_be_bytes());
            rec.extend_from_slice(&body);
            let _ = parse_flight(&rec, true);
        }
    }
}
