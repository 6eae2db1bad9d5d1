//! [`LiveHost`]: the running system, read from its files, `/proc`, `/sys` and a
//! few fast local commands (never the network, never a package manager).

use super::read::{io_unavailable, list_at, meta_at, read_bytes_at, read_pseudo, read_text_at};
use super::{CommandOutput, Fact, FileMeta, Host, Mode, Mount, Process, Socket, Unavailable};
use crate::facts::{mounts, sockets};
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long a local command may run before it is killed.
const COMMAND_TIMEOUT: Duration = Duration::from_secs(3);
/// How much of a command's output is kept.
const COMMAND_OUTPUT_LIMIT: u64 = 4 * 1024 * 1024;

/// The running host.
#[derive(Debug, Clone, Default)]
pub struct LiveHost;

impl LiveHost {
    /// The running host.
    pub fn new() -> Self {
        LiveHost
    }
}

fn read_bounded(mut pipe: impl Read) -> String {
    let mut buf = Vec::new();
    let _ = pipe
        .by_ref()
        .take(COMMAND_OUTPUT_LIMIT)
        .read_to_end(&mut buf);
    // Drain the rest so the child never blocks on a full pipe.
    let _ = std::io::copy(&mut pipe, &mut std::io::sink());
    String::from_utf8_lossy(&buf).into_owned()
}

impl Host for LiveHost {
    fn mode(&self) -> Mode {
        Mode::Live
    }

    fn describe(&self) -> String {
        read_pseudo(Path::new("/proc/sys/kernel/hostname"), 256)
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".into())
    }

    fn read_text(&self, path: &str) -> Fact<String> {
        if path.starts_with("/proc/") || path.starts_with("/sys/") {
            return read_pseudo(Path::new(path), super::MAX_FILE_BYTES);
        }
        read_text_at(Path::new(path), path)
    }

    fn read_bytes(&self, path: &str, limit: u64) -> Fact<Vec<u8>> {
        read_bytes_at(Path::new(path), path, limit)
    }

    fn list_dir(&self, path: &str) -> Fact<Vec<String>> {
        list_at(Path::new(path), path)
    }

    fn metadata(&self, path: &str) -> Fact<FileMeta> {
        meta_at(Path::new(path), path)
    }

    fn read_link(&self, path: &str) -> Fact<String> {
        std::fs::read_link(path)
            .map(|t| t.to_string_lossy().into_owned())
            .map_err(|e| io_unavailable(path, &e))
    }

    fn sysctl(&self, key: &str) -> Fact<(String, String)> {
        if key.contains("..") || key.contains('/') {
            return Err(Unavailable::error(format!("invalid sysctl key {key:?}")));
        }
        let path = format!("/proc/sys/{}", key.replace('.', "/"));
        let value = read_pseudo(Path::new(&path), 4096)?;
        Ok((value.trim().to_string(), path))
    }

    fn mounts(&self) -> Fact<Vec<Mount>> {
        let text = read_pseudo(Path::new("/proc/self/mountinfo"), 16 * 1024 * 1024)?;
        Ok(mounts::parse_mountinfo(&text, "/proc/self/mountinfo"))
    }

    fn processes(&self) -> Fact<Vec<Process>> {
        let mut out = Vec::new();
        for name in list_at(Path::new("/proc"), "/proc")? {
            let Ok(pid) = name.parse::<u32>() else {
                continue;
            };
            let base = format!("/proc/{pid}");
            // Processes come and go while we read; skip those that vanished.
            let Ok(comm) = read_pseudo(Path::new(&format!("{base}/comm")), 256) else {
                continue;
            };
            let cmdline = read_pseudo(Path::new(&format!("{base}/cmdline")), 8192)
                .unwrap_or_default()
                .replace('\0', " ")
                .trim()
                .to_string();
            let Ok(status) = read_pseudo(Path::new(&format!("{base}/status")), 16384) else {
                continue;
            };
            let uid = status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|u| u.parse().ok())
                .unwrap_or(u32::MAX);
            out.push(Process {
                pid,
                comm: comm.trim().to_string(),
                cmdline,
                uid,
            });
        }
        Ok(out)
    }

    fn sockets(&self) -> Fact<Vec<Socket>> {
        let mut all = Vec::new();
        for (file, proto, v6) in [
            ("/proc/net/tcp", "tcp", false),
            ("/proc/net/tcp6", "tcp", true),
            ("/proc/net/udp", "udp", false),
            ("/proc/net/udp6", "udp", true),
        ] {
            match read_pseudo(Path::new(file), 64 * 1024 * 1024) {
                Ok(text) => all.extend(sockets::parse_proc_net(&text, proto, v6)),
                Err(e) if e.is_missing() => {} // no IPv6 in this kernel
                Err(e) => return Err(e),
            }
        }
        sockets::attach_owners(&mut all, self);
        Ok(all)
    }

    fn clock_synchronised(&self) -> Fact<(bool, String)> {
        // SAFETY: `timex` is a plain C struct for which all-zero bytes are a
        // valid value; `modes = 0` makes adjtimex a read-only query that only
        // writes into the struct we own and pass by exclusive reference.
        let mut tx: libc::timex = unsafe { std::mem::zeroed() };
        tx.modes = 0;
        // SAFETY: see above; the pointer is valid for the duration of the call.
        let state = unsafe { libc::adjtimex(&mut tx) };
        if state < 0 {
            return Err(Unavailable::error(format!(
                "adjtimex failed: {}",
                std::io::Error::last_os_error()
            )));
        }
        Ok(crate::facts::clock::interpret(
            state,
            tx.status,
            tx.maxerror,
        ))
    }

    fn run(&self, program: &str, args: &[&str]) -> Fact<CommandOutput> {
        if !Path::new(program).exists() {
            return Err(Unavailable::skip(format!("{program}: not installed")));
        }
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("LC_ALL", "C")
            .spawn()
            .map_err(|e| Unavailable::skip(format!("{program}: cannot run: {e}")))?;
        let out = child
            .stdout
            .take()
            .map(|p| std::thread::spawn(move || read_bounded(p)));
        let err = child
            .stderr
            .take()
            .map(|p| std::thread::spawn(move || read_bounded(p)));
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break Some(status),
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(1))
                }
                Ok(None) | Err(_) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    break None;
                }
            }
        };
        let stdout = out.and_then(|h| h.join().ok()).unwrap_or_default();
        let stderr = err.and_then(|h| h.join().ok()).unwrap_or_default();
        match status {
            Some(status) => Ok(CommandOutput {
                code: status.code(),
                stdout,
                stderr,
            }),
            None => Err(Unavailable::error(format!(
                "{program}: did not finish within {}s",
                COMMAND_TIMEOUT.as_secs()
            ))),
        }
    }
}
