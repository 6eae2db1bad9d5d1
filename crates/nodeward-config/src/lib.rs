//! nodeward's single configuration file, shared by every command.
//!
//! Each feature crate owns some top-level tables of the file (the gateway owns
//! `listener`, `admin`, `upstream`, `route`; the firewall owns `firewall` and
//! `ban`, ...). [`load_sections`] deserialises only the tables a crate asks for,
//! straight from the TOML text so that every error keeps its file:line, and
//! skips the others. [`units`] parses the value types every section shares:
//! durations (`"5s"`), sizes (`"64KiB"`) and rates (`"100/s"`).

mod error;
mod section;
pub mod units;

pub use error::ConfigError;
pub use section::{load_sections, read_config_file, unknown_tables, MAX_CONFIG_BYTES};
pub use units::{ByteSize, Duration, Rate};
