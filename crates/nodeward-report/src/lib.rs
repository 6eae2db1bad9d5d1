//! The report model shared by `nodeward audit`, `scan`, `check` and `fim`.
//!
//! Every reporting command produces [`Finding`]s, gathers them into a [`Report`]
//! and hands the report to a renderer ([`render::render`]). The JSON shape is
//! stable (`schema_version` 1): fields may be added, never renamed. [`score`]
//! turns severity-weighted findings into a 0-100 score and a letter grade.

mod finding;
pub mod render;
mod report;
pub mod score;

pub use finding::{Finding, Severity, Status};
pub use render::{render, Format, RenderOptions};
pub use report::{Report, SCHEMA_VERSION};
