//! Which systemd units run the node, and as which user: units named like a
//! node process (`hornet.service`, `cardano-node.service`, `dashd@main.service`)
//! or whose `ExecStart=` runs one, read from the unit directories with their
//! `NAME.service.d/*.conf` drop-ins (the last `User=` wins, as in systemd).

use crate::host::Host;

/// The unit directories, in the order systemd prefers them.
pub const UNIT_DIRS: [&str; 3] = [
    "/etc/systemd/system",
    "/lib/systemd/system",
    "/usr/lib/systemd/system",
];

/// How many unit files are looked at, at most.
const MAX_UNITS: usize = 4000;

/// A unit that runs the node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeUnit {
    /// The unit file.
    pub path: String,
    /// Why it counts as the node (`named like hornet`, `ExecStart runs cardano-node`).
    pub why: String,
    /// `User=` with `file:line`, when set (unset: root).
    pub user: Option<(String, String)>,
}

/// The program an `ExecStart=` value runs, without systemd's prefixes.
fn exec_program(value: &str) -> Option<String> {
    let v = value.trim_start_matches(['@', '-', ':', '+', '!']);
    let mut words = v.split_whitespace();
    let mut prog = words.next()?;
    // `/usr/bin/env NAME ...`
    if prog.ends_with("/env") {
        prog = words.find(|w| !w.contains('=') && !w.starts_with('-'))?;
    }
    Some(prog.rsplit('/').next().unwrap_or(prog).to_string())
}

fn named_like(unit: &str, name: &str) -> bool {
    let stem = unit.trim_end_matches(".service");
    stem == name
        || stem
            .strip_prefix(name)
            .is_some_and(|r| r.starts_with('@') || r.starts_with('-') || r.starts_with('.'))
}

/// Reads `text` (and drop-ins) for `ExecStart=` programs and the last `User=`.
fn settings(host: &dyn Host, path: &str, text: &str) -> (Vec<String>, Option<(String, String)>) {
    let mut programs = Vec::new();
    let mut user = None;
    let mut files = vec![(path.to_string(), text.to_string())];
    let dropins = format!("{path}.d");
    if let Ok(names) = host.list_dir(&dropins) {
        for n in names.into_iter().filter(|n| n.ends_with(".conf")).take(64) {
            let p = format!("{dropins}/{n}");
            if let Ok(t) = host.read_text(&p) {
                files.push((p, t));
            }
        }
    }
    for (file, text) in files {
        let mut section = String::new();
        for (i, raw) in text.lines().enumerate() {
            let l = raw.trim();
            if l.starts_with('[') {
                section = l.to_string();
                continue;
            }
            if section != "[Service]" || l.starts_with('#') || l.starts_with(';') {
                continue;
            }
            let Some((k, v)) = l.split_once('=') else {
                continue;
            };
            match k.trim() {
                "ExecStart" => programs.extend(exec_program(v)),
                "User" => {
                    let v = v.trim();
                    user = (!v.is_empty()).then(|| (v.to_string(), format!("{file}:{}", i + 1)));
                }
                _ => {}
            }
        }
    }
    (programs, user)
}

/// The units of `host` that run one of the node process `names`.
pub fn node_units(host: &dyn Host, names: &[String]) -> Vec<NodeUnit> {
    let mut out: Vec<NodeUnit> = Vec::new();
    if names.is_empty() {
        return out;
    }
    let mut seen = 0;
    for dir in UNIT_DIRS {
        let Ok(entries) = host.list_dir(dir) else {
            continue;
        };
        for unit in entries.into_iter().filter(|n| n.ends_with(".service")) {
            seen += 1;
            if seen > MAX_UNITS {
                return out;
            }
            // A unit in /etc overrides the vendor one of the same name.
            if out.iter().any(|u| u.path.ends_with(&format!("/{unit}"))) {
                continue;
            }
            let path = format!("{dir}/{unit}");
            if host.read_link(&path).is_ok_and(|t| t == "/dev/null") {
                continue;
            }
            let Ok(text) = host.read_text(&path) else {
                continue;
            };
            let (programs, user) = settings(host, &path, &text);
            let why = names
                .iter()
                .find(|n| named_like(&unit, n))
                .map(|n| format!("named like {n}"))
                .or_else(|| {
                    programs
                        .iter()
                        .find(|p| names.contains(p))
                        .map(|p| format!("ExecStart runs {p}"))
                });
            if let Some(why) = why {
                out.push(NodeUnit { path, why, user });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::host::RootHost;

    #[test]
    fn finds_units_by_name_and_execstart_with_dropins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join("etc")).unwrap();
        std::fs::write(dir.path().join("etc/os-release"), "ID=debian\n").unwrap();
        let w = |p: &str, t: &str| {
            let full = dir.path().join(p.trim_start_matches('/'));
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, t).unwrap();
        };
        w(
            "/lib/systemd/system/hornet.service",
            "[Service]\nUser=hornet\nExecStart=/usr/bin/hornet\n",
        );
        w("/etc/systemd/system/pool.service", "[Unit]\nUser=nobody\n[Service]\nExecStart=-/usr/bin/env FOO=1 cardano-node run\nUser=cardano\n");
        w(
            "/etc/systemd/system/pool.service.d/override.conf",
            "[Service]\nUser=spo\n",
        );
        w(
            "/etc/systemd/system/other.service",
            "[Service]\nExecStart=/usr/bin/other\n",
        );
        w(
            "/etc/systemd/system/hornet-backup.service",
            "[Service]\nExecStart=/bin/true\n",
        );
        let host = RootHost::new(dir.path());
        let names = vec!["hornet".to_string(), "cardano-node".to_string()];
        let u = node_units(&host, &names);
        let paths: Vec<&str> = u.iter().map(|u| u.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "/etc/systemd/system/hornet-backup.service",
                "/etc/systemd/system/pool.service",
                "/lib/systemd/system/hornet.service"
            ]
        );
        assert_eq!(u[0].user, None);
        let (user, at) = u[1].user.clone().unwrap();
        assert_eq!(user, "spo");
        assert!(at.ends_with("override.conf:2"), "{at}");
        assert!(u[1].why.contains("ExecStart runs cardano-node"));
        assert_eq!(u[2].user.as_ref().unwrap().0, "hornet");
        assert!(node_units(&host, &[]).is_empty());
    }
}
