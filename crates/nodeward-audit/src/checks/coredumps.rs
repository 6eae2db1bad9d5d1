//! Core dumps (CORE-001 … CORE-003): a crashing node or a setuid program must
//! not leave its memory (keys, seeds, passwords) on disk.

use super::{Check, Ctx, Outcome};
use crate::facts::{limits, unitconf};
use nodeward_report::Severity;

fn suid_dumpable(ctx: &Ctx) -> Outcome {
    let (value, source) = match ctx.host.sysctl("fs.suid_dumpable") {
        Ok(v) => v,
        Err(e) => return e.into(),
    };
    let ev = format!("fs.suid_dumpable = {value} ({source})");
    match value.trim() {
        "0" => Outcome::pass(ev),
        "1" => Outcome::fail(format!("{ev}: every process, setuid ones included, may dump core")),
        "2" => Outcome::fail(format!(
            "{ev}: setuid programs dump core, readable by root only, wherever kernel.core_pattern sends them"
        )),
        other => Outcome::error(format!("{ev}: {other:?} is not 0, 1 or 2")),
    }
}

/// Whether systemd-coredump discards dumps, with the deciding lines.
fn coredump_discards(ctx: &Ctx) -> Result<(bool, String), Outcome> {
    let s = unitconf::read(ctx.host, "coredump.conf", "Coredump").map_err(Outcome::from)?;
    let storage = s.get("Storage");
    let size = s.get("ProcessSizeMax");
    let mut ev = Vec::new();
    let mut discards = false;
    match storage {
        Some(v) => {
            ev.push(format!("{}: Storage={}", v.source, v.value));
            discards |= v.value.eq_ignore_ascii_case("none");
        }
        None => ev.push("Storage not set in coredump.conf (default external: dumps kept in /var/lib/systemd/coredump)".into()),
    }
    if let Some(v) = size {
        ev.push(format!("{}: ProcessSizeMax={}", v.source, v.value));
        let digits = v.value.trim().trim_end_matches(['B', 'b']);
        discards |= !digits.is_empty() && digits.bytes().all(|b| b == b'0');
    }
    Ok((discards, ev.join("; ")))
}

fn core_pattern(ctx: &Ctx) -> Outcome {
    let (value, source) = match ctx.host.sysctl("kernel.core_pattern") {
        Ok(v) => v,
        Err(e) => return e.into(),
    };
    let ev = format!("kernel.core_pattern = {value} ({source})");
    let Some(pipe) = value.trim().strip_prefix('|') else {
        return Outcome::fail(format!(
            "{ev}: dumps are written as files, limited only by each process's core size limit"
        ));
    };
    let program = pipe.split_whitespace().next().unwrap_or("");
    let base = program.rsplit('/').next().unwrap_or(program);
    match base {
        "false" | "true" => Outcome::pass(format!("{ev}: dumps are piped to {program} and discarded")),
        "systemd-coredump" => match coredump_discards(ctx) {
            Err(o) => o,
            Ok((true, cfg)) => Outcome::pass(format!("{ev}; {cfg}: systemd-coredump discards them")),
            Ok((false, cfg)) => Outcome::fail(format!("{ev}; {cfg}: systemd-coredump stores them")),
        },
        "" => Outcome::error(format!("{ev}: a pipe without a program")),
        _ => Outcome::warn(format!(
            "{ev}: dumps go to {program}; check that it does not keep them (apport keeps them in /var/crash)"
        )),
    }
}

fn hard_limit(ctx: &Ctx) -> Outcome {
    let all = match limits::read(ctx.host) {
        Ok(l) => l,
        Err(e) => return e.into(),
    };
    let core: Vec<&limits::Limit> = all
        .iter()
        .filter(|l| l.item == "core" && l.is_hard())
        .collect();
    let wildcard = core.iter().rev().find(|l| l.domain == "*");
    let raising: Vec<String> = core
        .iter()
        .filter(|l| l.domain != "*" && l.value != "0")
        .map(|l| format!("{}: {} {} core {}", l.source, l.domain, l.kind, l.value))
        .collect();
    match wildcard {
        None => Outcome::fail(format!(
            "no `* hard core 0` in {} or {}/*.conf",
            limits::LIMITS_CONF,
            limits::LIMITS_D
        )),
        Some(l) if l.value != "0" => Outcome::fail(format!(
            "{}: * {} core {} (the last `*` line wins)",
            l.source, l.kind, l.value
        )),
        Some(l) if !raising.is_empty() => Outcome::fail(format!(
            "{}: * {} core 0, but these lines raise it for some users: {}",
            l.source,
            l.kind,
            raising.join("; ")
        )),
        Some(l) => Outcome::pass(format!("{}: * {} core 0", l.source, l.kind)),
    }
}

/// Core dump checks.
pub const CHECKS: &[Check] = &[
    Check {
        id: "CORE-001",
        area: "coredumps",
        severity: Severity::Medium,
        title: "Setuid programs never dump core (fs.suid_dumpable = 0)",
        remediation: "Write `fs.suid_dumpable = 0` to /etc/sysctl.d/60-nodeward.conf (it sorts after systemd's 50-coredump.conf, which sets 2) and run `sysctl --system`.",
        references: &["proc(5) /proc/sys/fs/suid_dumpable", "Lynis KRNL-6000", "CIS Debian 12 1.5.x"],
        run: suid_dumpable,
    },
    Check {
        id: "CORE-002",
        area: "coredumps",
        severity: Severity::Medium,
        title: "Core dumps are discarded (kernel.core_pattern)",
        remediation: "With systemd-coredump, write `[Coredump]`, `Storage=none` and `ProcessSizeMax=0` to /etc/systemd/coredump.conf.d/60-nodeward.conf and run `systemctl daemon-reload`; without it, write `kernel.core_pattern = |/bin/false` to /etc/sysctl.d/60-nodeward.conf and run `sysctl --system`.",
        references: &["core(5)", "coredump.conf(5)", "CIS Debian 12 1.5.x"],
        run: core_pattern,
    },
    Check {
        id: "CORE-003",
        area: "coredumps",
        severity: Severity::Low,
        title: "Login sessions cannot raise their core size limit (`* hard core 0`)",
        remediation: "Add `*    hard    core    0` to /etc/security/limits.d/60-nodeward.conf, and remove user or group lines that raise `core`; it applies from the next login.",
        references: &["limits.conf(5)", "Lynis KRNL-5820", "CIS Debian 12 1.5.x"],
        run: hard_limit,
    },
];
