//! What the baseline records about one path, and the names of the attributes
//! a rule can select.

use serde::{Deserialize, Serialize};
use std::fmt;

/// What kind of file system object a path is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    /// A regular file.
    File,
    /// A directory.
    Dir,
    /// A symbolic link (never followed).
    Symlink,
    /// A named pipe (never opened).
    Fifo,
    /// A character device (never opened).
    CharDevice,
    /// A block device (never opened).
    BlockDevice,
    /// A Unix socket (never opened).
    Socket,
}

impl Kind {
    /// Lower-case name for reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::File => "file",
            Kind::Dir => "directory",
            Kind::Symlink => "symlink",
            Kind::Fifo => "fifo",
            Kind::CharDevice => "character device",
            Kind::BlockDevice => "block device",
            Kind::Socket => "socket",
        }
    }
}

/// A content digest and the algorithm that made it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Digest {
    /// BLAKE3-256.
    Blake3([u8; 32]),
    /// SHA-256.
    Sha256([u8; 32]),
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (name, bytes) = match self {
            Digest::Blake3(b) => ("blake3", b),
            Digest::Sha256(b) => ("sha256", b),
        };
        write!(f, "{name}:")?;
        for b in bytes {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

/// The content of a file as far as it could be established.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Content {
    /// Not a regular file, or the rule does not look at content.
    NotHashed,
    /// Hashed.
    Hashed(Digest),
    /// Larger than the rule's `max_hash_size`: only metadata is compared.
    TooLarge,
    /// Could not be read (permission, I/O error): the reason.
    Unreadable(String),
    /// Changed while it was being read: no trustworthy hash.
    ChangedWhileReading,
}

/// Everything recorded about one path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The path's raw bytes (names need not be UTF-8).
    pub path: Vec<u8>,
    /// What it is.
    pub kind: Kind,
    /// Permission and special bits (`st_mode & 0o7777`).
    pub mode: u32,
    /// Owner.
    pub uid: u32,
    /// Group.
    pub gid: u32,
    /// Size in bytes.
    pub size: u64,
    /// Modification time, nanoseconds since the epoch.
    pub mtime_ns: i128,
    /// Status-change time, nanoseconds since the epoch.
    pub ctime_ns: i128,
    /// Inode number.
    pub inode: u64,
    /// Device the inode is on.
    pub device: u64,
    /// A symlink's target, raw bytes.
    pub link_target: Option<Vec<u8>>,
    /// Extended attributes (name, value), sorted by name; `security.capability` excluded.
    pub xattrs: Vec<(Vec<u8>, Vec<u8>)>,
    /// File capabilities (`security.capability`), decoded for people.
    pub capabilities: Option<String>,
    /// The content digest.
    pub content: Content,
}

impl Entry {
    /// The path for people: lossy UTF-8 with control characters escaped.
    pub fn display_path(&self) -> String {
        display_path(&self.path)
    }

    /// Whether the metadata that a write to the file must change is the same,
    /// so the old digest can be reused (size, mtime, ctime, inode, device).
    pub fn same_content_metadata(&self, other: &Entry) -> bool {
        self.kind == other.kind
            && self.size == other.size
            && self.mtime_ns == other.mtime_ns
            && self.ctime_ns == other.ctime_ns
            && self.inode == other.inode
            && self.device == other.device
    }
}

/// A raw path for people: invalid UTF-8 and control characters escaped (`\xNN`).
pub fn display_path(raw: &[u8]) -> String {
    let mut out = String::with_capacity(raw.len());
    for chunk in raw.utf8_chunks() {
        for c in chunk.valid().chars() {
            if c.is_control() {
                out.push_str(&format!("\\x{:02x}", c as u32));
            } else {
                out.push(c);
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// The attributes a rule can select (`attributes = [...]` in `[[fim.rule]]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Attr {
    /// File type.
    Type,
    /// Permission and special bits.
    Mode,
    /// Owner and group.
    Owner,
    /// Size.
    Size,
    /// Modification time.
    Mtime,
    /// Status-change time.
    Ctime,
    /// Inode and device.
    Inode,
    /// Symlink target.
    Target,
    /// Extended attributes.
    Xattrs,
    /// File capabilities.
    Caps,
    /// Content digest.
    Content,
}

impl Attr {
    /// Every attribute.
    pub const ALL: [Attr; 11] = [
        Attr::Type,
        Attr::Mode,
        Attr::Owner,
        Attr::Size,
        Attr::Mtime,
        Attr::Ctime,
        Attr::Inode,
        Attr::Target,
        Attr::Xattrs,
        Attr::Caps,
        Attr::Content,
    ];

    /// The name used in config files and reports.
    pub fn as_str(self) -> &'static str {
        match self {
            Attr::Type => "type",
            Attr::Mode => "mode",
            Attr::Owner => "owner",
            Attr::Size => "size",
            Attr::Mtime => "mtime",
            Attr::Ctime => "ctime",
            Attr::Inode => "inode",
            Attr::Target => "target",
            Attr::Xattrs => "xattrs",
            Attr::Caps => "caps",
            Attr::Content => "content",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_are_not_utf8_or_hold_controls_are_escaped() {
        assert_eq!(display_path(b"/etc/a\xffb"), "/etc/a\\xffb");
        assert_eq!(display_path(b"/tmp/x\ny"), "/tmp/x\\x0ay");
        assert_eq!(display_path("/é".as_bytes()), "/é");
    }
}
