//! Reads one path's metadata without following it: type, mode, owner, times,
//! inode, symlink target, extended attributes and file capabilities.

use crate::entry::{Content, Entry, Kind};
use crate::rules::path_bytes;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::Path;

/// The most extended attributes recorded per path, and the most bytes per value.
const MAX_XATTRS: usize = 64;
const MAX_XATTR_VALUE: usize = 4096;

/// Why a path could not be inspected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InspectError {
    /// It disappeared after it was listed.
    Vanished,
    /// Another error (permission, I/O).
    Other(String),
}

fn kind_of(ft: std::fs::FileType) -> Kind {
    if ft.is_symlink() {
        Kind::Symlink
    } else if ft.is_dir() {
        Kind::Dir
    } else if ft.is_fifo() {
        Kind::Fifo
    } else if ft.is_char_device() {
        Kind::CharDevice
    } else if ft.is_block_device() {
        Kind::BlockDevice
    } else if ft.is_socket() {
        Kind::Socket
    } else {
        Kind::File
    }
}

fn nanos(secs: i64, nsec: i64) -> i128 {
    secs as i128 * 1_000_000_000 + nsec as i128
}

/// The metadata of `path` (content not yet hashed: [`Content::NotHashed`]).
pub fn inspect(path: &Path) -> Result<Entry, InspectError> {
    let md = std::fs::symlink_metadata(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            InspectError::Vanished
        } else {
            InspectError::Other(e.to_string())
        }
    })?;
    let kind = kind_of(md.file_type());
    let link_target = if kind == Kind::Symlink {
        std::fs::read_link(path)
            .ok()
            .map(|t| t.as_os_str().as_bytes().to_vec())
    } else {
        None
    };
    let (xattrs, capabilities) = read_xattrs(path);
    Ok(Entry {
        path: path_bytes(path),
        kind,
        mode: md.mode() & 0o7777,
        uid: md.uid(),
        gid: md.gid(),
        size: md.size(),
        mtime_ns: nanos(md.mtime(), md.mtime_nsec()),
        ctime_ns: nanos(md.ctime(), md.ctime_nsec()),
        inode: md.ino(),
        device: md.dev(),
        link_target,
        xattrs,
        capabilities,
        content: Content::NotHashed,
    })
}

type Xattrs = Vec<(Vec<u8>, Vec<u8>)>;

/// Extended attributes of `path` (not followed), and its decoded capabilities.
fn read_xattrs(path: &Path) -> (Xattrs, Option<String>) {
    let mut names = vec![0u8; 4096];
    let n = match rustix::fs::llistxattr(path, &mut names) {
        Ok(n) => n,
        Err(_) => return (Vec::new(), None),
    };
    let mut out = Vec::new();
    let mut caps = None;
    for name in names[..n].split(|b| *b == 0).filter(|n| !n.is_empty()) {
        if out.len() >= MAX_XATTRS {
            break;
        }
        let mut value = vec![0u8; MAX_XATTR_VALUE];
        let Ok(len) = rustix::fs::lgetxattr(path, name, &mut value) else {
            continue;
        };
        value.truncate(len);
        if name == b"security.capability" {
            caps = Some(decode_capabilities(&value));
        } else {
            out.push((name.to_vec(), value));
        }
    }
    out.sort();
    (out, caps)
}

/// Linux capability names by bit number (capability.h).
const CAP_NAMES: [&str; 41] = [
    "cap_chown",
    "cap_dac_override",
    "cap_dac_read_search",
    "cap_fowner",
    "cap_fsetid",
    "cap_kill",
    "cap_setgid",
    "cap_setuid",
    "cap_setpcap",
    "cap_linux_immutable",
    "cap_net_bind_service",
    "cap_net_broadcast",
    "cap_net_admin",
    "cap_net_raw",
    "cap_ipc_lock",
    "cap_ipc_owner",
    "cap_sys_module",
    "cap_sys_rawio",
    "cap_sys_chroot",
    "cap_sys_ptrace",
    "cap_sys_pacct",
    "cap_sys_admin",
    "cap_sys_boot",
    "cap_sys_nice",
    "cap_sys_resource",
    "cap_sys_time",
    "cap_sys_tty_config",
    "cap_mknod",
    "cap_lease",
    "cap_audit_write",
    "cap_audit_control",
    "cap_setfcap",
    "cap_mac_override",
    "cap_mac_admin",
    "cap_syslog",
    "cap_wake_alarm",
    "cap_block_suspend",
    "cap_audit_read",
    "cap_perfmon",
    "cap_bpf",
    "cap_checkpoint_restore",
];

/// `security.capability` (vfs_cap_data, versions 1-3) in getcap's style:
/// `cap_net_bind_service=ep`.
pub fn decode_capabilities(raw: &[u8]) -> String {
    let word = |i: usize| -> Option<u32> {
        raw.get(i * 4..i * 4 + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    };
    let Some(magic) = word(0) else {
        return format!("unparsed ({} bytes)", raw.len());
    };
    let effective = magic & 1 == 1;
    let (permitted, inheritable): (u64, u64) = match magic & 0xff00_0000 {
        0x0100_0000 => (word(1).unwrap_or(0) as u64, word(2).unwrap_or(0) as u64),
        0x0200_0000 | 0x0300_0000 => (
            word(1).unwrap_or(0) as u64 | (word(3).unwrap_or(0) as u64) << 32,
            word(2).unwrap_or(0) as u64 | (word(4).unwrap_or(0) as u64) << 32,
        ),
        _ => return format!("unknown capability format 0x{magic:08x}"),
    };
    let names = |set: u64| -> Vec<String> {
        (0..64)
            .filter(|b| set & (1u64 << b) != 0)
            .map(|b| {
                CAP_NAMES
                    .get(b as usize)
                    .map(|s| s.to_string())
                    .unwrap_or_else(|| format!("cap_{b}"))
            })
            .collect()
    };
    let mut parts = Vec::new();
    let p = names(permitted);
    let i = names(inheritable);
    if !p.is_empty() {
        parts.push(format!(
            "{}={}p",
            p.join(","),
            if effective { "e" } else { "" }
        ));
    }
    if !i.is_empty() {
        parts.push(format!("{}=i", i.join(",")));
    }
    if let Some(rootid) = word(5).filter(|_| magic & 0xff00_0000 == 0x0300_0000) {
        parts.push(format!("[rootid={rootid}]"));
    }
    if parts.is_empty() {
        "empty".into()
    } else {
        parts.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn capabilities_decode_like_getcap() {
        // v2, effective, permitted = cap_net_bind_service (bit 10).
        let mut raw = vec![];
        for w in [0x0200_0001u32, 1 << 10, 0, 0, 0] {
            raw.extend_from_slice(&w.to_le_bytes());
        }
        assert_eq!(decode_capabilities(&raw), "cap_net_bind_service=ep");
        assert!(decode_capabilities(&[1, 2]).starts_with("unparsed"));
        assert!(decode_capabilities(&[0, 0, 0, 9]).starts_with("unknown"));
    }

    #[test]
    fn a_vanished_path_is_named_as_such() {
        assert_eq!(
            inspect(Path::new("/nonexistent/nodeward-fim-test")),
            Err(InspectError::Vanished)
        );
    }
}
