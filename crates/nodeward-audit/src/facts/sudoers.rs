//! sudoers as sudo reads it, far enough to tell who may run what with or
//! without a password: `#include`/`@include` and `#includedir`/`@includedir`
//! (relative to the including file, sudo's name rules for directories), line
//! continuations, comments, `User_Alias`/`Cmnd_Alias`, `Defaults` with their
//! user bindings, and user specifications with run-as lists and tags that
//! carry over from one command to the next. Every rule keeps its `file:line`.

use crate::host::{Host, Unavailable};
use std::collections::HashMap;

/// How many files (the main one and its includes) are read at most.
pub const MAX_FILES: usize = 128;
/// How deep includes may nest (sudo stops at 128; real systems use 1-2).
pub const MAX_DEPTH: usize = 8;

/// One command in a user specification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// The command as written (`ALL`, `/usr/bin/systemctl restart hornet`,
    /// an alias name, `!/bin/sh`).
    pub command: String,
    /// Whether NOPASSWD applies to it (tags carry over within a rule).
    pub nopasswd: bool,
    /// The run-as list as written (`(ALL:ALL)`), when given.
    pub runas: Option<String>,
}

/// One user specification line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    /// `file:line` of its first line.
    pub at: String,
    /// The whole (joined) line.
    pub text: String,
    /// Its user list as written (`alice`, `%sudo`, `ADMINS`, `ALL`, `!bob`).
    pub users: Vec<String>,
    /// Its commands.
    pub commands: Vec<Command>,
}

/// A `Defaults` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultsLine {
    /// `file:line`.
    pub at: String,
    /// The user list after `Defaults:` (`None`: applies to everyone;
    /// host/run-as/command bindings are also `None`).
    pub users: Option<Vec<String>>,
    /// Its settings (`!authenticate`, `env_reset`, `secure_path="..."`).
    pub settings: Vec<String>,
}

/// Everything read from /etc/sudoers and its includes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sudoers {
    /// User specifications in file order.
    pub rules: Vec<Rule>,
    /// Defaults lines in file order.
    pub defaults: Vec<DefaultsLine>,
    /// `User_Alias` name to members.
    pub user_aliases: HashMap<String, Vec<String>>,
    /// `Cmnd_Alias` name to commands.
    pub cmnd_aliases: HashMap<String, Vec<String>>,
    /// Files read, in order.
    pub files: Vec<String>,
    /// What could not be read or followed (with file:line).
    pub problems: Vec<String>,
}

/// Reads /etc/sudoers (an error when it cannot be read) and what it includes.
pub fn load(host: &dyn Host) -> Result<Sudoers, Unavailable> {
    let text = host.read_text("/etc/sudoers")?;
    let mut s = Sudoers::default();
    let mut chain = vec!["/etc/sudoers".to_string()];
    s.files.push("/etc/sudoers".into());
    parse_file(host, "/etc/sudoers", &text, &mut s, &mut chain);
    Ok(s)
}

/// Parses `text` (from `file`) into `s` without following includes (for tests
/// and fuzzing); includes are listed as problems.
pub fn parse_text(file: &str, text: &str) -> Sudoers {
    let mut s = Sudoers::default();
    let mut chain = vec![file.to_string()];
    let mut note = |s: &mut Sudoers, at: &str, _: bool, path: &str, _: &mut Vec<String>| {
        s.problems
            .push(format!("{at}: include {path} not followed"));
    };
    parse_lines(file, text, &mut s, &mut note, &mut chain);
    s
}

type IncludeFn<'a> = dyn FnMut(&mut Sudoers, &str, bool, &str, &mut Vec<String>) + 'a;

