//! `nodeward audit`: arguments and entry point.

use crate::audit::audit;
use crate::checks::catalogue;
use crate::config::AuditConfig;
use crate::host::{Host, LiveHost, RootHost};
use crate::profile::{Profile, PROFILE_NAMES};
use crate::select::select;
use clap::Args;
use nodeward_report::render::{render, stdout_wants_color, Format, RenderOptions};
use nodeward_report::Severity;
use std::io::Write;
use std::path::{Path, PathBuf};

/// The default config file.
pub const DEFAULT_CONFIG: &str = "/etc/nodeward/nodeward.toml";
/// Where `--save` writes by default (the gateway's default `state_dir`).
pub const DEFAULT_STATE_DIR: &str = "/var/lib/nodeward";

/// Arguments of `nodeward audit`.
#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 nothing at or above --fail-on failed, 1 something did, \
2 usage, configuration or runtime error (also: a --root that does not exist or is not a Linux tree)."
)]
pub struct AuditArgs {
    /// Audit an offline root tree (mounted image, container rootfs) instead of this host.
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Node profile: generic, iota, hornet, ilp, cardano or masternode (default: [audit] profile, else generic).
    #[arg(long, value_parser = PROFILE_NAMES)]
    pub profile: Option<String>,
    /// Output format: text, json, html or junit.
    #[arg(long, default_value = "text")]
    pub format: Format,
    /// Write the report to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when a check of at least this severity fails (info, low, medium, high, critical).
    #[arg(long, default_value = "high", value_name = "SEVERITY")]
    pub fail_on: Severity,
    /// Run only these check IDs or areas (comma-separated, e.g. SSH-001,firewall).
    #[arg(long, value_delimiter = ',', value_name = "ID,AREA")]
    pub only: Vec<String>,
    /// Skip these check IDs or areas (comma-separated).
    #[arg(long, value_delimiter = ',', value_name = "ID,AREA")]
    pub skip: Vec<String>,
    /// Configuration file ([audit] table: profile, allowed_ports, node_processes, api_ports).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Also save the JSON report as `<state dir>/audit/latest.json` (mode 0600,
    /// written atomically) for the gateway's status page and `nodeward report`.
    #[arg(long)]
    pub save: bool,
    /// The state directory `--save` writes under (the gateway's `[gateway] state_dir`).
    #[arg(long, value_name = "DIR", default_value = DEFAULT_STATE_DIR)]
    pub state_dir: PathBuf,
    /// List every check (ID, area, severity, title) and exit.
    #[arg(long)]
    pub list_checks: bool,
}

/// Errors of `nodeward audit` (all exit 2).
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// Bad configuration file.
    #[error(transparent)]
    Config(#[from] nodeward_config::ConfigError),
    /// Bad `--only`/`--skip`.
    #[error(transparent)]
    Select(#[from] crate::select::UnknownSelector),
    /// Bad profile name.
    #[error(transparent)]
    Profile(#[from] crate::profile::UnknownProfile),
    /// The report could not be written.
    #[error("cannot write {path}: {source}")]
    Write {
        /// Where.
        path: String,
        /// Why.
        source: std::io::Error,
    },
}

/// Writes `report` as JSON to `<state_dir>/audit/latest.json` (the directory
/// created 0700 if missing; the file replaced atomically, 0600).
fn save_latest(state_dir: &Path, report: &nodeward_report::Report) -> Result<(), AuditError> {
    let dir = state_dir.join("audit");
    let path = dir.join("latest.json");
    let err = |source| AuditError::Write {
        path: path.display().to_string(),
        source,
    };
    if !dir.is_dir() {
        use std::os::unix::fs::DirBuilderExt;
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(err)?;
    }
    nodeward_files::write_output(&path, report.to_json().as_bytes()).map_err(err)
}

fn list_checks(format: Format) -> String {
    let all = catalogue();
    if format == Format::Json {
        let v: Vec<serde_json::Value> = all
            .iter()
            .map(|c| {
                serde_json::json!({"id": c.id, "area": c.area, "severity": c.severity,
                    "title": c.title, "remediation": c.remediation, "references": c.references})
            })
            .collect();
        return serde_json::to_string_pretty(&v).unwrap_or_default() + "\n";
    }
    all.iter()
        .map(|c| {
            format!(
                "{:<9} {:<12} {:<9} {}\n",
                c.id,
                c.area,
                c.severity.as_str(),
                c.title
            )
        })
        .collect()
}

/// Runs `nodeward audit`; returns the exit code.
pub fn run(args: AuditArgs) -> Result<u8, AuditError> {
    if args.list_checks {
        print!("{}", list_checks(args.format));
        return Ok(0);
    }
    let config = match &args.config {
        Some(path) => AuditConfig::load(path, true)?,
        None => AuditConfig::load(Path::new(DEFAULT_CONFIG), false)?,
    };
    let profile_name = args
        .profile
        .clone()
        .or_else(|| config.profile.clone())
        .unwrap_or_else(|| "generic".into());
    let mut profile: Profile = profile_name.parse()?;
    config.extend(&mut profile);
    let checks = select(catalogue(), &args.only, &args.skip)?;

    let root_host;
    let live_host = LiveHost::new();
    let mut root_problem = None;
    let host: &dyn Host = match &args.root {
        Some(dir) => {
            root_host = RootHost::new(dir);
            root_problem = root_host.problem().map(String::from);
            &root_host
        }
        None => &live_host,
    };
    let report = audit(host, &profile, &checks);
    let color = args.output.is_none() && args.format == Format::Text && stdout_wants_color();
    let text = render(&report, args.format, RenderOptions { color });
    match &args.output {
        Some(path) => nodeward_files::write_output(path, text.as_bytes()).map_err(|source| {
            AuditError::Write {
                path: path.display().to_string(),
                source,
            }
        })?,
        None => {
            let mut out = std::io::stdout().lock();
            // A closed pipe (`| head`) is not an audit failure.
            let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
        }
    }
    if args.save {
        save_latest(&args.state_dir, &report)?;
    }
    if let Some(problem) = root_problem {
        eprintln!("nodeward: {problem}");
        return Ok(2);
    }
    Ok(if report.fails_at(args.fail_on) { 1 } else { 0 })
}
