//! Reading sshd_config and everything it includes into one flat list of entries.

use super::glob;
use super::tokenize::split_line;
use crate::host::{Fact, Host, Unavailable, UnavailableKind};

/// OpenSSH's limit on nested includes (READCONF_MAX_DEPTH).
pub const MAX_INCLUDE_DEPTH: usize = 16;
/// Most files one configuration may pull in.
const MAX_FILES: usize = 256;
/// Most entries kept (a real config has a few dozen).
const MAX_ENTRIES: usize = 100_000;

/// One line that matters, in the order sshd reads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Entry {
    /// `Keyword args...`.
    Directive {
        /// Lowercase keyword.
        keyword: String,
        /// Arguments.
        args: Vec<String>,
        /// File it came from.
        file: String,
        /// 1-based line.
        line: usize,
    },
    /// `Match criteria...`.
    Match {
        /// The raw criteria words.
        args: Vec<String>,
        /// File.
        file: String,
        /// 1-based line.
        line: usize,
    },
    /// The entries of an included file follow (until [`Entry::IncludeEnd`]).
    IncludeStart,
    /// The included file ended: the includer's Match state is restored.
    IncludeEnd,
}

/// Something wrong with the configuration that sshd itself would reject or
/// that the audit could not read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadProblem {
    /// `file:line` or the file.
    pub location: String,
    /// What is wrong.
    pub message: String,
}

/// A loaded configuration: the entries and any problems met on the way.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SshdConfig {
    /// The top file.
    pub path: String,
    /// Entries in reading order.
    pub entries: Vec<Entry>,
    /// Problems (broken includes, loops, bad quoting).
    pub problems: Vec<LoadProblem>,
    /// Files read, in order.
    pub files: Vec<String>,
}

impl SshdConfig {
    /// Loads `path` from `host` with its includes. Fails only when the top
    /// file itself cannot be read.
    pub fn load(host: &dyn Host, path: &str) -> Fact<SshdConfig> {
        let text = host.read_text(path)?;
        let mut cfg = SshdConfig {
            path: path.to_string(),
            ..Default::default()
        };
        let mut stack = vec![path.to_string()];
        cfg.files.push(path.to_string());
        cfg.parse_text(host, &text, path, &mut stack);
        Ok(cfg)
    }

    /// Parses an in-memory text as if it were `path` (includes still resolve
    /// through `host`). Used by tests and fuzzing.
    pub fn from_text(host: &dyn Host, path: &str, text: &str) -> SshdConfig {
        let mut cfg = SshdConfig {
            path: path.to_string(),
            files: vec![path.to_string()],
            ..Default::default()
        };
        let mut stack = vec![path.to_string()];
        cfg.parse_text(host, text, path, &mut stack);
        cfg
    }

    fn problem(&mut self, location: String, message: impl Into<String>) {
        if self.problems.len() < 100 {
            self.problems.push(LoadProblem {
                location,
                message: message.into(),
            });
        }
    }

    fn parse_text(&mut self, host: &dyn Host, text: &str, file: &str, stack: &mut Vec<String>) {
        for (i, raw) in text.lines().enumerate() {
            if self.entries.len() >= MAX_ENTRIES {
                self.problem(
                    file.to_string(),
                    format!("more than {MAX_ENTRIES} entries; rest ignored"),
                );
                return;
            }
            let line = i + 1;
            let (keyword, args) = match split_line(raw) {
                // The old name is an alias: both set the same option.
                Ok(Some((k, a))) if k == "challengeresponseauthentication" => {
                    ("kbdinteractiveauthentication".to_string(), a)
                }
                Ok(Some(parsed)) => parsed,
                Ok(None) => continue,
                Err(e) => {
                    self.problem(format!("{file}:{line}"), e.to_string());
                    continue;
                }
            };
            match keyword.as_str() {
                "include" => {
                    if args.is_empty() {
                        self.problem(format!("{file}:{line}"), "Include without a file name");
                    }
                    for pattern in args {
                        self.include(host, &pattern, file, line, stack);
                    }
                }
                "match" => self.entries.push(Entry::Match {
                    args,
                    file: file.to_string(),
                    line,
                }),
                _ => self.entries.push(Entry::Directive {
                    keyword,
                    args,
                    file: file.to_string(),
                    line,
                }),
            }
        }
    }

