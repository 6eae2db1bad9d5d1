//! Registered backends, persisted: one JSON file in the state directory,
//! written atomically (a temporary file, fsync, rename) with mode 0600, so
//! a crash never leaves half a file and other users cannot read it. A file
//! that cannot be read is set aside under a new name, never overwritten.

use crate::backend::{Address, BackendId, BackendSpec, HealthOverrides, Origin};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Largest registrations file read.
const MAX_FILE: u64 = 16 * 1024 * 1024;

/// One registered backend, as stored and as the admin API takes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Registration {
    /// Its id.
    pub id: BackendId,
    /// Its address.
    pub address: Address,
    /// Its weight.
    #[serde(default = "one")]
    pub weight: u32,
    /// Its tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Its own health thresholds.
    #[serde(default, skip_serializing_if = "HealthOverrides::is_empty")]
    pub health: HealthOverrides,
    /// Drained: listed, taking no new requests.
    #[serde(default)]
    pub draining: bool,
}

fn one() -> u32 {
    1
}

impl Registration {
    /// The backend this registration describes.
    pub fn spec(&self) -> BackendSpec {
        BackendSpec {
            id: self.id.clone(),
            address: self.address.clone(),
            weight: self.weight,
            tags: self.tags.clone(),
            origin: Origin::Registered,
            overrides: self.health.clone(),
        }
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct File {
    version: u32,
    pools: BTreeMap<String, Vec<Registration>>,
}

/// Why the store could not be written.
#[derive(Debug, thiserror::Error)]
#[error("cannot save registrations to {path}: {source}")]
pub struct StoreError {
    /// The file.
    pub path: PathBuf,
    /// Why.
    pub source: std::io::Error,
}

/// The registrations of every pool.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    pools: Mutex<BTreeMap<String, Vec<Registration>>>,
}

impl Store {
    /// Opens `path` (missing: no registrations). A file that cannot be
    /// parsed is renamed `<path>.bad-<unix time>` and reported in the
    /// returned warning; the store starts empty.
    pub fn open(path: &Path) -> (Store, Option<String>) {
        let mut warning = None;
        let pools = match read(path) {
            Ok(Some(f)) => f.pools,
            Ok(None) => BTreeMap::new(),
            Err(e) => {
                let stamp = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_secs());
                let aside = PathBuf::from(format!("{}.bad-{stamp}", path.display()));
                let moved = std::fs::rename(path, &aside);
                warning = Some(match moved {
                    Ok(()) => format!(
                        "registrations file {} is unreadable ({e}); set aside as {} and starting with no registrations",
                        path.display(),
                        aside.display()
                    ),
                    Err(m) => format!(
                        "registrations file {} is unreadable ({e}) and could not be set aside ({m}); starting with no registrations, and it will be replaced on the next registration",
                        path.display()
                    ),
                });
                BTreeMap::new()
            }
        };
        (
            Store {
                path: path.to_path_buf(),
                pools: Mutex::new(pools),
            },
            warning,
        )
    }

    /// The file it is kept in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The registrations of `pool`.
    pub fn list(&self, pool: &str) -> Vec<Registration> {
        self.lock().get(pool).cloned().unwrap_or_default()
    }

