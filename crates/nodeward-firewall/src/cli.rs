//! Command-line arguments and entry points of `nodeward firewall` and `nodeward ban`.

use crate::ban::{self, scan, source::Format, watch, BanSettings};
use crate::config::{self, Sections};
use crate::error::{Error, Result};
use crate::firewall::{self as fw, ApplyOptions};
use crate::persist::DEFAULT_PERSIST_FILE;
use crate::policy::Policy;
use crate::state::DEFAULT_STATE_DIR;
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

/// Where the config is and where state goes.
#[derive(Debug, Clone, Args)]
pub struct CommonArgs {
    /// Configuration file.
    #[arg(long, short = 'c', default_value = "/etc/nodeward/nodeward.toml")]
    pub config: PathBuf,
    /// State directory (default: firewall.state_dir from the config, else /var/lib/nodeward).
    #[arg(long, env = "NODEWARD_STATE_DIR")]
    pub state_dir: Option<PathBuf>,
}

impl CommonArgs {
    fn sections(&self) -> Result<Sections> {
        Ok(config::load(&self.config)?)
    }

    /// The state directory, from the CLI, the given sections or the default.
    fn state_dir(&self, sections: Option<&Sections>) -> PathBuf {
        self.state_dir
            .clone()
            .or_else(|| sections.and_then(|s| s.firewall.state_dir.clone()))
            .unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR))
    }

    /// The state directory for commands that do not need the policy: the config is
    /// read only when it exists and no --state-dir was given.
    fn state_dir_lenient(&self) -> Result<PathBuf> {
        if self.state_dir.is_some() || !self.config.exists() {
            return Ok(self.state_dir(None));
        }
        Ok(self.state_dir(Some(&self.sections()?)))
    }
}

/// Where the confirmed ruleset is kept for boot.
#[derive(Debug, Clone, Args)]
pub struct PersistArgs {
    /// File the confirmed ruleset is written to and loaded from at boot (default:
    /// firewall.persist_file from the config, else /etc/nodeward/firewall.nft).
    #[arg(long, env = "NODEWARD_PERSIST_FILE")]
    pub persist_file: Option<PathBuf>,
}

impl PersistArgs {
    /// The persist file, from the CLI, the given sections or the default.
    fn path(&self, sections: Option<&Sections>) -> PathBuf {
        self.persist_file
            .clone()
            .or_else(|| sections.and_then(|s| s.firewall.persist_file.clone()))
            .unwrap_or_else(|| PathBuf::from(DEFAULT_PERSIST_FILE))
    }

    /// The persist file for commands that do not need the policy: the config is read
    /// only when it exists and no --persist-file was given.
    fn path_lenient(&self, common: &CommonArgs) -> Result<PathBuf> {
        if self.persist_file.is_some() || !common.config.exists() {
            return Ok(self.path(None));
        }
        Ok(self.path(Some(&common.sections()?)))
    }
}

/// Config, state and persist file of the firewall commands that keep or drop rules.
#[derive(Debug, Clone, Args)]
pub struct KeepArgs {
    /// Config and state.
    #[command(flatten)]
    pub common: CommonArgs,
    /// The ruleset for boot.
    #[command(flatten)]
    pub persist: PersistArgs,
}

/// Output format of status and list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// For people.
    Text,
    /// Stable JSON.
    Json,
}

/// `nodeward firewall`.
#[derive(Debug, Args)]
pub struct FirewallArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: FirewallCommand,
}

/// `nodeward firewall` subcommands.
#[derive(Debug, Subcommand)]
pub enum FirewallCommand {
    /// Print the nftables ruleset (table inet nodeward) the config describes; loads nothing.
    Plan(CommonArgs),
    /// Load the ruleset atomically; roll back by itself unless confirmed in time.
    Apply(ApplyArgs),
    /// Keep the rules loaded by the last apply (cancels the roll-back) and save them for boot.
    Confirm(KeepArgs),
    /// Restore the ruleset saved before the pending apply, now.
    Rollback(CommonArgs),
    /// Show whether the table is loaded, bans, and any pending roll-back.
    Status(StatusArgs),
    /// Delete table inet nodeward and the ruleset saved for boot (other tables are untouched).
    Remove(KeepArgs),
    /// Load the confirmed ruleset saved for boot (run by nodeward-firewall.service).
    Restore(RestoreArgs),
    /// Internal: the detached process that performs the roll-back.
    #[command(hide = true)]
    RollbackWorker(WorkerArgs),
    /// Internal: loads a script inside a scratch network namespace and lists it (status).
    #[command(hide = true)]
    ScratchTable(ScratchArgs),
}

