//! nodeward's host firewall on nftables and its ban engine.
//!
//! - `nodeward firewall`: a declarative policy from `[firewall]` ([`config`],
//!   [`policy`], [`ports`], [`addr`], [`profiles`]) rendered as one table
//!   `inet nodeward` ([`ruleset`]), loaded atomically through `nft` ([`nft`]) with a
//!   roll-back that runs by itself unless confirmed ([`rollback`], [`firewall`]),
//!   refusing policies that would cut the operator's SSH session ([`ssh_guard`]).
//!   A confirmed ruleset is written to disk and loaded at boot ([`persist`]);
//!   `status` compares it with the running table ([`compare`]); egress policies
//!   without DNS or NTP get a warning ([`egress_check`]).
//! - `nodeward ban`: follows sshd logs and gateway violations, bans sources in
//!   nftables sets with timeouts, persisted in the state directory ([`ban`]).

pub mod addr;
pub mod ban;
pub mod cli;
pub mod compare;
pub mod config;
pub mod egress_check;
pub mod error;
pub mod firewall;
pub mod nft;
pub mod persist;
pub mod policy;
pub mod ports;
pub mod profiles;
pub mod rollback;
pub mod ruleset;
pub mod ssh_guard;
pub mod state;

pub use error::{Error, Result};
