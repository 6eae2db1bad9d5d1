//! SSH server checks (SSH-001 … SSH-019).
//!
//! On a live host the values come from `sshd -T` when it runs (root, host keys
//! present), with the file:line found by the parser; otherwise, and always
//! offline, from the parser's evaluation of sshd_config with OpenSSH semantics.

use super::{Check, Ctx, Outcome};
use crate::facts::sshtime;
use crate::host::{Fact, Host, Mode, Unavailable};
use crate::sshd::algorithms::{self, Kind, Strength};
use crate::sshd::{SshdConfig, SSHD_CONFIG};
use nodeward_report::Severity;
use std::collections::HashMap;

const SSHD_BIN: &str = "/usr/sbin/sshd";
const REF_MAN: &str = "sshd_config(5)";

/// What the audit knows about the SSH server.
#[derive(Debug, Clone)]
pub struct SshView {
    /// The parsed configuration, when readable.
    pub config: Option<SshdConfig>,
    /// Why the configuration could not be parsed, if it could not.
    pub config_error: Option<Unavailable>,
    /// `sshd -T` output (keyword -> values), when it ran.
    pub dumped: Option<HashMap<String, Vec<String>>>,
}

impl SshView {
    /// Reads the SSH server configuration of `host`.
    pub fn read(host: &dyn Host) -> Fact<SshView> {
        if !host.exists(SSHD_BIN)
            && !host.exists(SSHD_CONFIG)
            && host.read_link(SSHD_CONFIG).is_err()
        {
            return Err(Unavailable::skip(format!(
                "OpenSSH server not installed (no {SSHD_BIN} or {SSHD_CONFIG})"
            )));
        }
        let (config, config_error) = match SshdConfig::load(host, SSHD_CONFIG) {
            Ok(c) => (Some(c), None),
            Err(e) => (None, Some(e)),
        };
        let dumped = if host.mode() == Mode::Live {
            host.run(SSHD_BIN, &["-T"])
                .ok()
                .filter(|o| o.code == Some(0) && !o.stdout.is_empty())
                .map(|o| parse_dump(&o.stdout))
        } else {
            None
        };
        if config.is_none() && dumped.is_none() {
            return Err(
                config_error.unwrap_or_else(|| Unavailable::error("sshd_config unreadable"))
            );
        }
        Ok(SshView {
            config,
            config_error,
            dumped,
        })
    }

    /// Problems that make the parsed values untrustworthy (only when there is
    /// no `sshd -T` output to rely on).
    fn blocking_problems(&self) -> Option<String> {
        if self.dumped.is_some() {
            return None;
        }
        let cfg = self.config.as_ref()?;
        let mut all: Vec<String> = cfg
            .problems
            .iter()
            .map(|p| format!("{}: {}", p.location, p.message))
            .collect();
        all.extend(cfg.bad_match_lines());
        (!all.is_empty()).then(|| all.join("; "))
    }

    /// The value sshd uses for `keyword` with its evidence; `default` applies
    /// when nothing sets it.
    fn value(
        &self,
        keyword: &str,
        display: &str,
        default: &str,
    ) -> Result<(String, String), Outcome> {
        if let Some(problems) = self.blocking_problems() {
            return Err(Outcome::error(format!(
                "cannot tell what sshd uses: the configuration is broken: {problems}"
            )));
        }
        let setting = self
            .config
            .as_ref()
            .and_then(|c| c.effective(keyword, None));
        if let Some(dump) = &self.dumped {
            let v = dump
                .get(keyword)
                .map(|v| v.join(","))
                .unwrap_or_else(|| default.to_string());
            let v = normalise(keyword, &v);
            let mut ev = format!("sshd -T: {keyword} {v}");
            if let Some(s) = &setting {
                ev.push_str(&format!(" (set at {}:{})", s.file, s.line));
            }
            return Ok((v, ev));
        }
        match setting {
            Some(s) => Ok((normalise(keyword, &s.args.join(" ")), s.evidence(display))),
            None => Ok((
                default.to_string(),
                format!("{display} not set in {SSHD_CONFIG} or its includes; OpenSSH default is {default}"),
            )),
        }
    }
}

fn normalise(keyword: &str, v: &str) -> String {
    let v = v.trim().to_ascii_lowercase();
    if keyword == "permitrootlogin" && v == "without-password" {
        "prohibit-password".into()
    } else {
        v
    }
}

