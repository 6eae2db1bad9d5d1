//! `nodeward fim init|check|update|show`: arguments and entry points.

use crate::baseline::{self, Baseline};
use crate::config::FimConfig;
use crate::diff::{describe, diff, Change};
use crate::entry::{display_path, Content, Entry};
use crate::error::FimError;
use crate::findings;
use crate::key;
use crate::packages::PackageIndex;
use crate::progress::Progress;
use crate::rules::RuleSet;
use crate::scan::{scan_counted, Scan, ScanOptions};
use crate::severity::classify;
use crate::vouch::Vouch;
use clap::{Args, Subcommand};
use nodeward_report::render::{render, stdout_wants_color, Format, RenderOptions};
use nodeward_report::Severity;
use std::io::{IsTerminal, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

/// The default config file.
pub const DEFAULT_CONFIG: &str = "/etc/nodeward/nodeward.toml";

/// `nodeward fim`.
#[derive(Debug, Args)]
pub struct FimArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: FimCommand,
}

/// `nodeward fim` subcommands.
#[derive(Debug, Subcommand)]
pub enum FimCommand {
    /// Build the baseline of the paths selected by [fim] (refuses to replace one without --force; exit 1 when package files already mismatch their package).
    Init(InitArgs),
    /// Compare the host with the baseline; exit 1 when a change at or above --fail-on is found.
    Check(CheckArgs),
    /// Show what changed, then accept the current state as the new baseline.
    Update(UpdateArgs),
    /// Print the baseline's entry for one path.
    Show(ShowArgs),
}

/// Where the config, baseline and key are.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Configuration file ([fim] table).
    #[arg(long, short = 'c', value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Baseline file (default: [fim] database, else /var/lib/nodeward/fim/baseline.nwfim).
    #[arg(long, value_name = "FILE")]
    pub database: Option<PathBuf>,
    /// HMAC key file (default: [fim] key, else /etc/nodeward/fim.key).
    #[arg(long, value_name = "FILE")]
    pub key: Option<PathBuf>,
    /// Read the package database under DIR instead of / ([fim] package_root).
    #[arg(long, value_name = "DIR")]
    pub package_root: Option<PathBuf>,
}

impl CommonArgs {
    fn load(&self) -> Result<FimConfig, FimError> {
        let mut cfg = match &self.config {
            Some(p) => FimConfig::load(p, true)?,
            None => FimConfig::load(Path::new(DEFAULT_CONFIG), false)?,
        };
        if let Some(d) = &self.database {
            cfg.database = d.clone();
        }
        if let Some(k) = &self.key {
            cfg.key = k.clone();
        }
        if let Some(r) = &self.package_root {
            cfg.package_root = r.clone();
        }
        Ok(cfg)
    }
}

/// Arguments of `fim init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Config, baseline and key.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Replace an existing baseline.
    #[arg(long)]
    pub force: bool,
}

/// Arguments of `fim check`.
#[derive(Debug, Args)]
#[command(
    after_help = "Exit codes: 0 no change at or above --fail-on, 1 such a change, 2 usage, configuration or runtime error (a missing, damaged or tampered baseline)."
)]
pub struct CheckArgs {
    /// Config, baseline and key.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Hash every file, even where size, times and inode are unchanged.
    #[arg(long)]
    pub paranoid: bool,
    /// Output format: text, json, html or junit.
    #[arg(long, default_value = "text")]
    pub format: Format,
    /// Write the report to FILE (atomically) instead of standard output.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when a change of at least this severity is found (info, low, medium, high, critical).
    #[arg(long, default_value = "medium", value_name = "SEVERITY")]
    pub fail_on: Severity,
}

/// Arguments of `fim update`.
#[derive(Debug, Args)]
pub struct UpdateArgs {
    /// Config, baseline and key.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Hash every file, even where size, times and inode are unchanged.
    #[arg(long)]
    pub paranoid: bool,
    /// Accept without asking (for scripts; required when standard input is not a terminal).
    #[arg(long)]
    pub yes: bool,
}

