//! The access log: one JSON line per request, written by a background thread
//! so the request path never waits on disk.
//!
//! Lines carry `ts`, `client_ip` and `reason`, the fields `nodeward ban`
//! reads as violations.

use crate::config::AccessLogTarget;
use serde::Serialize;
use std::io::Write;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// One request, as logged.
#[derive(Serialize)]
pub struct AccessEntry<'a> {
    /// The client address the policy judged (after trusted X-Forwarded-For).
    pub client_ip: IpAddr,
    /// The TCP peer.
    pub peer_ip: IpAddr,
    /// HTTP method.
    pub method: &'a str,
    /// Request path (without query; truncated to 512 characters).
    pub path: &'a str,
    /// The route's path prefix.
    pub route: Option<&'a str>,
    /// The (first) command, lowercased.
    pub command: Option<&'a str>,
    /// Calls in the request (batch size; 1 for single calls).
    pub calls: usize,
    /// HTTP status sent.
    pub status: u16,
    /// Refusal reason code, when refused.
    pub reason: Option<&'a str>,
    /// Upstream pool name.
    pub upstream: Option<&'a str>,
    /// Backend address.
    pub backend: Option<&'a str>,
    /// Total time in milliseconds.
    pub duration_ms: f64,
    /// Backend time in milliseconds.
    pub upstream_ms: Option<f64>,
    /// Request body bytes.
    pub bytes_in: usize,
}

#[derive(Serialize)]
struct Line<'a> {
    ts: String,
    #[serde(flatten)]
    entry: &'a AccessEntry<'a>,
}

/// The access log handle shared by all connections.
///
/// Lines are appended to a shared in-memory buffer that a writer thread
/// swaps out and writes every [`FLUSH_EVERY`] (or sooner when it fills), so
/// the request path never makes a system call or wakes a thread per line.
pub struct AccessLog {
    shared: Option<Arc<Buffer>>,
    dropped: Arc<AtomicU64>,
}

struct Buffer {
    lines: Mutex<Vec<u8>>,
    wake: Condvar,
    closing: std::sync::atomic::AtomicBool,
    done: (Mutex<bool>, Condvar),
}

/// How often buffered lines are written out.
const FLUSH_EVERY: Duration = Duration::from_millis(100);
/// Buffered bytes that wake the writer early.
const WAKE_AT: usize = 256 * 1024;
/// Buffered bytes beyond which new lines are dropped (and counted).
const MAX_BUFFERED: usize = 16 * 1024 * 1024;

impl AccessLog {
    /// Opens the log target and starts its writer thread.
    pub fn open(target: &AccessLogTarget, dropped: Arc<AtomicU64>) -> std::io::Result<AccessLog> {
        let out: Box<dyn Write + Send> = match target {
            AccessLogTarget::Off => {
                return Ok(AccessLog {
                    shared: None,
                    dropped,
                })
            }
            AccessLogTarget::Stdout => Box::new(std::io::stdout()),
            AccessLogTarget::Stderr => Box::new(std::io::stderr()),
            AccessLogTarget::File(p) => {
                use std::os::unix::fs::OpenOptionsExt;
                Box::new(
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .mode(0o640)
                        .open(p)
                        .map_err(|e| {
                            std::io::Error::new(
                                e.kind(),
                                format!("access log {}: {e}", p.display()),
                            )
                        })?,
                )
            }
        };
        let shared = Arc::new(Buffer {
            lines: Mutex::new(Vec::with_capacity(WAKE_AT * 2)),
            wake: Condvar::new(),
            closing: std::sync::atomic::AtomicBool::new(false),
            done: (Mutex::new(false), Condvar::new()),
        });
        let writer_side = shared.clone();
        std::thread::Builder::new()
            .name("nodeward-access-log".into())
            .spawn(move || writer(&writer_side, out))?;
        Ok(AccessLog {
            shared: Some(shared),
            dropped,
        })
    }

    /// Whether lines are written at all.
    pub fn enabled(&self) -> bool {
        self.shared.is_some()
    }

    /// Appends one line; drops it (counted) when the writer is far behind.
    pub fn write(&self, entry: &AccessEntry<'_>) {
        let Some(shared) = &self.shared else { return };
        let line = Line {
            ts: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
            entry,
        };
        SCRATCH.with_borrow_mut(|scratch| {
            scratch.clear();
            if serde_json::to_writer(&mut *scratch, &line).is_err() {
                return;
            }
            scratch.push(b'\n');
            let mut buf = shared.lines.lock().unwrap_or_else(|p| p.into_inner());
            if buf.len() + scratch.len() > MAX_BUFFERED {
                self.dropped.fetch_add(1, Relaxed);
                return;
            }
            buf.extend_from_slice(scratch);
            if buf.len() >= WAKE_AT {
                shared.wake.notify_one();
            }
        });
    }
}

impl AccessLog {
    /// Writes out everything buffered (at shutdown); waits at most 2 s.
    pub fn flush(&self) {
        let Some(shared) = &self.shared else { return };
        shared.closing.store(true, Relaxed);
        shared.wake.notify_one();
        let (lock, cv) = &shared.done;
        let done = lock.lock().unwrap_or_else(|p| p.into_inner());
        let _ = cv.wait_timeout_while(done, Duration::from_secs(2), |d| !*d);
    }
}

thread_local! {
    static SCRATCH: std::cell::RefCell<Vec<u8>> = std::cell::RefCell::new(Vec::with_capacity(512));
}

fn writer(shared: &Buffer, mut out: Box<dyn Write + Send>) {
    let mut spare: Vec<u8> = Vec::with_capacity(WAKE_AT * 2);
    loop {
        {
            let guard = shared.lines.lock().unwrap_or_else(|p| p.into_inner());
            let (mut guard, _) = shared
                .wake
                .wait_timeout_while(guard, FLUSH_EVERY, |b| {
                    b.len() < WAKE_AT && !shared.closing.load(Relaxed)
                })
                .unwrap_or_else(|p| p.into_inner());
            std::mem::swap(&mut *guard, &mut spare);
        }
        if !spare.is_empty() {
            let _ = out.write_all(&spare);
            let _ = out.flush();
            spare.clear();
            if spare.capacity() > MAX_BUFFERED / 4 {
                spare.shrink_to(WAKE_AT * 2);
            }
        }
        if shared.closing.load(Relaxed) {
            let (lock, cv) = &shared.done;
            *lock.lock().unwrap_or_else(|p| p.into_inner()) = true;
            cv.notify_all();
            return;
        }
    }
}
