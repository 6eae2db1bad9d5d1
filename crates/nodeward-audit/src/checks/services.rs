//! Service checks (SVC-001, SVC-002): unneeded services, compilers.

use super::{Check, Ctx, Outcome, Service, ServiceState};
use nodeward_report::Severity;

/// Services a node server should not run: (unit, process names, ports).
/// Ports catch socket activation (systemd holding `cups.socket`).
const UNNEEDED: [Service<'static>; 12] = [
    Service {
        unit: "cups.service",
        processes: &["cupsd"],
        ports: &[("tcp", 631)],
    },
    Service {
        unit: "cups-browsed.service",
        processes: &["cups-browsed"],
        ports: &[("udp", 631)],
    },
    Service {
        unit: "avahi-daemon.service",
        processes: &["avahi-daemon"],
        ports: &[("udp", 5353)],
    },
    Service {
        unit: "bluetooth.service",
        processes: &["bluetoothd"],
        ports: &[],
    },
    Service {
        unit: "rpcbind.service",
        processes: &["rpcbind"],
        ports: &[("tcp", 111), ("udp", 111)],
    },
    Service {
        unit: "inetd.service",
        processes: &["inetd"],
        ports: &[],
    },
    Service {
        unit: "telnetd.service",
        processes: &["telnetd", "in.telnetd"],
        ports: &[("tcp", 23)],
    },
    Service {
        unit: "vsftpd.service",
        processes: &["vsftpd"],
        ports: &[("tcp", 21)],
    },
    Service {
        unit: "proftpd.service",
        processes: &["proftpd"],
        ports: &[("tcp", 21)],
    },
    Service {
        unit: "pure-ftpd.service",
        processes: &["pure-ftpd"],
        ports: &[("tcp", 21)],
    },
    Service {
        unit: "display-manager.service",
        processes: &["Xorg", "gdm", "gdm3", "lightdm", "sddm"],
        ports: &[],
    },
    Service {
        unit: "gdm.service",
        processes: &["gdm3"],
        ports: &[],
    },
];

fn unneeded(ctx: &Ctx) -> Outcome {
    let mut seen = Vec::new();
    let mut unknown = Vec::new();
    for svc in &UNNEEDED {
        match ctx.service_state(svc) {
            ServiceState::Running(ev) | ServiceState::EnabledOffline(ev) => seen.push(ev),
            ServiceState::EnabledNotRunning(ev) => seen.push(format!("{ev} now (starts at boot)")),
            ServiceState::Unknown(ev) => unknown.push(ev),
            ServiceState::Inactive => {}
        }
    }
    if ctx.host.exists("/etc/inetd.conf") {
        if let Ok(text) = ctx.host.read_text("/etc/inetd.conf") {
            for (i, l) in text.lines().enumerate() {
                let l = l.trim();
                if !l.starts_with('#') && (l.starts_with("telnet") || l.starts_with("ftp")) {
                    seen.push(format!("/etc/inetd.conf:{}: {l}", i + 1));
                }
            }
        }
    }
    seen.sort();
    seen.dedup();
    if !seen.is_empty() {
        Outcome::fail(seen.join("; "))
    } else if !unknown.is_empty() {
        Outcome::warn(unknown.join("; "))
    } else if ctx.live() {
        Outcome::pass("none of cups, avahi-daemon, bluetooth, rpcbind, telnet, ftp or an X display manager runs, listens on its port or is enabled")
    } else {
        Outcome::pass("none of cups, avahi-daemon, bluetooth, rpcbind, telnet, ftp or an X display manager is enabled")
    }
}

const COMPILERS: [&str; 8] = [
    "/usr/bin/gcc",
    "/usr/bin/cc",
    "/usr/bin/c++",
    "/usr/bin/g++",
    "/usr/bin/clang",
    "/usr/bin/tcc",
    "/usr/bin/as",
    "/usr/bin/rustc",
];

fn compilers(ctx: &Ctx) -> Outcome {
    let found: Vec<&str> = COMPILERS
        .iter()
        .copied()
        .filter(|p| ctx.host.exists(p))
        .collect();
    if found.is_empty() {
        Outcome::pass("no gcc, cc, c++, clang, tcc, as or rustc in /usr/bin")
    } else {
        Outcome::fail(format!("compilers installed: {}", found.join(", ")))
    }
}

/// Service checks.
pub const CHECKS: &[Check] = &[
    Check {
        id: "SVC-001",
        area: "services",
        severity: Severity::Medium,
        title: "No unneeded network services run or are enabled",
        remediation: "`systemctl disable --now <unit>` and `apt purge` what the node does not need (cups, avahi-daemon, bluez, rpcbind, telnetd, ftp servers, X display managers).",
        references: &["CIS Debian 12 2.2"],
        run: unneeded,
    },
    Check {
        id: "SVC-002",
        area: "services",
        severity: Severity::Low,
        title: "No compilers are installed on the production node",
        remediation: "Build elsewhere and `apt purge gcc g++ clang build-essential` on the node (or restrict them to root: `chmod 700 /usr/bin/gcc*`).",
        references: &["Lynis HRDN-7222"],
        run: compilers,
    },
];
