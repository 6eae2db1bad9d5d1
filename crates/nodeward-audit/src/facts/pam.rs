//! A PAM service's stack of one type (`auth`, `password`, ...) as PAM builds it:
//! `@include FILE` pulls in every line of FILE, `TYPE include FILE` and
//! `TYPE substack FILE` the lines of that type; comments, `-TYPE` (ignore when
//! the module is missing) and `[value=action ...]` controls are understood.
//! Include loops, too deep nesting and unreadable files are reported, never
//! followed forever.

use crate::host::{Host, Unavailable};

/// How deep includes may nest (Linux-PAM itself stops at 10 nested substacks).
pub const MAX_DEPTH: usize = 10;

/// One module line of a stack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PamLine {
    /// File the line is in.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// The control (`required`, `requisite`, `sufficient`, `[success=1 default=ignore]`).
    pub control: String,
    /// The module's file name without directory (`pam_unix.so`).
    pub module: String,
    /// Module arguments.
    pub args: Vec<String>,
    /// The line as written (for evidence).
    pub text: String,
}

impl PamLine {
    /// `file:line: text` for evidence.
    pub fn evidence(&self) -> String {
        format!("{}:{}: {}", self.file, self.line, self.text)
    }

    /// Whether a failure of this module fails the stack: `required`,
    /// `requisite`, or a bracket control whose default is `die` or `bad`
    /// and that does not skip on success.
    pub fn enforces(&self) -> bool {
        match self.control.as_str() {
            "required" | "requisite" => true,
            c if c.starts_with('[') => {
                let inner = c.trim_matches(|ch| ch == '[' || ch == ']');
                let acts: Vec<(&str, &str)> = inner
                    .split_whitespace()
                    .filter_map(|kv| kv.split_once('='))
                    .collect();
                let default_fails = acts
                    .iter()
                    .any(|(k, v)| *k == "default" && (*v == "die" || *v == "bad"));
                let fails_closed = acts.iter().all(|(k, v)| {
                    // A failure value mapped to ok/ignore/done lets it through.
                    *k == "success" || *k == "default" || *v == "die" || *v == "bad"
                });
                default_fails && fails_closed
            }
            _ => false,
        }
    }

    /// Whether success of this module can end the stack (`sufficient`, or a
    /// bracket control with `success=done`), skipping the modules after it.
    pub fn ends_on_success(&self) -> bool {
        self.control == "sufficient"
            || (self.control.starts_with('[') && self.control.contains("success=done"))
    }
}

/// A stack with what could not be followed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PamStack {
    /// Module lines in the order PAM runs them.
    pub lines: Vec<PamLine>,
    /// Included files that do not exist (PAM fails such stacks; noted in evidence).
    pub missing: Vec<String>,
}