fn parse_file(host: &dyn Host, file: &str, text: &str, s: &mut Sudoers, chain: &mut Vec<String>) {
    let mut follow =
        |s: &mut Sudoers, at: &str, is_dir: bool, path: &str, chain: &mut Vec<String>| {
            let dir = file.rsplit_once('/').map(|(d, _)| d).unwrap_or("/etc");
            let path = if path.starts_with('/') {
                path.to_string()
            } else {
                format!("{dir}/{path}")
            };
            let targets: Vec<String> = if is_dir {
                match host.list_dir(&path) {
                    // sudo skips names containing '.' or ending in '~'.
                    Ok(names) => names
                        .into_iter()
                        .filter(|n| !n.contains('.') && !n.ends_with('~'))
                        .map(|n| format!("{path}/{n}"))
                        .collect(),
                    Err(e) if e.is_missing() => return,
                    Err(e) => {
                        s.problems.push(format!("{at}: {e}"));
                        return;
                    }
                }
            } else {
                vec![path]
            };
            for t in targets {
                if chain.contains(&t) {
                    s.problems
                        .push(format!("{at}: include loop: {} -> {t}", chain.join(" -> ")));
                    continue;
                }
                if chain.len() >= MAX_DEPTH || s.files.len() >= MAX_FILES {
                    s.problems.push(format!(
                        "{at}: includes nest too deep or too many files; {t} not read"
                    ));
                    continue;
                }
                match host.read_text(&t) {
                    Ok(text) => {
                        s.files.push(t.clone());
                        chain.push(t.clone());
                        parse_file(host, &t, &text, s, chain);
                        chain.pop();
                    }
                    Err(e) => s.problems.push(format!("{at}: {e}")),
                }
            }
        };
    parse_lines(file, text, s, &mut follow, chain);
}

/// Removes a comment: `#` at the start of a word that is not `#include`,
/// `#includedir` or a `#UID` user.
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace() || bytes[i - 1] == b',') {
            let next = bytes.get(i + 1).copied();
            if next.is_some_and(|c| c.is_ascii_digit()) {
                continue;
            }
            return &line[..i];
        }
    }
    line
}

/// Splits on commas outside quotes and parentheses.
fn split_commas(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let (mut quote, mut paren) = (false, 0i32);
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                cur.push(c);
                if let Some(n) = chars.next() {
                    cur.push(n);
                }
            }
            '"' => {
                quote = !quote;
                cur.push(c);
            }
            '(' if !quote => {
                paren += 1;
                cur.push(c);
            }
            ')' if !quote => {
                paren -= 1;
                cur.push(c);
            }
            ',' if !quote && paren <= 0 => out.push(std::mem::take(&mut cur).trim().to_string()),
            c => cur.push(c),
        }
    }
    out.push(cur.trim().to_string());
    out.retain(|x| !x.is_empty());
    out
}

fn parse_lines(
    file: &str,
    text: &str,
    s: &mut Sudoers,
    include: &mut IncludeFn<'_>,
    chain: &mut Vec<String>,
) {
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
        let at = format!("{file}:{start}");
        let t = full.trim();
        let mut handled = false;
        for (prefix, is_dir) in [
            ("#includedir", true),
            ("@includedir", true),
            ("#include", false),
            ("@include", false),
        ] {
            if let Some(rest) = t.strip_prefix(prefix) {
                if rest.starts_with(char::is_whitespace) {
                    let path = rest.trim().trim_matches('"');
                    if !path.is_empty() {
                        include(s, &at, is_dir, path, chain);
                    }
                    handled = true;
                    break;
                }
            }
        }
        if handled {
            continue;
        }
        let line = strip_comment(t).trim();
        if line.is_empty() {
            continue;
        }
        parse_entry(line, &at, s);
    }
}

