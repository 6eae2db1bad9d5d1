//! Vulnerability probes built on hand-built ClientHellos: secure renegotiation
//! (RFC 5746), TLS compression (CRIME), Heartbleed, TLS_FALLBACK_SCSV
//! (RFC 7507) and the ECDHE named groups a server accepts. Each is one or a few
//! short connections with a deadline; nothing is read past a small cap.

use super::flight::{self, Flight, KeyShare};
use super::hello::{build_client_hello_with, HelloOptions, Version};
use super::suites::{KeyExchange, LEGACY};
use crate::{tcp, ProbeError};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// The renegotiation_info extension (RFC 5746).
pub const EXT_RENEGOTIATION_INFO: u16 = 0xff01;
/// The heartbeat extension (RFC 6520).
pub const EXT_HEARTBEAT: u16 = 0x000f;
/// The `inappropriate_fallback` alert (RFC 7507).
pub const ALERT_INAPPROPRIATE_FALLBACK: u8 = 86;
/// The payload length the Heartbleed probe claims while sending none.
const HEARTBEAT_CLAIMED: u16 = 0x4000;
/// Bytes read after the server's first flight, at most.
const AFTER_FLIGHT_CAP: usize = 64 * 1024;

/// Sends `hello`, reads the first flight (until ServerHelloDone, an alert or a
/// close), then sends `follow_up` if any and reads until the server closes, a
/// heartbeat arrives, the cap is reached or `linger` passes.
async fn exchange(
    addr: SocketAddr,
    hello: &[u8],
    follow_up: Option<&[u8]>,
    deadline: Duration,
    linger: Duration,
) -> Result<Flight, ProbeError> {
    let mut tcp = tcp::connect(addr, deadline).await?;
    let first = async {
        tcp.write_all(hello)
            .await
            .map_err(|e| ProbeError::io("sending ClientHello", e))?;
        read_until(&mut tcp, Vec::new(), flight::MAX_FLIGHT, |f| {
            f.done || f.alert.is_some()
        })
        .await
    };
    let (data, flight, open) = match tokio::time::timeout(deadline, first).await {
        Err(_) => {
            return Err(ProbeError::timeout(
                format!("ClientHello to {addr}"),
                deadline,
            ))
        }
        Ok(r) => r?,
    };
    let (Some(extra), true, true) = (follow_up, flight.done, open) else {
        return Ok(flight);
    };
    if tcp.write_all(extra).await.is_err() {
        return Ok(flight);
    }
    let cap = data.len() + AFTER_FLIGHT_CAP;
    let after = read_until(&mut tcp, data, cap, |f| f.heartbeat_bytes > 0);
    match tokio::time::timeout(linger, after).await {
        Ok(Ok((_, f, _))) => Ok(f),
        // Silence, a reset or bytes past the cap after the flight: judge what came before.
        Ok(Err(ProbeError::Protocol(m))) if m.contains("over the limit") => Ok(flight),
        Ok(Err(e)) => Err(e),
        Err(_) => Ok(flight),
    }
}

/// Reads into `data` until `stop` holds, the server closes or `cap` bytes.
/// Returns the bytes, what they parse to, and whether the connection is still open.
async fn read_until(
    tcp: &mut tokio::net::TcpStream,
    mut data: Vec<u8>,
    cap: usize,
    stop: impl Fn(&Flight) -> bool,
) -> Result<(Vec<u8>, Flight, bool), ProbeError> {
    let mut chunk = [0u8; 8192];
    loop {
        let f = flight::parse(&data)?;
        if stop(&f) {
            return Ok((data, f, true));
        }
        if data.len() >= cap {
            return Err(ProbeError::Protocol(format!(
                "server sent over the limit of {cap} bytes"
            )));
        }
        let want = chunk.len().min(cap - data.len());
        match tcp.read(&mut chunk[..want]).await {
            Ok(0) => return Ok((data, f, false)),
            Ok(n) => data.extend_from_slice(&chunk[..n]),
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::ConnectionReset | std::io::ErrorKind::BrokenPipe
                ) =>
            {
                return Ok((data, f, false))
            }
            Err(e) => return Err(ProbeError::io("reading the server's answer", e)),
        }
    }
}

/// Sends one ClientHello with `opts` and returns the server's first flight.
pub async fn hello_flight(
    addr: SocketAddr,
    servername: &str,
    version: Version,
    suites: &[u16],
    opts: &HelloOptions,
    deadline: Duration,
) -> Result<Flight, ProbeError> {
    let hello = build_client_hello_with(version, suites, servername, opts);
    exchange(addr, &hello, None, deadline, deadline).await
}

