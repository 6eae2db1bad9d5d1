//! Interledger checks (ILP-001 … ILP-004), run with `--profile ilp`: the
//! connector's admin API and moneyd-gui are not public, PM2 does not run as
//! root, and the versions of the ILP packages are listed for a person to
//! compare (nothing offline says which release is current).

use super::{Check, Ctx, Outcome};
use crate::facts::ilp::{self, App, Deployment, IlpConfig, Located};
use crate::facts::sockets::is_public;
use crate::host::{Process, Socket};
use crate::profile::GATEWAY_PROCESSES;
use nodeward_report::Severity;
use std::net::IpAddr;

/// `Some(skip)` unless the audit runs with the ilp profile.
fn not_ilp(ctx: &Ctx) -> Option<Outcome> {
    (ctx.profile.name != "ilp").then(|| {
        Outcome::skip(format!(
            "only with --profile ilp (the profile is {})",
            ctx.profile.name
        ))
    })
}

/// Whether a process is an ILP program of `app`'s kind (node runs them all,
/// so the command line decides).
fn process_app(p: &Process) -> Option<App> {
    match p.comm.as_str() {
        "ilp-connector" => Some(App::Connector),
        "moneyd" => Some(App::Moneyd),
        "moneyd-gui" => Some(App::MoneydGui),
        c if c.starts_with("node") => ilp::classify(&p.cmdline),
        _ => None,
    }
}

