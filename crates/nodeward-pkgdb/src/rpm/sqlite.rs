//! rpm's SQLite database (`rpmdb.sqlite`, RHEL 9 and Fedora): opened from bytes
//! already read (bounded by the caller) in memory, so the file is never
//! locked or written, with every query bounded in time; yields the `Packages`
//! table's header blobs.

use rusqlite::{Connection, OpenFlags};
use std::time::{Duration, Instant};

/// Longest a query may run (a hostile file could make SQLite work hard).
pub const MAX_QUERY_TIME: Duration = Duration::from_secs(20);

/// Opens the bytes of an rpmdb.sqlite file; the error says what is wrong.
pub fn open(mut bytes: Vec<u8>) -> Result<Connection, String> {
    if !bytes.starts_with(b"SQLite format 3\0") || bytes.len() < 100 {
        return Err("not a SQLite database".into());
    }
    // A database in WAL mode (bytes 18-19 = 2) cannot be opened from memory;
    // as rollback-journal mode (1) it reads the same pages.
    for b in &mut bytes[18..20] {
        if *b == 2 {
            *b = 1;
        }
    }
    let mut conn = Connection::open_in_memory_with_flags(
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| format!("cannot open SQLite: {e}"))?;
    let len = bytes.len();
    conn.deserialize_read_exact(rusqlite::MAIN_DB, &bytes[..], len, true)
        .map_err(|e| format!("cannot read the SQLite database: {e}"))?;
    drop(bytes);
    let deadline = Instant::now() + MAX_QUERY_TIME;
    conn.progress_handler(10_000, Some(move || Instant::now() > deadline))
        .map_err(|e| format!("cannot bound the query: {e}"))?;
    Ok(conn)
}

/// Calls `each` with every row of the `Packages` table: its blob, or why the
/// row has none. `each` may stop the walk with an error.
pub fn for_each_blob(
    conn: &Connection,
    mut each: impl FnMut(Result<&[u8], String>) -> Result<(), String>,
) -> Result<(), String> {
    let kind: Option<String> = conn
        .query_row(
            "SELECT type FROM sqlite_master WHERE name = 'Packages'",
            [],
            |r| r.get(0),
        )
        .map_err(|e| match e {
            rusqlite::Error::QueryReturnedNoRows => {
                "no Packages table (not an rpm database)".into()
            }
            e => format!("cannot read the schema: {e}"),
        })?;
    if kind.as_deref() != Some("table") {
        return Err("Packages is not a table (not an rpm database)".into());
    }
    let mut stmt = conn
        .prepare("SELECT blob FROM Packages")
        .map_err(|e| format!("cannot read the Packages table: {e}"))?;
    let mut rows = stmt
        .query([])
        .map_err(|e| format!("cannot read the Packages table: {e}"))?;
    while let Some(row) = rows
        .next()
        .map_err(|e| format!("cannot read the Packages table: {e}"))?
    {
        match row.get_ref(0) {
            Ok(rusqlite::types::ValueRef::Blob(b)) => each(Ok(b))?,
            Ok(_) => each(Err("a blob that is not a BLOB".to_string()))?,
            Err(e) => each(Err(e.to_string()))?,
        }
    }
    Ok(())
}
