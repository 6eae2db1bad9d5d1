//! Monitoring-plugin conventions: threshold ranges, states and the one-line
//! output with performance data.

mod output;
mod range;

pub use output::{PerfData, PluginOutput, State};
pub use range::{Range, RangeError};
