//! The installed packages of an rpm-based system, from its rpm database.
//!
//! RHEL 9 and Fedora keep it in SQLite (`rpmdb.sqlite`, table `Packages`:
//! one header blob per package). The file is read through the audit's
//! [`Host`] (bounded), opened in memory read-only, and every blob parsed with
//! [`super::header`]. CentOS/RHEL 7 and 8 keep the same blobs in a BerkeleyDB
//! hash database (`Packages`), read with nodeward-pkgdb's read-only reader.
//! SUSE's `Packages.db` (ndb) is recognised and skipped by name.

use super::header::{self, PackageId};
use crate::host::{Fact, Host, Unavailable};
use nodeward_pkgdb::rpm::sqlite;
use rusqlite::Connection;

/// Where rpm keeps a SQLite database (Fedora 36+ moved it under /usr, with a
/// symlink from /var/lib/rpm).
pub const SQLITE_PATHS: [&str; 2] = [
    "/var/lib/rpm/rpmdb.sqlite",
    "/usr/lib/sysimage/rpm/rpmdb.sqlite",
];
/// BerkeleyDB databases (CentOS/RHEL 7 and 8).
const BDB_PATHS: [&str; 2] = ["/var/lib/rpm/Packages", "/usr/lib/sysimage/rpm/Packages"];
/// SUSE's own format.
const NDB_PATHS: [&str; 2] = [
    "/var/lib/rpm/Packages.db",
    "/usr/lib/sysimage/rpm/Packages.db",
];
/// Largest rpm database read (a full server's is 20-100 MiB).
const MAX_DB_BYTES: u64 = 512 * 1024 * 1024;
/// Most packages read (a large desktop has ~5000).
const MAX_PACKAGES: usize = 200_000;

/// The installed packages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RpmDb {
    /// The database file read.
    pub path: String,
    /// Every package with a readable header.
    pub packages: Vec<PackageId>,
    /// Headers that could not be parsed (and the first reason).
    pub unreadable: Option<(usize, String)>,
}

/// Whether the audited system has an rpm database of any format.
pub fn present(host: &dyn Host) -> bool {
    SQLITE_PATHS
        .iter()
        .chain(&BDB_PATHS)
        .chain(&NDB_PATHS)
        .any(|p| host.exists(p))
}

/// Reads the rpm database of `host`.
pub fn read(host: &dyn Host) -> Fact<RpmDb> {
    if let Some(path) = SQLITE_PATHS.iter().find(|p| host.exists(p)) {
        let bytes = host.read_bytes(path, MAX_DB_BYTES)?;
        return read_sqlite(path, bytes);
    }
    if let Some(path) = BDB_PATHS.iter().find(|p| host.exists(p)) {
        let bytes = host.read_bytes(path, MAX_DB_BYTES)?;
        return read_bdb(path, &bytes);
    }
    if let Some(path) = NDB_PATHS.iter().find(|p| host.exists(p)) {
        return Err(Unavailable::skip(format!(
            "{path}: an ndb rpm database (SUSE), which nodeward does not read; run `zypper list-updates`"
        )));
    }
    Err(Unavailable::skip(
        "no rpm database (/var/lib/rpm/rpmdb.sqlite): not an rpm-based system",
    ))
}

/// Parses the bytes of an rpmdb.sqlite file named `path`.
pub fn read_sqlite(path: &str, bytes: Vec<u8>) -> Fact<RpmDb> {
    let bad = |what: String| Unavailable::error(format!("{path}: {what}"));
    let conn = sqlite::open(bytes).map_err(bad)?;
    query_packages(&conn)
        .map_err(bad)
        .map(|(packages, unreadable)| RpmDb {
            path: path.to_string(),
            packages,
            unreadable,
        })
}

