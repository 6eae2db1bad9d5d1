//! Service checks (SVC-001, SVC-002): unneeded services, compilers.

use super::{Check, Ctx, Outcome};
use nodeward_report::Severity;

/// Services a node server should not run: (unit, process names, package).
const UNNEEDED: [(&str, &[&str]); 12] = [
    ("cups.service", &["cupsd"]),
    ("cups-browsed.service", &["cups-browsed"]),
    ("avahi-daemon.service", &["avahi-daemon"]),
    ("bluetooth.service", &["bluetoothd"]),
    ("rpcbind.service", &["rpcbind"]),
    ("inetd.service", &["inetd"]),
    ("telnetd.service", &["telnetd", "in.telnetd"]),
    ("vsftpd.service", &["vsftpd"]),
    ("proftpd.service", &["proftpd"]),
    ("pure-ftpd.service", &["pure-ftpd"]),
    (
        "display-manager.service",
        &["Xorg", "gdm", "gdm3", "lightdm", "sddm"],
    ),
    ("gdm.service", &["gdm3"]),
];

fn unneeded(ctx: &Ctx) -> Outcome {
    let mut seen = Vec::new();
    for (unit, procs) in UNNEEDED {
        if let Some(ev) = ctx.service_active(unit, procs) {
            seen.push(ev);
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
    if seen.is_empty() {
        Outcome::pass("none of cups, avahi-daemon, bluetooth, rpcbind, telnet, ftp or an X display manager runs or is enabled")
    } else {
        Outcome::fail(seen.join("; "))
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
