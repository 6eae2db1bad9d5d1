//! Password quality and history in the PAM password stack (ACC-003, ACC-004).

use crate::checks::{Ctx, Outcome};
use crate::facts::keyvalue;

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

pub(super) fn pwquality(ctx: &Ctx) -> Outcome {
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

pub(super) fn reuse(ctx: &Ctx) -> Outcome {
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
