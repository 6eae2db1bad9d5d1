//! `check disk`, `check load`, `check memory`: local resource checks.

use crate::nagios::{PerfData, PluginOutput, State};
use std::path::PathBuf;

/// Arguments of `check disk`.
#[derive(Debug, clap::Args)]
pub struct DiskCheck {
    /// A path on the file system to check.
    #[arg(long, default_value = "/")]
    pub path: PathBuf,
    /// WARNING range for used percent.
    #[arg(
        short = 'w',
        long = "warning",
        allow_hyphen_values = true,
        default_value = "80"
    )]
    pub warning: String,
    /// CRITICAL range for used percent.
    #[arg(
        short = 'c',
        long = "critical",
        allow_hyphen_values = true,
        default_value = "90"
    )]
    pub critical: String,
}

/// Arguments of `check load`.
#[derive(Debug, clap::Args)]
pub struct LoadCheck {
    /// WARNING for the 1, 5, 15 minute load (`5,4,3` or one range for all).
    #[arg(
        short = 'w',
        long = "warning",
        allow_hyphen_values = true,
        default_value = "4,3,2"
    )]
    pub warning: String,
    /// CRITICAL for the 1, 5, 15 minute load.
    #[arg(
        short = 'c',
        long = "critical",
        allow_hyphen_values = true,
        default_value = "8,6,4"
    )]
    pub critical: String,
    /// Divide the load by the number of CPUs first.
    #[arg(long, short = 'r')]
    pub per_cpu: bool,
}

/// Arguments of `check memory`.
#[derive(Debug, clap::Args)]
pub struct MemoryCheck {
    /// WARNING range for used percent (total minus MemAvailable).
    #[arg(
        short = 'w',
        long = "warning",
        allow_hyphen_values = true,
        default_value = "85"
    )]
    pub warning: String,
    /// CRITICAL range for used percent.
    #[arg(
        short = 'c',
        long = "critical",
        allow_hyphen_values = true,
        default_value = "95"
    )]
    pub critical: String,
}

/// Runs `check disk`.
pub fn disk(c: DiskCheck) -> PluginOutput {
    const S: &str = "DISK";
    let (w, cr) = match super::ranges(Some(&c.warning), Some(&c.critical)) {
        Ok(r) => r,
        Err(e) => return PluginOutput::unknown(S, e),
    };
    let Some(path) = c.path.to_str().and_then(|p| std::ffi::CString::new(p).ok()) else {
        return PluginOutput::unknown(S, "path is not valid UTF-8 or contains NUL");
    };
    let mut st: libc::statvfs = unsafe {
        // SAFETY: statvfs is a plain C struct of integers; all-zero is a valid value.
        std::mem::zeroed()
    };
    // SAFETY: `path` is a NUL-terminated string that outlives the call and `st` is
    // a valid, exclusively borrowed statvfs.
    if unsafe { libc::statvfs(path.as_ptr(), &mut st) } != 0 {
        return PluginOutput::unknown(
            S,
            format!("{}: {}", c.path.display(), std::io::Error::last_os_error()),
        );
    }
    let frsize = st.f_frsize as f64;
    let total = st.f_blocks as f64 * frsize;
    let avail = st.f_bavail as f64 * frsize;
    let used = total - st.f_bfree as f64 * frsize;
    // Used percent as df shows it: used / (used + available to users).
    let pct = if used + avail > 0.0 {
        used * 100.0 / (used + avail)
    } else {
        0.0
    };
    let state = State::from_thresholds(pct, w.as_ref(), cr.as_ref());
    PluginOutput {
        service: S,
        state,
        summary: format!(
            "{} {:.1}% used, {:.2} GiB free",
            c.path.display(),
            pct,
            avail / 1073741824.0
        ),
        perf: vec![
            PerfData::new("used_pct", (pct * 100.0).round() / 100.0, "%")
                .thresholds(w.as_ref(), cr.as_ref())
                .bounds(Some(0.0), Some(100.0)),
            PerfData::new("free", avail.round(), "B").bounds(Some(0.0), Some(total.round())),
        ],
    }
}

/// Parses /proc/loadavg.
pub(crate) fn parse_loadavg(text: &str) -> Option<[f64; 3]> {
    let mut it = text.split_whitespace().map(|s| s.parse::<f64>().ok());
    Some([it.next()??, it.next()??, it.next()??])
}

