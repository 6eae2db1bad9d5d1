//! A bounded parser for the server's first flight that keeps what the
//! vulnerability probes need and `hello::parse_flight` drops: the ServerHello's
//! compression method and extensions, the ECDHE named group or DHE prime of the
//! ServerKeyExchange, an alert's description, and any heartbeat record. Every
//! length read from the wire is checked against the bytes there and a cap.

use super::hello::Version;
use crate::ProbeError;

/// Largest record fragment accepted (16 KiB plaintext plus expansion room).
pub const MAX_RECORD: usize = 16384 + 2048;
/// Largest first flight accepted, in bytes.
pub const MAX_FLIGHT: usize = 256 * 1024;

/// The ServerHello fields the probes look at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerHello {
    /// The version the server chose.
    pub version: Version,
    /// The server random.
    pub random: [u8; 32],
    /// The suite the server chose.
    pub suite: u16,
    /// The compression method the server chose (0 null, 1 DEFLATE).
    pub compression: u8,
    /// Extensions as (type, data), in the order sent.
    pub extensions: Vec<(u16, Vec<u8>)>,
}

impl ServerHello {
    /// The RFC 8446 §4.1.3 downgrade sentinel: a TLS 1.3 server answering an
    /// older hello ends its random with `DOWNGRD` and 0x01 (TLS 1.2) or 0x00.
    pub fn downgrade_sentinel(&self) -> bool {
        self.random[24..31] == *b"DOWNGRD" && self.random[31] <= 1
    }

    /// The data of extension `kind`, if the server sent it.
    pub fn extension(&self, kind: u16) -> Option<&[u8]> {
        self.extensions
            .iter()
            .find(|(k, _)| *k == kind)
            .map(|(_, d)| d.as_slice())
    }
}

/// The key exchange parameters in a ServerKeyExchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyShare {
    /// ECDHE with a named curve (RFC 8422 curve_type 3).
    Named(u16),
    /// DHE with this prime (big-endian, leading zeros stripped).
    DhPrime(Vec<u8>),
}

/// What the server sent, as far as it went.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flight {
    /// The ServerHello, once seen.
    pub hello: Option<ServerHello>,
    /// The ServerKeyExchange parameters, once seen and understood.
    pub key_share: Option<KeyShare>,
    /// The description byte of the first alert the server sent.
    pub alert: Option<u8>,
    /// ServerHelloDone arrived.
    pub done: bool,
    /// Total payload bytes of heartbeat records (content type 24) received.
    pub heartbeat_bytes: usize,
}

