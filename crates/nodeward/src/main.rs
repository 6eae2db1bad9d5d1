//! The `nodeward` binary: command-line parsing and dispatch only.
//!
//! Every command's arguments and logic live in its feature crate; this file
//! wires them into one CLI and turns their results into exit codes.

use clap::{Parser, Subcommand};
use std::process::ExitCode;

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
    /// Declarative host firewall on nftables: plan, apply with automatic roll-back, confirm.
    Firewall(nodeward_firewall::cli::FirewallArgs),
    /// Ban abusive sources from auth logs and gateway violations (nftables sets with timeouts).
    Ban(nodeward_firewall::cli::BanArgs),
    /// Work with the configuration file.
    #[command(subcommand)]
    Config(ConfigCommand),
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate a configuration file without running anything; errors name file:line.
    Check(nodeward_gateway::cli::ConfigCheckArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Gateway(args) => nodeward_gateway::cli::run_gateway(args),
        Command::Firewall(args) => {
            nodeward_firewall::cli::run_firewall(args).map_err(|e| e.to_string())
        }
        Command::Ban(args) => nodeward_firewall::cli::run_ban(args).map_err(|e| e.to_string()),
        Command::Config(ConfigCommand::Check(args)) => {
            nodeward_gateway::cli::run_config_check(args)
        }
    };
    match result {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            eprintln!("nodeward: {err:#}");
            ExitCode::from(2)
        }
    }
}
