//! Accounts and PAM (ACC-001 … ACC-010).

use super::{Check, Ctx, Outcome};
use crate::facts::keyvalue;
use crate::facts::users::{accounts as read_accounts, parse_shadow};
use nodeward_report::Severity;

fn uid0(ctx: &Ctx) -> Outcome {
    let (accounts, bad) = match read_accounts(ctx.host) {
        Ok(a) => a,
        Err(e) => return e.into(),
    };
    if accounts.is_empty() {
        return Outcome::error(format!(
            "/etc/passwd has no valid entries{}",
            bad.first()
                .map(|b| format!(" (line {}: {})", b.line, b.reason))
                .unwrap_or_default()
        ));
    }
    let others: Vec<String> = accounts
        .iter()
        .filter(|a| a.uid == 0 && a.name != "root")
        .map(|a| format!("/etc/passwd:{}: {} has UID 0", a.line, a.name))
        .collect();
    if others.is_empty() {
        Outcome::pass(format!(
            "only root has UID 0 among {} accounts",
            accounts.len()
        ))
    } else {
        Outcome::fail(others.join("; "))
    }
}

fn empty_hashes(ctx: &Ctx) -> Outcome {
    let text = match ctx.host.read_text("/etc/shadow") {
        Ok(t) => t,
        Err(e) => return e.into(),
    };
    let entries = parse_shadow(&text);
    let empty: Vec<String> = entries
        .iter()
        .filter(|e| e.hash.is_empty())
        .map(|e| format!("/etc/shadow:{}: {} has an empty password", e.line, e.name))
        .collect();
    if empty.is_empty() {
        Outcome::pass(format!(
            "no empty password field among {} shadow entries",
            entries.len()
        ))
    } else {
        Outcome::fail(empty.join("; "))
    }
}

/// The PAM password stack files of Debian and RHEL families.
const PAM_PASSWORD: [&str; 3] = [
    "/etc/pam.d/common-password",
    "/etc/pam.d/system-auth",
    "/etc/pam.d/password-auth",
];

/// Active (uncommented) lines of the PAM password stacks that load `module`,
/// with `file:line` and the module arguments.
fn pam_lines(ctx: &Ctx, files: &[&str], module: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for file in files {
        let Ok(text) = ctx.host.read_text(file) else {
            continue;
        };
        for (i, line) in text.lines().enumerate() {
            let l = line.trim();
            if l.starts_with('#') || l.is_empty() {
                continue;
            }
            let words: Vec<&str> = l.split_whitespace().collect();
            if let Some(pos) = words.iter().position(|w| w.ends_with(module)) {
                out.push((
                    format!("{file}:{}: {l}", i + 1),
                    words[pos + 1..].iter().map(|s| s.to_string()).collect(),
                ));
            }
        }
    }
    out
}

fn arg_num(args: &[String], key: &str) -> Option<i64> {
    args.iter()
        .find_map(|a| a.strip_prefix(&format!("{key}=")))
        .and_then(|v| v.parse().ok())
}

/// A numeric setting from a `key = value` file and its drop-in directory.
fn conf_num(ctx: &Ctx, file: &str, dir: &str, key: &str) -> Option<(i64, String)> {
    let mut files = vec![file.to_string()];
    if let Ok(names) = ctx.host.list_dir(dir) {
        files.extend(
            names
                .into_iter()
                .filter(|n| n.ends_with(".conf"))
                .map(|n| format!("{dir}/{n}")),
        );
    }
    let mut found = None;
    for f in files {
        if let Ok(text) = ctx.host.read_text(&f) {
            let s = keyvalue::parse(&text, Some('='));
            if let Some(v) = keyvalue::last(&s, key) {
                if let Ok(n) = v.value.parse() {
                    found = Some((n, format!("{f}:{}: {key} = {}", v.line, v.value)));
                }
            }
        }
    }
    found
}

