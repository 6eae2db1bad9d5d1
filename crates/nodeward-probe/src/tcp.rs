//! Name resolution and TCP connects, each with a deadline.

use crate::ProbeError;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::net::TcpStream;

/// Resolves `host` (a name or an IP literal, IPv6 with or without brackets) to socket addresses.
pub async fn resolve(
    host: &str,
    port: u16,
    deadline: Duration,
) -> Result<Vec<SocketAddr>, ProbeError> {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = bare.parse::<std::net::IpAddr>() {
        return Ok(vec![SocketAddr::new(ip, port)]);
    }
    if bare.is_empty() {
        return Err(ProbeError::Resolve {
            host: host.to_string(),
            reason: "empty host name".into(),
        });
    }
    let lookup = tokio::net::lookup_host((bare, port));
    match tokio::time::timeout(deadline, lookup).await {
        Err(_) => Err(ProbeError::timeout(format!("resolving {bare}"), deadline)),
        Ok(Err(e)) => Err(ProbeError::Resolve {
            host: bare.to_string(),
            reason: e.to_string(),
        }),
        Ok(Ok(addrs)) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            if addrs.is_empty() {
                Err(ProbeError::Resolve {
                    host: bare.to_string(),
                    reason: "no addresses".into(),
                })
            } else {
                Ok(addrs)
            }
        }
    }
}

/// Opens a TCP connection to `addr`, giving up after `deadline`.
pub async fn connect(addr: SocketAddr, deadline: Duration) -> Result<TcpStream, ProbeError> {
    match tokio::time::timeout(deadline, TcpStream::connect(addr)).await {
        Err(_) => Err(ProbeError::timeout(format!("connect to {addr}"), deadline)),
        Ok(Err(e)) => Err(ProbeError::Connect {
            addr: addr.to_string(),
            source: e,
        }),
        Ok(Ok(stream)) => {
            let _ = stream.set_nodelay(true);
            Ok(stream)
        }
    }
}

/// Resolves `host` and connects to the first address that answers.
pub async fn connect_host(
    host: &str,
    port: u16,
    deadline: Duration,
) -> Result<TcpStream, ProbeError> {
    let addrs = resolve(host, port, deadline).await?;
    let mut last = None;
    for addr in addrs {
        match connect(addr, deadline).await {
            Ok(s) => return Ok(s),
            Err(e) => last = Some(e),
        }
    }
    Err(last.unwrap_or_else(|| ProbeError::Invalid(format!("no address for {host}"))))
}
