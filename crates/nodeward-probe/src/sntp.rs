//! A minimal SNTP client (RFC 4330): one request, offset and delay from the
//! four timestamps, with the sanity checks a client must make on the reply.

use crate::ProbeError;
use std::net::SocketAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::net::UdpSocket;

/// Seconds between 1900-01-01 (NTP era 0) and 1970-01-01.
const NTP_UNIX_OFFSET: f64 = 2_208_988_800.0;

/// The answer of an NTP server.
#[derive(Debug, Clone, PartialEq)]
pub struct SntpReply {
    /// Local clock minus server clock is `-offset`; the server is ahead by `offset` seconds.
    pub offset: f64,
    /// Round-trip delay in seconds.
    pub delay: f64,
    /// The server's stratum (1 = primary).
    pub stratum: u8,
    /// Leap indicator (3 = clock not synchronised).
    pub leap: u8,
}

fn to_ntp(t: SystemTime) -> f64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs_f64())
        .unwrap_or(0.0)
        + NTP_UNIX_OFFSET
}

fn read_ts(b: &[u8]) -> f64 {
    let secs = u32::from_be_bytes([b[0], b[1], b[2], b[3]]) as f64;
    let frac = u32::from_be_bytes([b[4], b[5], b[6], b[7]]) as f64 / 4_294_967_296.0;
    secs + frac
}

fn write_ts(t: f64) -> [u8; 8] {
    let secs = t.trunc() as u32;
    let frac = (t.fract() * 4_294_967_296.0) as u32;
    let mut out = [0u8; 8];
    out[..4].copy_from_slice(&secs.to_be_bytes());
    out[4..].copy_from_slice(&frac.to_be_bytes());
    out
}

/// Builds a client request carrying `transmit` as its transmit timestamp.
pub fn build_request(transmit: f64) -> [u8; 48] {
    let mut pkt = [0u8; 48];
    pkt[0] = 0b00_100_011; // LI 0, version 4, mode 3 (client)
    pkt[40..48].copy_from_slice(&write_ts(transmit));
    pkt
}

/// Checks and interprets a server reply to a request sent at `t1` and received at `t4`.
pub fn parse_reply(pkt: &[u8], t1: f64, t4: f64, sent: &[u8; 8]) -> Result<SntpReply, ProbeError> {
    if pkt.len() < 48 {
        return Err(ProbeError::Protocol(format!(
            "NTP reply of {} bytes is too short",
            pkt.len()
        )));
    }
    let leap = pkt[0] >> 6;
    let mode = pkt[0] & 0b111;
    let stratum = pkt[1];
    if mode != 4 {
        return Err(ProbeError::Protocol(format!(
            "NTP reply has mode {mode}, expected 4 (server)"
        )));
    }
    if stratum == 0 {
        let code = String::from_utf8_lossy(&pkt[12..16]).into_owned();
        return Err(ProbeError::Protocol(format!(
            "NTP server sent a kiss-o'-death ({code})"
        )));
    }
    if &pkt[24..32] != sent {
        return Err(ProbeError::Protocol(
            "NTP reply does not answer our request (origin timestamp differs)".into(),
        ));
    }
    let t2 = read_ts(&pkt[32..40]);
    let t3 = read_ts(&pkt[40..48]);
    if t3 == 0.0 {
        return Err(ProbeError::Protocol(
            "NTP reply has no transmit timestamp".into(),
        ));
    }
    Ok(SntpReply {
        offset: ((t2 - t1) + (t3 - t4)) / 2.0,
        delay: ((t4 - t1) - (t3 - t2)).max(0.0),
        stratum,
        leap,
    })
}

/// Asks the NTP server at `addr` for the time, within `deadline`.
pub async fn query(addr: SocketAddr, deadline: Duration) -> Result<SntpReply, ProbeError> {
    let bind: SocketAddr = if addr.is_ipv4() {
        "0.0.0.0:0".parse()
    } else {
        "[::]:0".parse()
    }
    .map_err(|_| ProbeError::Invalid("bind address".into()))?;
    let sock = UdpSocket::bind(bind)
        .await
        .map_err(|e| ProbeError::io("binding a UDP socket", e))?;
    sock.connect(addr)
        .await
        .map_err(|e| ProbeError::io(format!("connecting UDP to {addr}"), e))?;
    let t1 = to_ntp(SystemTime::now());
    let req = build_request(t1);
    let mut sent = [0u8; 8];
    sent.copy_from_slice(&req[40..48]);
    let work = async {
        sock.send(&req)
            .await
            .map_err(|e| ProbeError::io("sending the NTP request", e))?;
        let mut buf = [0u8; 512];
        let n = sock
            .recv(&mut buf)
            .await
            .map_err(|e| ProbeError::io(format!("NTP reply from {addr}"), e))?;
        let t4 = to_ntp(SystemTime::now());
        parse_reply(&buf[..n], read_ts(&sent), t4, &sent)
    };
    match tokio::time::timeout(deadline, work).await {
        Err(_) => Err(ProbeError::timeout(
            format!("NTP query to {addr}"),
            deadline,
        )),
        Ok(r) => r,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn offset_from_the_four_timestamps() {
        let t1 = 1000.0;
        let sent = write_ts(t1);
        let mut pkt = [0u8; 48];
        pkt[0] = 0b00_100_100;
        pkt[1] = 2;
        pkt[24..32].copy_from_slice(&sent);
        pkt[32..40].copy_from_slice(&write_ts(1010.5));
        pkt[40..48].copy_from_slice(&write_ts(1010.5));
        let r = parse_reply(&pkt, read_ts(&sent), 1001.0, &sent).unwrap();
        assert!((r.offset - 10.0).abs() < 1e-6, "{r:?}");
        assert!((r.delay - 1.0).abs() < 1e-6);
        pkt[24] ^= 1;
        assert!(parse_reply(&pkt, t1, 1001.0, &sent).is_err());
        assert!(parse_reply(&pkt[..20], t1, 1001.0, &sent).is_err());
    }
}
