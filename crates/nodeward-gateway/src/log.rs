//! The access log: one JSON line per request, written by a background thread
//! so the request path never waits on disk.
//!
//! Lines carry `ts`, `client_ip` and `reason`, the fields `nodeward ban`
//! reads as violations.

use crate::config::AccessLogTarget;
use std::io::Write;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;

/// One request, as logged.
pub struct AccessEntry<'a> {
    /// The client address the policy judged (after trusted X-Forwarded-For).
    pub client_ip: IpAddr,
    /// The TCP peer.
    pub peer_ip: IpAddr,
    /// The TCP peer as text (computed once per connection).
    pub peer_text: &'a str,
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
    /// Total time.
    pub duration: Duration,
    /// Backend time.
    pub upstream_time: Option<Duration>,
    /// Request body bytes.
    pub bytes_in: usize,
    /// The captured (redacted, capped) body, on routes with `[route.log_body]`.
    pub body: Option<&'a str>,
    /// How the read cache made the answer (`hit`, `coalesced`, `miss`,
    /// `partial`), when the request went through it.
    pub cache: Option<&'a str>,
    /// A batch's calls, each with its command and own refusal reason
    /// (empty for single calls).
    pub elements: &'a [crate::request::Element],
}

impl AccessEntry<'_> {
    /// Appends the entry as one JSON object (no newline) to `out`.
    ///
    /// Written by hand because it runs once per request: strings that need
    /// no escaping (nearly all) are copied as they are.
    pub fn write_json(&self, out: &mut Vec<u8>, ts: &[u8]) {
        out.extend_from_slice(b"{\"ts\":\"");
        out.extend_from_slice(ts);
        out.extend_from_slice(b"\",\"client_ip\":\"");
        if self.client_ip == self.peer_ip {
            out.extend_from_slice(self.peer_text.as_bytes());
        } else {
            let _ = write!(out, "{}", self.client_ip);
        }
        out.extend_from_slice(b"\",\"peer_ip\":\"");
        out.extend_from_slice(self.peer_text.as_bytes());
        out.extend_from_slice(b"\",\"method\":");
        json_str(out, self.method);
        out.extend_from_slice(b",\"path\":");
        json_str(out, self.path);
        out.extend_from_slice(b",\"route\":");
        json_opt(out, self.route);
        out.extend_from_slice(b",\"command\":");
        json_opt(out, self.command);
        let mut num = itoa::Buffer::new();
        out.extend_from_slice(b",\"calls\":");
        out.extend_from_slice(num.format(self.calls).as_bytes());
        out.extend_from_slice(b",\"status\":");
        out.extend_from_slice(num.format(self.status).as_bytes());
        out.extend_from_slice(b",\"reason\":");
        json_opt(out, self.reason);
        out.extend_from_slice(b",\"upstream\":");
        json_opt(out, self.upstream);
        out.extend_from_slice(b",\"backend\":");
        json_opt(out, self.backend);
        out.extend_from_slice(b",\"duration_ms\":");
        millis(out, self.duration);
        out.extend_from_slice(b",\"upstream_ms\":");
        match self.upstream_time {
            Some(d) => millis(out, d),
            None => out.extend_from_slice(b"null"),
        }
        out.extend_from_slice(b",\"bytes_in\":");
        out.extend_from_slice(num.format(self.bytes_in).as_bytes());
        if let Some(body) = self.body {
            out.extend_from_slice(b",\"body\":");
            json_str(out, body);
        }
        if let Some(mark) = self.cache {
            out.extend_from_slice(b",\"cache\":");
            json_str(out, mark);
        }
        if !self.elements.is_empty() {
            out.extend_from_slice(b",\"elements\":[");
            for (i, e) in self.elements.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(b"{\"command\":");
                json_str(out, &e.command);
                out.extend_from_slice(b",\"reason\":");
                json_opt(out, e.reason.map(crate::refusal::Reason::code));
                out.push(b'}');
            }
            out.push(b']');
        }
        out.push(b'}');
    }
}

/// Writes a duration as milliseconds with microsecond precision (`1.234`).
fn millis(out: &mut Vec<u8>, d: Duration) {
    let micros = d.as_micros();
    let frac = (micros % 1000) as u16;
    out.extend_from_slice(itoa::Buffer::new().format(micros / 1000).as_bytes());
    out.extend_from_slice(&[
        b'.',
        b'0' + (frac / 100) as u8,
        b'0' + (frac / 10 % 10) as u8,
        b'0' + (frac % 10) as u8,
    ]);
}