/// Arguments of `fim show`.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Config, baseline and key.
    #[command(flatten)]
    pub common: CommonArgs,
    /// The path, as recorded (absolute).
    pub path: PathBuf,
    /// Output format: text or json.
    #[arg(long, default_value = "text", value_parser = ["text", "json"])]
    pub format: String,
}

/// Runs `nodeward fim`; returns the exit code.
pub fn run(args: FimArgs) -> Result<u8, FimError> {
    match args.command {
        FimCommand::Init(a) => init(a),
        FimCommand::Check(a) => check(a),
        FimCommand::Update(a) => update(a),
        FimCommand::Show(a) => show(a),
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}

fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn date(secs: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs.max(0) as u64);
    humantime::format_rfc3339_seconds(t).to_string()
}

fn take(
    cfg: &FimConfig,
    paranoid: bool,
    previous: Option<&Baseline>,
) -> Result<(RuleSet, Scan, Option<Arc<PackageIndex>>), FimError> {
    let rules = RuleSet::from_config(cfg);
    let mut options = ScanOptions::from_config(cfg, paranoid);
    let index = crate::packages_cli::load_index(cfg, &rules);
    options.packages = index.clone();
    // A bar on a terminal only; dropped (and cleared) before anything is printed.
    let progress = Progress::on_terminal();
    let s = scan_counted(
        &rules,
        &options,
        previous,
        progress.as_ref().map(|p| p.counters()),
    )
    .map_err(FimError::Usage)?;
    drop(progress);
    Ok((rules, s, index))
}

fn to_baseline(
    cfg: &FimConfig,
    s: &Scan,
    index: Option<&PackageIndex>,
    previous: Option<&Baseline>,
) -> Baseline {
    Baseline {
        created: now(),
        host: host_name(),
        writer: format!("nodeward {}", env!("CARGO_PKG_VERSION")),
        hash: cfg.hash.as_str().into(),
        entries: s.entries.iter().map(|(e, _)| e.clone()).collect(),
        packages: index.map(|i| i.versions()).unwrap_or_default(),
        mismatches: index
            .map(|i| crate::vouch::mismatches(i, s, previous))
            .unwrap_or_default(),
    }
}

/// Writes the baseline and its copies.
fn store(cfg: &FimConfig, b: &Baseline, key: &[u8; 32]) -> Result<(), FimError> {
    let bytes = baseline::encode(b, key).map_err(|reason| FimError::Damaged {
        path: cfg.database.clone(),
        reason,
    })?;
    baseline::write_atomically(&cfg.database, &bytes)?;
    for copy in &cfg.copy_to {
        baseline::write_atomically(copy, &bytes)?;
    }
    Ok(())
}

/// Lists what a scan could not read (at most 20 lines) on standard error.
fn warn_problems(s: &Scan) {
    let unverified: Vec<String> = s
        .entries
        .iter()
        .filter_map(|(e, _)| match &e.content {
            Content::Unreadable(r) => Some(format!("{}: unreadable ({r})", e.display_path())),
            Content::ChangedWhileReading => {
                Some(format!("{}: changed while being read", e.display_path()))
            }
            _ => None,
        })
        .chain(
            s.problems
                .iter()
                .map(|(p, r)| format!("{}: {r}", p.display())),
        )
        .chain(
            s.vanished
                .iter()
                .map(|p| format!("{}: vanished while scanned", p.display())),
        )
        .collect();
    for line in unverified.iter().take(20) {
        eprintln!("nodeward fim: warning: {line}");
    }
    if unverified.len() > 20 {
        eprintln!(
            "nodeward fim: warning: ... and {} more",
            unverified.len() - 20
        );
    }
}

