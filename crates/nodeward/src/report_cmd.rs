//! `nodeward report`: the latest audit, scan and fim results rendered into
//! one self-contained HTML file, with nodeward-report's HTML renderer.

use nodeward_report::Report;
use std::path::{Path, PathBuf};

/// The largest JSON report read.
const MAX_INPUT: u64 = 64 * 1024 * 1024;

/// Arguments of `nodeward report`.
#[derive(clap::Args)]
pub struct ReportArgs {
    /// Write the HTML page to FILE (atomically, mode 0600).
    #[arg(long, short = 'o', value_name = "FILE")]
    output: PathBuf,
    /// Where saved reports are looked for: <DIR>/audit/latest.json, <DIR>/scan/latest.json, <DIR>/fim/latest.json.
    #[arg(long, value_name = "DIR", default_value = "/var/lib/nodeward")]
    state_dir: PathBuf,
    /// An audit JSON report (`nodeward audit --format json -o FILE`) instead of the saved one.
    #[arg(long, value_name = "FILE")]
    audit: Option<PathBuf>,
    /// A scan JSON report (`nodeward scan --format json -o FILE`).
    #[arg(long, value_name = "FILE")]
    scan: Option<PathBuf>,
    /// A fim JSON report (`nodeward fim check --format json`).
    #[arg(long, value_name = "FILE")]
    fim: Option<PathBuf>,
}

/// Why `nodeward report` failed (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// An input named on the command line is missing or not a report.
    #[error("{path}: {what}")]
    Input {
        /// The file.
        path: String,
        /// What is wrong.
        what: String,
    },
    /// No input at all.
    #[error("nothing to report: no saved audit, scan or fim report under {0} (run `nodeward audit --save`, or pass --audit/--scan/--fim FILE)")]
    Nothing(String),
    /// The page could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

fn load(path: &Path, kind: &str) -> Result<Report, String> {
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if meta.len() > MAX_INPUT {
        return Err("larger than 64 MiB".into());
    }
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let report: Report =
        serde_json::from_slice(&bytes).map_err(|e| format!("not a nodeward JSON report: {e}"))?;
    if report.command != kind && !(kind == "fim" && report.command.starts_with("fim")) {
        return Err(format!(
            "a report of `{}`, expected `{kind}`",
            report.command
        ));
    }
    Ok(report)
}

/// Runs `nodeward report`; returns the exit code.
pub fn run(args: ReportArgs) -> Result<u8, ReportError> {
    let mut reports = Vec::new();
    let mut notes = Vec::new();
    for (kind, given) in [
        ("audit", &args.audit),
        ("scan", &args.scan),
        ("fim", &args.fim),
    ] {
        match given {
            Some(path) => {
                let r = load(path, kind).map_err(|what| ReportError::Input {
                    path: path.display().to_string(),
                    what,
                })?;
                reports.push((kind.to_string(), r));
            }
            None => {
                let path = args.state_dir.join(kind).join("latest.json");
                if !path.exists() {
                    notes.push(format!("No saved {kind} report ({}).", path.display()));
                    continue;
                }
                match load(&path, kind) {
                    Ok(r) => reports.push((kind.to_string(), r)),
                    Err(what) => {
                        eprintln!("nodeward: warning: {}: {what}; left out", path.display());
                        notes.push(format!(
                            "The saved {kind} report {} cannot be read ({what}); left out.",
                            path.display()
                        ));
                    }
                }
            }
        }
    }
    if reports.is_empty() {
        return Err(ReportError::Nothing(args.state_dir.display().to_string()));
    }
    let host = reports
        .first()
        .map(|(_, r)| r.target.clone())
        .unwrap_or_default();
    let html = nodeward_report::render::render_many(
        &format!("nodeward report — {host}"),
        &reports,
        &notes,
    );
    nodeward_files::write_output(&args.output, html.as_bytes()).map_err(|source| {
        ReportError::Write {
            path: args.output.display().to_string(),
            source,
        }
    })?;
    eprintln!(
        "nodeward: wrote {} ({} reports)",
        args.output.display(),
        reports.len()
    );
    Ok(0)
}