/// Parses the bytes of a BerkeleyDB `Packages` file named `path` (CentOS/RHEL 7
/// and 8): every value of the hash database is a header blob, except rpm's own
/// 4-byte bookkeeping record.
pub fn read_bdb(path: &str, bytes: &[u8]) -> Fact<RpmDb> {
    let bad = |what: String| Unavailable::error(format!("{path}: {what}"));
    let values = nodeward_pkgdb::rpm::bdb::hash_values(bytes, MAX_PACKAGES + 1)
        .map_err(|e| bad(e.to_string()))?;
    let (mut packages, mut unreadable, mut first_bad) = (Vec::new(), 0usize, None);
    for v in values.iter().filter(|v| v.len() > 8) {
        match header::parse(v) {
            Ok(p) => packages.push(p),
            Err(e) => {
                unreadable += 1;
                first_bad.get_or_insert(e.to_string());
            }
        }
    }
    if packages.is_empty() {
        return Err(bad(match first_bad {
            Some(e) => format!("none of its {unreadable} package headers is readable (first: {e})"),
            None => "a BerkeleyDB database with no package headers".into(),
        }));
    }
    Ok(RpmDb {
        path: path.to_string(),
        packages,
        unreadable: first_bad.map(|e| (unreadable, e)),
    })
}

type Parsed = (Vec<PackageId>, Option<(usize, String)>);

fn query_packages(conn: &Connection) -> Result<Parsed, String> {
    let (mut packages, mut bad, mut first_bad) = (Vec::new(), 0usize, None);
    sqlite::for_each_blob(conn, |blob| {
        if packages.len() + bad >= MAX_PACKAGES {
            return Err(format!("more than {MAX_PACKAGES} packages"));
        }
        match blob.and_then(|b| header::parse(b).map_err(|e| e.to_string())) {
            Ok(p) => packages.push(p),
            Err(e) => {
                bad += 1;
                first_bad.get_or_insert(e);
            }
        }
        Ok(())
    })?;
    if packages.is_empty() && bad > 0 {
        return Err(format!(
            "none of its {bad} package headers is readable (first: {})",
            first_bad.unwrap_or_default()
        ));
    }
    Ok((packages, first_bad.map(|e| (bad, e))))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db_bytes(setup: &str, blobs: &[Vec<u8>]) -> Vec<u8> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rpmdb.sqlite");
        let conn = Connection::open(&path).unwrap();
        conn.execute_batch(setup).unwrap();
        for b in blobs {
            conn.execute("INSERT INTO Packages (blob) VALUES (?1)", [b])
                .unwrap();
        }
        drop(conn);
        std::fs::read(&path).unwrap()
    }

    const SCHEMA: &str = "PRAGMA journal_mode = WAL; CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL); CREATE TABLE Name (key TEXT NOT NULL, hnum INTEGER NOT NULL, idx INTEGER NOT NULL, PRIMARY KEY(key, hnum, idx)) WITHOUT ROWID;";

    #[test]
    fn reads_headers_from_a_wal_mode_database() {
        let bytes = db_bytes(
            SCHEMA,
            &[
                header::build("openssl", Some(1), "3.0.7", "27.el9", "x86_64"),
                header::build("bash", None, "5.1.8", "9.el9", "x86_64"),
                b"garbage".to_vec(),
            ],
        );
        let db = read_sqlite("/var/lib/rpm/rpmdb.sqlite", bytes).unwrap();
        let names: Vec<&str> = db.packages.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["openssl", "bash"]);
        assert_eq!(db.unreadable.as_ref().unwrap().0, 1);
    }

    #[test]
    fn not_an_rpm_database_is_an_error_naming_the_file() {
        let e = read_sqlite("/x/rpmdb.sqlite", b"hello".to_vec()).unwrap_err();
        assert!(e.reason.starts_with("/x/rpmdb.sqlite: not a SQLite"), "{e}");
        let bytes = db_bytes("CREATE TABLE t (a);", &[]);
        let e = read_sqlite("/x/rpmdb.sqlite", bytes).unwrap_err();
        assert!(e.reason.contains("no Packages table"), "{e}");
        let bytes = db_bytes("CREATE VIEW Packages AS WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x AS blob FROM c;", &[]);
        let e = read_sqlite("/x/rpmdb.sqlite", bytes).unwrap_err();
        assert!(e.reason.contains("not a table"), "{e}");
        let mut bytes = db_bytes(SCHEMA, &[header::build("a", None, "1", "1", "noarch")]);
        let n = bytes.len();
        bytes.truncate(n / 2);
        assert!(read_sqlite("/x/rpmdb.sqlite", bytes).is_err());
    }
}