/// Parses `sshd -T` output.
pub fn parse_dump(text: &str) -> HashMap<String, Vec<String>> {
    let mut out: HashMap<String, Vec<String>> = HashMap::new();
    for line in text.lines() {
        if let Some((k, v)) = line.split_once(' ') {
            out.entry(k.to_string()).or_default().push(v.to_string());
        }
    }
    out
}

fn view<'c>(ctx: &'c Ctx) -> Result<&'c SshView, Outcome> {
    ctx.sshd().as_ref().map_err(|e| Outcome::from(e.clone()))
}

fn yes_no(ctx: &Ctx, keyword: &str, display: &str, default: &str, want: &str) -> Outcome {
    let v = match view(ctx) {
        Ok(v) => v,
        Err(o) => return o,
    };
    match v.value(keyword, display, default) {
        Err(o) => o,
        Ok((value, ev)) if value == want => Outcome::pass(ev),
        Ok((value, ev)) if value == "yes" || value == "no" => Outcome::fail(ev),
        Ok((value, ev)) => Outcome::error(format!(
            "{ev}: {value:?} is not yes or no (sshd refuses to start)"
        )),
    }
}

fn password_auth(ctx: &Ctx) -> Outcome {
    yes_no(
        ctx,
        "passwordauthentication",
        "PasswordAuthentication",
        "yes",
        "no",
    )
}

fn root_login(ctx: &Ctx) -> Outcome {
    let v = match view(ctx) {
        Ok(v) => v,
        Err(o) => return o,
    };
    match v.value("permitrootlogin", "PermitRootLogin", "prohibit-password") {
        Err(o) => o,
        Ok((value, ev)) => match value.as_str() {
            "no" => Outcome::pass(ev),
            "prohibit-password" | "forced-commands-only" => {
                Outcome::warn(format!("{ev} (root may still log in with a key)"))
            }
            "yes" => Outcome::fail(ev),
            other => Outcome::error(format!("{ev}: {other:?} is not a PermitRootLogin value")),
        },
    }
}

fn empty_passwords(ctx: &Ctx) -> Outcome {
    yes_no(
        ctx,
        "permitemptypasswords",
        "PermitEmptyPasswords",
        "no",
        "no",
    )
}

fn pubkey(ctx: &Ctx) -> Outcome {
    yes_no(
        ctx,
        "pubkeyauthentication",
        "PubkeyAuthentication",
        "yes",
        "yes",
    )
}

fn x11(ctx: &Ctx) -> Outcome {
    yes_no(ctx, "x11forwarding", "X11Forwarding", "no", "no")
}

fn port(ctx: &Ctx) -> Outcome {
    let v = match view(ctx) {
        Ok(v) => v,
        Err(o) => return o,
    };
    if let Some(p) = v.blocking_problems() {
        return Outcome::error(format!(
            "cannot tell what sshd uses: the configuration is broken: {p}"
        ));
    }
    let (ports, ev): (Vec<String>, String) = match (&v.dumped, &v.config) {
        (Some(d), _) => {
            let ports = d.get("port").cloned().unwrap_or_else(|| vec!["22".into()]);
            let ev = format!("sshd -T: port {}", ports.join(", "));
            (ports, ev)
        }
        (None, Some(cfg)) => {
            let settings = cfg.all_global("port");
            if settings.is_empty() {
                (
                    vec!["22".into()],
                    format!("Port not set in {SSHD_CONFIG}; OpenSSH default is 22"),
                )
            } else {
                let ports = settings.iter().flat_map(|s| s.args.clone()).collect();
                let ev = settings
                    .iter()
                    .map(|s| s.evidence("Port"))
                    .collect::<Vec<_>>()
                    .join("; ");
                (ports, ev)
            }
        }
        (None, None) => return Outcome::skip("no sshd configuration"),
    };
    if ports.iter().any(|p| p.trim() == "22") {
        Outcome::fail(ev)
    } else {
        Outcome::pass(ev)
    }
}