fn init(args: InitArgs) -> Result<u8, FimError> {
    let cfg = args.common.load()?;
    if cfg.database.exists() && !args.force {
        return Err(FimError::Usage(format!(
            "a baseline already exists at {}: accept changes with `nodeward fim update`, or replace it with `nodeward fim init --force`",
            cfg.database.display()
        )));
    }
    let (key, created) = key::load_or_create(&cfg.key)?;
    let started = Instant::now();
    let (_, s, index) = take(&cfg, true, None)?;
    warn_problems(&s);
    let b = to_baseline(&cfg, &s, index.as_deref(), None);
    store(&cfg, &b, &key)?;
    println!(
        "baseline of {} entries ({} files hashed with {}) written to {} in {:.1} s{}",
        b.entries.len(),
        s.hashed,
        b.hash,
        cfg.database.display(),
        started.elapsed().as_secs_f64(),
        if created {
            format!(
                "; new HMAC key {} (keep a copy off this host)",
                cfg.key.display()
            )
        } else {
            String::new()
        }
    );
    Ok(crate::packages_cli::report_init(
        index.as_deref(),
        &b,
        s.package_verified,
    ))
}

fn load_baseline(cfg: &FimConfig) -> Result<([u8; 32], Baseline), FimError> {
    if !cfg.database.exists() {
        return Err(FimError::NoBaseline(cfg.database.clone()));
    }
    let key = key::load(&cfg.key)?;
    let b = baseline::load(&cfg.database, &key, &cfg.key)?;
    Ok((key, b))
}

/// A baseline, the host's current state, and what changed between them.
struct Compared {
    key: [u8; 32],
    baseline: Baseline,
    scan: Scan,
    changes: Vec<Change>,
    index: Option<Arc<PackageIndex>>,
}

fn compare(cfg: &FimConfig, paranoid: bool) -> Result<Compared, FimError> {
    let (key, b) = load_baseline(cfg)?;
    let mut cfg = cfg.clone();
    cfg.hash = b.algo();
    let (rules, s, index) = take(&cfg, paranoid, Some(&b))?;
    let current: Vec<Entry> = s.entries.iter().map(|(e, _)| e.clone()).collect();
    let changes = diff(&b.entries, &current, &rules);
    Ok(Compared {
        key,
        baseline: b,
        scan: s,
        changes,
        index,
    })
}

/// Writes the report: a device or pipe (`-o /dev/null`, `/dev/stdout`) in place,
/// since renaming over it would replace the device with a regular file; a
/// regular file atomically.
fn write_out(path: &Path, text: &str) -> Result<(), FimError> {
    nodeward_files::write_output(path, text.as_bytes()).map_err(|e| FimError::io(path, e))
}

fn check(args: CheckArgs) -> Result<u8, FimError> {
    let cfg = args.common.load()?;
    let Compared {
        baseline: b,
        scan: s,
        changes,
        index,
        ..
    } = compare(&cfg, args.paranoid)?;
    let target = format!(
        "{} (baseline of {}, {} entries)",
        host_name(),
        date(b.created),
        b.entries.len()
    );
    let mismatches = index
        .as_deref()
        .map(|i| crate::vouch::mismatches(i, &s, Some(&b)))
        .unwrap_or_default();
    let vouch = index.as_deref().map(|i| Vouch::new(i, &s, &b));
    let context = vouch
        .as_ref()
        .zip(index.as_deref())
        .map(|(v, i)| findings::PackageContext {
            vouch: v,
            mismatches: &mismatches,
            files: i.len(),
            packages: i.packages.len(),
        });
    let mut report = findings::report(&target, &changes, &s, context.as_ref());
    report.parts.insert(
        "baseline".into(),
        serde_json::json!({"path": cfg.database.display().to_string(), "created": date(b.created), "hash": b.hash}),
    );
    let failed = report.fails_at(args.fail_on);
    let color = args.output.is_none() && args.format == Format::Text && stdout_wants_color();
    let text = render(&report, args.format, RenderOptions { color });
    match &args.output {
        Some(p) => write_out(p, &text)?,
        None => {
            let mut out = std::io::stdout().lock();
            let _ = out.write_all(text.as_bytes()).and_then(|_| out.flush());
        }
    }
    record_last_check(&cfg.database, failed, changes.len());
    Ok(if failed { 1 } else { 0 })
}

