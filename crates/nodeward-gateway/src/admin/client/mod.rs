//! Commands that act on a running gateway through its admin API: `bans`,
//! `backends` and `status`. The address and the token come from the config;
//! requests are plain HTTP/1.1 to the (loopback) admin listener.

mod backends;
mod bans;
mod status;

pub use backends::{backends, BackendsOp};
pub use bans::{bans, BansOp};
pub use status::status;

use crate::config::GatewayConfig;
use std::io::{Read, Write};
use std::net::{IpAddr, SocketAddr, TcpStream};
use std::time::Duration;

/// Why the admin API could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The config has no `[admin]` table.
    #[error("the config has no [admin] listener, so the running gateway cannot be asked")]
    NoAdmin,
    /// A bad argument.
    #[error("{0}")]
    Usage(String),
    /// Reading the token or talking to the gateway failed.
    #[error("admin API at {addr}: {source}")]
    Io {
        /// Where.
        addr: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
}

/// The admin API of a running gateway.
pub struct AdminApi {
    addr: SocketAddr,
    token: String,
}

impl AdminApi {
    /// The admin API the config describes (an unspecified bind address is
    /// reached on loopback).
    pub fn from_config(config: &GatewayConfig) -> Result<AdminApi, ClientError> {
        let admin = config.admin.as_ref().ok_or(ClientError::NoAdmin)?;
        let mut addr = admin.bind;
        if addr.ip().is_unspecified() {
            addr.set_ip(if addr.is_ipv4() {
                IpAddr::from([127, 0, 0, 1])
            } else {
                IpAddr::from(std::net::Ipv6Addr::LOCALHOST)
            });
        }
        let token = std::fs::read_to_string(&admin.token_file).map_err(|e| ClientError::Io {
            addr,
            source: std::io::Error::new(
                e.kind(),
                format!("token file {}: {e}", admin.token_file.display()),
            ),
        })?;
        Ok(AdminApi {
            addr,
            token: token.trim().to_string(),
        })
    }

    /// Sends one request; `Ok(None)` when the gateway refused it (the
    /// reason is printed on stderr), else its JSON answer.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
    ) -> Result<Option<serde_json::Value>, ClientError> {
        let (status, text) = exchange(self.addr, method, path, &self.token, body.unwrap_or(""))
            .map_err(|source| ClientError::Io {
                addr: self.addr,
                source,
            })?;
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or(serde_json::Value::Null);
        if !(200..300).contains(&status) {
            let msg = v["error"].as_str().map_or(text.clone(), str::to_string);
            eprintln!("nodeward: the gateway refused: {msg} (HTTP {status})");
            return Ok(None);
        }
        Ok(Some(v))
    }
}

/// One HTTP/1.1 request with `Connection: close`; returns (status, body).
fn exchange(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: &str,
    body: &str,
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.set_write_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut raw = Vec::new();
    s.take(4 * 1024 * 1024).read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw);
    let bad = || std::io::Error::new(std::io::ErrorKind::InvalidData, "not an HTTP answer");
    let status = text
        .strip_prefix("HTTP/1.1 ")
        .and_then(|r| r.get(..3))
        .and_then(|c| c.parse().ok())
        .ok_or_else(bad)?;
    let body = text
        .split_once("\r\n\r\n")
        .map_or("", |(_, b)| b)
        .to_string();
    Ok((status, body))
}