/// Runs `check load`.
pub fn load(c: LoadCheck) -> PluginOutput {
    const S: &str = "LOAD";
    let triple = |s: &str| -> Result<Vec<crate::nagios::Range>, String> {
        let parts: Vec<&str> = s.split(',').collect();
        let parts = match parts.len() {
            1 => vec![parts[0]; 3],
            3 => parts,
            _ => {
                return Err(format!(
                    "invalid load threshold {s:?}: give one range or three (1,5,15 min)"
                ))
            }
        };
        parts
            .iter()
            .map(|p| {
                p.parse()
                    .map_err(|e: crate::nagios::RangeError| e.to_string())
            })
            .collect()
    };
    let (w, cr) = match (triple(&c.warning), triple(&c.critical)) {
        (Ok(w), Ok(c)) => (w, c),
        (Err(e), _) | (_, Err(e)) => return PluginOutput::unknown(S, e),
    };
    let text = match std::fs::read_to_string("/proc/loadavg") {
        Ok(t) => t,
        Err(e) => return PluginOutput::unknown(S, format!("/proc/loadavg: {e}")),
    };
    let Some(mut loads) = parse_loadavg(&text) else {
        return PluginOutput::unknown(S, "cannot parse /proc/loadavg");
    };
    if c.per_cpu {
        let cpus = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1) as f64;
        for l in loads.iter_mut() {
            *l /= cpus;
        }
    }
    let labels = ["load1", "load5", "load15"];
    let mut state = State::Ok;
    let mut perf = Vec::new();
    for i in 0..3 {
        state = state.worst(State::from_thresholds(loads[i], Some(&w[i]), Some(&cr[i])));
        perf.push(
            PerfData::new(labels[i], loads[i], "")
                .thresholds(Some(&w[i]), Some(&cr[i]))
                .bounds(Some(0.0), None),
        );
    }
    PluginOutput {
        service: S,
        state,
        summary: format!(
            "load average {:.2}, {:.2}, {:.2}{}",
            loads[0],
            loads[1],
            loads[2],
            if c.per_cpu { " per CPU" } else { "" }
        ),
        perf,
    }
}

/// Parses MemTotal and MemAvailable (kB) from /proc/meminfo.
pub(crate) fn parse_meminfo(text: &str) -> Option<(u64, u64)> {
    let get = |key: &str| {
        text.lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some((get("MemTotal:")?, get("MemAvailable:")?))
}

/// Runs `check memory`.
pub fn memory(c: MemoryCheck) -> PluginOutput {
    const S: &str = "MEMORY";
    let (w, cr) = match super::ranges(Some(&c.warning), Some(&c.critical)) {
        Ok(r) => r,
        Err(e) => return PluginOutput::unknown(S, e),
    };
    let text = match std::fs::read_to_string("/proc/meminfo") {
        Ok(t) => t,
        Err(e) => return PluginOutput::unknown(S, format!("/proc/meminfo: {e}")),
    };
    let Some((total, avail)) = parse_meminfo(&text).filter(|(t, _)| *t > 0) else {
        return PluginOutput::unknown(S, "cannot read MemTotal/MemAvailable");
    };
    let used = total.saturating_sub(avail);
    let pct = used as f64 * 100.0 / total as f64;
    PluginOutput {
        service: S,
        state: State::from_thresholds(pct, w.as_ref(), cr.as_ref()),
        summary: format!(
            "{pct:.1}% used ({} MiB of {} MiB)",
            used / 1024,
            total / 1024
        ),
        perf: vec![
            PerfData::new("used_pct", (pct * 100.0).round() / 100.0, "%")
                .thresholds(w.as_ref(), cr.as_ref())
                .bounds(Some(0.0), Some(100.0)),
            PerfData::new("used", (used * 1024) as f64, "B")
                .bounds(Some(0.0), Some((total * 1024) as f64)),
        ],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proc_parsers() {
        assert_eq!(
            parse_loadavg("0.50 0.25 0.10 1/100 1234\n"),
            Some([0.5, 0.25, 0.1])
        );
        assert_eq!(parse_loadavg("garbage"), None);
        assert_eq!(
            parse_meminfo("MemTotal: 1000 kB\nMemFree: 10 kB\nMemAvailable: 250 kB\n"),
            Some((1000, 250))
        );
        assert_eq!(parse_meminfo("MemTotal: 1000 kB\n"), None);
    }
}
