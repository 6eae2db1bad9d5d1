//! `/proc/PID/maps`: which executable mappings of a process point at files
//! that were deleted (replaced by an upgrade), the evidence needrestart uses.

/// The most lines of one maps file looked at.
pub const MAX_MAP_LINES: usize = 65_536;

const DELETED: &str = " (deleted)";

/// Whether a deleted path is scratch space rather than an upgraded file:
/// memfd and shared-memory segments, files under /dev/shm, /tmp, /var/tmp.
pub fn is_scratch(path: &str) -> bool {
    path.starts_with("memfd:")
        || path.starts_with("/memfd:")
        || path.starts_with("/SYSV")
        || path.starts_with("/dev/shm/")
        || path.starts_with("/tmp/")
        || path.starts_with("/var/tmp/")
        || path.starts_with("/dev/zero")
        || path.starts_with("/run/user/")
        || !path.starts_with('/')
}

/// The deleted file behind a `/proc/PID/exe` link target, if it is one and
/// not scratch.
pub fn deleted_exe(target: &str) -> Option<String> {
    let path = target.strip_suffix(DELETED)?;
    (!is_scratch(path)).then(|| path.to_string())
}

/// The deleted, non-scratch files mapped executable in `maps`, each once, in
/// order of appearance; reads at most [`MAX_MAP_LINES`] lines.
pub fn deleted_exec_paths(maps: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for line in maps.lines().take(MAX_MAP_LINES) {
        // address perms offset dev inode pathname (the path may hold spaces)
        let mut f = line.splitn(6, ' ');
        let (Some(_addr), Some(perms)) = (f.next(), f.next()) else {
            continue;
        };
        if perms.len() != 4 || perms.as_bytes()[2] != b'x' {
            continue;
        }
        let Some(path) = f.nth(3).map(str::trim_start) else {
            continue;
        };
        let Some(path) = path.strip_suffix(DELETED) else {
            continue;
        };
        if is_scratch(path) || out.iter().any(|p| p == path) {
            continue;
        }
        out.push(path.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_deleted_executable_mappings_only() {
        let maps = "\
55d0a000-55d0b000 r--p 00000000 08:01 1234   /usr/sbin/nginx (deleted)
55d0b000-55d0c000 r-xp 00001000 08:01 1234   /usr/sbin/nginx (deleted)
7f00-7f01 r-xp 00000000 08:01 99 /usr/lib/x86_64-linux-gnu/libssl.so.3 (deleted)
7f01-7f02 r-xp 00000000 08:01 99 /usr/lib/x86_64-linux-gnu/libssl.so.3 (deleted)
7f02-7f03 rw-p 00000000 08:01 98 /usr/lib/libdata.so (deleted)
7f03-7f04 r-xp 00000000 00:01 7 /memfd:jit (deleted)
7f04-7f05 r-xs 00000000 00:05 8 /dev/shm/pulse (deleted)
7f05-7f06 r-xp 00000000 08:01 97 /tmp/scratch.so (deleted)
7f06-7f07 r-xp 00000000 08:01 96 /opt/my app/lib x.so (deleted)
7f07-7f08 r-xp 00000000 08:01 95 /usr/lib/libc.so.6
7f08-7f09 r-xp 00000000 00:00 0 [vdso]
";
        assert_eq!(
            deleted_exec_paths(maps),
            vec![
                "/usr/sbin/nginx",
                "/usr/lib/x86_64-linux-gnu/libssl.so.3",
                "/opt/my app/lib x.so"
            ]
        );
        assert_eq!(
            deleted_exe("/usr/bin/x (deleted)").as_deref(),
            Some("/usr/bin/x")
        );
        assert_eq!(deleted_exe("/usr/bin/x"), None);
        assert_eq!(deleted_exe("/memfd:x (deleted)"), None);
        assert!(deleted_exec_paths("x\n\u{0}\u{0}\n r-xp\n1 2 3 4 5").is_empty());
    }
}