/// Arguments of `firewall apply`.
#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Config and state.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Restore the previous ruleset after this long unless `nodeward firewall confirm` runs.
    #[arg(long, default_value = "5m", value_parser = parse_duration)]
    pub rollback_after: std::time::Duration,
    /// Keep the rules at once, without a roll-back timer.
    #[arg(long)]
    pub confirm: bool,
    /// Apply even when the policy would not let the current SSH connection back in.
    #[arg(long)]
    pub force: bool,
    /// Print what would be loaded and done; change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// The ruleset for boot (written on confirmation).
    #[command(flatten)]
    pub persist: PersistArgs,
}

/// Arguments of `firewall restore`.
#[derive(Debug, Args)]
pub struct RestoreArgs {
    /// Configuration file (read only for firewall.persist_file; a broken config does
    /// not stop the restore, the default path is used with a warning).
    #[arg(long, short = 'c', default_value = "/etc/nodeward/nodeward.toml")]
    pub config: PathBuf,
    /// The ruleset for boot.
    #[command(flatten)]
    pub persist: PersistArgs,
    /// Check the file with `nft -c`; load nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments of the scratch-table worker.
#[derive(Debug, Args)]
pub struct ScratchArgs {
    /// The network namespace of the caller (the worker refuses to run in it).
    #[arg(long)]
    pub outside_netns: String,
}

/// Arguments of `firewall status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Config and state.
    #[command(flatten)]
    pub common: CommonArgs,
    /// The ruleset for boot.
    #[command(flatten)]
    pub persist: PersistArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
}

/// Arguments of the roll-back worker.
#[derive(Debug, Args)]
pub struct WorkerArgs {
    /// State directory.
    #[arg(long)]
    pub state_dir: PathBuf,
    /// The apply to roll back.
    #[arg(long)]
    pub token: String,
}

fn parse_duration(s: &str) -> std::result::Result<std::time::Duration, String> {
    let d = s.parse::<nodeward_config::Duration>()?.get();
    if d.is_zero() {
        return Err(
            "must be longer than zero (use --confirm to keep the rules without a timer)".into(),
        );
    }
    Ok(d)
}

fn load_policy(common: &CommonArgs) -> Result<(Policy, PathBuf, Sections)> {
    let sections = common.sections()?;
    let policy = Policy::from_section(&common.config, &sections.firewall)?;
    crate::egress_check::print_warnings(&policy);
    let state_dir = common.state_dir(Some(&sections));
    Ok((policy, state_dir, sections))
}

/// The persist file for `restore`: a config that cannot be read is not a reason to
/// leave the host without its firewall at boot.
fn restore_path(r: &RestoreArgs) -> PathBuf {
    if r.persist.persist_file.is_some() || !r.config.exists() {
        return r.persist.path(None);
    }
    match config::load(&r.config) {
        Ok(sections) => r.persist.path(Some(&sections)),
        Err(e) => {
            eprintln!("nodeward: warning: {e}; using the default {DEFAULT_PERSIST_FILE}");
            r.persist.path(None)
        }
    }
}

/// Runs `nodeward firewall ...`; returns the exit code.
pub fn run_firewall(args: FirewallArgs) -> Result<u8> {
    match args.command {
        FirewallCommand::Plan(c) => {
            let (policy, state_dir, _) = load_policy(&c)?;
            print!("{}", fw::render_plan(&policy, &state_dir)?);
            Ok(0)
        }
        FirewallCommand::Apply(a) => {
            let (policy, state_dir, sections) = load_policy(&a.common)?;
            fw::apply(
                &policy,
                &state_dir,
                &ApplyOptions {
                    rollback_after: a.rollback_after,
                    confirm_now: a.confirm,
                    force: a.force,
                    dry_run: a.dry_run,
                    persist_file: a.persist.path(Some(&sections)),
                },
            )
        }
        FirewallCommand::Confirm(k) => fw::confirm(
            &k.common.state_dir_lenient()?,
            &k.persist.path_lenient(&k.common)?,
        ),
        FirewallCommand::Rollback(c) => fw::rollback_now(&c.state_dir_lenient()?),
        FirewallCommand::Status(s) => fw::status(
            &s.common.state_dir_lenient()?,
            &s.persist.path_lenient(&s.common)?,
            s.format == OutputFormat::Json,
        ),
        FirewallCommand::Remove(k) => fw::remove(
            &k.common.state_dir_lenient()?,
            &k.persist.path_lenient(&k.common)?,
        ),
        FirewallCommand::Restore(r) => crate::persist::restore(&restore_path(&r), r.dry_run),
        FirewallCommand::RollbackWorker(w) => crate::rollback::run_worker(&w.state_dir, &w.token),
        FirewallCommand::ScratchTable(w) => crate::compare::run_scratch_worker(&w.outside_netns),
    }
}