/// Splits a PAM line into words, keeping a `[...]` control as one word.
pub(crate) fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_bracket = false;
    for ch in line.chars() {
        match ch {
            '[' if cur.is_empty() && !in_bracket => {
                in_bracket = true;
                cur.push(ch);
            }
            ']' if in_bracket => {
                in_bracket = false;
                cur.push(ch);
            }
            c if c.is_whitespace() && !in_bracket => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn resolve(name: &str) -> String {
    if name.starts_with('/') {
        name.to_string()
    } else {
        format!("/etc/pam.d/{name}")
    }
}

/// Reads the `kind` stack of the PAM service file `path` (`/etc/pam.d/sshd`).
/// The service file itself being unreadable, an include loop, nesting deeper
/// than [`MAX_DEPTH`] or a binary/huge included file is an error naming it.
pub fn stack(host: &dyn Host, path: &str, kind: &str) -> Result<PamStack, Unavailable> {
    let mut out = PamStack::default();
    let mut chain = Vec::new();
    walk(host, path, kind, &mut chain, &mut out)?;
    Ok(out)
}

fn walk(
    host: &dyn Host,
    path: &str,
    kind: &str,
    chain: &mut Vec<String>,
    out: &mut PamStack,
) -> Result<(), Unavailable> {
    if chain.iter().any(|c| c == path) {
        return Err(Unavailable::error(format!(
            "PAM include loop: {} -> {path}",
            chain.join(" -> ")
        )));
    }
    if chain.len() >= MAX_DEPTH {
        return Err(Unavailable::error(format!(
            "PAM includes nest deeper than {MAX_DEPTH}: {} -> {path}",
            chain.join(" -> ")
        )));
    }
    let text = match host.read_text(path) {
        Ok(t) => t,
        Err(e) if e.is_missing() && !chain.is_empty() => {
            out.missing.push(format!(
                "{} includes {path}, which does not exist",
                chain.join(" -> ")
            ));
            return Ok(());
        }
        Err(e) => return Err(e),
    };
    chain.push(path.to_string());
    let mut pending = String::new();
    let mut start = 0;
    // The empty line at the end closes a continuation cut off by a truncated file.
    for (i, raw) in text.lines().chain(std::iter::once("")).enumerate() {
        if pending.is_empty() {
            start = i + 1;
        }
        if let Some(cont) = raw.strip_suffix('\\') {
            pending.push_str(cont);
            pending.push(' ');
            continue;
        }
        pending.push_str(raw);
        let full = std::mem::take(&mut pending);
        let line = full.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        let w = words(line);
        if w[0] == "@include" {
            if let Some(name) = w.get(1) {
                walk(host, &resolve(name), kind, chain, out)?;
            }
            continue;
        }
        let ty = w[0].trim_start_matches('-').to_ascii_lowercase();
        if ty != kind || w.len() < 3 {
            continue;
        }
        let control = w[1].to_ascii_lowercase();
        if control == "include" || control == "substack" {
            walk(host, &resolve(&w[2]), kind, chain, out)?;
            continue;
        }
        let module = w[2].rsplit('/').next().unwrap_or(&w[2]).to_string();
        out.lines.push(PamLine {
            file: path.to_string(),
            line: start,
            control,
            module,
            args: w[3..].to_vec(),
            text: line.split_whitespace().collect::<Vec<_>>().join(" "),
        });
    }
    chain.pop();
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::RootHost;

    fn root(files: &[(&str, &[u8])]) -> (tempfile::TempDir, RootHost) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        std::fs::write(dir.path().join("etc/os-release"), "ID=debian\n").unwrap();
        for (p, t) in files {
            let full = dir.path().join(p.trim_start_matches('/'));
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, t).unwrap();
        }
        let host = RootHost::new(dir.path());
        (dir, host)
    }

    #[test]
    fn follows_includes_substacks_and_keeps_controls() {
        let (_d, h) = root(&[
            (
                "/etc/pam.d/sshd",
                b"# c\n@include common-auth\nauth [success=done default=die] pam_u2f.so\n\
                  -auth substack mfa\naccount required pam_nologin.so\nauth \\\n  sufficient pam_x.so # tail\n",
            ),
            ("/etc/pam.d/common-auth", b"auth [success=1 default=ignore] pam_unix.so nullok\nauth requisite pam_deny.so\n"),
            ("/etc/pam.d/mfa", b"auth required /lib/security/pam_google_authenticator.so\n#auth required pam_oath.so\n"),
        ]);
        let s = stack(&h, "/etc/pam.d/sshd", "auth").unwrap();
        let mods: Vec<&str> = s.lines.iter().map(|l| l.module.as_str()).collect();
        assert_eq!(
            mods,
            [
                "pam_unix.so",
                "pam_deny.so",
                "pam_u2f.so",
                "pam_google_authenticator.so",
                "pam_x.so"
            ]
        );
        assert_eq!(s.lines[0].control, "[success=1 default=ignore]");
        assert!(!s.lines[0].enforces());
        assert!(s.lines[2].enforces());
        assert!(s.lines[3].enforces());
        assert_eq!(s.lines[3].file, "/etc/pam.d/mfa");
        assert_eq!(s.lines[4].line, 6);
        assert!(!s.lines[4].enforces());
        assert!(s.lines[4].ends_on_success());
        assert!(!s.lines[0].ends_on_success());
    }

    #[test]
    fn loops_binary_missing_and_deep_nesting() {
        let (_d, h) = root(&[
            ("/etc/pam.d/sshd", b"@include a\n"),
            ("/etc/pam.d/a", b"auth include b\n"),
            ("/etc/pam.d/b", b"@include a\n"),
            ("/etc/pam.d/bin", b"auth required \0\x01"),
            (
                "/etc/pam.d/gone",
                b"@include nowhere\nauth required pam_unix.so\n",
            ),
            (
                "/etc/pam.d/cut",
                b"auth required pam_unix.so\nauth requisite \\",
            ),
        ]);
        let e = stack(&h, "/etc/pam.d/sshd", "auth").unwrap_err();
        assert!(e.reason.contains("loop"), "{}", e.reason);
        let e = stack(&h, "/etc/pam.d/bin", "auth").unwrap_err();
        assert!(e.reason.contains("binary"), "{}", e.reason);
        // Truncated inside a continuation: the partial line is read, no panic.
        let s = stack(&h, "/etc/pam.d/cut", "auth").unwrap();
        assert_eq!(s.lines.len(), 1);
        let s = stack(&h, "/etc/pam.d/gone", "auth").unwrap();
        assert_eq!(s.missing.len(), 1);
        assert_eq!(s.lines.len(), 1);
        assert!(stack(&h, "/etc/pam.d/none", "auth")
            .unwrap_err()
            .is_missing());

        let mut files: Vec<(String, Vec<u8>)> = (0..20)
            .map(|i| {
                (
                    format!("/etc/pam.d/d{i}"),
                    format!("@include d{}\n", i + 1).into_bytes(),
                )
            })
            .collect();
        files.push((
            "/etc/pam.d/d20".into(),
            b"auth required pam_unix.so\n".to_vec(),
        ));
        let refs: Vec<(&str, &[u8])> = files
            .iter()
            .map(|(p, t)| (p.as_str(), t.as_slice()))
            .collect();
        let (_d2, h2) = root(&refs);
        let e = stack(&h2, "/etc/pam.d/d0", "auth").unwrap_err();
        assert!(e.reason.contains("deeper"), "{}", e.reason);
    }
}
