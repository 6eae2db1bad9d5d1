//! The ban store's lock: an exclusive `flock(2)` on `bans.lock` next to `bans.json`.
//!
//! `ban watch`, `ban add` and `ban remove` run as separate processes and each
//! rewrites the whole store. Every change is load -> modify -> atomic save while
//! holding this lock, so no process saves over a change it has not seen. The lock is
//! advisory and tied to the open file: it is released when the [`StoreLock`] is
//! dropped, also when the process dies, so a crash never leaves it stuck.

use crate::error::{Error, Result};
use crate::state::ensure_dir;
use rustix::fs::{flock, FlockOperation};
use std::fs::{File, OpenOptions};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long a process waits for another one to finish its change of the store.
pub const LOCK_WAIT: Duration = Duration::from_secs(10);

/// Holds the exclusive lock of a ban store until dropped.
#[derive(Debug)]
pub struct StoreLock {
    _file: File,
    path: PathBuf,
}

impl StoreLock {
    /// The lock file of the store in `state_dir` (`<state_dir>/ban/bans.lock`).
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join("ban").join("bans.lock")
    }

    /// Takes the lock, waiting up to [`LOCK_WAIT`] for another holder to finish.
    pub fn acquire(state_dir: &Path) -> Result<StoreLock> {
        Self::acquire_within(state_dir, LOCK_WAIT)
    }

    /// Takes the lock, waiting up to `wait`.
    pub fn acquire_within(state_dir: &Path, wait: Duration) -> Result<StoreLock> {
        let path = Self::path(state_dir);
        if let Some(dir) = path.parent() {
            ensure_dir(dir)?;
        }
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(&path)
            .map_err(|e| Error::io(&path, e))?;
        let start = Instant::now();
        loop {
            match flock(&file, FlockOperation::NonBlockingLockExclusive) {
                Ok(()) => return Ok(StoreLock { _file: file, path }),
                Err(e) if e == rustix::io::Errno::WOULDBLOCK || e == rustix::io::Errno::INTR => {
                    if start.elapsed() >= wait {
                        return Err(Error::Refused(format!(
                            "{}: the ban store is locked by another nodeward process (ban watch, add or remove) for more than {}s; try again",
                            path.display(),
                            wait.as_secs()
                        )));
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
                Err(e) => return Err(Error::io(&path, e.into())),
            }
        }
    }

    /// The lock file.
    pub fn file_path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_holder_waits_and_gives_up_with_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let held = StoreLock::acquire(dir.path()).unwrap();
        assert!(held.file_path().ends_with("ban/bans.lock"));
        // flock locks belong to the open file: a second open in the same process conflicts.
        let err = StoreLock::acquire_within(dir.path(), Duration::from_millis(50)).unwrap_err();
        assert!(err.to_string().contains("locked by another"), "{err}");
        drop(held);
        StoreLock::acquire_within(dir.path(), Duration::from_millis(50)).unwrap();
    }
}