    /// Every pool that has registrations.
    pub fn pools(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// Adds or replaces a registration and saves.
    pub fn put(&self, pool: &str, reg: Registration) -> Result<(), StoreError> {
        self.change(|pools| {
            let list = pools.entry(pool.to_string()).or_default();
            match list.iter_mut().find(|r| r.id == reg.id) {
                Some(r) => *r = reg,
                None => list.push(reg),
            }
            true
        })
    }

    /// Removes a registration and saves; `false` when there was none.
    pub fn remove(&self, pool: &str, id: &BackendId) -> Result<bool, StoreError> {
        let mut found = false;
        self.change(|pools| {
            if let Some(list) = pools.get_mut(pool) {
                let before = list.len();
                list.retain(|r| &r.id != id);
                found = list.len() != before;
                if list.is_empty() {
                    pools.remove(pool);
                }
            }
            found
        })?;
        Ok(found)
    }

    /// Marks a registration drained (or not) and saves; `false` when there was none.
    pub fn set_draining(&self, pool: &str, id: &BackendId, on: bool) -> Result<bool, StoreError> {
        let mut found = false;
        self.change(|pools| {
            if let Some(r) = pools
                .get_mut(pool)
                .and_then(|l| l.iter_mut().find(|r| &r.id == id))
            {
                r.draining = on;
                found = true;
            }
            found
        })?;
        Ok(found)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Vec<Registration>>> {
        self.pools.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Applies `f` and saves when it reports a change; on a failed save the
    /// change is undone, so memory and disk agree.
    fn change(
        &self,
        f: impl FnOnce(&mut BTreeMap<String, Vec<Registration>>) -> bool,
    ) -> Result<(), StoreError> {
        let mut pools = self.lock();
        let before = pools.clone();
        if !f(&mut pools) {
            return Ok(());
        }
        let file = File {
            version: 1,
            pools: pools.clone(),
        };
        if let Err(source) = write_atomic(&self.path, &file) {
            *pools = before;
            return Err(StoreError {
                path: self.path.clone(),
                source,
            });
        }
        Ok(())
    }
}

fn read(path: &Path) -> Result<Option<File>, String> {
    use std::io::Read;
    let f = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e.to_string()),
    };
    let mut data = Vec::new();
    f.take(MAX_FILE + 1)
        .read_to_end(&mut data)
        .map_err(|e| e.to_string())?;
    if data.len() as u64 > MAX_FILE {
        return Err(format!("larger than {MAX_FILE} bytes"));
    }
    let file: File = serde_json::from_slice(&data).map_err(|e| e.to_string())?;
    if file.version != 1 {
        return Err(format!("unknown version {}", file.version));
    }
    Ok(Some(file))
}

fn write_atomic(path: &Path, file: &File) -> std::io::Result<()> {
    let mut data = serde_json::to_vec_pretty(file).map_err(std::io::Error::other)?;
    data.push(b'\n');
    nodeward_files::write_private(path, &data)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn reg(id: &str, port: u16) -> Registration {
        Registration {
            id: BackendId::parse(id).unwrap(),
            address: Address::parse(&format!("http://127.0.0.1:{port}")).unwrap(),
            weight: 2,
            tags: vec!["eu".into()],
            health: HealthOverrides::default(),
            draining: false,
        }
    }

    #[test]
    fn registrations_survive_a_reopen_with_safe_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("backends.json");
        let (s, w) = Store::open(&path);
        assert!(w.is_none());
        s.put("iri", reg("a", 1)).unwrap();
        s.put("iri", reg("b", 2)).unwrap();
        assert!(s
            .set_draining("iri", &BackendId::parse("b").unwrap(), true)
            .unwrap());
        assert!(s.remove("iri", &BackendId::parse("a").unwrap()).unwrap());
        assert!(!s.remove("iri", &BackendId::parse("zz").unwrap()).unwrap());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let (s2, _) = Store::open(&path);
        let l = s2.list("iri");
        assert_eq!(l.len(), 1);
        assert_eq!(l[0].id.as_str(), "b");
        assert!(l[0].draining);
    }

    #[test]
    fn an_unreadable_file_is_set_aside_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("backends.json");
        std::fs::write(&path, "{not json").unwrap();
        let (s, w) = Store::open(&path);
        assert!(w.unwrap().contains("set aside"));
        assert!(s.list("iri").is_empty());
        let aside: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| e.file_name().to_string_lossy().contains(".bad-"))
            .collect();
        assert_eq!(aside.len(), 1);
        assert_eq!(
            std::fs::read_to_string(aside[0].path()).unwrap(),
            "{not json"
        );
    }
}