fn parse_entry(line: &str, at: &str, s: &mut Sudoers) {
    let first = line.split_whitespace().next().unwrap_or("");
    let defaults = first
        .strip_prefix("Defaults")
        .filter(|r| r.is_empty() || r.starts_with([':', '@', '>', '!']));
    if let Some(rest) = defaults {
        let mut body = line[first.len()..].trim_start();
        // `Defaults:alice, bob !authenticate`: the user list may hold ", ".
        // Host (`@`), run-as (`>`) and command (`!`) bindings are taken as
        // applying to everyone: the conservative reading.
        let users = match rest.strip_prefix(':') {
            Some(u) => {
                let mut list = u.to_string();
                while list.ends_with(',') {
                    let word = body.split_whitespace().next().unwrap_or("");
                    if word.is_empty() {
                        break;
                    }
                    list.push_str(word);
                    body = body[word.len()..].trim_start();
                }
                Some(split_commas(&list))
            }
            None => None,
        };
        s.defaults.push(DefaultsLine {
            at: at.to_string(),
            users,
            settings: split_commas(body),
        });
        return;
    }
    for (kw, is_user) in [
        ("User_Alias", true),
        ("Cmnd_Alias", false),
        ("Cmd_Alias", false),
    ] {
        if first == kw {
            // NAME = a, b : NAME2 = c
            for def in line[kw.len()..].split(':') {
                if let Some((name, members)) = def.split_once('=') {
                    let members = split_commas(members);
                    let name = name.trim().to_string();
                    if is_user {
                        s.user_aliases.insert(name, members);
                    } else {
                        s.cmnd_aliases.insert(name, members);
                    }
                }
            }
            return;
        }
    }
    if first == "Host_Alias" || first == "Runas_Alias" {
        return;
    }
    let Some((left, right)) = line.split_once('=') else {
        s.problems.push(format!("{at}: not a sudoers rule: {line}"));
        return;
    };
    // "alice, bob  ALL" -> users "alice,bob", hosts "ALL".
    let left = left.split(',').map(str::trim).collect::<Vec<_>>().join(",");
    let mut parts = left.split_whitespace();
    let users = split_commas(parts.next().unwrap_or(""));
    if users.is_empty() || parts.next().is_none() {
        s.problems.push(format!("{at}: not a sudoers rule: {line}"));
        return;
    }
    let mut commands = Vec::new();
    let mut nopasswd = false;
    let mut runas = None;
    for item in split_commas(right) {
        let mut rest = item.trim();
        if rest.starts_with('(') {
            if let Some(end) = rest.find(')') {
                runas = Some(rest[..=end].to_string());
                rest = rest[end + 1..].trim_start();
            }
        }
        loop {
            let word = rest.split_whitespace().next().unwrap_or("");
            // Options (`TIMEOUT=5m`, `ROLE=x`) and tags (`NOPASSWD:`).
            if let Some((tag, after)) = word.split_once(':') {
                if !tag.is_empty() && tag.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                    match tag {
                        "NOPASSWD" => nopasswd = true,
                        "PASSWD" => nopasswd = false,
                        _ => {}
                    }
                    let skip = word.len() - after.len();
                    rest = rest[skip..].trim_start();
                    continue;
                }
            }
            if word.contains('=')
                && word.split('=').next().is_some_and(|k| {
                    !k.is_empty() && k.chars().all(|c| c.is_ascii_uppercase() || c == '_')
                })
            {
                rest = rest[word.len()..].trim_start();
                continue;
            }
            break;
        }
        if !rest.is_empty() {
            commands.push(Command {
                command: rest.to_string(),
                nopasswd,
                runas: runas.clone(),
            });
        }
    }
    s.rules.push(Rule {
        at: at.to_string(),
        text: line.to_string(),
        users,
        commands,
    });
}

impl Sudoers {
    /// Whether `user` logs in to sudo without a password for every rule:
    /// `Defaults !authenticate` (global, or bound to `user` through `in_list`).
    pub fn no_authenticate(&self, in_list: impl Fn(&[String]) -> bool) -> Option<&str> {
        let mut result = None;
        for d in &self.defaults {
            let applies = match &d.users {
                None => true,
                Some(list) => in_list(list),
            };
            if !applies {
                continue;
            }
            for set in &d.settings {
                match set.as_str() {
                    "!authenticate" => result = Some(d.at.as_str()),
                    "authenticate" => result = None,
                    _ => {}
                }
            }
        }
        result
    }

