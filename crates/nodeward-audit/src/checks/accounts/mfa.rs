//! ACC-007: SSH logins really ask for a second factor. A TOTP/U2F module in
//! /etc/pam.d/sshd proves nothing by itself: sshd must run PAM (`UsePAM yes`),
//! ask through it (`KbdInteractiveAuthentication`, alias
//! `ChallengeResponseAuthentication`), and require it next to the key or
//! password (`AuthenticationMethods publickey,keyboard-interactive`), with no
//! Match block taking that back; the module must be enforcing (`required`,
//! `requisite`) and without `nullok`, which lets users without a secret in,
//! with no `sufficient` module before it that could end the stack first.
//!
//! Scored only where MFA is required (profile default or `[audit]
//! require_mfa`); elsewhere the same verdict is reported with severity `info`
//! and a would-be failure as `warn`, so it never moves the score.

use crate::checks::ssh::SshView;
use crate::checks::{Ctx, Outcome};
use crate::facts::pam;
use nodeward_report::{Severity, Status};

/// PAM modules that ask for a second factor.
const MFA_MODULES: [&str; 5] = [
    "pam_google_authenticator.so",
    "pam_oath.so",
    "pam_u2f.so",
    "pam_yubico.so",
    "pam_duo.so",
];

const PAM_SSHD: &str = "/etc/pam.d/sshd";

/// The value sshd uses globally for `keyword` (lowercase) and its evidence.
fn sshd_value(view: &SshView, keyword: &str, display: &str, default: &str) -> (String, String) {
    if let Some(dump) = &view.dumped {
        let v = dump
            .get(keyword)
            .map(|v| v.join(" "))
            .unwrap_or_else(|| default.to_string());
        return (v.to_ascii_lowercase(), format!("sshd -T: {keyword} {v}"));
    }
    match view
        .config
        .as_ref()
        .and_then(|c| c.effective(keyword, None))
    {
        Some(s) => (s.args.join(" ").to_ascii_lowercase(), s.evidence(display)),
        None => (
            default.to_string(),
            format!("{display} not set (OpenSSH default {default})"),
        ),
    }
}

/// Why an `AuthenticationMethods` value lets a login in without the code,
/// or `None` when every alternative needs keyboard-interactive and a key or
/// password.
fn methods_weakness(value: &str) -> Option<String> {
    if value.trim().eq_ignore_ascii_case("any") || value.trim().is_empty() {
        return Some("any single method (a key alone) logs in".into());
    }
    for alt in value.split_whitespace() {
        let methods: Vec<&str> = alt.split(',').collect();
        let kbd = methods
            .iter()
            .any(|m| m.starts_with("keyboard-interactive"));
        let first = methods.iter().any(|m| {
            matches!(
                *m,
                "publickey" | "password" | "hostbased" | "gssapi-with-mic"
            )
        });
        if !(kbd && first) {
            return Some(format!(
                "the alternative {alt:?} does not need both a key or password and keyboard-interactive"
            ));
        }
    }
    None
}

/// The PAM side: `Ok(evidence)` when an enforcing second-factor module without
/// `nullok` is in the auth stack; `Err(outcome)` otherwise.
fn pam_side(ctx: &Ctx) -> Result<String, Outcome> {
    let stack = pam::stack(ctx.host, PAM_SSHD, "auth").map_err(|e| {
        if e.is_missing() {
            Outcome::fail(format!(
                "{PAM_SSHD} not found: sshd's PAM stack asks for no code"
            ))
        } else {
            Outcome::from(e)
        }
    })?;
    let mfa: Vec<&pam::PamLine> = stack
        .lines
        .iter()
        .filter(|l| MFA_MODULES.contains(&l.module.as_str()))
        .collect();
    if mfa.is_empty() {
        let commented = ctx
            .host
            .read_text(PAM_SSHD)
            .ok()
            .and_then(|t| {
                t.lines().enumerate().find_map(|(i, l)| {
                    (l.trim_start().starts_with('#') && MFA_MODULES.iter().any(|m| l.contains(m)))
                        .then(|| format!(" (only in a comment at {PAM_SSHD}:{})", i + 1))
                })
            })
            .unwrap_or_default();
        return Err(Outcome::fail(format!(
            "no second-factor module ({}) in the auth stack of {PAM_SSHD} and its includes{commented}",
            MFA_MODULES.join(", ")
        )));
    }
    let mut weak = Vec::new();
    for l in &mfa {
        if l.args.iter().any(|a| a == "nullok") {
            weak.push(format!(
                "{}: nullok lets users without a secret log in without a code",
                l.evidence()
            ));
        } else if !l.enforces() {
            weak.push(format!(
                "{}: control {} does not make the code necessary (use required or requisite)",
                l.evidence(),
                l.control
            ));
        }
    }
    // A module before the code that can end the stack with success skips it.
    let first_mfa = stack
        .lines
        .iter()
        .position(|l| MFA_MODULES.contains(&l.module.as_str()))
        .unwrap_or(0);
    for l in &stack.lines[..first_mfa] {
        if l.ends_on_success() {
            weak.push(format!(
                "{}: can end the auth stack before the code is asked",
                l.evidence()
            ));
        }
    }
    if !weak.is_empty() {
        return Err(Outcome::fail(weak.join("; ")));
    }
    let mut ev = mfa
        .iter()
        .map(|l| l.evidence())
        .collect::<Vec<_>>()
        .join("; ");
    if !stack.missing.is_empty() {
        ev.push_str(&format!(" (note: {})", stack.missing.join("; ")));
    }
    Ok(ev)
}

