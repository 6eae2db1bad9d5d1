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
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TrySendError};
use std::sync::Arc;

/// Lines buffered before new ones are dropped (and counted).
const QUEUE: usize = 65_536;

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
pub struct AccessLog {
    tx: Option<SyncSender<String>>,
    dropped: Arc<AtomicU64>,
}

impl AccessLog {
    /// Opens the log target and starts its writer thread.
    pub fn open(target: &AccessLogTarget, dropped: Arc<AtomicU64>) -> std::io::Result<AccessLog> {
        let out: Box<dyn Write + Send> = match target {
            AccessLogTarget::Off => return Ok(AccessLog { tx: None, dropped }),
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
        let (tx, rx) = sync_channel(QUEUE);
        std::thread::Builder::new()
            .name("nodeward-access-log".into())
            .spawn(move || writer(rx, out))?;
        Ok(AccessLog {
            tx: Some(tx),
            dropped,
        })
    }

    /// Whether lines are written at all.
    pub fn enabled(&self) -> bool {
        self.tx.is_some()
    }

    /// Queues one line; drops it (counted) when the writer is behind.
    pub fn write(&self, entry: &AccessEntry<'_>) {
        let Some(tx) = &self.tx else { return };
        let line = Line {
            ts: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
            entry,
        };
        let Ok(text) = serde_json::to_string(&line) else {
            return;
        };
        if let Err(TrySendError::Full(_)) = tx.try_send(text) {
            self.dropped.fetch_add(1, Relaxed);
        }
    }
}

fn writer(rx: Receiver<String>, out: Box<dyn Write + Send>) {
    let mut out = std::io::BufWriter::with_capacity(64 * 1024, out);
    while let Ok(line) = rx.recv() {
        let _ = out.write_all(line.as_bytes());
        let _ = out.write_all(b"\n");
        while let Ok(line) = rx.try_recv() {
            let _ = out.write_all(line.as_bytes());
            let _ = out.write_all(b"\n");
        }
        let _ = out.flush();
    }
}
