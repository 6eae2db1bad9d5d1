//! Following sshd in the systemd journal (`journalctl -o json --follow`).
//!
//! The journal records which executable wrote an entry (`_COMM`, set by the
//! kernel, not by the sender), so only entries of sshd itself are read.

use super::lines::LineSplitter;
use std::io::Read;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, TryRecvError};

/// A running `journalctl --follow`.
#[derive(Debug)]
pub struct JournalFollower {
    child: Child,
    rx: Receiver<String>,
}

/// Whether the journal can be read here (journalctl exists and a journal is running).
pub fn available() -> bool {
    std::path::Path::new("/run/systemd/journal").exists()
        && Command::new("journalctl")
            .args(["-n", "0", "-q", "--no-pager"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
}

/// The MESSAGE of one `journalctl -o json` line when it is text.
pub fn message_of(line: &[u8]) -> Option<String> {
    let v: serde_json::Value = serde_json::from_slice(line).ok()?;
    v.get("MESSAGE")?.as_str().map(str::to_owned)
}

impl JournalFollower {
    /// Starts following new sshd entries.
    pub fn start() -> std::io::Result<Self> {
        let mut child = Command::new("journalctl")
            .args([
                "-o",
                "json",
                "--follow",
                "-n",
                "0",
                "--no-pager",
                "_COMM=sshd",
                "_COMM=sshd-session",
                "_COMM=sshd-auth",
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let mut out = child
            .stdout
            .take()
            .ok_or_else(|| std::io::Error::other("no stdout"))?;
        let (tx, rx) = channel();
        std::thread::spawn(move || {
            let mut splitter = LineSplitter::default();
            let mut buf = vec![0u8; 64 * 1024];
            loop {
                match out.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => {
                        let mut stop = false;
                        splitter.feed(&buf[..n], |l| {
                            if let Some(m) = message_of(l) {
                                stop |= tx.send(m).is_err();
                            }
                        });
                        if stop {
                            break;
                        }
                    }
                }
            }
        });
        Ok(JournalFollower { child, rx })
    }

    /// Messages received since the last call; `Err` when journalctl has exited.
    pub fn poll(&mut self, mut f: impl FnMut(&str)) -> Result<usize, String> {
        let mut n = 0;
        loop {
            match self.rx.try_recv() {
                Ok(m) => {
                    n += 1;
                    f(&m);
                }
                Err(TryRecvError::Empty) => return Ok(n),
                Err(TryRecvError::Disconnected) => return Err("journalctl exited".into()),
            }
        }
    }
}

impl Drop for JournalFollower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_from_json() {
        assert_eq!(
            message_of(br#"{"MESSAGE":"Invalid user a from 192.0.2.1 port 2","_COMM":"sshd"}"#)
                .as_deref(),
            Some("Invalid user a from 192.0.2.1 port 2")
        );
        // Binary messages come as byte arrays: not text, not parsed.
        assert_eq!(message_of(br#"{"MESSAGE":[73,110]}"#), None);
        assert_eq!(message_of(b"not json"), None);
    }
}
