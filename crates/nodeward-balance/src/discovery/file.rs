//! A watched file of backends, for setups that template files (Ansible in
//! the node guides): a TOML file of `[[backend]]` tables, re-read when it
//! changes. A file with an error changes nothing: the error is reported and
//! the backends last read stay.
//!
//! ```toml
//! [[backend]]
//! address = "http://10.0.0.5:14265"
//! id = "node-5"        # optional: host:port by default
//! weight = 2           # optional
//! tags = ["eu"]        # optional
//! ```

use crate::backend::{Address, BackendId, BackendSpec, HealthOverrides, Origin};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// Largest backends file read.
const MAX_FILE: u64 = 4 * 1024 * 1024;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileBackends {
    #[serde(default)]
    backend: Vec<Entry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    address: String,
    id: Option<String>,
    #[serde(default = "one")]
    weight: u32,
    #[serde(default)]
    tags: Vec<String>,
    #[serde(default)]
    health: HealthOverrides,
}

fn one() -> u32 {
    1
}

/// Parses a backends file's text; errors name the file and the entry.
pub fn parse(path: &Path, text: &str) -> Result<Vec<BackendSpec>, String> {
    let shown = path.display();
    let parsed: FileBackends = toml::from_str(text).map_err(|e| {
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        match line {
            Some(l) => format!("{shown}:{l}: {}", e.message()),
            None => format!("{shown}: {}", e.message()),
        }
    })?;
    let mut out: Vec<BackendSpec> = Vec::with_capacity(parsed.backend.len());
    for (i, e) in parsed.backend.into_iter().enumerate() {
        let at = |m: String| format!("{shown}: backend[{i}]: {m}");
        let address = Address::parse(&e.address).map_err(at)?;
        let id = match &e.id {
            Some(id) => BackendId::parse(id).map_err(at)?,
            None => address.default_id(),
        };
        let spec = BackendSpec {
            id,
            address,
            weight: e.weight,
            tags: e.tags,
            origin: Origin::File,
            overrides: e.health,
        };
        spec.validate().map_err(at)?;
        if let Some(o) = out
            .iter()
            .find(|o| o.id == spec.id || o.address == spec.address)
        {
            return Err(at(format!("duplicates backend {} ({})", o.id, o.address)));
        }
        out.push(spec);
    }
    Ok(out)
}

/// A file watched by polling its size and modification time (robust on
/// every filesystem, and cheap at one check a second).
#[derive(Debug)]
pub struct Watched {
    path: PathBuf,
    seen: Option<(SystemTime, u64)>,
}

impl Watched {
    /// Watches `path` (read on the first poll).
    pub fn new(path: &Path) -> Watched {
        Watched {
            path: path.to_path_buf(),
            seen: None,
        }
    }

    /// The watched path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The backends, when the file changed since the last poll (a missing
    /// file counts as no backends).
    pub fn poll(&mut self) -> Option<Result<Vec<BackendSpec>, String>> {
        let stamp = match std::fs::metadata(&self.path) {
            Ok(m) => (m.modified().unwrap_or(SystemTime::UNIX_EPOCH), m.len()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                (SystemTime::UNIX_EPOCH, u64::MAX)
            }
            Err(e) => return Some(Err(format!("{}: {e}", self.path.display()))),
        };
        if self.seen == Some(stamp) {
            return None;
        }
        self.seen = Some(stamp);
        if stamp.1 == u64::MAX {
            return Some(Ok(Vec::new()));
        }
        if stamp.1 > MAX_FILE {
            return Some(Err(format!(
                "{}: larger than {MAX_FILE} bytes",
                self.path.display()
            )));
        }
        Some(match std::fs::read_to_string(&self.path) {
            Ok(text) => parse(&self.path, &text),
            Err(e) => Err(format!("{}: {e}", self.path.display())),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_backends_and_names_errors() {
        let p = Path::new("/etc/nodeward/iri-backends.toml");
        let specs = parse(
            p,
            "[[backend]]\naddress = \"http://10.0.0.5:14265\"\n[[backend]]\naddress = \"https://n6.example\"\nid = \"n6\"\nweight = 3\ntags = [\"eu\"]\n",
        )
        .unwrap();
        assert_eq!(specs.len(), 2);
        assert_eq!(specs[0].id.as_str(), "10.0.0.5:14265");
        assert_eq!((specs[1].id.as_str(), specs[1].weight), ("n6", 3));
        let e = parse(p, "[[backend]]\naddress = \"10.0.0.5\"\n").unwrap_err();
        assert!(e.contains("backend[0]") && e.contains("scheme"), "{e}");
        let e = parse(p, "[[backend]]\naddres = \"x\"\n").unwrap_err();
        assert!(e.starts_with("/etc/nodeward/iri-backends.toml:"), "{e}");
        let e = parse(
            p,
            "[[backend]]\naddress = \"http://a:1\"\n[[backend]]\naddress = \"http://a:1\"\n",
        )
        .unwrap_err();
        assert!(e.contains("duplicates"), "{e}");
        let e = parse(p, "[[backend]]\naddress = \"http://a:1\"\nweight = 0\n").unwrap_err();
        assert!(e.contains("weight"), "{e}");
    }

    #[test]
    fn polling_reports_changes_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("b.toml");
        let mut w = Watched::new(&path);
        assert_eq!(w.poll().unwrap().unwrap().len(), 0);
        assert!(w.poll().is_none());
        std::fs::write(&path, "[[backend]]\naddress = \"http://a:1\"\n").unwrap();
        assert_eq!(w.poll().unwrap().unwrap().len(), 1);
        assert!(w.poll().is_none());
    }
}
