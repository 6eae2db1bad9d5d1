//! [`RootHost`]: an offline root tree (`--root DIR`), read from its files alone.
//!
//! Paths are resolved the way the audited system would resolve them: absolute
//! symlinks restart at the root and `..` never climbs above it, so a hostile
//! image cannot make the audit read the auditor's own files.

use super::read::{io_unavailable, list_at, meta_at, read_bytes_at, read_text_at};
use super::{CommandOutput, Fact, FileMeta, Host, Mode, Mount, Process, Socket, Unavailable};
use crate::facts::{mounts, sysctl};
use std::path::{Component, Path, PathBuf};

/// How many symlinks one lookup may follow (as Linux's MAXSYMLINKS).
const MAX_SYMLINK_HOPS: usize = 40;

/// An offline root tree.
#[derive(Debug, Clone)]
pub struct RootHost {
    root: PathBuf,
    /// Why the tree cannot be audited at all (does not exist, not Linux).
    problem: Option<String>,
}

impl RootHost {
    /// A root host at `root`. A root that is missing or is not a Linux tree is
    /// accepted, but every read then fails with the reason ([`Self::problem`]).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        let root = root.into();
        let problem = match std::fs::metadata(&root) {
            Err(e) => Some(format!("--root {}: {}", root.display(), describe_io(&e))),
            Ok(m) if !m.is_dir() => Some(format!("--root {}: not a directory", root.display())),
            Ok(_) => {
                let looks_linux = ["etc/passwd", "etc/os-release", "usr/lib/os-release"]
                    .iter()
                    .any(|p| std::fs::symlink_metadata(root.join(p)).is_ok())
                    || root.join("etc").is_dir() && root.join("usr").is_dir();
                if looks_linux {
                    None
                } else {
                    Some(format!(
                        "--root {}: not a Linux root tree (no etc/passwd, etc/os-release or etc/ and usr/)",
                        root.display()
                    ))
                }
            }
        };
        RootHost { root, problem }
    }

    /// Why the root cannot be audited, if it cannot.
    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    fn check_usable(&self) -> Fact<()> {
        match &self.problem {
            Some(p) => Err(Unavailable::error(p.clone())),
            None => Ok(()),
        }
    }

    /// Resolves `path` (as seen inside the tree) to a real path under the root,
    /// following symlinks inside the tree. The final component is resolved too
    /// unless `keep_last_link`.
    fn resolve(&self, path: &str, keep_last_link: bool) -> Fact<PathBuf> {
        self.check_usable()?;
        let mut pending: Vec<String> = components(path);
        pending.reverse();
        let mut resolved: Vec<String> = Vec::new();
        let mut hops = 0;
        while let Some(name) = pending.pop() {
            if name == ".." {
                resolved.pop();
                continue;
            }
            let mut candidate = self.root.clone();
            candidate.extend(resolved.iter());
            candidate.push(&name);
            let is_last = pending.is_empty();
            match std::fs::symlink_metadata(&candidate) {
                Ok(m) if m.file_type().is_symlink() && !(is_last && keep_last_link) => {
                    hops += 1;
                    if hops > MAX_SYMLINK_HOPS {
                        return Err(Unavailable::error(format!(
                            "{path}: too many levels of symlinks (loop?)"
                        )));
                    }
                    let target =
                        std::fs::read_link(&candidate).map_err(|e| io_unavailable(path, &e))?;
                    let target = target.to_string_lossy().into_owned();
                    if target.starts_with('/') {
                        resolved.clear();
                    }
                    let mut more = components(&target);
                    more.reverse();
                    pending.extend(more);
                }
                _ => resolved.push(name),
            }
        }
        let mut real = self.root.clone();
        real.extend(resolved.iter());
        Ok(real)
    }
}

