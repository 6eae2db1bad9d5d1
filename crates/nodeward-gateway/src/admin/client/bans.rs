//! `nodeward gateway bans`: lists, adds and lifts bans on a running gateway
//! through its admin API (the address and token come from the config).

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

/// Runs one `bans` operation; returns the exit code (0 done, 1 refused by the gateway).
pub fn bans(config: &GatewayConfig, op: &BansOp) -> Result<u8, ClientError> {
    let admin = config.admin.as_ref().ok_or(ClientError::NoAdmin)?;
    let mut addr = admin.bind;
    if addr.ip().is_unspecified() {
        addr.set_ip(if addr.is_ipv4() {
            IpAddr::from([127, 0, 0, 1])
        } else {
            IpAddr::from(std::net::Ipv6Addr::LOCALHOST)
        });
    }
    let io = |source| ClientError::Io { addr, source };
    let token = std::fs::read_to_string(&admin.token_file).map_err(|e| {
        io(std::io::Error::new(
            e.kind(),
            format!("token file {}: {e}", admin.token_file.display()),
        ))
    })?;
    let source = |s: &str| {
        s.parse::<IpAddr>()
            .map_err(|_| ClientError::Usage(format!("{s:?} is not an IP address")))
    };
    let (method, path) = match op {
        BansOp::List => ("GET", "/bans".to_string()),
        BansOp::Add { source: s, length } => {
            let ip = source(s)?;
            match length {
                None => ("POST", format!("/bans?source={ip}")),
                Some(text) => {
                    let d = humantime::parse_duration(text).map_err(|e| {
                        ClientError::Usage(format!("--for {text:?}: {e} (e.g. \"1h\")"))
                    })?;
                    ("POST", format!("/bans?source={ip}&for={}s", d.as_secs()))
                }
            }
        }
        BansOp::Remove { source: s } => ("DELETE", format!("/bans?source={}", source(s)?)),
    };
    let (status, body) = exchange(addr, method, &path, token.trim()).map_err(io)?;
    let v: serde_json::Value = serde_json::from_str(&body).unwrap_or(serde_json::Value::Null);
    if !(200..300).contains(&status) {
        let msg = v["error"].as_str().map_or(body.clone(), str::to_string);
        eprintln!("nodeward: the gateway refused: {msg} (HTTP {status})");
        return Ok(1);
    }
    match op {
        BansOp::List => {
            let list = v["bans"].as_array().cloned().unwrap_or_default();
            if list.is_empty() {
                println!("no bans in force");
            }
            for b in list {
                println!(
                    "{}\t{}s left\t{} offence(s)\t{}",
                    b["source"].as_str().unwrap_or("?"),
                    b["remaining_s"],
                    b["offences"],
                    if b["manual"] == true {
                        "manual"
                    } else {
                        "automatic"
                    }
                );
            }
        }
        BansOp::Add { .. } => println!(
            "banned {} for {}s",
            v["source"].as_str().unwrap_or("?"),
            v["seconds"]
        ),
        BansOp::Remove { .. } => {
            println!("lifted the ban of {}", v["removed"].as_str().unwrap_or("?"))
        }
    }
    Ok(0)
}

/// One HTTP/1.1 request with `Connection: close`; returns (status, body).
fn exchange(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: &str,
) -> std::io::Result<(u16, String)> {
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(10)))?;
    s.set_write_timeout(Some(Duration::from_secs(10)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nAuthorization: Bearer {token}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
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

/// `nodeward gateway bans` operations.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum BansOp {
    /// Bans in force.
    List,
    /// Ban a source (IPv6 sources are banned by /64).
    Add {
        /// The address.
        source: String,
        /// How long (default: [gateway.autoban] ban_for, or 1h).
        #[arg(long = "for")]
        length: Option<String>,
    },
    /// Lift a ban.
    Remove {
        /// The address.
        source: String,
    },
}
