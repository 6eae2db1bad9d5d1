//! The client-initiated renegotiation probe. rustls never renegotiates, so
//! this completes a minimal TLS 1.2 handshake itself (ECDHE with x25519 or
//! P-256, AES-GCM, keys from the RFC 5246 PRF, all crypto from `ring`), then
//! sends a second, encrypted ClientHello on the established connection and
//! looks at the content type of the server's next record: a handshake record
//! means it renegotiates, an alert, a close or silence means it refuses.
//!
//! The server's certificate and signature are not checked: no data is sent
//! and nothing read is trusted; the probe only watches how the server reacts.

use super::flight::{self, KeyShare};
use super::hello::{client_hello_message, pseudo_random, HelloOptions, Version};
use crate::{tcp, ProbeError};
use ring::{aead, agreement, digest, hmac, rand};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// ECDHE AES-GCM suites the probe can complete: (code, key length, SHA-384 PRF).
const SUITES: [(u16, usize, bool); 4] = [
    (0xC02B, 16, false),
    (0xC02F, 16, false),
    (0xC02C, 32, true),
    (0xC030, 32, true),
];

/// TLS 1.2 PRF (RFC 5246 §5): P_hash(secret, label + seed) cut to `len`.
pub fn prf(sha384: bool, secret: &[u8], label: &[u8], seed: &[u8], len: usize) -> Vec<u8> {
    let alg = if sha384 {
        hmac::HMAC_SHA384
    } else {
        hmac::HMAC_SHA256
    };
    let key = hmac::Key::new(alg, secret);
    let mut label_seed = label.to_vec();
    label_seed.extend_from_slice(seed);
    let mut a = hmac::sign(&key, &label_seed).as_ref().to_vec();
    let mut out = Vec::with_capacity(len + 48);
    while out.len() < len {
        let mut ctx = hmac::Context::with_key(&key);
        ctx.update(&a);
        ctx.update(&label_seed);
        out.extend_from_slice(ctx.sign().as_ref());
        a = hmac::sign(&key, &a).as_ref().to_vec();
    }
    out.truncate(len);
    out
}

/// A record reader over the raw stream, bounded by [`flight::MAX_FLIGHT`].
struct Records {
    buf: Vec<u8>,
    total: usize,
}

impl Records {
    /// The next record (content type, fragment), or `None` when the server closed.
    async fn next(&mut self, tcp: &mut TcpStream) -> Result<Option<(u8, Vec<u8>)>, ProbeError> {
        loop {
            if self.buf.len() >= 5 {
                let len = u16::from_be_bytes([self.buf[3], self.buf[4]]) as usize;
                if !(20..=24).contains(&self.buf[0]) || self.buf[1] != 3 {
                    return Err(ProbeError::Protocol(format!(
                        "not a TLS record (first byte 0x{:02x})",
                        self.buf[0]
                    )));
                }
                if len > flight::MAX_RECORD {
                    return Err(ProbeError::Protocol(format!(
                        "TLS record of {len} bytes is over the limit"
                    )));
                }
                if self.buf.len() >= 5 + len {
                    let rec: Vec<u8> = self.buf.drain(..5 + len).collect();
                    return Ok(Some((rec[0], rec[5..].to_vec())));
                }
            }
            if self.total > flight::MAX_FLIGHT {
                return Err(ProbeError::Protocol("server sent over 256 KiB".into()));
            }
            let mut chunk = [0u8; 8192];
            match tcp.read(&mut chunk).await {
                Ok(0) => return Ok(None),
                Ok(n) => {
                    self.total += n;
                    self.buf.extend_from_slice(&chunk[..n]);
                }
                Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return Ok(None),
                Err(e) => return Err(ProbeError::io("reading a TLS record", e)),
            }
        }
    }
}

fn record(ctype: u8, payload: &[u8]) -> Vec<u8> {
    let mut r = vec![ctype, 3, 3];
    r.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    r.extend_from_slice(payload);
    r
}

/// AES-GCM sealing of client records (RFC 5288: 4-byte salt + 8-byte explicit nonce).
struct Sealer {
    key: aead::LessSafeKey,
    salt: [u8; 4],
    seq: u64,
}