fn pwquality(ctx: &Ctx) -> Outcome {
    let lines = pam_lines(ctx, &PAM_PASSWORD, "pam_pwquality.so");
    let Some((ev, args)) = lines.first() else {
        if !PAM_PASSWORD.iter().any(|f| ctx.host.exists(f)) {
            return Outcome::skip("no PAM password stack found");
        }
        return Outcome::fail(
            "pam_pwquality.so is not in the PAM password stack (install libpam-pwquality)",
        );
    };
    let (minlen, source) = match arg_num(args, "minlen") {
        Some(n) => (n, ev.clone()),
        None => conf_num(
            ctx,
            "/etc/security/pwquality.conf",
            "/etc/security/pwquality.conf.d",
            "minlen",
        )
        .map(|(n, e)| (n, format!("{ev}; {e}")))
        .unwrap_or((8, format!("{ev}; minlen not set (pwquality default 8)"))),
    };
    if minlen >= 12 {
        Outcome::pass(source)
    } else {
        Outcome::fail(format!("minlen {minlen} < 12: {source}"))
    }
}

fn reuse(ctx: &Ctx) -> Outcome {
    let mut best: Option<(i64, String)> = None;
    for module in ["pam_pwhistory.so", "pam_unix.so"] {
        for (ev, args) in pam_lines(ctx, &PAM_PASSWORD, module) {
            let n = arg_num(&args, "remember").or_else(|| {
                (module == "pam_pwhistory.so")
                    .then(|| {
                        conf_num(
                            ctx,
                            "/etc/security/pwhistory.conf",
                            "/nonexistent",
                            "remember",
                        )
                        .map(|(n, _)| n)
                    })
                    .flatten()
            });
            if let Some(n) = n {
                if best.as_ref().is_none_or(|(b, _)| n > *b) {
                    best = Some((n, ev));
                }
            }
        }
    }
    match best {
        Some((n, ev)) if n >= 5 => Outcome::pass(ev),
        Some((n, ev)) => Outcome::fail(format!("remember={n} < 5: {ev}")),
        None if !PAM_PASSWORD.iter().any(|f| ctx.host.exists(f)) => {
            Outcome::skip("no PAM password stack found")
        }
        None => {
            Outcome::fail("no pam_pwhistory.so or pam_unix.so remember= in the PAM password stack")
        }
    }
}

fn login_defs(ctx: &Ctx, key: &str, ok: fn(i64) -> bool, default: i64, rule: &str) -> Outcome {
    let text = match ctx.host.read_text("/etc/login.defs") {
        Ok(t) => t,
        Err(e) => return e.into(),
    };
    let s = keyvalue::parse(&text, None);
    let (value, ev) = match keyvalue::last(&s, key) {
        Some(v) => match v.value.trim().parse::<i64>() {
            Ok(n) => (
                n,
                format!("/etc/login.defs:{}: {key} {}", v.line, v.value.trim()),
            ),
            Err(_) => {
                return Outcome::error(format!(
                    "/etc/login.defs:{}: {key} {:?} is not a number",
                    v.line, v.value
                ))
            }
        },
        None => (
            default,
            format!("{key} not set in /etc/login.defs (shadow default {default})"),
        ),
    };
    if ok(value) {
        Outcome::pass(ev)
    } else {
        Outcome::fail(format!("{ev} (want {rule})"))
    }
}

fn max_days(ctx: &Ctx) -> Outcome {
    login_defs(
        ctx,
        "PASS_MAX_DAYS",
        |v| (0..=180).contains(&v),
        99999,
        "<= 180",
    )
}

fn warn_age(ctx: &Ctx) -> Outcome {
    login_defs(ctx, "PASS_WARN_AGE", |v| v >= 21, 7, ">= 21")
}

fn mfa(ctx: &Ctx) -> Outcome {
    if !ctx.host.exists("/etc/pam.d/sshd") {
        return Outcome::skip("/etc/pam.d/sshd not found");
    }
    let mut found = pam_lines(ctx, &["/etc/pam.d/sshd"], "pam_google_authenticator.so");
    found.extend(pam_lines(ctx, &["/etc/pam.d/sshd"], "pam_oath.so"));
    found.extend(pam_lines(ctx, &["/etc/pam.d/sshd"], "pam_u2f.so"));
    match found.first() {
        Some((ev, _)) => Outcome::pass(ev.clone()),
        None => {
            Outcome::fail("no pam_google_authenticator, pam_oath or pam_u2f in /etc/pam.d/sshd")
        }
    }
}

