//! SSH server checks (SSH-001 … SSH-012).
//!
//! On a live host the values come from `sshd -T` when it runs (root, host keys
//! present), with the file:line found by the parser; otherwise, and always
//! offline, from the parser's evaluation of sshd_config with OpenSSH semantics.

use super::{Check, Ctx, Outcome};
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
];