    fn include(
        &mut self,
        host: &dyn Host,
        pattern: &str,
        file: &str,
        line: usize,
        stack: &mut Vec<String>,
    ) {
        let at = format!("{file}:{line}");
        let absolute = if pattern.starts_with('/') {
            pattern.to_string()
        } else {
            format!("/etc/ssh/{pattern}")
        };
        if stack.len() > MAX_INCLUDE_DEPTH {
            self.problem(
                at,
                format!(
                    "Include {pattern}: more than {MAX_INCLUDE_DEPTH} nested includes (sshd refuses this: include loop?)"
                ),
            );
            return;
        }
        for path in glob::expand(host, &absolute, MAX_FILES) {
            if stack.contains(&path) {
                self.problem(
                    at.clone(),
                    format!("Include loop: {} -> {path}", stack.join(" -> ")),
                );
                continue;
            }
            if self.files.len() >= MAX_FILES {
                self.problem(at.clone(), format!("more than {MAX_FILES} included files"));
                return;
            }
            match host.read_text(&path) {
                Ok(text) => {
                    self.files.push(path.clone());
                    stack.push(path.clone());
                    self.entries.push(Entry::IncludeStart);
                    self.parse_text(host, &text, &path, stack);
                    self.entries.push(Entry::IncludeEnd);
                    stack.pop();
                }
                Err(Unavailable { kind, reason }) => {
                    let what = if kind == UnavailableKind::Error {
                        "broken"
                    } else {
                        "unreadable"
                    };
                    self.problem(at.clone(), format!("included file {what}: {reason}"));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::RootHost;
    use proptest::prelude::*;

    fn lines() -> impl Strategy<Value = String> {
        let line = prop_oneof![
            Just("Match User alice".to_string()),
            Just("Match all".to_string()),
            Just("Match Address 10.0.0.0/8,!10.1.0.0/16".to_string()),
            Just("Match Bogus".to_string()),
            Just("Include /etc/ssh/sshd_config".to_string()),
            Just("Include sshd_config.d/*.conf".to_string()),
            Just("PasswordAuthentication yes".to_string()),
            Just("Port 22".to_string()),
            "[A-Za-z]{1,12}[ =]{1,2}[\"a-z0-9*,!./-]{0,20}",
            "\\PC{0,40}",
        ];
        proptest::collection::vec(line, 0..40).prop_map(|v| v.join("\n"))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        #[test]
        fn arbitrary_configs_never_panic(text in lines()) {
            let dir = tempfile::tempdir().unwrap();
            std::fs::create_dir_all(dir.path().join("etc/ssh/sshd_config.d")).unwrap();
            std::fs::create_dir_all(dir.path().join("usr")).unwrap();
            std::fs::write(dir.path().join("etc/ssh/sshd_config"), &text).unwrap();
            std::fs::write(dir.path().join("etc/ssh/sshd_config.d/a.conf"), &text).unwrap();
            let host = RootHost::new(dir.path());
            let cfg = SshdConfig::load(&host, "/etc/ssh/sshd_config").unwrap();
            let alice = crate::sshd::Connection { user: Some("alice".into()), addr: Some("10.2.3.4".into()), ..Default::default() };
            for key in ["passwordauthentication", "port", "permitrootlogin"] {
                let _ = cfg.effective(key, None);
                let _ = cfg.effective(key, Some(&alice));
                let _ = cfg.under_match(key);
            }
            let _ = cfg.all_global("port");
            let _ = cfg.bad_match_lines();
            prop_assert!(cfg.files.len() <= 256);
        }
    }

    #[test]
    fn self_include_is_a_reported_loop() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc/ssh")).unwrap();
        std::fs::create_dir_all(dir.path().join("usr")).unwrap();
        std::fs::write(
            dir.path().join("etc/ssh/sshd_config"),
            "Include sshd_config\nPort 2\n",
        )
        .unwrap();
        let host = RootHost::new(dir.path());
        let cfg = SshdConfig::load(&host, "/etc/ssh/sshd_config").unwrap();
        assert!(
            cfg.problems[0].message.contains("Include loop"),
            "{:?}",
            cfg.problems
        );
        assert_eq!(cfg.all_global("port").len(), 1);
    }
}
