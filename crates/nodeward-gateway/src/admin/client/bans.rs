//! `nodeward gateway bans`: lists, adds and lifts bans on a running gateway
//! through its admin API.

use super::{AdminApi, ClientError};
use crate::config::GatewayConfig;
use std::net::IpAddr;

/// Runs one `bans` operation; returns the exit code (0 done, 1 refused by the gateway).
pub fn bans(config: &GatewayConfig, op: &BansOp) -> Result<u8, ClientError> {
    let api = AdminApi::from_config(config)?;
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
    let Some(v) = api.call(method, &path, None)? else {
        return Ok(1);
    };
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