fn max_auth_tries(ctx: &Ctx) -> Outcome {
    let v = match view(ctx) {
        Ok(v) => v,
        Err(o) => return o,
    };
    match v.value("maxauthtries", "MaxAuthTries", "6") {
        Err(o) => o,
        Ok((value, ev)) => match value.parse::<u32>() {
            Ok(n) if n <= 4 => Outcome::pass(ev),
            Ok(_) => Outcome::fail(ev),
            Err(_) => Outcome::error(format!(
                "{ev}: {value:?} is not a number (sshd refuses to start)"
            )),
        },
    }
}

fn crypto(ctx: &Ctx, kind: Kind) -> Outcome {
    let v = match view(ctx) {
        Ok(v) => v,
        Err(o) => return o,
    };
    if let Some(p) = v.blocking_problems() {
        return Outcome::error(format!(
            "cannot tell what sshd uses: the configuration is broken: {p}"
        ));
    }
    let setting = v
        .config
        .as_ref()
        .and_then(|c| c.effective(kind.keyword(), None));
    let (list, source) = match &v.dumped {
        Some(d) => (
            d.get(kind.keyword())
                .map(|l| l.join(",").split(',').map(String::from).collect())
                .unwrap_or_default(),
            format!("sshd -T {}", kind.keyword()),
        ),
        None => (
            algorithms::effective_list(kind, setting.as_ref()),
            match &setting {
                Some(s) => s.evidence(kind.name()),
                None => format!("{} not set; OpenSSH 9 default list", kind.name()),
            },
        ),
    };
    let broken: Vec<&str> = list
        .iter()
        .filter(|a| algorithms::strength(kind, a) == Strength::Broken)
        .map(String::as_str)
        .collect();
    let weak: Vec<&str> = list
        .iter()
        .filter(|a| algorithms::strength(kind, a) == Strength::Weak)
        .map(String::as_str)
        .collect();
    let ev = format!("{source}: {}", list.join(","));
    let good: Vec<&str> = list
        .iter()
        .filter(|a| algorithms::strength(kind, a) == Strength::Good)
        .map(String::as_str)
        .collect();
    let fix = format!("{} {}", kind.name(), good.join(","));
    if !broken.is_empty() {
        Outcome::fail(format!("{ev}; broken: {}", broken.join(","))).fix(format!(
            "Remove {} from the server: set `{fix}` in {SSHD_CONFIG} (or `{} -{}`), then `systemctl reload ssh`.",
            broken.join(", "),
            kind.name(),
            broken.join(",")
        ))
    } else if !weak.is_empty() {
        Outcome::warn(format!("{ev}; weak: {}", weak.join(","))).fix(format!(
            "Set `{fix}` in {SSHD_CONFIG} to drop {}, then `systemctl reload ssh`.",
            weak.join(", ")
        ))
    } else {
        Outcome::pass(ev)
    }
}

fn kex(ctx: &Ctx) -> Outcome {
    crypto(ctx, Kind::Kex)
}
fn ciphers(ctx: &Ctx) -> Outcome {
    crypto(ctx, Kind::Ciphers)
}
fn macs(ctx: &Ctx) -> Outcome {
    crypto(ctx, Kind::Macs)
}

fn match_overrides(ctx: &Ctx) -> Outcome {
    let v = match view(ctx) {
        Ok(v) => v,
        Err(o) => return o,
    };
    let Some(cfg) = &v.config else {
        return Outcome::skip(format!(
            "{SSHD_CONFIG} could not be parsed: {}",
            v.config_error
                .as_ref()
                .map(|e| e.reason.as_str())
                .unwrap_or("unknown")
        ));
    };
    let weakening: [(&str, &str, &[&str]); 4] = [
        ("passwordauthentication", "PasswordAuthentication", &["yes"]),
        ("permitrootlogin", "PermitRootLogin", &["yes"]),
        ("permitemptypasswords", "PermitEmptyPasswords", &["yes"]),
        ("pubkeyauthentication", "PubkeyAuthentication", &["no"]),
    ];
    let mut bad = Vec::new();
    for (kw, display, values) in weakening {
        for s in cfg.under_match(kw) {
            if values.contains(&s.first_lower().as_str()) {
                bad.push(s.evidence(display));
            }
        }
    }
    let blocks = cfg
        .entries
        .iter()
        .filter(|e| matches!(e, crate::sshd::Entry::Match { .. }))
        .count();
    if bad.is_empty() {
        Outcome::pass(format!(
            "{blocks} Match block(s) in {} file(s); none re-enables password, empty-password or root login",
            cfg.files.len()
        ))
    } else {
        Outcome::fail(bad.join("; "))
    }
}

