//! The one abstraction every check reads the host through.
//!
//! [`Host`] has two implementations: [`LiveHost`] reads the running system
//! (files, `/proc`, `/sys`, a few fast local commands), [`RootHost`] reads an
//! offline root tree (`--root DIR`) from its files alone. Checks never touch the
//! file system directly, so both modes share the same check code; what a mode
//! cannot know comes back as [`Unavailable`] and the check reports `skip`.

mod live;
mod read;
mod root;

pub use live::LiveHost;
pub use read::{classify_bytes, MAX_FILE_BYTES};
pub use root::RootHost;

use std::fmt;

/// Why a fact could not be obtained: the finding becomes `skip` or `error`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unavailable {
    /// Whether this is a normal "cannot know" (skip) or broken input (error).
    pub kind: UnavailableKind,
    /// Human-readable reason, naming the path or command.
    pub reason: String,
}

/// Skip or error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnavailableKind {
    /// Not applicable, not installed, not readable without privileges, offline.
    Skip,
    /// Broken input: binary, huge, truncated, dangling symlink, loop.
    Error,
}

impl Unavailable {
    /// A skip with `reason`.
    pub fn skip(reason: impl Into<String>) -> Self {
        Unavailable {
            kind: UnavailableKind::Skip,
            reason: reason.into(),
        }
    }

    /// An error with `reason`.
    pub fn error(reason: impl Into<String>) -> Self {
        Unavailable {
            kind: UnavailableKind::Error,
            reason: reason.into(),
        }
    }

    /// Whether the thing simply is not there (a missing file).
    pub fn is_missing(&self) -> bool {
        self.kind == UnavailableKind::Skip && self.reason.ends_with(": not found")
    }
}

impl fmt::Display for Unavailable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

/// The result type of host reads.
pub type Fact<T> = Result<T, Unavailable>;

/// Whether the audit looks at a running system or at files only.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// The running host.
    Live,
    /// An offline root tree.
    Offline,
}

/// What a directory entry or path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileMeta {
    /// A directory.
    pub is_dir: bool,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, seconds since the epoch.
    pub mtime: i64,
    /// Permission bits.
    pub mode: u32,
    /// Owner.
    pub uid: u32,
}

/// A running process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Process {
    /// Process ID.
    pub pid: u32,
    /// Short name from `/proc/PID/comm`.
    pub comm: String,
    /// Command line, arguments joined by spaces.
    pub cmdline: String,
    /// Real user ID.
    pub uid: u32,
}

/// A listening (TCP) or bound (UDP) socket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Socket {
    /// `tcp` or `udp`.
    pub proto: &'static str,
    /// Local address as text (`0.0.0.0`, `::`, `127.0.0.1`).
    pub addr: std::net::IpAddr,
    /// Local port.
    pub port: u16,
    /// Socket inode (to find the owning process).
    pub inode: u64,
    /// Owning processes (name and pid), when they could be found.
    pub owners: Vec<(String, u32)>,
}

/// A mounted (or, offline, configured) file system.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Mount point.
    pub target: String,
    /// File system type.
    pub fstype: String,
    /// Options, split on commas (per-mount and super-block options together).
    pub options: Vec<String>,
    /// Where the information came from (`/proc/self/mountinfo:12`, `/etc/fstab:4`).
    pub source: String,
}

/// The output of a local command (live only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandOutput {
    /// Exit status code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// Standard output, lossily decoded and bounded.
    pub stdout: String,
    /// Standard error, lossily decoded and bounded.
    pub stderr: String,
}

/// Every read a check makes of the host.
///
/// Paths are absolute paths as seen on the audited system (`/etc/ssh/sshd_config`).
pub trait Host {
    /// Live or offline.
    fn mode(&self) -> Mode;

    /// What is audited, for the report's `target`.
    fn describe(&self) -> String;

    /// Why nothing at all can be audited (an offline root that does not exist
    /// or is not a Linux tree); `None` when the host is usable.
    fn unusable(&self) -> Option<String> {
        None
    }

    /// A text file, bounded in size, refusing binary content. Missing files are
    /// a skip ending in `: not found`; unreadable ones a skip naming the
    /// permission; binary, huge or dangling ones an error.
    fn read_text(&self, path: &str) -> Fact<String>;

    /// A file's raw bytes, up to `limit` (larger files are an error).
    fn read_bytes(&self, path: &str, limit: u64) -> Fact<Vec<u8>>;

    /// The names in a directory, sorted.
    fn list_dir(&self, path: &str) -> Fact<Vec<String>>;

    /// Metadata of a path (following symlinks inside the audited system).
    fn metadata(&self, path: &str) -> Fact<FileMeta>;

    /// The target of a symlink, unresolved.
    fn read_link(&self, path: &str) -> Fact<String>;

    /// Whether the path exists (following symlinks).
    fn exists(&self, path: &str) -> bool {
        self.metadata(path).is_ok()
    }

    /// A kernel parameter (`net.ipv4.tcp_syncookies`): live from `/proc/sys`,
    /// offline from the sysctl configuration files. The second value says where
    /// it came from.
    fn sysctl(&self, key: &str) -> Fact<(String, String)>;

    /// Mounted file systems: live from mountinfo, offline from fstab.
    fn mounts(&self) -> Fact<Vec<Mount>>;

    /// Running processes (live only).
    fn processes(&self) -> Fact<Vec<Process>>;

    /// Listening TCP and bound UDP sockets with their owners (live only).
    fn sockets(&self) -> Fact<Vec<Socket>>;

    /// Whether the kernel clock is synchronised, with the raw status (live only).
    fn clock_synchronised(&self) -> Fact<(bool, String)>;

    /// Runs a local program (absolute path) with arguments, bounded in time
    /// and output (live only). Missing programs are a skip.
    fn run(&self, program: &str, args: &[&str]) -> Fact<CommandOutput>;

    /// Seconds since the epoch "now" (to judge ages of files).
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0)
    }
}