/// Parses every complete record in `data`. Never fails on a partial record
/// (the caller reads more); fails on bytes that are not TLS or over the caps.
pub fn parse(data: &[u8]) -> Result<Flight, ProbeError> {
    let mut flight = Flight::default();
    let mut handshake: Vec<u8> = Vec::new();
    let mut hp = 0usize;
    let mut pos = 0usize;
    while data.len() >= pos + 5 {
        let ctype = data[pos];
        let len = u16::from_be_bytes([data[pos + 3], data[pos + 4]]) as usize;
        if !(20..=24).contains(&ctype) || data[pos + 1] != 3 {
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
        let Some(frag) = data.get(pos + 5..pos + 5 + len) else {
            break;
        };
        pos += 5 + len;
        match ctype {
            21 if flight.alert.is_none() => {
                flight.alert = Some(frag.get(1).copied().unwrap_or(0));
            }
            22 if !flight.done => {
                if handshake.len() + frag.len() > MAX_FLIGHT {
                    return Err(ProbeError::Protocol(
                        "server's first flight over 256 KiB".into(),
                    ));
                }
                handshake.extend_from_slice(frag);
                hp = walk_messages(&handshake, hp, &mut flight)?;
            }
            24 => flight.heartbeat_bytes += frag.len(),
            _ => {}
        }
    }
    Ok(flight)
}

/// Handles the complete handshake messages in `hs` from `hp` on; returns where it stopped.
fn walk_messages(hs: &[u8], mut hp: usize, flight: &mut Flight) -> Result<usize, ProbeError> {
    while hs.len() >= hp + 4 && !flight.done {
        let mtype = hs[hp];
        let mlen = u32::from_be_bytes([0, hs[hp + 1], hs[hp + 2], hs[hp + 3]]) as usize;
        if mlen > MAX_FLIGHT {
            return Err(ProbeError::Protocol(
                "handshake message over the size limit".into(),
            ));
        }
        let Some(msg) = hs.get(hp + 4..hp + 4 + mlen) else {
            break;
        };
        hp += 4 + mlen;
        match mtype {
            2 => flight.hello = Some(parse_server_hello(msg)?),
            12 => flight.key_share = parse_key_exchange(msg),
            14 => flight.done = true,
            _ => {}
        }
    }
    Ok(hp)
}

/// Parses a ServerHello body (after the 4-byte handshake header).
pub fn parse_server_hello(msg: &[u8]) -> Result<ServerHello, ProbeError> {
    let bad = |what: &str| ProbeError::Protocol(format!("malformed ServerHello: {what}"));
    let version = Version(u16::from_be_bytes([
        *msg.first().ok_or_else(|| bad("empty"))?,
        *msg.get(1).ok_or_else(|| bad("no version"))?,
    ]));
    let sid_len = *msg.get(34).ok_or_else(|| bad("no session id"))? as usize;
    let mut random = [0u8; 32];
    random.copy_from_slice(&msg[2..34]);
    let at = 35 + sid_len;
    let rest = msg.get(at..at + 3).ok_or_else(|| bad("no suite"))?;
    let suite = u16::from_be_bytes([rest[0], rest[1]]);
    let compression = rest[2];
    let mut extensions = Vec::new();
    if let Some(ext) = msg.get(at + 3..) {
        if ext.len() >= 2 {
            let total = u16::from_be_bytes([ext[0], ext[1]]) as usize;
            let list = ext
                .get(2..2 + total)
                .ok_or_else(|| bad("extensions length"))?;
            let mut p = 0;
            while p + 4 <= list.len() {
                let kind = u16::from_be_bytes([list[p], list[p + 1]]);
                let l = u16::from_be_bytes([list[p + 2], list[p + 3]]) as usize;
                let data = list
                    .get(p + 4..p + 4 + l)
                    .ok_or_else(|| bad("extension length"))?;
                extensions.push((kind, data.to_vec()));
                p += 4 + l;
            }
        }
    }
    Ok(ServerHello {
        version,
        random,
        suite,
        compression,
        extensions,
    })
}

/// The named curve (curve_type 3) or the DH prime at the start of a ServerKeyExchange.
///
/// The two layouts are told apart by shape: an ECDHE body starts with 3 and a
/// 2-byte group then a 1-byte point length that matches; anything else is read
/// as a DH prime `p` with a 2-byte length.
pub fn parse_key_exchange(msg: &[u8]) -> Option<KeyShare> {
    if msg.first() == Some(&3) && msg.len() >= 4 {
        let point_len = msg[3] as usize;
        if msg.len() >= 4 + point_len && point_len > 0 {
            return Some(KeyShare::Named(u16::from_be_bytes([msg[1], msg[2]])));
        }
    }
    let len = u16::from_be_bytes([*msg.first()?, *msg.get(1)?]) as usize;
    let p = msg.get(2..2 + len)?;
    let first = p.iter().position(|b| *b != 0)?;
    Some(KeyShare::DhPrime(p[first..].to_vec()))
}

/// Bit length of a big-endian number without leading zero bytes.
pub fn bit_len(n: &[u8]) -> u32 {
    match n.first() {
        None => 0,
        Some(b) => (n.len() * 8) as u32 - b.leading_zeros(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn record(ctype: u8, body: &[u8]) -> Vec<u8> {
        let mut r = vec![ctype, 3, 3];
        r.extend_from_slice(&(body.len() as u16).to_be_bytes());
        r.extend_from_slice(body);
        r
    }

    fn handshake(mtype: u8, body: &[u8]) -> Vec<u8> {
        let mut m = vec![mtype];
        m.extend_from_slice(&(body.len() as u32).to_be_bytes()[1..]);
        m.extend_from_slice(body);
        m
    }

    fn server_hello(compression: u8, exts: &[(u16, &[u8])]) -> Vec<u8> {
        let mut b = vec![3, 3];
        b.extend_from_slice(&[7u8; 32]);
        b.push(0);
        b.extend_from_slice(&[0xC0, 0x2F, compression]);
        let mut e = Vec::new();
        for (k, d) in exts {
            e.extend_from_slice(&k.to_be_bytes());
            e.extend_from_slice(&(d.len() as u16).to_be_bytes());
            e.extend_from_slice(d);
        }
        b.extend_from_slice(&(e.len() as u16).to_be_bytes());
        b.extend_from_slice(&e);
        b
    }

    #[test]
    fn reads_hello_extensions_compression_and_curve() {
        let mut hs = handshake(2, &server_hello(1, &[(0xff01, &[0]), (0x000f, &[1])]));
        hs.extend(handshake(12, &[3, 0, 23, 2, 4, 9, 0, 0]));
        hs.extend(handshake(14, &[]));
        // Split across two records, as servers may.
        let mut data = record(22, &hs[..10]);
        data.extend(record(22, &hs[10..]));
        let f = parse(&data).unwrap();
        let h = f.hello.unwrap();
        assert_eq!(
            (h.version, h.suite, h.compression),
            (Version::TLS12, 0xC02F, 1)
        );
        assert_eq!(h.extension(0xff01), Some(&[0u8][..]));
        assert!(h.extension(0x000f).is_some());
        assert_eq!(f.key_share, Some(KeyShare::Named(23)));
        assert!(f.done);
    }

    #[test]
    fn reads_dh_prime_alert_and_heartbeat() {
        let mut ske = vec![0, 3, 0, 0x80, 1];
        ske.extend_from_slice(&[0, 1, 2]);
        assert_eq!(
            parse_key_exchange(&ske),
            Some(KeyShare::DhPrime(vec![0x80, 1]))
        );
        assert_eq!(bit_len(&[0x80, 1]), 16);
        assert_eq!(bit_len(&[1]), 1);
        let f = parse(&record(21, &[2, 86])).unwrap();
        assert_eq!(f.alert, Some(86));
        let f = parse(&record(24, &[2; 100])).unwrap();
        assert_eq!(f.heartbeat_bytes, 100);
        assert!(parse(b"HTTP/1.1 400 Bad\r\n").is_err());
        assert_eq!(parse(&[22, 3, 3, 0]).unwrap(), Flight::default());
    }

    #[test]
    fn downgrade_sentinel() {
        let mut b = server_hello(0, &[]);
        b[26..34].copy_from_slice(b"DOWNGRD\x01");
        let h = parse_server_hello(&b).unwrap();
        assert!(h.downgrade_sentinel());
        let h = parse_server_hello(&server_hello(0, &[])).unwrap();
        assert!(!h.downgrade_sentinel());
    }

    #[test]
    fn truncated_hello_is_an_error_not_a_panic() {
        let hs = handshake(2, &server_hello(0, &[(0xff01, &[0])])[..40]);
        assert!(parse(&record(22, &hs)).is_err());
    }

    proptest! {
        #[test]
        fn never_panics(data in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = parse(&data);
        }

        #[test]
        fn never_panics_on_handshake_bodies(
            mtype in prop_oneof![Just(2u8), Just(12u8), Just(14u8), any::<u8>()],
            body in proptest::collection::vec(any::<u8>(), 0..600),
        ) {
            let _ = parse(&record(22, &handshake(mtype, &body)));
            let _ = parse_key_exchange(&body);
        }
    }
}