/// `<database>.last-check`: when the last check ran and whether it passed (read by `nodeward audit`).
fn record_last_check(database: &Path, failed: bool, changes: usize) {
    let mut name = database.as_os_str().to_owned();
    name.push(".last-check");
    let body =
        serde_json::json!({"time": now(), "passed": !failed, "changes": changes}).to_string();
    if let Err(e) = baseline::write_atomically(Path::new(&name), body.as_bytes()) {
        eprintln!("nodeward fim: warning: could not record the result: {e}");
    }
}

fn update(args: UpdateArgs) -> Result<u8, FimError> {
    let cfg = args.common.load()?;
    let Compared {
        key,
        baseline: b,
        scan: s,
        changes,
        index,
    } = compare(&cfg, args.paranoid)?;
    let vouch = index.as_deref().map(|i| Vouch::new(i, &s, &b));
    if changes.is_empty() {
        println!(
            "nothing to accept: {} entries match the baseline of {}",
            s.entries.len(),
            date(b.created)
        );
        return Ok(0);
    }
    println!(
        "{} changes since the baseline of {}:",
        changes.len(),
        date(b.created)
    );
    for c in &changes {
        let (sev, why) = match &vouch {
            Some(v) => v.judge(c),
            None => classify(c),
        };
        let path = display_path(c.path());
        let what = match c {
            Change::Added(_) => "added".to_string(),
            Change::Removed(_) => "removed".to_string(),
            Change::Changed { attrs, .. } => {
                attrs.iter().map(describe).collect::<Vec<_>>().join("; ")
            }
            Change::Unverified { entry } => crate::diff::content_text(&entry.content),
        };
        println!("  [{}] {path}: {why}: {what}", sev.as_str());
    }
    if !args.yes {
        if !std::io::stdin().is_terminal() {
            return Err(FimError::Usage(
                "standard input is not a terminal: pass --yes to accept these changes".into(),
            ));
        }
        print!(
            "Accept these {} changes as the new baseline? [y/N] ",
            changes.len()
        );
        let _ = std::io::stdout().flush();
        let mut answer = String::new();
        let _ = std::io::stdin().read_line(&mut answer);
        if !matches!(answer.trim(), "y" | "Y" | "yes") {
            println!("nothing changed");
            return Ok(1);
        }
    }
    let mut cfg = cfg;
    cfg.hash = b.algo();
    let nb = to_baseline(&cfg, &s, index.as_deref(), Some(&b));
    store(&cfg, &nb, &key)?;
    println!(
        "accepted: baseline of {} entries written to {}",
        nb.entries.len(),
        cfg.database.display()
    );
    Ok(0)
}

fn entry_json(e: &Entry) -> serde_json::Value {
    serde_json::json!({
        "path": e.display_path(),
        "type": e.kind.as_str(),
        "mode": format!("{:04o}", e.mode),
        "uid": e.uid,
        "gid": e.gid,
        "size": e.size,
        "mtime_ns": e.mtime_ns.to_string(),
        "ctime_ns": e.ctime_ns.to_string(),
        "inode": e.inode,
        "device": e.device,
        "link_target": e.link_target.as_deref().map(display_path),
        "xattrs": e.xattrs.iter().map(|(n, v)| serde_json::json!({"name": display_path(n), "value": display_path(v)})).collect::<Vec<_>>(),
        "capabilities": e.capabilities,
        "content": crate::diff::content_text(&e.content),
    })
}

fn show(args: ShowArgs) -> Result<u8, FimError> {
    let cfg = args.common.load()?;
    let (_, b) = load_baseline(&cfg)?;
    let raw = args.path.as_os_str().as_bytes();
    let e = b
        .get(raw)
        .ok_or_else(|| FimError::NotInBaseline(display_path(raw)))?;
    let v = entry_json(e);
    if args.format == "json" {
        println!("{}", serde_json::to_string_pretty(&v).unwrap_or_default());
    } else if let Some(map) = v.as_object() {
        for (k, val) in map {
            let text = match val {
                serde_json::Value::String(s) => s.clone(),
                serde_json::Value::Null => "-".into(),
                other => other.to_string(),
            };
            println!("{k:<13} {text}");
        }
    }
    Ok(0)
}