/// Reads sudoers with its `#include`/`@include` and `#includedir`/`@includedir`
/// files, joined continuation lines, as (file:line, text).
fn sudoers_lines(ctx: &Ctx) -> Result<Vec<(String, String)>, Outcome> {
    let mut out = Vec::new();
    let mut queue = vec!["/etc/sudoers".to_string()];
    let mut seen = Vec::new();
    let mut first = true;
    while let Some(file) = queue.pop() {
        if seen.contains(&file) || seen.len() > 128 {
            continue;
        }
        seen.push(file.clone());
        let text = match ctx.host.read_text(&file) {
            Ok(t) => t,
            Err(e) if first => return Err(e.into()),
            Err(_) => continue,
        };
        first = false;
        let mut pending = String::new();
        let mut start = 0;
        for (i, raw) in text.lines().enumerate() {
            if pending.is_empty() {
                start = i + 1;
            }
            if let Some(cont) = raw.strip_suffix('\\') {
                pending.push_str(cont);
                pending.push(' ');
                continue;
            }
            pending.push_str(raw);
            let line = std::mem::take(&mut pending);
            let l = line.trim();
            for (prefix, is_dir) in [
                ("#includedir ", true),
                ("@includedir ", true),
                ("#include ", false),
                ("@include ", false),
            ] {
                if let Some(path) = l.strip_prefix(prefix) {
                    let path = path.trim().to_string();
                    if is_dir {
                        if let Ok(names) = ctx.host.list_dir(&path) {
                            // sudo skips names with '.' or ending in '~'.
                            for n in names
                                .into_iter()
                                .rev()
                                .filter(|n| !n.contains('.') && !n.ends_with('~'))
                            {
                                queue.push(format!("{path}/{n}"));
                            }
                        }
                    } else {
                        queue.push(path);
                    }
                }
            }
            if !l.starts_with('#') && !l.starts_with('@') && !l.is_empty() {
                out.push((format!("{file}:{start}"), l.to_string()));
            }
        }
    }
    Ok(out)
}

fn nopasswd_all(ctx: &Ctx) -> Outcome {
    let lines = match sudoers_lines(ctx) {
        Ok(l) => l,
        Err(o) => return o,
    };
    let bad: Vec<String> = lines
        .iter()
        .filter(|(_, l)| {
            l.split("NOPASSWD:").skip(1).any(|rest| {
                let cmd = rest.trim_start();
                cmd == "ALL" || cmd.starts_with("ALL ") || cmd.starts_with("ALL,")
            })
        })
        .map(|(at, l)| format!("{at}: {l}"))
        .collect();
    if bad.is_empty() {
        Outcome::pass(format!(
            "{} sudoers rules, none grants NOPASSWD: ALL",
            lines.len()
        ))
    } else {
        Outcome::fail(bad.join("; "))
    }
}

fn node_as_root(ctx: &Ctx) -> Outcome {
    let procs = match ctx.processes() {
        Ok(p) => p,
        Err(e) => return e.clone().into(),
    };
    let names: Vec<&str> = ctx
        .profile
        .node_processes
        .iter()
        .map(String::as_str)
        .collect();
    if names.is_empty() {
        return Outcome::skip(format!(
            "profile {} names no node process (choose --profile or set [audit] node_processes)",
            ctx.profile.name
        ));
    }
    let nodes: Vec<_> = procs
        .iter()
        .filter(|p| names.contains(&p.comm.as_str()))
        .collect();
    if nodes.is_empty() {
        return Outcome::skip(format!("no node process ({}) is running", names.join(", ")));
    }
    let root: Vec<String> = nodes
        .iter()
        .filter(|p| p.uid == 0)
        .map(|p| format!("{} pid {} runs as root", p.comm, p.pid))
        .collect();
    if root.is_empty() {
        Outcome::pass(
            nodes
                .iter()
                .map(|p| format!("{} pid {} uid {}", p.comm, p.pid, p.uid))
                .collect::<Vec<_>>()
                .join("; "),
        )
    } else {
        Outcome::fail(root.join("; "))
    }
}