    /// The commands `command` stands for (a `Cmnd_Alias` expands, bounded).
    pub fn expand_command(&self, command: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut todo = vec![(command.to_string(), 0)];
        while let Some((c, depth)) = todo.pop() {
            let bare = c.trim_start_matches('!').trim();
            match self.cmnd_aliases.get(bare) {
                Some(members) if depth < 8 && !c.starts_with('!') => {
                    todo.extend(members.iter().map(|m| (m.clone(), depth + 1)))
                }
                _ => out.push(c),
            }
            if out.len() > 1000 {
                break;
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::RootHost;

    #[test]
    fn rules_tags_aliases_defaults_and_continuations() {
        let s = parse_text(
            "/etc/sudoers",
            "# comment\nDefaults\tenv_reset\nDefaults:OPS, bob !authenticate\n\
             User_Alias OPS = alice, %wheel : DEVS = carl\nCmnd_Alias SHELLS = /bin/sh, /bin/bash\n\
             root ALL=(ALL:ALL) ALL\n%sudo ALL=(ALL:ALL) ALL  # trailing\n\
             hornet ALL=(root) NOPASSWD: /usr/bin/systemctl restart hornet, /usr/bin/journalctl\n\
             admin ALL=(ALL) NOPASSWD:ALL\nOPS, bob ALL = PASSWD: /bin/ls, NOPASSWD: SHELLS\n\
             carl ALL = \\\n  (ALL) ALL\n#1000 ALL = ALL\nthis is junk\nDefaultsx ALL = ALL\n",
        );
        assert_eq!(s.rules.len(), 8, "{:?}", s.rules);
        assert_eq!(
            s.rules[7].users,
            vec!["Defaultsx"],
            "a user, not a Defaults line"
        );
        assert_eq!(s.rules[1].users, vec!["%sudo"]);
        assert_eq!(s.rules[1].commands[0].command, "ALL");
        assert!(!s.rules[1].commands[0].nopasswd);
        let h = &s.rules[2];
        assert_eq!(h.commands.len(), 2);
        assert!(h.commands.iter().all(|c| c.nopasswd), "tags carry over");
        assert_eq!(h.commands[1].runas.as_deref(), Some("(root)"));
        assert!(s.rules[3].commands[0].nopasswd);
        assert_eq!(s.rules[3].commands[0].command, "ALL");
        assert_eq!(s.rules[4].users, vec!["OPS", "bob"]);
        assert!(!s.rules[4].commands[0].nopasswd);
        assert!(s.rules[4].commands[1].nopasswd);
        assert_eq!(s.expand_command("SHELLS"), vec!["/bin/bash", "/bin/sh"]);
        assert_eq!(s.rules[5].at, "/etc/sudoers:11");
        assert_eq!(s.rules[5].commands[0].command, "ALL");
        assert_eq!(s.rules[6].users, vec!["#1000"]);
        assert_eq!(s.user_aliases["OPS"], vec!["alice", "%wheel"]);
        assert_eq!(s.user_aliases["DEVS"], vec!["carl"]);
        assert_eq!(
            s.defaults[1].users.as_deref(),
            Some(&["OPS".to_string(), "bob".to_string()][..])
        );
        assert_eq!(
            s.no_authenticate(|l| l.iter().any(|u| u == "bob")),
            Some("/etc/sudoers:3")
        );
        assert_eq!(s.no_authenticate(|_| false), None);
        assert!(
            s.problems.iter().any(|p| p.contains(":14")),
            "{:?}",
            s.problems
        );
    }

    #[test]
    fn includes_dirs_loops_and_binary_files() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        std::fs::write(dir.path().join("etc/os-release"), "ID=debian\n").unwrap();
        let w = |p: &str, t: &[u8]| {
            let full = dir.path().join(p.trim_start_matches('/'));
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, t).unwrap();
        };
        w(
            "/etc/sudoers",
            b"root ALL=(ALL) ALL\n@includedir /etc/sudoers.d\n#include extra\n",
        );
        w(
            "/etc/sudoers.d/10-ops",
            b"ops ALL=(ALL) NOPASSWD: ALL\n@include /etc/sudoers\n",
        );
        w("/etc/sudoers.d/skip.me", b"skipped ALL=(ALL) ALL\n");
        w("/etc/sudoers.d/bin", b"x\0\x01");
        w("/etc/extra", b"carl ALL=(ALL) ALL\n");
        let host = RootHost::new(dir.path());
        let s = load(&host).unwrap();
        let users: Vec<&str> = s.rules.iter().map(|r| r.users[0].as_str()).collect();
        assert_eq!(users, ["root", "ops", "carl"]);
        assert_eq!(s.rules[1].at, "/etc/sudoers.d/10-ops:1");
        assert!(
            s.problems.iter().any(|p| p.contains("loop")),
            "{:?}",
            s.problems
        );
        assert!(
            s.problems.iter().any(|p| p.contains("binary")),
            "{:?}",
            s.problems
        );

        // A binary /etc/sudoers is an error; a file cut inside a continuation is read.
        w("/etc/sudoers", b"\x7fELF\0\0");
        let e = load(&RootHost::new(dir.path())).unwrap_err();
        assert!(e.reason.contains("binary"), "{}", e.reason);
        let cut = parse_text("/etc/sudoers", "root ALL=(ALL) ALL\nops ALL = NOPASSWD: \\");
        assert_eq!(cut.rules.len(), 2);
        assert!(cut.rules[1].commands.is_empty());

        let empty = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(empty.path().join("etc/sudoers")).unwrap();
        std::fs::write(empty.path().join("etc/os-release"), "ID=debian\n").unwrap();
        let e = load(&RootHost::new(empty.path())).unwrap_err();
        assert!(e.reason.contains("directory"), "{}", e.reason);
    }
}