impl Sealer {
    fn seal(&mut self, ctype: u8, plain: &[u8]) -> Result<Vec<u8>, ProbeError> {
        let explicit = self.seq.to_be_bytes();
        let mut nonce = [0u8; 12];
        nonce[..4].copy_from_slice(&self.salt);
        nonce[4..].copy_from_slice(&explicit);
        let mut aad = explicit.to_vec();
        aad.extend_from_slice(&[ctype, 3, 3]);
        aad.extend_from_slice(&(plain.len() as u16).to_be_bytes());
        let mut data = plain.to_vec();
        self.key
            .seal_in_place_append_tag(
                aead::Nonce::assume_unique_for_key(nonce),
                aead::Aad::from(aad),
                &mut data,
            )
            .map_err(|_| ProbeError::Protocol("AES-GCM sealing failed".into()))?;
        self.seq += 1;
        let mut payload = explicit.to_vec();
        payload.extend_from_slice(&data);
        Ok(record(ctype, &payload))
    }
}

/// Whether the server renegotiates when the client sends a new ClientHello
/// over an established TLS 1.2 connection. `suites` are the suites the server
/// accepted at TLS 1.2; `None` when none of them is one the probe can speak.
pub async fn client_initiated(
    addr: SocketAddr,
    servername: &str,
    suites: &[u16],
    deadline: Duration,
) -> Result<Option<bool>, ProbeError> {
    let offer: Vec<u16> = SUITES
        .iter()
        .map(|s| s.0)
        .filter(|c| suites.contains(c))
        .collect();
    if offer.is_empty() {
        return Ok(None);
    }
    let work = run(addr, servername, offer, deadline);
    match tokio::time::timeout(deadline.saturating_mul(3), work).await {
        Ok(r) => r,
        Err(_) => Err(ProbeError::timeout(
            format!("renegotiation probe against {addr}"),
            deadline.saturating_mul(3),
        )),
    }
}

