//! Debian's `openssl ocsp` as a real OCSP responder on loopback, and what
//! `openssl s_client -status` says about a listener's staple; shared by the
//! stapling tests of file and ACME certificates (and log waiting for the
//! other openssl servers tests start).
#![allow(dead_code)]

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

/// A running `openssl ocsp` (killed on drop).
pub struct Responder(Child);

impl Drop for Responder {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `openssl ocsp` on `port` answering from `index` (an `openssl ca`
/// index), for certificates issued by `ca`, signing with `signer`/`key`.
pub fn responder(port: u16, index: &Path, ca: &Path, signer: &Path, key: &Path) -> Responder {
    let log = index.with_file_name(format!("responder-{port}.log"));
    let child = Command::new("openssl")
        .args(["ocsp", "-ignore_err", "-port", &port.to_string()])
        .arg("-index")
        .arg(index)
        .arg("-CA")
        .arg(ca)
        .arg("-rsigner")
        .arg(signer)
        .arg("-rkey")
        .arg(key)
        .args(["-ndays", "1"])
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    // Not probed by connecting: an empty connection blocks its single
    // process for good. It says when it listens.
    wait_for_log(&log, "waiting for OCSP client connections", "openssl ocsp");
    Responder(child)
}

/// Waits (20 s at most) until the `what` tool's `log` says `needle`.
pub fn wait_for_log(log: &Path, needle: &str, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while !std::fs::read_to_string(log)
        .unwrap_or_default()
        .contains(needle)
    {
        assert!(Instant::now() < deadline, "{what} did not start");
        thread::sleep(Duration::from_millis(50));
    }
}

/// Writes a one-certificate index: serial `serial` (hex) valid, or revoked.
pub fn write_index(index: &Path, serial: &str, revoked: bool) {
    let line = if revoked {
        format!("R\t301231235959Z\t260101000000Z\t{serial}\tunknown\t/CN=test\n")
    } else {
        format!("V\t301231235959Z\t\t{serial}\tunknown\t/CN=test\n")
    };
    // Written whole and renamed, so the responder never reads half a line.
    let tmp = index.with_extension("tmp");
    std::fs::write(&tmp, line).unwrap();
    std::fs::rename(&tmp, index).unwrap();
}

/// What `openssl s_client -status` prints for `servername` on `port`.
pub fn s_client_status(port: u16, servername: &str, ca: &Path) -> String {
    let out = Command::new("openssl")
        .args(["s_client", "-connect", &format!("127.0.0.1:{port}")])
        .args(["-servername", servername, "-status", "-CAfile"])
        .arg(ca)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).into_owned()
}
