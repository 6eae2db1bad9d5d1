//! Kernel parameters (KRN-001 … KRN-008): live from /proc/sys, offline from
//! the sysctl configuration files.

use super::{Check, Ctx, Outcome};
use nodeward_report::Severity;

/// Checks that every key in `keys` has a value accepted by `ok`.
fn sysctl_all(ctx: &Ctx, keys: &[&str], ok: fn(&str) -> bool, want: &str) -> Outcome {
    let mut good = Vec::new();
    let mut bad = Vec::new();
    for key in keys {
        match ctx.host.sysctl(key) {
            Ok((value, source)) => {
                let line = format!("{key} = {value} ({source})");
                if ok(value.trim()) {
                    good.push(line);
                } else {
                    bad.push(line);
                }
            }
            Err(e) => return e.into(),
        }
    }
    if bad.is_empty() {
        Outcome::pass(good.join("; "))
    } else {
        let fix = keys
            .iter()
            .map(|k| format!("{k} = {want}"))
            .collect::<Vec<_>>()
            .join(", ");
        Outcome::fail(bad.join("; ")).fix(format!(
            "Write {fix} (one per line) to /etc/sysctl.d/60-nodeward.conf and run `sysctl --system`."
        ))
    }
}

fn syncookies(ctx: &Ctx) -> Outcome {
    sysctl_all(ctx, &["net.ipv4.tcp_syncookies"], |v| v == "1", "1")
}

fn rp_filter(ctx: &Ctx) -> Outcome {
    sysctl_all(
        ctx,
        &[
            "net.ipv4.conf.all.rp_filter",
            "net.ipv4.conf.default.rp_filter",
        ],
        |v| v == "1" || v == "2",
        "1",
    )
}

fn redirects(ctx: &Ctx) -> Outcome {
    sysctl_all(
        ctx,
        &[
            "net.ipv4.conf.all.accept_redirects",
            "net.ipv4.conf.default.accept_redirects",
            "net.ipv6.conf.all.accept_redirects",
            "net.ipv6.conf.default.accept_redirects",
        ],
        |v| v == "0",
        "0",
    )
}

fn source_route(ctx: &Ctx) -> Outcome {
    sysctl_all(
        ctx,
        &[
            "net.ipv4.conf.all.accept_source_route",
            "net.ipv4.conf.default.accept_source_route",
            "net.ipv6.conf.all.accept_source_route",
            "net.ipv6.conf.default.accept_source_route",
        ],
        |v| v == "0",
        "0",
    )
}

fn aslr(ctx: &Ctx) -> Outcome {
    sysctl_all(ctx, &["kernel.randomize_va_space"], |v| v == "2", "2")
}

fn protected_links(ctx: &Ctx) -> Outcome {
    sysctl_all(
        ctx,
        &["fs.protected_hardlinks", "fs.protected_symlinks"],
        |v| v == "1",
        "1",
    )
}

fn dmesg(ctx: &Ctx) -> Outcome {
    sysctl_all(ctx, &["kernel.dmesg_restrict"], |v| v == "1", "1")
}

fn kptr(ctx: &Ctx) -> Outcome {
    sysctl_all(
        ctx,
        &["kernel.kptr_restrict"],
        |v| v == "1" || v == "2",
        "1",
    )
}

const REF: &str = "CIS Debian 12 3.3";

/// Kernel checks.
pub const CHECKS: &[Check] = &[
    Check {
        id: "KRN-001",
        area: "kernel",
        severity: Severity::Medium,
        title: "TCP SYN cookies are on (net.ipv4.tcp_syncookies = 1)",
        remediation: "Write `net.ipv4.tcp_syncookies = 1` to /etc/sysctl.d/60-nodeward.conf and run `sysctl --system`.",
        references: &[REF],
        run: syncookies,
    },
    Check {
        id: "KRN-002",
        area: "kernel",
        severity: Severity::Low,
        title: "Reverse-path filtering is on (rp_filter = 1 or 2)",
        remediation: "Write `net.ipv4.conf.all.rp_filter = 1` and `net.ipv4.conf.default.rp_filter = 1` to /etc/sysctl.d/60-nodeward.conf and run `sysctl --system`.",
        references: &[REF],
        run: rp_filter,
    },
    Check {
        id: "KRN-003",
        area: "kernel",
        severity: Severity::Medium,
        title: "ICMP redirects are ignored (accept_redirects = 0, IPv4 and IPv6)",
        remediation: "Write `net.ipv4.conf.all.accept_redirects = 0`, `net.ipv4.conf.default.accept_redirects = 0`, `net.ipv6.conf.all.accept_redirects = 0`, `net.ipv6.conf.default.accept_redirects = 0` to /etc/sysctl.d/60-nodeward.conf and run `sysctl --system`.",
        references: &[REF],
        run: redirects,
    },
    Check {
        id: "KRN-004",
        area: "kernel",
        severity: Severity::Medium,
        title: "Source-routed packets are refused (accept_source_route = 0)",
        remediation: "Write the four `accept_source_route = 0` keys (ipv4/ipv6, all/default) to /etc/sysctl.d/60-nodeward.conf and run `sysctl --system`.",
        references: &[REF],
        run: source_route,
    },
    Check {
        id: "KRN-005",
        area: "kernel",
        severity: Severity::High,
        title: "Full address-space layout randomisation (kernel.randomize_va_space = 2)",
        remediation: "Write `kernel.randomize_va_space = 2` to /etc/sysctl.d/60-nodeward.conf and run `sysctl --system`.",
        references: &["CIS Debian 12 1.5"],
        run: aslr,
    },
    Check {
        id: "KRN-006",
        area: "kernel",
        severity: Severity::Medium,
        title: "Hard- and symlink protection is on (fs.protected_hardlinks/symlinks = 1)",
        remediation: "Write `fs.protected_hardlinks = 1` and `fs.protected_symlinks = 1` to /etc/sysctl.d/60-nodeward.conf and run `sysctl --system`.",
        references: &["proc_sys_fs(5)"],
        run: protected_links,
    },
    Check {
        id: "KRN-007",
        area: "kernel",
        severity: Severity::Low,
        title: "The kernel log is restricted to root (kernel.dmesg_restrict = 1)",
        remediation: "Write `kernel.dmesg_restrict = 1` to /etc/sysctl.d/60-nodeward.conf and run `sysctl --system`.",
        references: &["Lynis KRNL-6000"],
        run: dmesg,
    },
    Check {
        id: "KRN-008",
        area: "kernel",
        severity: Severity::Low,
        title: "Kernel pointers are hidden (kernel.kptr_restrict >= 1)",
        remediation: "Write `kernel.kptr_restrict = 1` to /etc/sysctl.d/60-nodeward.conf and run `sysctl --system`.",
        references: &["Lynis KRNL-6000"],
        run: kptr,
    },
];