fn owners(s: &Socket) -> String {
    if s.owners.is_empty() {
        "owner unknown".into()
    } else {
        s.owners
            .iter()
            .map(|(n, p)| format!("{n} pid {p}"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn behind_gateway(s: &Socket) -> bool {
    s.owners
        .iter()
        .any(|(n, _)| GATEWAY_PROCESSES.contains(&n.as_str()))
}

/// `CONNECTOR_*` variables of a live process (from /proc/PID/environ).
fn environ(ctx: &Ctx, pid: u32) -> Vec<(String, String)> {
    let Ok(bytes) = ctx
        .host
        .read_bytes(&format!("/proc/{pid}/environ"), 256 * 1024)
    else {
        return Vec::new();
    };
    bytes
        .split(|b| *b == 0)
        .filter_map(|kv| {
            let kv = String::from_utf8_lossy(kv);
            let (k, v) = kv.split_once('=')?;
            k.starts_with("CONNECTOR_")
                .then(|| (k.to_string(), v.to_string()))
        })
        .collect()
}

/// Whether a configured bind host keeps a listener on this machine only.
fn loopback_host(h: &str) -> bool {
    let h = h.trim().trim_start_matches('[').trim_end_matches(']');
    h.eq_ignore_ascii_case("localhost") || h.parse::<IpAddr>().is_ok_and(|a| !is_public(&a))
}

fn truthy(v: &str) -> bool {
    // ilp-connector's BOOLEAN_VALUES: "1" and "true" are true, all else false.
    matches!(v.trim(), "1" | "true")
}

/// The admin API a configured connector opens: `None` when disabled, else
/// (host, where the host was set, port).
fn admin_api(d: &Deployment) -> Option<(String, String, String)> {
    let get = |k: &str| d.env.get(k);
    let port_from = |l: Option<&Located>, default: u16| {
        l.map(|l| format!("{} ({})", l.value, l.at))
            .unwrap_or_else(|| format!("{default} (default)"))
    };
    let (host, host_at) = match get("CONNECTOR_ADMIN_API_HOST") {
        Some(l) => (l.value.clone(), l.at.clone()),
        None => ("127.0.0.1".to_string(), "default".to_string()),
    };
    match d.app {
        App::MoneydGui => None,
        // moneyd enables the admin API when --admin-api-port is given.
        App::Moneyd if d.admin_port_arg.is_some() => Some((
            host,
            host_at,
            port_from(d.admin_port_arg.as_ref(), ilp::MONEYD_ADMIN_PORT),
        )),
        _ => match get("CONNECTOR_ADMIN_API") {
            Some(l) if truthy(&l.value) => Some((
                host,
                host_at,
                port_from(get("CONNECTOR_ADMIN_API_PORT"), ilp::CONNECTOR_ADMIN_PORT),
            )),
            _ => None,
        },
    }
}

fn admin_api_not_public(ctx: &Ctx) -> Outcome {
    if let Some(s) = not_ilp(ctx) {
        return s;
    }
    if ctx.live() {
        return admin_api_live(ctx);
    }
    let cfg = ilp::read(ctx.host);
    let connectors: Vec<&Deployment> = cfg
        .deployments
        .iter()
        .filter(|d| d.app != App::MoneydGui)
        .collect();
    if connectors.is_empty() {
        return nothing_configured(&cfg, "ilp-connector or moneyd");
    }
    let mut exposed = Vec::new();
    let mut fine = Vec::new();
    for d in connectors {
        match admin_api(d) {
            None => fine.push(format!(
                "{} ({}): admin API disabled (CONNECTOR_ADMIN_API not true)",
                d.app.name(),
                d.source
            )),
            Some((host, at, port)) if loopback_host(&host) => fine.push(format!(
                "{} ({}): admin API on {host} ({at}) port {port}",
                d.app.name(),
                d.source
            )),
            Some((host, at, port)) => exposed.push(format!(
                "{} ({}): admin API on {host} ({at}) port {port}",
                d.app.name(),
                d.source
            )),
        }
    }
    if exposed.is_empty() {
        Outcome::pass(fine.join("; "))
    } else {
        Outcome::fail(exposed.join("; "))
    }
}

fn nothing_configured(cfg: &IlpConfig, what: &str) -> Outcome {
    let why = format!(
        "no {what} found in systemd units, PM2 ecosystem files (homes, /opt, /srv) or PM2 process lists"
    );
    if cfg.unreadable.is_empty() {
        Outcome::skip(why)
    } else {
        // A broken file may be the very configuration looked for.
        Outcome::error(format!("{why}; unreadable: {}", cfg.unreadable.join("; ")))
    }
}

/// Live: connector processes, their admin ports (environ, --admin-api-port,
/// defaults) and the sockets they listen on.
fn admin_api_live(ctx: &Ctx) -> Outcome {
    let procs = match ctx.processes() {
        Ok(p) => p,
        Err(e) => return e.clone().into(),
    };
    let connectors: Vec<&Process> = procs
        .iter()
        .filter(|p| matches!(process_app(p), Some(App::Connector | App::Moneyd)))
        .collect();
    if connectors.is_empty() {
        return Outcome::skip("no ilp-connector or moneyd process runs");
    }
    let mut ports = vec![ilp::CONNECTOR_ADMIN_PORT, ilp::MONEYD_ADMIN_PORT];
    for p in &connectors {
        for (k, v) in environ(ctx, p.pid) {
            if k == "CONNECTOR_ADMIN_API_PORT" {
                ports.extend(v.trim().parse::<u16>());
            }
        }
        if let Some(n) = ilp::admin_port_arg(&p.cmdline) {
            ports.extend(n.parse::<u16>());
        }
    }
    ports.sort_unstable();
    ports.dedup();
    let sockets = match ctx.sockets() {
        Ok(s) => s,
        Err(e) => return e.clone().into(),
    };
    let pids: Vec<u32> = connectors.iter().map(|p| p.pid).collect();
    let mut exposed = Vec::new();
    let mut fine = Vec::new();
    for s in sockets.iter().filter(|s| {
        s.proto == "tcp"
            && ports.contains(&s.port)
            && (s.owners.is_empty() || s.owners.iter().any(|(_, pid)| pids.contains(pid)))
    }) {
        let line = format!("{}/tcp on {} ({})", s.port, s.addr, owners(s));
        if is_public(&s.addr) && !behind_gateway(s) {
            exposed.push(line);
        } else {
            fine.push(line);
        }
    }
    let running = connectors
        .iter()
        .map(|p| format!("{} pid {}", p.comm, p.pid))
        .collect::<Vec<_>>()
        .join(", ");
    if !exposed.is_empty() {
        Outcome::fail(format!(
            "admin API listens publicly: {} (connector: {running})",
            exposed.join("; ")
        ))
    } else if fine.is_empty() {
        Outcome::pass(format!(
            "no admin API listens on ports {ports:?} (connector: {running})"
        ))
    } else {
        Outcome::pass(format!("admin API loopback-only: {}", fine.join("; ")))
    }
}

fn gui_not_public(ctx: &Ctx) -> Outcome {
    if let Some(s) = not_ilp(ctx) {
        return s;
    }
    if ctx.live() {
        let procs = match ctx.processes() {
            Ok(p) => p,
            Err(e) => return e.clone().into(),
        };
        let guis: Vec<u32> = procs
            .iter()
            .filter(|p| process_app(p) == Some(App::MoneydGui))
            .map(|p| p.pid)
            .collect();
        if guis.is_empty() {
            return Outcome::skip("no moneyd-gui process runs");
        }
        let sockets = match ctx.sockets() {
            Ok(s) => s,
            Err(e) => return e.clone().into(),
        };
        let mine: Vec<&Socket> = sockets
            .iter()
            .filter(|s| s.proto == "tcp" && s.owners.iter().any(|(_, p)| guis.contains(p)))
            .collect();
        let exposed: Vec<String> = mine
            .iter()
            .filter(|s| is_public(&s.addr))
            .map(|s| format!("{}/tcp on {} ({})", s.port, s.addr, owners(s)))
            .collect();
        return if !exposed.is_empty() {
            Outcome::fail(format!(
                "moneyd-gui listens publicly: {}",
                exposed.join("; ")
            ))
        } else if mine.is_empty() {
            Outcome::warn(format!(
                "moneyd-gui runs (pid {guis:?}) but its sockets could not be matched (run the audit as root)"
            ))
        } else {
            Outcome::pass(format!(
                "moneyd-gui loopback-only: {}",
                mine.iter()
                    .map(|s| format!("{}/tcp on {}", s.port, s.addr))
                    .collect::<Vec<_>>()
                    .join("; ")
            ))
        };
    }
    let cfg = ilp::read(ctx.host);
    let guis: Vec<String> = cfg
        .deployments
        .iter()
        .filter(|d| d.app == App::MoneydGui)
        .map(|d| {
            let port = d
                .env
                .get("PORT")
                .map(|l| format!("{} ({})", l.value, l.at))
                .unwrap_or_else(|| format!("{} (default)", ilp::GUI_PORT));
            format!("{} starts moneyd-gui on port {port}", d.source)
        })
        .collect();
    if guis.is_empty() {
        if !cfg.unreadable.is_empty() {
            return nothing_configured(&cfg, "moneyd-gui");
        }
        return Outcome::pass(
            "moneyd-gui is not started by any systemd unit, PM2 ecosystem file or PM2 process list",
        );
    }
    // moneyd-gui has no bind-address setting: its code decides. The GitHub
    // sources listen on every interface, the npm release 0.1.2 on 127.0.0.1.
    let dirs = ilp::node_module_dirs(ctx.host, &cfg.project_dirs);
    let binds = ilp::gui_binds(ctx.host, &dirs);
    let started = guis.join("; ");
    if binds.is_empty() {
        return Outcome::warn(format!(
            "{started}; no installed moneyd-gui src/app.js found (looked in {}), so where it binds is unknown",
            dirs.join(", ")
        ));
    }
    let public: Vec<String> = binds
        .iter()
        .filter(|b| !b.loopback)
        .map(|b| format!("{}: {} (every interface)", b.at, b.call))
        .collect();
    if public.is_empty() {
        Outcome::pass(format!(
            "{started}; it binds 127.0.0.1: {}",
            binds
                .iter()
                .map(|b| format!("{}: {}", b.at, b.call))
                .collect::<Vec<_>>()
                .join("; ")
        ))
    } else {
        Outcome::fail(format!("{started}; {}", public.join("; ")))
    }
}

fn pm2_unprivileged(ctx: &Ctx) -> Outcome {
    if let Some(s) = not_ilp(ctx) {
        return s;
    }
    if ctx.live() {
        let procs = match ctx.processes() {
            Ok(p) => p,
            Err(e) => return e.clone().into(),
        };
        // PM2 names its daemon "PM2 vX.Y.Z: God Daemon (HOME)"; a daemon that
        // has exited but is not reaped yet (a zombie) has no command line.
        let daemons: Vec<&Process> = procs
            .iter()
            .filter(|p| !p.cmdline.trim().is_empty())
            .filter(|p| p.comm.starts_with("PM2 v") || p.cmdline.contains("God Daemon"))
            .collect();
        if daemons.is_empty() {
            return Outcome::skip("no PM2 daemon (\"PM2 v…: God Daemon\") runs");
        }
        let list = |ps: &[&&Process]| {
            ps.iter()
                .map(|p| format!("{} pid {} uid {}", p.cmdline.trim(), p.pid, p.uid))
                .collect::<Vec<_>>()
                .join("; ")
        };
        let root: Vec<&&Process> = daemons.iter().filter(|p| p.uid == 0).collect();
        return if root.is_empty() {
            Outcome::pass(list(&daemons.iter().collect::<Vec<_>>()))
        } else {
            Outcome::fail(format!("PM2 runs as root: {}", list(&root)))
        };
    }
    let cfg = ilp::read(ctx.host);
    let mut bad = Vec::new();
    let mut fine = Vec::new();
    for u in &cfg.pm2_units {
        match &u.user {
            Some(l) if l.value != "root" && l.value != "0" => {
                fine.push(format!("{}: User={}", l.at, l.value))
            }
            Some(l) => bad.push(format!("{}: User={}", l.at, l.value)),
            None => bad.push(format!("{}: no User= (runs as root)", u.path)),
        }
    }
    for (path, n) in &cfg.pm2_dumps {
        if path.starts_with("/root/") && *n > 0 {
            bad.push(format!("{path}: root's PM2 saved {n} process(es)"));
        }
    }
    if !bad.is_empty() {
        Outcome::fail(bad.join("; "))
    } else if !fine.is_empty() {
        Outcome::pass(fine.join("; "))
    } else if !cfg.unreadable.is_empty() {
        Outcome::error(format!(
            "no PM2 startup unit (pm2-<user>.service) found; unreadable: {}",
            cfg.unreadable.join("; ")
        ))
    } else {
        Outcome::skip("no PM2 startup unit (pm2-<user>.service) or saved PM2 process list found")
    }
}

fn versions(ctx: &Ctx) -> Outcome {
    if let Some(s) = not_ilp(ctx) {
        return s;
    }
    let cfg = ilp::read(ctx.host);
    let dirs = ilp::node_module_dirs(ctx.host, &cfg.project_dirs);
    let pkgs = ilp::installed_packages(ctx.host, &dirs);
    if pkgs.is_empty() {
        return Outcome::skip(format!(
            "none of {}, ilp-plugin-*, moneyd-uplink-* installed in {}",
            ilp::PACKAGES.join(", "),
            dirs.join(", ")
        ));
    }
    let list: Vec<String> = pkgs
        .iter()
        .map(|p| format!("{} {} ({})", p.name, p.version, p.path))
        .collect();
    // No offline reference says which release is current: a person compares.
    Outcome::manual(format!(
        "installed: {}; compare each with `npm view <package> version`",
        list.join("; ")
    ))
}

/// ILP checks.
pub const CHECKS: &[Check] = &[
    Check {
        id: "ILP-001",
        area: "ilp",
        severity: Severity::High,
        title: "The connector's admin API is not reachable from outside",
        remediation: "Leave CONNECTOR_ADMIN_API_HOST at 127.0.0.1 (the default) or unset CONNECTOR_ADMIN_API; the admin API has no authentication, so reach it over SSH or through `nodeward gateway` with access control, never directly.",
        references: &[
            "ilp-connector README: adminApiHost (\"should never be made public\")",
            "Interledger connector guide: keep the connector monitored and private",
        ],
        run: admin_api_not_public,
    },
    Check {
        id: "ILP-002",
        area: "ilp",
        severity: Severity::Medium,
        title: "moneyd-gui is not reachable from outside",
        remediation: "Install moneyd-gui 0.1.2 from npm (it binds 127.0.0.1; the GitHub sources bind every interface) or drop its port (PORT, default 7770) in the firewall; reach it through an SSH tunnel or `nodeward gateway` with access control, and stop it when not in use.",
        references: &["moneyd-gui README (PORT, ADMIN_API_PORT)"],
        run: gui_not_public,
    },
    Check {
        id: "ILP-003",
        area: "ilp",
        severity: Severity::High,
        title: "PM2 runs as an unprivileged user",
        remediation: "Run PM2 as the connector's own user: `pm2 unstartup` as root, then as that user `pm2 startup` and run the printed command (it writes pm2-<user>.service with User=<user>); remove /root/.pm2.",
        references: &["PM2 docs: startup script (pm2 startup -u USER)"],
        run: pm2_unprivileged,
    },
    Check {
        id: "ILP-004",
        area: "ilp",
        severity: Severity::Info,
        title: "ilp-connector, moneyd, moneyd-gui and PM2 versions are current",
        remediation: "Compare with `npm view <package> version` and update: `npm install -g ilp-connector@latest moneyd@latest moneyd-gui@latest pm2@latest`, then `pm2 update`.",
        references: &["Interledger connector guide: keep the connector, moneyd-gui and PM2 up to date"],
        run: versions,
    },
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts() {
        for h in ["127.0.0.1", "localhost", "::1", "[::1]", "127.0.0.5"] {
            assert!(loopback_host(h), "{h}");
        }
        for h in ["0.0.0.0", "::", "203.0.113.4", "ilp.example", ""] {
            assert!(!loopback_host(h), "{h}");
        }
        assert!(truthy("true") && truthy("1") && !truthy("yes") && !truthy("false"));
    }
}
