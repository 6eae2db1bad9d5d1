//! rpm's on-disk package records: header blobs ([`header`]), the SQLite
//! database holding them ([`sqlite`]; RHEL 9, Fedora) or the BerkeleyDB one
//! ([`bdb`]; CentOS/RHEL 7 and 8), and version ordering ([`vercmp`]).

pub mod bdb;
pub mod header;
pub mod sqlite;
pub mod vercmp;

/// Where rpm keeps a SQLite database, relative to the root (Fedora 36+ moved it
/// under /usr, with a symlink from /var/lib/rpm).
pub const SQLITE_PATHS: [&str; 2] = [
    "var/lib/rpm/rpmdb.sqlite",
    "usr/lib/sysimage/rpm/rpmdb.sqlite",
];
