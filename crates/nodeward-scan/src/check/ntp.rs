//! `check ntp`: offset from an NTP server and the kernel's sync status.

use crate::nagios::{PerfData, PluginOutput, State};
use nodeward_probe::{sntp, tcp};

/// Arguments of `check ntp`.
#[derive(Debug, clap::Args)]
pub struct NtpCheck {
    /// NTP server.
    #[arg(long, short = 'H', default_value = "pool.ntp.org")]
    pub host: String,
    /// UDP port.
    #[arg(long, short = 'p', default_value_t = 123)]
    pub port: u16,
    /// WARNING range for the absolute offset in seconds.
    #[arg(
        short = 'w',
        long = "warning",
        allow_hyphen_values = true,
        default_value = "0.5"
    )]
    pub warning: String,
    /// CRITICAL range for the absolute offset in seconds.
    #[arg(
        short = 'c',
        long = "critical",
        allow_hyphen_values = true,
        default_value = "1"
    )]
    pub critical: String,
    /// Do not look at the local kernel's sync status.
    #[arg(long)]
    pub no_kernel: bool,
    /// Deadline.
    #[arg(long, short = 't', default_value = "5s")]
    pub timeout: String,
}

/// Whether the kernel clock is synchronised (`adjtimex` state is not TIME_ERROR).
pub(crate) fn kernel_synced() -> Option<bool> {
    let mut tx: libc::timex = unsafe {
        // SAFETY: timex is a plain C struct of integers; all-zero is a valid value
        // and modes = 0 makes adjtimex read-only.
        std::mem::zeroed()
    };
    // SAFETY: `tx` is a valid, exclusively borrowed timex for the duration of the call.
    let state = unsafe { libc::adjtimex(&mut tx) };
    if state < 0 {
        None
    } else {
        Some(state != libc::TIME_ERROR)
    }
}

/// Runs the check.
pub async fn run(c: NtpCheck) -> PluginOutput {
    const S: &str = "NTP";
    let (w, cr) = match super::ranges(Some(&c.warning), Some(&c.critical)) {
        Ok(r) => r,
        Err(e) => return PluginOutput::unknown(S, e),
    };
    let timeout = match super::timeout(&c.timeout) {
        Ok(t) => t,
        Err(e) => return PluginOutput::unknown(S, e),
    };
    let addr = match tcp::resolve(&c.host, c.port, timeout).await {
        Ok(a) => a[0],
        Err(e) => return PluginOutput::unknown(S, e.to_string()),
    };
    let reply = match sntp::query(addr, timeout).await {
        Ok(r) => r,
        Err(e) => return PluginOutput::unknown(S, e.to_string()),
    };
    let mut state = State::from_thresholds(reply.offset.abs(), w.as_ref(), cr.as_ref());
    let mut notes = vec![format!(
        "offset {:+.6} s from {} (stratum {}, delay {:.6} s)",
        reply.offset, c.host, reply.stratum, reply.delay
    )];
    if reply.leap == 3 {
        state = state.worst(State::Warning);
        notes.push("server says it is not synchronised".into());
    }
    if !c.no_kernel {
        match kernel_synced() {
            Some(true) => notes.push("kernel clock synchronised".into()),
            Some(false) => {
                state = state.worst(State::Warning);
                notes.push("kernel clock NOT synchronised".into());
            }
            None => notes.push("kernel sync status unavailable".into()),
        }
    }
    PluginOutput {
        service: S,
        state,
        summary: notes.join(", "),
        perf: vec![
            PerfData::new("offset", reply.offset, "s").thresholds(w.as_ref(), cr.as_ref()),
            PerfData::new("delay", reply.delay, "s").bounds(Some(0.0), None),
        ],
    }
}