fn describe_io(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "does not exist".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// The normal components of `path` (`.` dropped, `..` kept for the resolver).
fn components(path: &str) -> Vec<String> {
    Path::new(path)
        .components()
        .filter_map(|c| match c {
            Component::Normal(n) => Some(n.to_string_lossy().into_owned()),
            Component::ParentDir => Some("..".into()),
            _ => None,
        })
        .collect()
}

impl Host for RootHost {
    fn mode(&self) -> Mode {
        Mode::Offline
    }

    fn describe(&self) -> String {
        format!("root {}", self.root.display())
    }

    fn unusable(&self) -> Option<String> {
        self.problem.clone()
    }

    fn read_text(&self, path: &str) -> Fact<String> {
        let real = self.resolve(path, false)?;
        read_text_at(&real, path).map_err(|e| {
            // A link that resolves to nothing is dangling even inside the tree.
            if e.is_missing()
                && self
                    .resolve(path, true)
                    .ok()
                    .and_then(|p| std::fs::symlink_metadata(p).ok())
                    .is_some_and(|m| m.file_type().is_symlink())
            {
                Unavailable::error(format!("{path}: dangling symlink"))
            } else {
                e
            }
        })
    }

    fn read_bytes(&self, path: &str, limit: u64) -> Fact<Vec<u8>> {
        read_bytes_at(&self.resolve(path, false)?, path, limit)
    }

    fn list_dir(&self, path: &str) -> Fact<Vec<String>> {
        list_at(&self.resolve(path, false)?, path)
    }

    fn metadata(&self, path: &str) -> Fact<FileMeta> {
        meta_at(&self.resolve(path, false)?, path)
    }

    fn read_link(&self, path: &str) -> Fact<String> {
        let real = self.resolve(path, true)?;
        std::fs::read_link(&real)
            .map(|t| t.to_string_lossy().into_owned())
            .map_err(|e| io_unavailable(path, &e))
    }

    fn sysctl(&self, key: &str) -> Fact<(String, String)> {
        self.check_usable()?;
        sysctl::from_config_files(self, key)
    }

    fn mounts(&self) -> Fact<Vec<Mount>> {
        self.check_usable()?;
        mounts::configured(self)
    }

    fn processes(&self) -> Fact<Vec<Process>> {
        Err(Unavailable::skip(
            "offline root: there are no running processes to inspect",
        ))
    }

    fn sockets(&self) -> Fact<Vec<Socket>> {
        Err(Unavailable::skip(
            "offline root: there are no listening sockets to inspect",
        ))
    }

    fn clock_synchronised(&self) -> Fact<(bool, String)> {
        Err(Unavailable::skip(
            "offline root: no running clock to inspect",
        ))
    }

    fn run(&self, program: &str, _args: &[&str]) -> Fact<CommandOutput> {
        Err(Unavailable::skip(format!(
            "offline root: {program} is not run on an offline tree"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    fn tree() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc/ssh")).unwrap();
        std::fs::create_dir_all(dir.path().join("usr")).unwrap();
        std::fs::write(dir.path().join("etc/passwd"), "root:x:0:0::/root:/bin/sh\n").unwrap();
        dir
    }

    #[test]
    fn absolute_symlinks_stay_inside_the_root() {
        let dir = tree();
        symlink("/etc/passwd", dir.path().join("etc/ssh/link")).unwrap();
        symlink(
            "../../../../../../etc/passwd",
            dir.path().join("etc/ssh/up"),
        )
        .unwrap();
        let host = RootHost::new(dir.path());
        assert!(host
            .read_text("/etc/ssh/link")
            .unwrap()
            .starts_with("root:x:0:0::/root"));
        // `..` cannot climb above the root: this is the tree's passwd, not ours.
        assert!(host
            .read_text("/etc/ssh/up")
            .unwrap()
            .starts_with("root:x:0:0::/root:/bin/sh"));
    }

    #[test]
    fn loops_and_dangling_links_are_errors() {
        let dir = tree();
        symlink("/etc/b", dir.path().join("etc/a")).unwrap();
        symlink("/etc/a", dir.path().join("etc/b")).unwrap();
        symlink("/nowhere", dir.path().join("etc/dangling")).unwrap();
        let host = RootHost::new(dir.path());
        let e = host.read_text("/etc/a").unwrap_err();
        assert!(e.reason.contains("symlinks"), "{}", e.reason);
        let e = host.read_text("/etc/dangling").unwrap_err();
        assert!(e.reason.contains("dangling"), "{}", e.reason);
    }

    #[test]
    fn missing_or_non_linux_roots_explain_themselves() {
        let host = RootHost::new("/nonexistent/nodeward-root");
        assert!(host.problem().unwrap().contains("does not exist"));
        assert!(host.read_text("/etc/passwd").is_err());
        let empty = tempfile::tempdir().unwrap();
        let host = RootHost::new(empty.path());
        assert!(host.problem().unwrap().contains("not a Linux root tree"));
    }
}
