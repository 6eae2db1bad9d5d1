//! Writing nodeward's own files safely. nodeward runs as root and keeps
//! secrets, bans, registrations, baselines and reports on disk; every one of
//! those writes must leave either the old file or the new one after a crash,
//! must never be readable by others while it is written, and must not be
//! redirected through a planted symlink. One implementation, used by every
//! crate, instead of one per feature.
//!
//! A write goes to a temporary file with an unpredictable name created with
//! `O_EXCL` in the target's own directory (so a symlink planted at a guessable
//! name is never followed), with the final mode set before any byte is
//! written, synced, renamed over the target, and then the directory is synced
//! so that the rename itself survives a power cut.

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::Path;

/// Mode of files holding secrets or state: owner only.
pub const PRIVATE_FILE: u32 = 0o600;
/// Mode of directories created for such files: owner only.
pub const PRIVATE_DIR: u32 = 0o700;

/// Writes `bytes` to `path` atomically with mode 0600, creating missing
/// parent directories with mode 0700. For state and secrets.
pub fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    replace(path, bytes, PRIVATE_FILE)
}

/// Writes a file the user named on the command line (a report, an export):
/// like [`write_private`], except that a device, pipe or socket at `path`
/// (`-o /dev/stdout`, `/dev/null`, a FIFO) is written in place, because
/// renaming over it would replace the device with a regular file.
pub fn write_output(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        return std::fs::OpenOptions::new()
            .write(true)
            .open(path)?
            .write_all(bytes);
    }
    replace(path, bytes, PRIVATE_FILE)
}

/// Creates `dir` and its missing parents with mode 0700 (existing ones keep
/// their mode).
pub fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(PRIVATE_DIR)
        .create(dir)
}

/// The directory a file lives in (`.` for a bare name).
fn parent_of(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

fn replace(path: &Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    let dir = parent_of(path);
    if !dir.exists() {
        create_private_dir(dir)?;
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    // Dropped (and so removed) on every error path below.
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(dir)?;
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode))?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    std::fs::File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::{FileTypeExt, MetadataExt};

    #[test]
    fn writes_a_private_file_and_its_directories() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("a/b/state.json");
        write_private(&path, b"one").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"one");
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        let dir_mode = std::fs::metadata(root.path().join("a/b")).unwrap().mode();
        assert_eq!(dir_mode & 0o777, 0o700);
        write_private(&path, b"two").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"two");
        // Nothing left behind but the file itself.
        let names: Vec<_> = std::fs::read_dir(root.path().join("a/b"))
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("state.json")]);
    }

    #[test]
    fn replacing_a_readable_file_makes_it_private() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("token");
        std::fs::write(&path, "old").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        write_private(&path, b"new").unwrap();
        assert_eq!(std::fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
    }

    #[test]
    fn a_planted_symlink_at_the_old_temporary_name_is_not_followed() {
        let root = tempfile::tempdir().unwrap();
        let victim = root.path().join("victim");
        std::fs::write(&victim, "keep").unwrap();
        let path = root.path().join("bans.json");
        // The names the old writers used.
        std::os::unix::fs::symlink(&victim, root.path().join("bans.json.tmp")).unwrap();
        std::os::unix::fs::symlink(&victim, root.path().join("bans.tmp")).unwrap();
        write_private(&path, b"[]").unwrap();
        assert_eq!(std::fs::read(&victim).unwrap(), b"keep");
        assert_eq!(std::fs::read(&path).unwrap(), b"[]");
    }

    #[test]
    fn outputs_to_devices_are_written_in_place() {
        write_output(Path::new("/dev/null"), b"report").unwrap();
        assert!(std::fs::metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device());
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("report.html");
        write_output(&path, b"<html>").unwrap();
        assert_eq!(std::fs::read(&path).unwrap(), b"<html>");
    }

    #[test]
    fn a_missing_directory_that_cannot_be_made_is_an_error() {
        assert!(write_private(Path::new("/proc/nodeward-nope/x"), b"x").is_err());
    }
}
