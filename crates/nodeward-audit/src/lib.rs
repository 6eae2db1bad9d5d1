//! `nodeward audit`: the node operator's hardening checklist, checked.
//!
//! Host facts are read through one [`host::Host`] abstraction with a live
//! implementation and an offline `--root DIR` implementation, so every check in
//! [`checks`] runs unchanged in both modes. [`sshd`] parses sshd_config with
//! OpenSSH's own semantics; [`facts`] parses the other system files. The
//! result is a [`nodeward_report::Report`] rendered by nodeward-report.

pub mod audit;
pub mod checks;
pub mod cli;
pub mod config;
pub mod facts;
pub mod host;
pub mod profile;
pub mod select;
pub mod sshd;

pub use audit::audit;