fn service_logins(ctx: &Ctx) -> Outcome {
    let (accounts, _) = match read_accounts(ctx.host) {
        Ok(a) => a,
        Err(e) => return e.into(),
    };
    let mut with_keys = Vec::new();
    let mut shell_only = Vec::new();
    for a in accounts
        .iter()
        .filter(|a| a.is_service_account() && a.has_login_shell())
    {
        let keys = format!("{}/.ssh/authorized_keys", a.home.trim_end_matches('/'));
        let has_keys = ctx.host.read_text(&keys).is_ok_and(|t| {
            t.lines()
                .any(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        });
        let line = format!(
            "/etc/passwd:{}: {} (uid {}) shell {}",
            a.line, a.name, a.uid, a.shell
        );
        if has_keys {
            with_keys.push(format!("{line} and {keys}"));
        } else {
            shell_only.push(line);
        }
    }
    if !with_keys.is_empty() {
        Outcome::fail(with_keys.join("; "))
    } else if !shell_only.is_empty() {
        Outcome::warn(format!(
            "login shell but no authorized_keys: {}",
            shell_only.join("; ")
        ))
        .fix("Give service accounts /usr/sbin/nologin: `usermod -s /usr/sbin/nologin <account>`.")
    } else {
        Outcome::pass("no service account (UID 1-999) has a login shell")
    }
}

/// Account and PAM checks.
pub const CHECKS: &[Check] = &[
    Check {
        id: "ACC-001",
        area: "accounts",
        severity: Severity::Critical,
        title: "Only root has UID 0",
        remediation: "Give every other UID-0 account its own UID (`usermod -u <uid> <name>`) or remove it; use sudo for privileges.",
        references: &["CIS Debian 12 7.2"],
        run: uid0,
    },
    Check {
        id: "ACC-002",
        area: "accounts",
        severity: Severity::Critical,
        title: "No account has an empty password",
        remediation: "Lock the account (`passwd -l <name>`) or set a password; never leave the /etc/shadow field empty.",
        references: &["CIS Debian 12 7.2"],
        run: empty_hashes,
    },
    Check {
        id: "ACC-003",
        area: "accounts",
        severity: Severity::Medium,
        title: "Password quality requires at least 12 characters",
        remediation: "`apt install libpam-pwquality` and set `minlen = 12` in /etc/security/pwquality.conf.",
        references: &["pam_pwquality(8)", "CIS Debian 12 5.3"],
        run: pwquality,
    },
    Check {
        id: "ACC-004",
        area: "accounts",
        severity: Severity::Low,
        title: "The last 5 passwords cannot be reused",
        remediation: "Add `password required pam_pwhistory.so remember=5 use_authtok` before pam_unix.so in /etc/pam.d/common-password.",
        references: &["pam_pwhistory(8)", "CIS Debian 12 5.3"],
        run: reuse,
    },
    Check {
        id: "ACC-005",
        area: "accounts",
        severity: Severity::Low,
        title: "Passwords expire after at most 180 days",
        remediation: "Set `PASS_MAX_DAYS 180` in /etc/login.defs and `chage --maxdays 180 <user>` for existing users.",
        references: &["login.defs(5)"],
        run: max_days,
    },
    Check {
        id: "ACC-006",
        area: "accounts",
        severity: Severity::Low,
        title: "Password expiry is warned about at least 21 days ahead",
        remediation: "Set `PASS_WARN_AGE 21` in /etc/login.defs and `chage --warndays 21 <user>` for existing users.",
        references: &["login.defs(5)"],
        run: warn_age,
    },
    Check {
        id: "ACC-007",
        area: "accounts",
        severity: Severity::Info,
        title: "SSH logins use a second factor (TOTP/OATH/U2F)",
        remediation: "`apt install libpam-google-authenticator`, add `auth required pam_google_authenticator.so` to /etc/pam.d/sshd and `AuthenticationMethods publickey,keyboard-interactive` to sshd_config.",
        references: &["pam_google_authenticator(8)"],
        run: mfa,
    },
    Check {
        id: "ACC-008",
        area: "accounts",
        severity: Severity::High,
        title: "No sudo rule grants NOPASSWD: ALL",
        remediation: "Replace `NOPASSWD: ALL` with the specific commands that need no password, or require the password (`visudo`).",
        references: &["sudoers(5)"],
        run: nopasswd_all,
    },
    Check {
        id: "ACC-009",
        area: "accounts",
        severity: Severity::High,
        title: "Node processes do not run as root",
        remediation: "Run the node under its own account: `User=<node-user>` in its systemd unit (with `NoNewPrivileges=yes`), then `systemctl daemon-reload && systemctl restart <node>`.",
        references: &["systemd.exec(5)"],
        run: node_as_root,
    },
    Check {
        id: "ACC-010",
        area: "accounts",
        severity: Severity::Medium,
        title: "Service accounts have no login shell with SSH keys",
        remediation: "`usermod -s /usr/sbin/nologin <account>` and remove ~<account>/.ssh/authorized_keys.",
        references: &["CIS Debian 12 7.2"],
        run: service_logins,
    },
];