fn config_valid(ctx: &Ctx) -> Outcome {
    let v = match view(ctx) {
        Ok(v) => v,
        Err(o) => return o,
    };
    let Some(cfg) = &v.config else {
        return match &v.config_error {
            Some(e) => Outcome::from(e.clone()),
            None => Outcome::skip("sshd_config not parsed"),
        };
    };
    let mut all: Vec<String> = cfg
        .problems
        .iter()
        .map(|p| format!("{}: {}", p.location, p.message))
        .collect();
    all.extend(cfg.bad_match_lines());
    if all.is_empty() {
        Outcome::pass(format!(
            "read {} file(s) without problems: {}",
            cfg.files.len(),
            cfg.files.join(", ")
        ))
    } else {
        Outcome::fail(all.join("; "))
    }
}

/// Values that `Match` blocks give `keyword` for some connections, when they
/// differ from `want`: a global `no` that a `Match User x` turns back to `yes`.
fn match_exceptions(
    v: &SshView,
    keyword: &str,
    display: &str,
    ok: impl Fn(&str) -> bool,
) -> Vec<String> {
    v.config
        .as_ref()
        .map(|c| {
            c.under_match(keyword)
                .into_iter()
                .filter(|s| !ok(&s.first_lower()))
                .map(|s| s.evidence(display))
                .collect()
        })
        .unwrap_or_default()
}

/// A check of one keyword: `judge` turns the value sshd uses into pass/fail
/// (or an error for values sshd refuses); `Match` blocks that set a value
/// `judge` would fail make the verdict a warning.
fn keyword_check(
    ctx: &Ctx,
    keyword: &str,
    display: &str,
    default: &str,
    judge: fn(&str) -> Result<bool, String>,
) -> Outcome {
    let v = match view(ctx) {
        Ok(v) => v,
        Err(o) => return o,
    };
    let (value, ev) = match v.value(keyword, display, default) {
        Err(o) => return o,
        Ok(x) => x,
    };
    match judge(&value.to_ascii_lowercase()) {
        Err(why) => Outcome::error(format!("{ev}: {why}")),
        Ok(false) => Outcome::fail(ev),
        Ok(true) => {
            let exceptions = match_exceptions(v, keyword, display, |x| judge(x) == Ok(true));
            if exceptions.is_empty() {
                Outcome::pass(ev)
            } else {
                Outcome::warn(format!(
                    "{ev}, but Match blocks set it otherwise for some connections: {}",
                    exceptions.join("; ")
                ))
            }
        }
    }
}

fn judge_no(v: &str) -> Result<bool, String> {
    match v {
        "no" => Ok(true),
        "yes" | "all" | "local" | "remote" => Ok(false),
        other => Err(format!(
            "{other:?} is not a valid value (sshd refuses to start)"
        )),
    }
}

fn tcp_forwarding(ctx: &Ctx) -> Outcome {
    keyword_check(
        ctx,
        "allowtcpforwarding",
        "AllowTcpForwarding",
        "yes",
        judge_no,
    )
}

fn agent_forwarding(ctx: &Ctx) -> Outcome {
    keyword_check(
        ctx,
        "allowagentforwarding",
        "AllowAgentForwarding",
        "yes",
        judge_no,
    )
}

/// The most sessions per connection SSH-015 accepts (Lynis uses the same).
const MAX_SESSIONS: u32 = 2;

fn max_sessions(ctx: &Ctx) -> Outcome {
    keyword_check(ctx, "maxsessions", "MaxSessions", "10", |v| {
        v.parse::<u32>()
            .map(|n| n <= MAX_SESSIONS)
            .map_err(|_| format!("{v:?} is not a number (sshd refuses to start)"))
    })
}

fn log_level(ctx: &Ctx) -> Outcome {
    let o = keyword_check(ctx, "loglevel", "LogLevel", "INFO", |v| match v {
        "verbose" | "debug" | "debug1" | "debug2" | "debug3" => Ok(true),
        "quiet" | "fatal" | "error" | "info" => Ok(false),
        other => Err(format!(
            "{other:?} is not a LogLevel (sshd refuses to start)"
        )),
    });
    let debug = view(ctx)
        .ok()
        .and_then(|v| v.value("loglevel", "LogLevel", "INFO").ok())
        .is_some_and(|(value, _)| value.to_ascii_lowercase().starts_with("debug"));
    if o.status == nodeward_report::Status::Pass && debug {
        let ev = format!(
            "{} (DEBUG logs the key fingerprints too, but sshd_config(5) warns it violates users' privacy: VERBOSE is enough)",
            o.evidence
        );
        return Outcome::pass(ev);
    }
    o
}

