//! The gateway's tables of the config file: what they hold and how they are checked.
//!
//! `file.rs` mirrors the TOML (serde, unknown keys refused); `validate.rs`
//! checks what serde cannot (references between tables, impossible values)
//! and produces [`GatewayConfig`], the checked form the rest of the gateway
//! builds its runtime from.

mod cache;
mod file;
mod respond;
mod upstream;
mod validate;

pub use cache::{CacheConfig, CacheRule, NegativeRule, NegativeSection, RouteCacheSection};
pub use file::*;
pub use respond::{Cors, SecurityHeaders, JSON_API_PRESET};
pub use upstream::{HedgeSettings, RetrySettings, Upstream};
pub use validate::{
    check_text, load, load_from_str, AccessLogTarget, AcmeChallenge, AcmeConfig, Admin,
    ApiKeyConfig, AuthConfig, Autoban, CommandLimits, GatewayConfig, Global, Listener, OcspConfig,
    Route, TlsFiles, LETS_ENCRYPT_DIRECTORY,
};

/// Top-level tables the gateway owns in the shared config file.
pub const OWNED_TABLES: &[&str] = &[
    "gateway", "listener", "admin", "upstream", "route", "cluster",
];