async fn run(
    addr: SocketAddr,
    servername: &str,
    offer: Vec<u16>,
    deadline: Duration,
) -> Result<Option<bool>, ProbeError> {
    let bad = |m: &str| ProbeError::Protocol(format!("renegotiation probe: {m}"));
    let mut tcp = tcp::connect(addr, deadline).await?;
    let client_random = pseudo_random();
    let opts = HelloOptions {
        groups: Some(vec![0x001d, 0x0017]),
        ..Default::default()
    };
    let hello = client_hello_message(Version::TLS12, &offer, servername, &opts, &client_random);
    let mut transcript = hello.clone();
    tcp.write_all(&record(22, &hello))
        .await
        .map_err(|e| ProbeError::io("sending ClientHello", e))?;

    // The server's first flight, message by message, into the transcript.
    let mut records = Records {
        buf: Vec::new(),
        total: 0,
    };
    let mut hs: Vec<u8> = Vec::new();
    let mut server_random = [0u8; 32];
    let mut chosen: Option<(u16, usize, bool)> = None;
    let mut server_point: Option<(u16, Vec<u8>)> = None;
    'flight: loop {
        let Some((ctype, frag)) = records.next(&mut tcp).await? else {
            return Err(bad("the server closed during the handshake"));
        };
        match ctype {
            21 => return Err(bad("the server refused the TLS 1.2 handshake")),
            22 => hs.extend_from_slice(&frag),
            _ => return Err(bad("unexpected record during the handshake")),
        }
        while hs.len() >= 4 {
            let mlen = u32::from_be_bytes([0, hs[1], hs[2], hs[3]]) as usize;
            if mlen > flight::MAX_FLIGHT {
                return Err(bad("handshake message over the size limit"));
            }
            if hs.len() < 4 + mlen {
                break;
            }
            let msg: Vec<u8> = hs.drain(..4 + mlen).collect();
            transcript.extend_from_slice(&msg);
            let body = &msg[4..];
            match msg[0] {
                2 => {
                    let h = flight::parse_server_hello(body)?;
                    if h.version != Version::TLS12 {
                        return Ok(None);
                    }
                    if h.extension(0x0017).is_some() {
                        return Err(bad("server sent extended_master_secret unasked"));
                    }
                    server_random.copy_from_slice(&body[2..34]);
                    chosen = SUITES.iter().copied().find(|s| s.0 == h.suite);
                }
                12 => {
                    if let Some(KeyShare::Named(g)) = flight::parse_key_exchange(body) {
                        let plen = body[3] as usize;
                        server_point = Some((g, body[4..4 + plen].to_vec()));
                    }
                }
                14 => break 'flight,
                _ => {}
            }
        }
    }
    let Some((_, key_len, sha384)) = chosen else {
        return Ok(None);
    };
    let Some((group, point)) = server_point else {
        return Err(bad("no ECDHE ServerKeyExchange"));
    };
    let alg = match group {
        0x001d => &agreement::X25519,
        0x0017 => &agreement::ECDH_P256,
        _ => return Ok(None),
    };
    let rng = rand::SystemRandom::new();
    let private = agreement::EphemeralPrivateKey::generate(alg, &rng)
        .map_err(|_| bad("key generation failed"))?;
    let public = private
        .compute_public_key()
        .map_err(|_| bad("key generation failed"))?;
    let premaster = agreement::agree_ephemeral(
        private,
        &agreement::UnparsedPublicKey::new(alg, &point),
        |k| k.to_vec(),
    )
    .map_err(|_| bad("the server's ECDHE point is invalid"))?;

    let mut cke = vec![16, 0, 0, (public.as_ref().len() + 1) as u8];
    cke.push(public.as_ref().len() as u8);
    cke.extend_from_slice(public.as_ref());
    transcript.extend_from_slice(&cke);

    let mut randoms = client_random.to_vec();
    randoms.extend_from_slice(&server_random);
    let master = prf(sha384, &premaster, b"master secret", &randoms, 48);
    let mut randoms_sc = server_random.to_vec();
    randoms_sc.extend_from_slice(&client_random);
    let block = prf(
        sha384,
        &master,
        b"key expansion",
        &randoms_sc,
        2 * key_len + 8,
    );
    let aead_alg = if key_len == 16 {
        &aead::AES_128_GCM
    } else {
        &aead::AES_256_GCM
    };
    let key = aead::UnboundKey::new(aead_alg, &block[..key_len]).map_err(|_| bad("bad key"))?;
    let mut salt = [0u8; 4];
    salt.copy_from_slice(&block[2 * key_len..2 * key_len + 4]);
    let mut sealer = Sealer {
        key: aead::LessSafeKey::new(key),
        salt,
        seq: 0,
    };
    let hash = digest::digest(
        if sha384 {
            &digest::SHA384
        } else {
            &digest::SHA256
        },
        &transcript,
    );
    let verify = prf(sha384, &master, b"client finished", hash.as_ref(), 12);
    let mut finished = vec![20, 0, 0, 12];
    finished.extend_from_slice(&verify);
    let mut out = record(22, &cke);
    out.extend_from_slice(&record(20, &[1]));
    out.extend_from_slice(&sealer.seal(22, &finished)?);
    tcp.write_all(&out)
        .await
        .map_err(|e| ProbeError::io("sending Finished", e))?;

    // The server's ChangeCipherSpec and (encrypted) Finished.
    let mut seen_ccs = false;
    loop {
        match records.next(&mut tcp).await? {
            None => return Err(bad("the server closed before its Finished")),
            Some((21, _)) => return Err(bad("the server rejected the handshake")),
            Some((20, _)) => seen_ccs = true,
            Some((22, _)) if seen_ccs => break,
            Some(_) => {}
        }
    }

    // The renegotiating ClientHello, encrypted, carrying our verify_data.
    let opts = HelloOptions {
        groups: Some(vec![0x001d, 0x0017]),
        renegotiation_info: Some(verify),
        ..Default::default()
    };
    let again = client_hello_message(Version::TLS12, &offer, servername, &opts, &pseudo_random());
    tcp.write_all(&sealer.seal(22, &again)?)
        .await
        .map_err(|e| ProbeError::io("sending the renegotiating ClientHello", e))?;
    let answer = async {
        loop {
            match records.next(&mut tcp).await? {
                None | Some((21, _)) => return Ok::<bool, ProbeError>(false),
                Some((22, _)) => return Ok(true),
                Some(_) => {}
            }
        }
    };
    match tokio::time::timeout(deadline, answer).await {
        Ok(Ok(r)) => Ok(Some(r)),
        Ok(Err(e)) => Err(e),
        // No answer at all: the server ignored the request.
        Err(_) => Ok(Some(false)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prf_sha256_matches_the_published_test_vector() {
        // The widely circulated TLS 1.2 PRF (SHA-256) test vector.
        let secret = hex("9bbe436ba940f017b17652849a71db35");
        let seed = hex("a0ba9f936cda311827a6f796ffd5198c");
        let out = prf(false, &secret, b"test label", &seed, 100);
        assert_eq!(
            out[..16],
            hex("e3f229ba727be17b8d122620557cd453")[..],
            "{out:02x?}"
        );
        assert_eq!(out.len(), 100);
    }

    fn hex(s: &str) -> Vec<u8> {
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
            .collect()
    }
}
