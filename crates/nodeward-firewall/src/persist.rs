//! The confirmed ruleset on disk, so the firewall survives a reboot.
//!
//! `firewall confirm` and `apply --confirm` write the script that replaces table
//! `inet nodeward` (without ban elements: `ban watch` refills the sets) to the
//! persist file, atomically. At boot `nodeward-firewall.service` runs `nodeward
//! firewall restore`, which checks the file and loads it before any interface is up.
//! The file touches only table `inet nodeward`, so loading it twice is harmless and
//! no other table is ever changed. A pending (unconfirmed) apply is never written.

use crate::error::{Error, Result};
use crate::nft;
use crate::state::write_atomic;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Where the confirmed ruleset is kept unless `firewall.persist_file` or
/// `--persist-file` says otherwise.
pub const DEFAULT_PERSIST_FILE: &str = "/etc/nodeward/firewall.nft";

/// The largest persist file `restore` reads (the rendered table is a few KiB).
const MAX_PERSIST_BYTES: u64 = 16 * 1024 * 1024;

/// The first line of every persisted file.
const HEADER: &str = "# nodeward firewall: the confirmed table inet nodeward, loaded at boot by `nodeward firewall restore` (nodeward-firewall.service).";

/// Writes `script` (a ruleset from [`crate::ruleset::render`]) to `path` atomically,
/// mode 0600: only root loads it, and it names the trusted networks.
pub fn save(path: &Path, script: &str) -> Result<()> {
    let body = script
        .lines()
        .filter(|l| !l.starts_with("# nodeward firewall:"))
        .collect::<Vec<_>>()
        .join("\n");
    let text = format!("{HEADER}\n# Do not edit: `nodeward firewall apply` rewrites it; `nodeward firewall remove` deletes it.\n{body}\n");
    check_only_nodeward(path, &text)?;
    write_atomic(path, text.as_bytes())
}

/// Deletes the persist file; `true` when there was one.
pub fn remove(path: &Path) -> Result<bool> {
    match std::fs::remove_file(path) {
        Ok(()) => Ok(true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Reads the persist file; `None` when it does not exist. Refuses files that are too
/// large, not text, or writable by anyone but root (they are loaded as root at boot).
pub fn read(path: &Path) -> Result<Option<String>> {
    let meta = match std::fs::metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    if !meta.is_file() {
        return Err(invalid(path, "is not a regular file".into()));
    }
    if meta.len() > MAX_PERSIST_BYTES {
        return Err(invalid(
            path,
            format!(
                "{} bytes is larger than any ruleset nodeward writes",
                meta.len()
            ),
        ));
    }
    if meta.uid() != 0 || meta.mode() & 0o022 != 0 {
        return Err(invalid(
            path,
            format!(
                "owned by uid {} with mode {:o}; a ruleset loaded at boot must be root's alone (chown root:root, chmod 600)",
                meta.uid(),
                meta.mode() & 0o7777
            ),
        ));
    }
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = String::from_utf8(bytes).map_err(|_| invalid(path, "is not UTF-8 text".into()))?;
    check_only_nodeward(path, &text)?;
    Ok(Some(text))
}

fn invalid(path: &Path, why: String) -> Error {
    Error::Refused(format!("persisted ruleset {}: {why}", path.display()))
}

/// Every top-level statement must be about table `inet nodeward`: the file may
/// replace that table and nothing else (no other table, no `include`, no `flush ruleset`).
fn check_only_nodeward(path: &Path, text: &str) -> Result<()> {
    const ALLOWED: [&str; 5] = [
        "add table inet nodeward",
        "delete table inet nodeward",
        "destroy table inet nodeward",
        "flush table inet nodeward",
        "table inet nodeward {",
    ];
    let mut depth = 0usize;
    for (i, line) in text.lines().enumerate() {
        let l = line.trim();
        if depth == 0
            && !l.is_empty()
            && !l.starts_with('#')
            && !ALLOWED
                .iter()
                .any(|a| l == *a || l.starts_with(&format!("{a} ")))
        {
            return Err(invalid(
                path,
                format!("line {}: {l:?} is not about table inet nodeward; only that table belongs in this file", i + 1),
            ));
        }
        for c in l.chars() {
            match c {
                '{' => depth += 1,
                '}' => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
    }
    Ok(())
}

/// `nodeward firewall restore`: checks the persist file with `nft -c` and loads it
/// in one transaction. Refuses (loading nothing) when it is missing or invalid.
pub fn restore(path: &Path, dry_run: bool) -> Result<u8> {
    let text = read(path)?.ok_or_else(|| {
        Error::Refused(format!(
            "no persisted ruleset at {}: nothing was loaded; run `nodeward firewall apply` and `nodeward firewall confirm` (or `apply --confirm`) to create it",
            path.display()
        ))
    })?;
    // The text that was checked is the text that is loaded (no second read).
    nft::check_script(&text)
        .map_err(|e| invalid(path, format!("nft -c refused it, nothing was loaded: {e}")))?;
    if dry_run {
        println!(
            "nodeward: {} is valid; would load table inet nodeward from it",
            path.display()
        );
        return Ok(0);
    }
    nft::load_script(&text)?;
    println!(
        "nodeward: table inet nodeward restored from {}",
        path.display()
    );
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_nodeward_table_is_accepted() {
        let p = Path::new("f.nft");
        let good = "# c\nadd table inet nodeward\ndelete table inet nodeward\ntable inet nodeward {\n\tchain input {\n\t\ttcp dport 22 accept\n\t}\n}\n";
        check_only_nodeward(p, good).unwrap();
        for bad in [
            "flush ruleset\n",
            "table ip other {\n}\n",
            "include \"/etc/x.nft\"\n",
            "add rule inet nodeward input accept\n",
            "table inet nodeward {\n}\ntable inet nodeward2 {\n}\n",
        ] {
            let msg = check_only_nodeward(p, bad).unwrap_err().to_string();
            assert!(msg.contains("only that table"), "{bad}: {msg}");
        }
    }
}
