//! The report model shared by `nodeward audit`, `scan`, `check` and `fim`.
//!
//! Every reporting command produces [`Finding`]s, gathers them into a [`Report`]
//! and hands the report to a renderer. The JSON shape is stable
//! (`schema_version` 1): fields may be added, never renamed.

mod finding;
mod report;

pub use finding::{Finding, Severity, Status};
pub use report::{Report, SCHEMA_VERSION};
