//! The `nodeward` binary: command-line parsing and dispatch only.
//!
//! Every command's arguments and logic live in its feature crate; this file
//! wires them into one CLI and turns their results into exit codes.

use clap::{Parser, Subcommand};

/// mimalloc: the gateway allocates per request (headers, bodies, futures) and
/// glibc's malloc showed up as a tenth of its user-space instructions.
/// The `system-alloc` feature keeps the system allocator instead, for heap
/// profilers that hook `malloc` (valgrind, heaptrack).
#[cfg(not(feature = "system-alloc"))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
use std::process::ExitCode;

#[cfg(not(feature = "system-alloc"))]
mod allocator;
mod generate;
mod init;
mod report_cmd;

/// nodeward hardens, guards and watches servers that run blockchain and payment nodes.
#[derive(Parser)]
#[command(
    name = "nodeward",
    version,
    about,
    long_about = "nodeward hardens, guards and watches servers that run blockchain and payment \
nodes (IOTA fullnodes, Interledger connectors, Cardano stake pools, masternodes, JSON-RPC nodes).\n\n\
One binary, one config file (/etc/nodeward/nodeward.toml unless --config is given); every \
command works on its own. Reporting commands exit 0 when nothing at or above --fail-on failed, \
1 when something did and 2 on a usage, configuration or runtime error.",
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the secure reverse proxy and load balancer in front of node APIs.
    Gateway(nodeward_gateway::cli::GatewayArgs),
    /// Audit this host (or an offline root with --root) against the node hardening checklist.
    Audit(nodeward_audit::cli::AuditArgs),
    /// Declarative host firewall on nftables: plan, apply with automatic roll-back, confirm.
    Firewall(nodeward_firewall::cli::FirewallArgs),
    /// Ban abusive sources from auth logs and gateway violations (nftables sets with timeouts).
    Ban(nodeward_firewall::cli::BanArgs),
    /// Grade a node from the outside: TLS, HTTP security headers, open ports, node commands.
    Scan(nodeward_scan::ScanArgs),
    /// Monitoring plugins (Nagios/Icinga/Consul): exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    Check(nodeward_scan::CheckArgs),
    /// Create API keys for the gateway: `generate` a key, `hash` one read from stdin.
    Keys(nodeward_gateway::cli::KeysArgs),
    /// File integrity: baseline (init), verify (check), accept changes (update), show one entry.
    Fim(nodeward_fim::cli::FimArgs),
    /// Render the latest audit, scan and fim results into one self-contained HTML file.
    Report(report_cmd::ReportArgs),
    /// Cluster mode: the gateways sharing an etcd prefix (`status`), pushed config revisions (`push`, `revisions`).
    Cluster(nodeward_cluster::cli::ClusterArgs),
    /// Work with the configuration file.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Write a starting configuration for a node kind, then print the next steps.
    Init(init::InitArgs),
    /// Write man pages or shell completions (used by scripts/package.sh).
    #[command(hide = true)]
    Generate(generate::GenerateArgs),
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate a configuration file without running anything; errors name file:line.
    Check(ConfigCheckArgs),
}

/// Arguments of `nodeward config check`.
#[derive(clap::Args)]
struct ConfigCheckArgs {
    /// Configuration file to validate.
    #[arg(long, short = 'c', default_value = "/etc/nodeward/nodeward.toml")]
    config: std::path::PathBuf,
}

/// Top-level tables owned by commands whose crates do not check them here yet.
const OTHER_TABLES: &[&str] = &["audit", "firewall", "ban", "scan", "check", "fim"];

/// Runs every command's config validation over one file's text; lists all problems.
fn config_problems(path: &std::path::Path, text: &str) -> Vec<String> {
    let mut problems: Vec<String> = Vec::new();
    let known: Vec<&str> = nodeward_gateway::config::OWNED_TABLES
        .iter()
        .chain(OTHER_TABLES)
        .copied()
        .collect();
    match nodeward_config::unknown_tables(path, text, &known) {
        Ok(unknown) => problems.extend(unknown.into_iter().map(|t| {
            format!(
                "{}: unknown top-level table or key {t:?} (known: {})",
                path.display(),
                known.join(", ")
            )
        })),
        Err(e) => problems.push(e.to_string()),
    }
    if let Err(e) = nodeward_gateway::config::check_text(path, text) {
        problems.push(e.to_string());
    }
    if let Err(e) = nodeward_firewall::config::check_text(path, text) {
        problems.push(e.to_string());
    }
    if let Err(e) = nodeward_fim::config::FimConfig::from_text(path, text) {
        problems.push(e.to_string());
    }
    if let Err(e) = nodeward_audit::config::AuditConfig::check_text(path, text) {
        problems.push(e.to_string());
    }
    problems.dedup();
    problems
}

/// `nodeward config check`: prints OK or every problem of the file.
fn config_check(path: &std::path::Path) -> Result<u8, String> {
    let text = nodeward_config::read_config_file(path).map_err(|e| e.to_string())?;
    let problems = config_problems(path, &text);
    if problems.is_empty() {
        println!("{}: OK", path.display());
        Ok(0)
    } else {
        for p in &problems {
            eprintln!("{p}");
        }
        Ok(2)
    }
}

fn main() -> ExitCode {
    nodeward_gateway::listen::tls::install_process_provider();
    // `nodeward check` is a monitoring plugin: any usage or runtime error is
    // UNKNOWN (3) there, per the Nagios plugin guidelines; elsewhere it is 2.
    let is_check = std::env::args().nth(1).as_deref() == Some("check");
    let error_code: u8 = if is_check { 3 } else { 2 };
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { error_code } else { 0 });
        }
    };
    let result = match cli.command {
        Command::Gateway(args) => {
            #[cfg(not(feature = "system-alloc"))]
            {
                allocator::settle_for_gateway();
                nodeward_gateway::trim::set_hook(allocator::collect);
            }
            nodeward_gateway::cli::run_gateway(args).map_err(|e| e.to_string())
        }
        Command::Keys(args) => nodeward_gateway::cli::run_keys(args).map_err(|e| e.to_string()),
        Command::Audit(args) => nodeward_audit::cli::run(args).map_err(|e| e.to_string()),
        Command::Firewall(args) => {
            nodeward_firewall::cli::run_firewall(args).map_err(|e| e.to_string())
        }
        Command::Ban(args) => nodeward_firewall::cli::run_ban(args).map_err(|e| e.to_string()),
        Command::Scan(args) => nodeward_scan::run_scan(args).map_err(|e| e.to_string()),
        Command::Check(args) => nodeward_scan::run_check(args).map_err(|e| e.to_string()),
        Command::Fim(args) => nodeward_fim::cli::run(args).map_err(|e| e.to_string()),
        Command::Report(args) => report_cmd::run(args).map_err(|e| e.to_string()),
        Command::Cluster(args) => {
            // A pushed config is checked by the very code a gateway reload runs.
            let validate = |path: &std::path::Path, text: &str| {
                nodeward_gateway::config::load_from_str(path, text)
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            };
            nodeward_cluster::cli::run(args, &validate).map_err(|e| e.to_string())
        }
        Command::Config(ConfigCommand::Check(args)) => config_check(&args.config),
        Command::Init(args) => init::run(args, config_problems),
        Command::Generate(args) => generate::run(args, <Cli as clap::CommandFactory>::command()),
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("nodeward: {err:#}");
            ExitCode::from(error_code)
        }
    }
}
