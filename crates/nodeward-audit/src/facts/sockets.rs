//! Listening sockets from `/proc/net/{tcp,tcp6,udp,udp6}` and their owning
//! processes (matched through the socket inodes in `/proc/PID/fd`).

use crate::host::{Host, Socket};
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// TCP_LISTEN in /proc/net/tcp.
const TCP_LISTEN: &str = "0A";
/// TCP_CLOSE, what an unconnected bound UDP socket shows.
const UDP_UNCONNECTED: &str = "07";

fn parse_addr(hex: &str, v6: bool) -> Option<IpAddr> {
    if !hex.is_ascii() {
        return None;
    }
    if v6 {
        if hex.len() != 32 {
            return None;
        }
        let mut bytes = [0u8; 16];
        for i in 0..4 {
            let word = u32::from_str_radix(&hex[i * 8..i * 8 + 8], 16).ok()?;
            bytes[i * 4..i * 4 + 4].copy_from_slice(&word.to_ne_bytes());
        }
        Some(IpAddr::V6(Ipv6Addr::from(bytes)))
    } else {
        if hex.len() != 8 {
            return None;
        }
        let word = u32::from_str_radix(hex, 16).ok()?;
        Some(IpAddr::V4(Ipv4Addr::from(word.to_ne_bytes())))
    }
}

/// Parses one `/proc/net/` socket table, keeping listening TCP sockets and
/// unconnected UDP sockets.
pub fn parse_proc_net(text: &str, proto: &'static str, v6: bool) -> Vec<Socket> {
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let f: Vec<&str> = line.split_whitespace().collect();
        if f.len() < 10 {
            continue;
        }
        let wanted = if proto == "tcp" {
            f[3] == TCP_LISTEN
        } else {
            f[3] == UDP_UNCONNECTED && f[2].ends_with(":0000")
        };
        if !wanted {
            continue;
        }
        let Some((addr_hex, port_hex)) = f[1].split_once(':') else {
            continue;
        };
        let (Some(addr), Ok(port), Ok(inode)) = (
            parse_addr(addr_hex, v6),
            u16::from_str_radix(port_hex, 16),
            f[9].parse::<u64>(),
        ) else {
            continue;
        };
        out.push(Socket {
            proto,
            addr,
            port,
            inode,
            owners: Vec::new(),
        });
    }
    out
}

/// Fills in `owners` by scanning `/proc/PID/fd` links for `socket:[INODE]`.
/// Without privileges only the auditor's own processes can be matched.
pub fn attach_owners(sockets: &mut [Socket], host: &dyn Host) {
    if sockets.is_empty() {
        return;
    }
    let wanted: HashMap<u64, usize> = sockets
        .iter()
        .enumerate()
        .map(|(i, s)| (s.inode, i))
        .collect();
    let Ok(procs) = host.list_dir("/proc") else {
        return;
    };
    let mut found: Vec<Vec<(String, u32)>> = vec![Vec::new(); sockets.len()];
    for pid in procs.iter().filter_map(|p| p.parse::<u32>().ok()) {
        let fd_dir = format!("/proc/{pid}/fd");
        let Ok(fds) = host.list_dir(&fd_dir) else {
            continue;
        };
        let mut comm: Option<String> = None;
        for fd in fds {
            let Ok(target) = host.read_link(&format!("{fd_dir}/{fd}")) else {
                continue;
            };
            let Some(inode) = target
                .strip_prefix("socket:[")
                .and_then(|t| t.strip_suffix(']'))
                .and_then(|t| t.parse::<u64>().ok())
            else {
                continue;
            };
            // Several sockets may share an inode number across tables only by
            // accident; match every socket with this inode.
            if wanted.contains_key(&inode) {
                let name = comm
                    .get_or_insert_with(|| {
                        host.read_text(&format!("/proc/{pid}/comm"))
                            .map(|c| c.trim().to_string())
                            .unwrap_or_else(|_| "?".into())
                    })
                    .clone();
                for (i, s) in sockets.iter().enumerate() {
                    if s.inode == inode && !found[i].iter().any(|(_, p)| *p == pid) {
                        found[i].push((name.clone(), pid));
                    }
                }
            }
        }
    }
    for (s, owners) in sockets.iter_mut().zip(found) {
        s.owners = owners;
    }
}

/// Whether a socket bound to `addr` is reachable from outside the host
/// (bound to a wildcard or a non-loopback address).
pub fn is_public(addr: &IpAddr) -> bool {
    match addr {
        IpAddr::V4(a) => !a.is_loopback(),
        IpAddr::V6(a) => !a.is_loopback() && !a.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_listening_tcp_and_unconnected_udp() {
        let tcp = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n\
   0: 0100007F:0CEA 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1 0 100 0 0 10 0\n\
   1: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2222 1 0 100 0 0 10 0\n\
   2: 0100007F:0016 0100007F:A0B0 01 00000000:00000000 00:00000000 00000000     0        0 3333 1 0 100 0 0 10 0\n";
        let s = parse_proc_net(tcp, "tcp", false);
        assert_eq!(s.len(), 2);
        assert_eq!(s[0].addr, "127.0.0.1".parse::<IpAddr>().unwrap());
        assert_eq!(s[0].port, 3306);
        assert_eq!(s[1].port, 22);
        assert!(!is_public(&s[0].addr));
        assert!(is_public(&s[1].addr));

        let tcp6 = "header\n   0: 00000000000000000000000001000000:0016 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4444 1\n";
        let s = parse_proc_net(tcp6, "tcp", true);
        assert_eq!(s[0].addr, "::1".parse::<IpAddr>().unwrap());
        assert!(!is_public(&s[0].addr));
    }
}