/// `nodeward ban`.
#[derive(Debug, Args)]
pub struct BanArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: BanCommand,
}

/// `nodeward ban` subcommands.
#[derive(Debug, Subcommand)]
pub enum BanCommand {
    /// Follow the logs and ban sources after maxretry failures within findtime.
    Watch(WatchArgs),
    /// List active bans.
    List(ListArgs),
    /// Ban an address by hand.
    Add(AddArgs),
    /// Lift a ban.
    Remove(RemoveArgs),
    /// Read a whole log once and report failures and the bans watch would issue.
    Scan(ScanArgs),
}

/// Arguments of `ban watch`.
#[derive(Debug, Args)]
pub struct WatchArgs {
    /// Config and state.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Also read what the log files hold already (default: only new lines).
    #[arg(long)]
    pub from_start: bool,
    /// Print the bans that would be issued; change nothing.
    #[arg(long)]
    pub dry_run: bool,
}

/// Arguments of `ban list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Config and state.
    #[command(flatten)]
    pub common: CommonArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
}

/// Arguments of `ban add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// IPv4 or IPv6 address.
    pub addr: String,
    /// Ban length (default: ban.bantime).
    #[arg(long = "for", value_parser = parse_duration)]
    pub duration: Option<std::time::Duration>,
    /// Config and state.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Arguments of `ban remove`.
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// IPv4 or IPv6 address.
    pub addr: String,
    /// Config and state.
    #[command(flatten)]
    pub common: CommonArgs,
}

/// Arguments of `ban scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Log file to read.
    pub file: PathBuf,
    /// How the file is written: syslog (auth.log), sshd (sshd -E), gateway (JSON lines).
    #[arg(long, default_value = "syslog", value_parser = ["syslog", "sshd", "gateway"])]
    pub log_format: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "text")]
    pub format: OutputFormat,
    /// Configuration file (thresholds, patterns, trusted); defaults apply when it does not exist.
    #[arg(long, short = 'c', default_value = "/etc/nodeward/nodeward.toml")]
    pub config: PathBuf,
}

fn settings_for(common: &CommonArgs) -> Result<(BanSettings, PathBuf)> {
    let sections = common.sections()?;
    let settings = BanSettings::from_sections(&common.config, &sections)?;
    Ok((settings, common.state_dir(Some(&sections))))
}

fn lenient_settings(config: &Path) -> Result<BanSettings> {
    let sections = if config.exists() {
        config::load(config)?
    } else {
        Sections::default()
    };
    Ok(BanSettings::from_sections(config, &sections)?)
}

/// Runs `nodeward ban ...`; returns the exit code.
pub fn run_ban(args: BanArgs) -> Result<u8> {
    match args.command {
        BanCommand::Watch(w) => {
            let (settings, state_dir) = settings_for(&w.common)?;
            watch::watch(
                &settings,
                &state_dir,
                &watch::WatchOptions {
                    from_start: w.from_start,
                    dry_run: w.dry_run,
                },
            )
        }
        BanCommand::List(l) => ban::manage::list(
            &l.common.state_dir_lenient()?,
            l.format == OutputFormat::Json,
        ),
        BanCommand::Add(a) => {
            let addr = ban::manage::parse_addr(&a.addr)?;
            let settings = lenient_settings(&a.common.config)?;
            let state_dir = a.common.state_dir_lenient()?;
            ban::manage::add(&settings, &state_dir, addr, a.duration)
        }
        BanCommand::Remove(r) => {
            let addr = ban::manage::parse_addr(&r.addr)?;
            ban::manage::remove(&r.common.state_dir_lenient()?, addr)
        }
        BanCommand::Scan(s) => {
            let settings = lenient_settings(&s.config)?;
            let format = Format::parse(&s.log_format)
                .ok_or_else(|| Error::Usage(format!("unknown log format {:?}", s.log_format)))?;
            let report = scan::scan(&s.file, format, &settings)?;
            match s.format {
                OutputFormat::Json => println!(
                    "{}",
                    serde_json::to_string_pretty(&report).unwrap_or_default()
                ),
                OutputFormat::Text => scan::print_text(&report),
            }
            Ok(0)
        }
    }
}
