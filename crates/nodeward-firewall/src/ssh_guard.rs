//! Keeps `firewall apply` from locking the operator out.
//!
//! The operator's SSH connections are found in `SSH_CONNECTION` (set by sshd
//! for the session running nodeward) and in the kernel's socket table
//! (`/proc/net/tcp`, `/proc/net/tcp6`: established connections to the SSH port).
//! A policy that would not accept a *new* connection from one of those clients
//! to the port it used is refused unless forced.

use crate::config::Proto;
use crate::policy::Policy;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// An SSH connection to this host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshConnection {
    /// The client's address.
    pub client: IpAddr,
    /// The local port it connected to.
    pub server_port: u16,
    /// How it was found (`SSH_CONNECTION` or `/proc/net/tcp`).
    pub found_in: &'static str,
}

/// Parses `SSH_CONNECTION` (`"client_ip client_port server_ip server_port"`).
pub fn parse_ssh_connection(value: &str) -> Option<SshConnection> {
    let mut it = value.split_whitespace();
    let client: IpAddr = it.next()?.parse().ok()?;
    let _client_port: u16 = it.next()?.parse().ok()?;
    let _server: IpAddr = it.next()?.parse().ok()?;
    let server_port: u16 = it.next()?.parse().ok()?;
    if it.next().is_some() {
        return None;
    }
    Some(SshConnection {
        client: crate::addr::canonical(client),
        server_port,
        found_in: "SSH_CONNECTION",
    })
}

fn parse_hex_addr(hex: &str) -> Option<IpAddr> {
    let word = |s: &str| u32::from_str_radix(s, 16).ok().map(u32::to_ne_bytes);
    match hex.len() {
        8 => Some(IpAddr::V4(Ipv4Addr::from(word(hex)?))),
        32 => {
            let mut bytes = [0u8; 16];
            for i in 0..4 {
                bytes[i * 4..i * 4 + 4].copy_from_slice(&word(hex.get(i * 8..i * 8 + 8)?)?);
            }
            Some(crate::addr::canonical(IpAddr::V6(Ipv6Addr::from(bytes))))
        }
        _ => None,
    }
}

/// Established connections to local `port` in one `/proc/net/tcp*` table.
pub fn parse_socket_table(text: &str, port: u16) -> Vec<SshConnection> {
    let mut out = Vec::new();
    for line in text.lines().skip(1) {
        let mut f = line.split_whitespace();
        let (Some(_sl), Some(local), Some(remote), Some(state)) =
            (f.next(), f.next(), f.next(), f.next())
        else {
            continue;
        };
        if state != "01" {
            continue;
        }
        let Some((_, lport)) = local.split_once(':') else {
            continue;
        };
        if u16::from_str_radix(lport, 16).ok() != Some(port) {
            continue;
        }
        let Some((raddr, _)) = remote.split_once(':') else {
            continue;
        };
        if let Some(client) = parse_hex_addr(raddr) {
            out.push(SshConnection {
                client,
                server_port: port,
                found_in: "/proc/net/tcp",
            });
        }
    }
    out
}

/// The SSH connections of this host's current network namespace.
pub fn current_connections(ssh_port: u16) -> Vec<SshConnection> {
    let mut out = Vec::new();
    if let Some(c) = std::env::var("SSH_CONNECTION")
        .ok()
        .as_deref()
        .and_then(parse_ssh_connection)
    {
        out.push(c);
    }
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        if let Ok(text) = std::fs::read_to_string(table) {
            out.extend(parse_socket_table(&text, ssh_port));
        }
    }
    out.dedup();
    out
}

/// Connections the policy would not let back in (empty means safe).
pub fn cut_connections(policy: &Policy, conns: &[SshConnection]) -> Vec<SshConnection> {
    conns
        .iter()
        .filter(|c| !c.client.is_loopback() && !policy.accepts(Proto::Tcp, c.client, c.server_port))
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ssh_connection_env() {
        let c = parse_ssh_connection("10.213.1.2 51234 10.213.1.1 2222").unwrap();
        assert_eq!(c.client, "10.213.1.2".parse::<IpAddr>().unwrap());
        assert_eq!(c.server_port, 2222);
        assert!(parse_ssh_connection("garbage").is_none());
        assert!(parse_ssh_connection("1.2.3.4 1 5.6.7.8 99999").is_none());
    }

    #[test]
    fn socket_table() {
        // 10.0.0.1:22 <- 10.0.0.2:50000 established, in little-endian /proc form.
        let local = format!("{:08X}:0016", u32::from_ne_bytes([10, 0, 0, 1]));
        let remote = format!("{:08X}:C350", u32::from_ne_bytes([10, 0, 0, 2]));
        let text = format!(
            "  sl  local_address rem_address   st\n   0: {local} {remote} 01 0\n   1: {local} {remote} 0A 0\n"
        );
        let conns = parse_socket_table(&text, 22);
        assert_eq!(conns.len(), 1);
        assert_eq!(conns[0].client, "10.0.0.2".parse::<IpAddr>().unwrap());
        assert!(parse_socket_table(&text, 23).is_empty());
    }
}