fn allow_lists(ctx: &Ctx) -> Outcome {
    let v = match view(ctx) {
        Ok(v) => v,
        Err(o) => return o,
    };
    if let Some(p) = v.blocking_problems() {
        return Outcome::error(format!(
            "cannot tell what sshd uses: the configuration is broken: {p}"
        ));
    }
    let mut set = Vec::new();
    for (kw, display) in [("allowusers", "AllowUsers"), ("allowgroups", "AllowGroups")] {
        if let Some(d) = &v.dumped {
            if let Some(vals) = d.get(kw) {
                let mut ev = format!("sshd -T: {kw} {}", vals.join(" "));
                if let Some(s) = v.config.as_ref().and_then(|c| c.effective(kw, None)) {
                    ev.push_str(&format!(" (set at {}:{})", s.file, s.line));
                }
                set.push(ev);
            }
        } else if let Some(s) = v.config.as_ref().and_then(|c| c.effective(kw, None)) {
            set.push(s.evidence(display));
        }
    }
    if !set.is_empty() {
        return Outcome::pass(set.join("; "));
    }
    let only_match = [("allowusers", "AllowUsers"), ("allowgroups", "AllowGroups")]
        .iter()
        .flat_map(|(kw, d)| match_exceptions(v, kw, d, |_| false))
        .collect::<Vec<_>>();
    let mut ev = format!("neither AllowUsers nor AllowGroups is set globally in {SSHD_CONFIG} or its includes: every account with a key or password may log in");
    if !only_match.is_empty() {
        ev.push_str(&format!(
            " (only inside Match blocks: {})",
            only_match.join("; ")
        ));
    }
    Outcome::fail(ev)
}

fn client_alive(ctx: &Ctx) -> Outcome {
    let v = match view(ctx) {
        Ok(v) => v,
        Err(o) => return o,
    };
    let (interval, iev) = match v.value("clientaliveinterval", "ClientAliveInterval", "0") {
        Ok(x) => x,
        Err(o) => return o,
    };
    let (count, cev) = match v.value("clientalivecountmax", "ClientAliveCountMax", "3") {
        Ok(x) => x,
        Err(o) => return o,
    };
    let ev = format!("{iev}; {cev}");
    let Some(secs) = sshtime::parse_seconds(&interval) else {
        return Outcome::error(format!(
            "{ev}: {interval:?} is not a time (sshd refuses to start)"
        ));
    };
    let Ok(n) = count.parse::<u32>() else {
        return Outcome::error(format!(
            "{ev}: {count:?} is not a number (sshd refuses to start)"
        ));
    };
    if secs == 0 {
        Outcome::fail(format!(
            "{ev}: interval 0 sends no keep-alive probes, dead sessions stay open"
        ))
    } else if n == 0 {
        Outcome::fail(format!(
            "{ev}: ClientAliveCountMax 0 never drops an unresponsive session (OpenSSH 8.2+)"
        ))
    } else if n > 3 {
        Outcome::fail(format!("{ev}: more than 3 unanswered probes"))
    } else {
        Outcome::pass(format!(
            "{ev}: an unresponsive session is dropped after {}s",
            secs * u64::from(n)
        ))
    }
}

/// The longest LoginGraceTime SSH-019 accepts, in seconds.
const MAX_GRACE: u64 = 60;

fn login_grace(ctx: &Ctx) -> Outcome {
    let v = match view(ctx) {
        Ok(v) => v,
        Err(o) => return o,
    };
    let (value, ev) = match v.value("logingracetime", "LoginGraceTime", "120") {
        Ok(x) => x,
        Err(o) => return o,
    };
    match sshtime::parse_seconds(&value) {
        None => Outcome::error(format!(
            "{ev}: {value:?} is not a time (sshd refuses to start)"
        )),
        Some(0) => Outcome::fail(format!(
            "{ev}: 0 means no limit, unauthenticated connections stay open"
        )),
        Some(s) if s > MAX_GRACE => Outcome::fail(format!("{ev}: {s}s is over {MAX_GRACE}s")),
        Some(s) => Outcome::pass(format!("{ev} ({s}s)")),
    }
}