fn json_opt(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => json_str(out, s),
        None => out.extend_from_slice(b"null"),
    }
}

/// Writes `s` as a JSON string, escaping only when needed.
fn json_str(out: &mut Vec<u8>, s: &str) {
    if s.bytes()
        .all(|b| b >= 0x20 && b != b'"' && b != b'\\' && b != 0x7f)
    {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// The current time as RFC 3339 with milliseconds, the date and seconds part
/// formatted once per second per thread.
fn timestamp(buf: &mut [u8; 24]) -> &[u8] {
    let now = std::time::SystemTime::now();
    let since = now
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since.as_secs();
    let len = TS_CACHE.with_borrow_mut(|(cached_secs, prefix)| {
        if *cached_secs != secs || prefix.is_empty() {
            let whole = std::time::UNIX_EPOCH + Duration::from_secs(secs);
            let text = humantime::format_rfc3339_seconds(whole).to_string();
            // "YYYY-MM-DDTHH:MM:SSZ" -> keep everything but the Z.
            *prefix = text.trim_end_matches('Z').as_bytes().to_vec();
            *cached_secs = secs;
        }
        let n = prefix.len().min(19);
        buf[..n].copy_from_slice(&prefix[..n]);
        let ms = since.subsec_millis();
        buf[n] = b'.';
        buf[n + 1] = b'0' + (ms / 100) as u8;
        buf[n + 2] = b'0' + (ms / 10 % 10) as u8;
        buf[n + 3] = b'0' + (ms % 10) as u8;
        buf[n + 4] = b'Z';
        n + 5
    });
    &buf[..len]
}

thread_local! {
    static TS_CACHE: std::cell::RefCell<(u64, Vec<u8>)> = const { std::cell::RefCell::new((0, Vec::new())) };
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
const WAKE_AT: usize = 64 * 1024;
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
        let mut ts = [0u8; 24];
        let ts = timestamp(&mut ts);
        SCRATCH.with_borrow_mut(|scratch| {
            scratch.clear();
            entry.write_json(scratch, ts);
            scratch.push(b'\n');
            let mut buf = shared.lines.lock().unwrap_or_else(|p| p.into_inner());
            if buf.len() + scratch.len() > MAX_BUFFERED {
                self.dropped.fetch_add(1, Relaxed);
                return;
            }
            let before = buf.len();
            buf.extend_from_slice(scratch);
            // Wake the writer once, when the buffer crosses the mark (a
            // notify is a system call; the writer swaps the whole buffer).
            if before < WAKE_AT && buf.len() >= WAKE_AT {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_valid_json_with_escaping() {
        let e = AccessEntry {
            client_ip: "203.0.113.9".parse().unwrap(),
            peer_ip: "10.0.0.1".parse().unwrap(),
            peer_text: "10.0.0.1",
            method: "POST",
            path: "/a\"b\\c\u{1}é",
            route: Some("/"),
            command: Some("getnodeinfo"),
            calls: 1,
            status: 200,
            reason: None,
            upstream: Some("iri"),
            backend: Some("127.0.0.1:14266"),
            duration: Duration::from_micros(2_305),
            upstream_time: Some(Duration::from_micros(17)),
            bytes_in: 25,
            body: None,
            cache: None,
            elements: &[],
        };
        let mut out = Vec::new();
        let mut ts = [0u8; 24];
        let ts = timestamp(&mut ts).to_vec();
        e.write_json(&mut out, &ts);
        let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
        assert_eq!(v["path"], "/a\"b\\c\u{1}é");
        assert_eq!(v["client_ip"], "203.0.113.9");
        assert_eq!(v["peer_ip"], "10.0.0.1");
        assert_eq!(v["duration_ms"], 2.305);
        assert_eq!(v["upstream_ms"], 0.017);
        assert_eq!(v["reason"], serde_json::Value::Null);
        let ts = v["ts"].as_str().unwrap();
        assert_eq!(ts.len(), 24, "{ts}");
        assert!(ts.ends_with('Z') && ts.as_bytes()[19] == b'.');
    }
}
