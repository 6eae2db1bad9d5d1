//! Command-line arguments of `nodeward scan` and `nodeward check`, and their runners.

use crate::check;
use crate::grade::observatory::PreloadList;
use crate::parts::{self, node::NodeKind, PartOutcome};
use crate::target::Target;
use crate::{portspec, ScanError};
use nodeward_probe::tls::Roots;
use nodeward_report::{Format, RenderOptions, Report, Severity};
use std::path::PathBuf;

/// A part of `nodeward scan`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Part {
    /// TLS versions, suites, certificate and the SSL Labs style grade.
    Tls,
    /// HTTP security headers with the MDN HTTP Observatory score.
    Headers,
    /// TCP connect scan against the expected open ports.
    Ports,
    /// Sensitive node API commands (needs --node).
    Node,
}

/// `nodeward scan TARGET`: grade a node from the outside.
#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// Host, host:port or URL (https:// assumed; the URL's path is graded for headers).
    pub target: String,
    /// Parts to run (default: tls,headers,ports, plus node when --node is given).
    #[arg(long, value_delimiter = ',')]
    pub only: Vec<Part>,
    /// Ports to scan: `22,80,443`, `1-1024`, `top1000` (default) or `-` for all 65,535 (`-p-`).
    #[arg(long, short = 'p', allow_hyphen_values = true)]
    pub ports: Option<String>,
    /// Ports that may be open (default 80, 443 and the target's port, or the profile's).
    #[arg(long, value_delimiter = ',')]
    pub expect: Vec<u16>,
    /// Node profile: its public ports are expected, its API ports must be closed.
    #[arg(long, value_enum)]
    pub profile: Option<crate::profile::Profile>,
    /// Probe a node API of this kind for sensitive commands.
    #[arg(long, value_enum)]
    pub node: Option<NodeKind>,
    /// Trust these CA certificates (PEM) instead of the system roots.
    #[arg(long)]
    pub ca: Option<PathBuf>,
    /// Name for SNI and certificate matching (default: the target host).
    #[arg(long)]
    pub servername: Option<String>,
    /// Chromium's HSTS preload list (transport_security_state_static.json), so
    /// preloaded hosts get Observatory's +5 (without it nobody gets it).
    #[arg(long)]
    pub hsts_preload: Option<PathBuf>,
    /// Plain-HTTP port for the redirection test (Observatory uses 80).
    #[arg(long, default_value_t = 80)]
    pub http_port: u16,
    /// Deadline for each network step, e.g. `5s`.
    #[arg(long, default_value = "5s")]
    pub timeout: nodeward_config::units::Duration,
    /// Most sockets open at once during the port scan.
    #[arg(long, default_value_t = 512)]
    pub concurrency: usize,
    /// Output format: text, json, html or junit.
    #[arg(long, default_value = "text")]
    pub format: Format,
    /// Exit 1 when a finding at or above this severity fails.
    #[arg(long, default_value = "medium")]
    pub fail_on: Severity,
}

/// `nodeward check KIND`: a monitoring plugin (exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN).
#[derive(Debug, clap::Args)]
pub struct CheckArgs {
    /// What to check.
    #[command(subcommand)]
    pub kind: check::CheckKind,
}

fn runtime() -> Result<tokio::runtime::Runtime, ScanError> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(ScanError::Runtime)
}