/// Whether the ServerHello carries renegotiation_info (RFC 5746 secure
/// renegotiation); `None` when the server did not accept the hello.
pub async fn secure_renegotiation(
    addr: SocketAddr,
    servername: &str,
    version: Version,
    suites: &[u16],
    deadline: Duration,
) -> Result<Option<bool>, ProbeError> {
    let f = hello_flight(
        addr,
        servername,
        version,
        suites,
        &HelloOptions::default(),
        deadline,
    )
    .await?;
    Ok(f.hello
        .map(|h| h.extension(EXT_RENEGOTIATION_INFO).is_some()))
}

/// Whether the server picks DEFLATE when offered (CRIME); `None` when it refused the hello.
pub async fn compression(
    addr: SocketAddr,
    servername: &str,
    version: Version,
    suites: &[u16],
    deadline: Duration,
) -> Result<Option<bool>, ProbeError> {
    let opts = HelloOptions {
        deflate: true,
        ..Default::default()
    };
    let f = hello_flight(addr, servername, version, suites, &opts, deadline).await?;
    Ok(f.hello.map(|h| h.compression != 0))
}

/// What the Heartbleed probe saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Heartbleed {
    /// The server did not accept the hello at all.
    Refused,
    /// The server does not do heartbeats (no extension in its ServerHello).
    NoHeartbeat,
    /// Heartbeats on, but the over-long request got no over-long answer.
    NotVulnerable,
    /// The server answered with `answered` bytes to a 3-byte request.
    Vulnerable {
        /// Heartbeat bytes received.
        answered: usize,
    },
}

/// Sends a heartbeat request claiming a 16 KiB payload but carrying none,
/// right after the server's first flight, then a close_notify. A patched
/// server drops the request (RFC 6520 §4) and closes; a vulnerable one
/// answers with memory. At most 64 KiB are read; `deadline` bounds each step.
pub async fn heartbleed(
    addr: SocketAddr,
    servername: &str,
    version: Version,
    suites: &[u16],
    deadline: Duration,
) -> Result<Heartbleed, ProbeError> {
    let opts = HelloOptions {
        heartbeat: true,
        ..Default::default()
    };
    let hello = build_client_hello_with(version, suites, servername, &opts);
    let v = version.0.to_be_bytes();
    let mut probe = vec![24, v[0], v[1], 0, 3, 1];
    probe.extend_from_slice(&HEARTBEAT_CLAIMED.to_be_bytes());
    probe.extend_from_slice(&[21, v[0], v[1], 0, 2, 1, 0]); // close_notify
    let f = exchange(addr, &hello, Some(&probe), deadline, deadline).await?;
    Ok(match f.hello {
        None => Heartbleed::Refused,
        Some(h) if h.extension(EXT_HEARTBEAT).is_none() && f.heartbeat_bytes == 0 => {
            Heartbleed::NoHeartbeat
        }
        // A correct answer would echo our 3 bytes plus 16 of padding at most.
        Some(_) if f.heartbeat_bytes > 3 + 16 => Heartbleed::Vulnerable {
            answered: f.heartbeat_bytes,
        },
        Some(_) => Heartbleed::NotVulnerable,
    })
}

/// What the server did with TLS_FALLBACK_SCSV at a lower version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fallback {
    /// `inappropriate_fallback`: the downgrade is refused (correct).
    Refused,
    /// The server completed the lower-version ServerHello anyway.
    Accepted,
    /// The server completed it, with the TLS 1.3 downgrade sentinel in its
    /// random (RFC 8446 §4.1.3): TLS 1.3 clients detect the downgrade.
    Sentinel,
    /// Another answer (another alert, a close): no verdict.
    Other(String),
}

/// Offers `lower` (below the server's best) with TLS_FALLBACK_SCSV.
pub async fn fallback_scsv(
    addr: SocketAddr,
    servername: &str,
    lower: Version,
    suites: &[u16],
    deadline: Duration,
) -> Result<Fallback, ProbeError> {
    let opts = HelloOptions {
        fallback_scsv: true,
        ..Default::default()
    };
    let f = hello_flight(addr, servername, lower, suites, &opts, deadline).await?;
    Ok(match (f.alert, f.hello) {
        (Some(ALERT_INAPPROPRIATE_FALLBACK), _) => Fallback::Refused,
        (_, Some(h)) if h.downgrade_sentinel() => Fallback::Sentinel,
        (_, Some(_)) => Fallback::Accepted,
        (Some(a), None) => Fallback::Other(format!("alert {}", super::hello::alert_name(a))),
        (None, None) => Fallback::Other("connection closed".into()),
    })
}

/// An elliptic curve group a TLS 1.2 server may pick for ECDHE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Group {
    /// The IANA code.
    pub code: u16,
    /// The IANA name.
    pub name: &'static str,
    /// Size in bits (the security level is about half).
    pub bits: u32,
}