/// The sshd side: `Ok(evidence)` when sshd runs PAM, asks through it and
/// requires it; `Err(outcome)` naming every gap (Match blocks included).
fn sshd_side(ctx: &Ctx) -> Result<String, Outcome> {
    let view = ctx.sshd().as_ref().map_err(|e| Outcome::from(e.clone()))?;
    if view.dumped.is_none() {
        if let Some(cfg) = &view.config {
            let mut problems: Vec<String> = cfg
                .problems
                .iter()
                .map(|p| format!("{}: {}", p.location, p.message))
                .collect();
            problems.extend(cfg.bad_match_lines());
            if !problems.is_empty() {
                return Err(Outcome::error(format!(
                    "cannot tell what sshd uses: the configuration is broken: {}",
                    problems.join("; ")
                )));
            }
        }
    }
    let mut gaps = Vec::new();
    let mut ok = Vec::new();
    let (pam, ev) = sshd_value(view, "usepam", "UsePAM", "no");
    if pam == "yes" {
        ok.push(ev);
    } else {
        gaps.push(format!("{ev}: sshd never runs the PAM stack"));
    }
    let (kbd, ev) = sshd_value(
        view,
        "kbdinteractiveauthentication",
        "KbdInteractiveAuthentication",
        "yes",
    );
    if kbd == "yes" {
        ok.push(ev);
    } else {
        gaps.push(format!("{ev}: sshd never asks for the code"));
    }
    let (methods, ev) = sshd_value(
        view,
        "authenticationmethods",
        "AuthenticationMethods",
        "any",
    );
    match methods_weakness(&methods) {
        None => ok.push(ev),
        Some(why) => gaps.push(format!("{ev}: {why}")),
    }
    if let Some(cfg) = &view.config {
        for s in cfg.under_match("authenticationmethods") {
            if let Some(why) = methods_weakness(&s.args.join(" ")) {
                gaps.push(format!(
                    "{}: {why} for the connections it matches",
                    s.evidence("AuthenticationMethods")
                ));
            }
        }
    }
    if gaps.is_empty() {
        Ok(ok.join("; "))
    } else {
        Err(Outcome::fail(gaps.join("; ")))
    }
}

fn verdict(ctx: &Ctx) -> Outcome {
    let sshd = sshd_side(ctx);
    if let Err(o) = &sshd {
        if o.status != Status::Fail {
            return o.clone();
        }
    }
    let pam = pam_side(ctx);
    match (pam, sshd) {
        (Ok(p), Ok(s)) => Outcome::pass(format!("{p}; {s}")),
        (Err(p), Ok(_)) => p,
        (Ok(_), Err(s)) => s,
        (Err(p), Err(s)) if p.status == Status::Fail => {
            Outcome::fail(format!("{}; {}", p.evidence, s.evidence))
        }
        (Err(p), Err(_)) => p,
    }
}

/// ACC-007: SSH logins need a second factor.
pub(super) fn mfa(ctx: &Ctx) -> Outcome {
    let o = verdict(ctx);
    if ctx.profile.require_mfa {
        return o;
    }
    let note = format!(
        "not scored: profile {} does not require MFA (set [audit] require_mfa = true to score it)",
        ctx.profile.name
    );
    let mut o = match o.status {
        Status::Fail => Outcome::warn(format!("{}; {note}", o.evidence)),
        _ => Outcome {
            evidence: format!("{}; {note}", o.evidence),
            ..o
        },
    };
    o.severity = Some(Severity::Info);
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn authentication_methods() {
        assert!(methods_weakness("publickey,keyboard-interactive").is_none());
        assert!(methods_weakness(
            "publickey,keyboard-interactive:pam password,keyboard-interactive"
        )
        .is_none());
        assert!(methods_weakness("any").is_some());
        assert!(methods_weakness("publickey").is_some());
        assert!(methods_weakness("publickey,keyboard-interactive publickey").is_some());
        assert!(methods_weakness("keyboard-interactive").is_some());
    }
}