/// SSH checks.
pub const CHECKS: &[Check] = &[
    Check {
        id: "SSH-001",
        area: "ssh",
        severity: Severity::High,
        title: "SSH password authentication is disabled",
        remediation: "Set `PasswordAuthentication no` in /etc/ssh/sshd_config (before any Match block, and in no earlier Include), make sure your key works, then `systemctl reload ssh`.",
        references: &[REF_MAN, "CIS Debian 12 5.1.x", "iri-playbook: SSH hardening"],
        run: password_auth,
    },
    Check {
        id: "SSH-002",
        area: "ssh",
        severity: Severity::High,
        title: "SSH root login is disabled",
        remediation: "Set `PermitRootLogin no` in /etc/ssh/sshd_config, log in as an unprivileged user and use sudo, then `systemctl reload ssh`.",
        references: &[REF_MAN, "CIS Debian 12 5.1.x"],
        run: root_login,
    },
    Check {
        id: "SSH-003",
        area: "ssh",
        severity: Severity::Critical,
        title: "SSH refuses empty passwords",
        remediation: "Set `PermitEmptyPasswords no` in /etc/ssh/sshd_config, then `systemctl reload ssh`.",
        references: &[REF_MAN],
        run: empty_passwords,
    },
    Check {
        id: "SSH-004",
        area: "ssh",
        severity: Severity::Medium,
        title: "SSH public-key authentication is enabled",
        remediation: "Set `PubkeyAuthentication yes` in /etc/ssh/sshd_config and log in with keys.",
        references: &[REF_MAN],
        run: pubkey,
    },
    Check {
        id: "SSH-005",
        area: "ssh",
        severity: Severity::Low,
        title: "SSH listens on a non-default port",
        remediation: "Set `Port <number>` (not 22) in /etc/ssh/sshd_config, allow it in the firewall first, then `systemctl reload ssh`. This only reduces log noise from scanners.",
        references: &[REF_MAN, "iri-playbook: SSH hardening"],
        run: port,
    },
    Check {
        id: "SSH-006",
        area: "ssh",
        severity: Severity::Medium,
        title: "SSH allows at most 4 authentication attempts per connection",
        remediation: "Set `MaxAuthTries 3` in /etc/ssh/sshd_config, then `systemctl reload ssh`.",
        references: &[REF_MAN, "CIS Debian 12 5.1.x"],
        run: max_auth_tries,
    },
    Check {
        id: "SSH-007",
        area: "ssh",
        severity: Severity::Low,
        title: "SSH X11 forwarding is disabled",
        remediation: "Set `X11Forwarding no` in /etc/ssh/sshd_config (Debian's default file sets it to yes), then `systemctl reload ssh`.",
        references: &[REF_MAN, "CIS Debian 12 5.1.x"],
        run: x11,
    },
    Check {
        id: "SSH-008",
        area: "ssh",
        severity: Severity::Medium,
        title: "SSH key exchange offers no broken algorithms",
        remediation: "Set `KexAlgorithms sntrup761x25519-sha512@openssh.com,curve25519-sha256,curve25519-sha256@libssh.org,diffie-hellman-group16-sha512,diffie-hellman-group18-sha512` in /etc/ssh/sshd_config.",
        references: &[REF_MAN, "ssh-audit policy", "RFC 9142"],
        run: kex,
    },
    Check {
        id: "SSH-009",
        area: "ssh",
        severity: Severity::Medium,
        title: "SSH ciphers include no broken algorithms",
        remediation: "Set `Ciphers chacha20-poly1305@openssh.com,aes256-gcm@openssh.com,aes128-gcm@openssh.com,aes256-ctr,aes192-ctr,aes128-ctr` in /etc/ssh/sshd_config.",
        references: &[REF_MAN, "ssh-audit policy"],
        run: ciphers,
    },
    Check {
        id: "SSH-010",
        area: "ssh",
        severity: Severity::Medium,
        title: "SSH MACs include no broken or weak algorithms",
        remediation: "Set `MACs hmac-sha2-256-etm@openssh.com,hmac-sha2-512-etm@openssh.com,umac-128-etm@openssh.com` in /etc/ssh/sshd_config.",
        references: &[REF_MAN, "ssh-audit policy"],
        run: macs,
    },
    Check {
        id: "SSH-011",
        area: "ssh",
        severity: Severity::High,
        title: "No SSH Match block re-enables password, empty-password or root login",
        remediation: "Remove `PasswordAuthentication yes`, `PermitRootLogin yes`, `PermitEmptyPasswords yes` and `PubkeyAuthentication no` from Match blocks in /etc/ssh/sshd_config and its includes.",
        references: &[REF_MAN],
        run: match_overrides,
    },
    Check {
        id: "SSH-012",
        area: "ssh",
        severity: Severity::Medium,
        title: "sshd_config and its includes are valid",
        remediation: "Fix the reported lines (include loops, unreadable includes, bad quoting, bad Match conditions); `sshd -t` must succeed before reloading.",
        references: &[REF_MAN],
        run: config_valid,
    },
    Check {
        id: "SSH-013",
        area: "ssh",
        severity: Severity::Medium,
        title: "SSH TCP forwarding is disabled",
        remediation: "Set `AllowTcpForwarding no` in /etc/ssh/sshd_config before any Match block (a Match block only covers the connections it matches), then `systemctl reload ssh`. A forwarded port lets a stolen login reach the node's local API behind the firewall.",
        references: &[REF_MAN, "Lynis SSH-7408", "CIS Debian 12 5.1.x"],
        run: tcp_forwarding,
    },
    Check {
        id: "SSH-014",
        area: "ssh",
        severity: Severity::Low,
        title: "SSH agent forwarding is disabled",
        remediation: "Set `AllowAgentForwarding no` in /etc/ssh/sshd_config before any Match block, then `systemctl reload ssh`.",
        references: &[REF_MAN, "Lynis SSH-7408"],
        run: agent_forwarding,
    },
    Check {
        id: "SSH-015",
        area: "ssh",
        severity: Severity::Low,
        title: "SSH allows at most 2 sessions per connection",
        remediation: "Set `MaxSessions 2` in /etc/ssh/sshd_config, then `systemctl reload ssh`.",
        references: &[REF_MAN, "Lynis SSH-7408", "CIS Debian 12 5.1.x"],
        run: max_sessions,
    },
    Check {
        id: "SSH-016",
        area: "ssh",
        severity: Severity::Low,
        title: "SSH logs at VERBOSE level (key fingerprints of logins)",
        remediation: "Set `LogLevel VERBOSE` in /etc/ssh/sshd_config, then `systemctl reload ssh`; the fingerprint of the key used for each login is then logged.",
        references: &[REF_MAN, "Lynis SSH-7408", "CIS Debian 12 5.1.x"],
        run: log_level,
    },
    Check {
        id: "SSH-017",
        area: "ssh",
        severity: Severity::Medium,
        title: "SSH logins are limited to listed users or groups",
        remediation: "Set `AllowGroups sshusers` (and `groupadd sshusers; usermod -aG sshusers <you>`) or `AllowUsers <you>` in /etc/ssh/sshd_config, keep a session open, then `systemctl reload ssh`.",
        references: &[REF_MAN, "CIS Debian 12 5.1.x"],
        run: allow_lists,
    },
    Check {
        id: "SSH-018",
        area: "ssh",
        severity: Severity::Low,
        title: "SSH drops unresponsive sessions (ClientAliveInterval > 0, ClientAliveCountMax 1-3)",
        remediation: "Set `ClientAliveInterval 300` and `ClientAliveCountMax 3` in /etc/ssh/sshd_config, then `systemctl reload ssh`.",
        references: &[REF_MAN, "Lynis SSH-7408", "CIS Debian 12 5.1.x"],
        run: client_alive,
    },
    Check {
        id: "SSH-019",
        area: "ssh",
        severity: Severity::Low,
        title: "SSH gives at most 60 seconds to log in (LoginGraceTime)",
        remediation: "Set `LoginGraceTime 60` (or `30s`, `1m`) in /etc/ssh/sshd_config, then `systemctl reload ssh`.",
        references: &[REF_MAN, "Lynis SSH-7408", "CIS Debian 12 5.1.x"],
        run: login_grace,
    },
];