/// The groups tested, weakest first.
pub const EC_GROUPS: &[Group] = &[
    Group {
        code: 15,
        name: "secp160k1",
        bits: 160,
    },
    Group {
        code: 16,
        name: "secp160r1",
        bits: 160,
    },
    Group {
        code: 17,
        name: "secp160r2",
        bits: 160,
    },
    Group {
        code: 1,
        name: "sect163k1",
        bits: 163,
    },
    Group {
        code: 3,
        name: "sect163r2",
        bits: 163,
    },
    Group {
        code: 18,
        name: "secp192k1",
        bits: 192,
    },
    Group {
        code: 19,
        name: "secp192r1",
        bits: 192,
    },
    Group {
        code: 20,
        name: "secp224k1",
        bits: 224,
    },
    Group {
        code: 21,
        name: "secp224r1",
        bits: 224,
    },
    Group {
        code: 29,
        name: "x25519",
        bits: 253,
    },
    Group {
        code: 22,
        name: "secp256k1",
        bits: 256,
    },
    Group {
        code: 23,
        name: "secp256r1",
        bits: 256,
    },
    Group {
        code: 26,
        name: "brainpoolP256r1",
        bits: 256,
    },
    Group {
        code: 24,
        name: "secp384r1",
        bits: 384,
    },
    Group {
        code: 27,
        name: "brainpoolP384r1",
        bits: 384,
    },
    Group {
        code: 30,
        name: "x448",
        bits: 448,
    },
    Group {
        code: 28,
        name: "brainpoolP512r1",
        bits: 512,
    },
    Group {
        code: 25,
        name: "secp521r1",
        bits: 521,
    },
];

/// The ECDHE suites of the legacy list (what the group probe offers).
pub fn ecdhe_suites() -> Vec<u16> {
    LEGACY
        .iter()
        .filter(|s| s.key_exchange() == KeyExchange::Ecdhe)
        .map(|s| s.code)
        .collect()
}

/// The groups of [`EC_GROUPS`] the server uses for ECDHE at `version` when
/// each is offered alone (one connection per group).
pub async fn ec_groups(
    addr: SocketAddr,
    servername: &str,
    version: Version,
    deadline: Duration,
) -> Result<Vec<Group>, ProbeError> {
    let suites = ecdhe_suites();
    let mut accepted = Vec::new();
    for g in EC_GROUPS {
        let opts = HelloOptions {
            groups: Some(vec![g.code]),
            ..Default::default()
        };
        let f = hello_flight(addr, servername, version, &suites, &opts, deadline).await?;
        if f.key_share == Some(KeyShare::Named(g.code)) {
            accepted.push(*g);
        }
    }
    Ok(accepted)
}

/// The published group a DH prime belongs to, if it is one of the widely
/// shared ones (the Logjam paper's point: one precomputation breaks every
/// server using the same 1024-bit prime). Recognised by their fixed leading
/// bytes: the π-based MODP groups of RFC 2409/3526 and the e-based ffdhe groups
/// of RFC 7919 (both also end in 64 one-bits), and RFC 5114's 1024-bit group.
pub fn common_prime(p: &[u8]) -> Option<&'static str> {
    const MODP: [u8; 12] = [
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xC9, 0x0F, 0xDA, 0xA2,
    ];
    const FFDHE: [u8; 12] = [
        0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xAD, 0xF8, 0x54, 0x58,
    ];
    const RFC5114_1024: [u8; 16] = [
        0xB1, 0x0B, 0x8F, 0x96, 0xA0, 0x80, 0xE0, 0x1D, 0xDE, 0x92, 0xDE, 0x5E, 0xAE, 0x5D, 0x54,
        0xEC,
    ];
    let ones_tail = p.len() >= 20 && p[p.len() - 8..].iter().all(|b| *b == 0xFF);
    if ones_tail && p.starts_with(&MODP) {
        Some("RFC 2409/3526 MODP group")
    } else if ones_tail && p.starts_with(&FFDHE) {
        Some("RFC 7919 ffdhe group")
    } else if p.len() == 128 && p.starts_with(&RFC5114_1024) {
        Some("RFC 5114 1024-bit group")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn common_primes_are_recognised() {
        let mut modp = vec![0xFFu8; 8];
        modp.extend_from_slice(&[0xC9, 0x0F, 0xDA, 0xA2]);
        modp.extend(std::iter::repeat_n(0x55, 108));
        modp.extend_from_slice(&[0xFF; 8]);
        assert_eq!(common_prime(&modp), Some("RFC 2409/3526 MODP group"));
        modp[9] = 0;
        assert_eq!(common_prime(&modp), None);
        assert_eq!(common_prime(&[]), None);
        assert_eq!(common_prime(&[0xFF; 8]), None);
    }
}