/// Runs `nodeward scan`; returns the exit code (0 or 1).
pub fn run_scan(args: ScanArgs) -> Result<u8, ScanError> {
    let target = Target::parse(&args.target)?;
    let mut ports = portspec::parse(args.ports.as_deref().unwrap_or("top1000"))?;
    let api_ports: Vec<u16> = args
        .profile
        .map(|p| p.api_ports().to_vec())
        .unwrap_or_default();
    if let (Some(profile), None) = (args.profile, &args.ports) {
        // The default list also covers the profile's own ports.
        ports.extend(profile.public_ports().iter().chain(profile.api_ports()));
        ports.sort_unstable();
        ports.dedup();
    }
    if args.concurrency == 0 || args.concurrency > 16_384 {
        return Err(ScanError::Usage(format!(
            "--concurrency {} must be between 1 and 16384",
            args.concurrency
        )));
    }
    let mut only = args.only.clone();
    if only.is_empty() {
        only = vec![Part::Tls, Part::Headers, Part::Ports];
        if args.node.is_some() {
            only.push(Part::Node);
        }
    }
    if only.contains(&Part::Node) && args.node.is_none() {
        return Err(ScanError::Usage(
            "--only node needs --node iri|jsonrpc|ilp".into(),
        ));
    }
    let roots = match &args.ca {
        Some(p) => {
            let r = Roots::File(p.clone());
            r.load().map_err(|e| ScanError::Usage(e.to_string()))?;
            r
        }
        None => Roots::System,
    };
    let servername = args
        .servername
        .clone()
        .unwrap_or_else(|| target.host.clone());
    let expected: Vec<u16> = if !args.expect.is_empty() {
        args.expect.clone()
    } else {
        let base: &[u16] = match args.profile {
            Some(p) => p.public_ports(),
            None => &[80, 443],
        };
        let mut e = base.to_vec();
        e.push(target.port);
        e.sort_unstable();
        e.dedup();
        e
    };
    let preload = match &args.hsts_preload {
        Some(p) => Some(PreloadList::load(p).map_err(ScanError::Usage)?),
        None => None,
    };
    let timeout = args.timeout.get();
    let rt = runtime()?;
    let outcomes: Vec<(&str, PartOutcome)> = rt.block_on(async {
        let mut out = Vec::new();
        for part in &only {
            let o = match part {
                Part::Tls => (
                    "tls",
                    parts::tls::run(
                        &target.host,
                        target.port,
                        &servername,
                        &target.url.path,
                        &roots,
                        timeout,
                    )
                    .await,
                ),
                Part::Headers => (
                    "headers",
                    parts::headers::run(
                        &target.url,
                        args.servername.as_deref(),
                        args.http_port,
                        &roots,
                        preload.as_ref(),
                        timeout,
                    )
                    .await,
                ),
                Part::Ports => (
                    "ports",
                    parts::ports::run(
                        &target.host,
                        &ports,
                        &expected,
                        &api_ports,
                        args.concurrency,
                        timeout,
                    )
                    .await,
                ),
                Part::Node => {
                    let kind = args.node.unwrap_or(NodeKind::Iri);
                    (
                        "node",
                        parts::node::run(kind, &target.url, &roots, timeout).await,
                    )
                }
            };
            out.push(o);
        }
        out
    });
    let mut report = Report::new("scan", args.target.clone());
    let mut worst: Option<String> = None;
    for (name, o) in outcomes {
        if let Some(g) = o.json.get("grade").and_then(|g| g.as_str()) {
            if worst
                .as_deref()
                .is_none_or(|w| grade_rank(g) > grade_rank(w))
            {
                worst = Some(g.to_string());
            }
        }
        if name == "headers" {
            report.score = o.json.get("score").and_then(|s| s.as_i64());
        }
        report.parts.insert(name.to_string(), o.json);
        report.findings.extend(o.findings);
    }
    report.grade = worst;
    let color = args.format == Format::Text && nodeward_report::render::stdout_wants_color();
    print!(
        "{}",
        nodeward_report::render(&report, args.format, RenderOptions { color })
    );
    Ok(u8::from(report.fails_at(args.fail_on)))
}

fn grade_rank(g: &str) -> usize {
    const ORDER: [&str; 17] = [
        "A+", "A", "A-", "B+", "B", "B-", "C+", "C", "C-", "D+", "D", "D-", "E", "F", "M", "T", "?",
    ];
    ORDER
        .iter()
        .position(|x| *x == g)
        .map(|p| if g == "T" || g == "M" { 13 } else { p })
        .unwrap_or(13)
}

/// Runs `nodeward check`; returns the plugin exit code (0..3).
pub fn run_check(args: CheckArgs) -> Result<u8, ScanError> {
    let rt = runtime()?;
    let out = rt.block_on(check::run(args.kind));
    println!("{}", out.line());
    Ok(out.state.code())
}
