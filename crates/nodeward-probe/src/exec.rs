//! A bounded async runner for script checks (Consul/Nagios style): runs one
//! program directly — no shell — with a clean environment, keeps a capped
//! amount of its output, and SIGKILLs its whole process group at the deadline,
//! so neither a hung script nor a child it left behind can hold a check open.

use crate::ProbeError;
use nix::errno::Errno;
use nix::sys::signal::{killpg, Signal};
use nix::sys::wait::{waitid, Id, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;
use std::io::ErrorKind;
use std::path::Path;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::process::{Child, Command};
use tokio::signal::unix::{signal, Signal as SignalStream, SignalKind};
use tokio::time::Instant;

/// The only `PATH` the program sees.
pub const PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
/// How long the output pipes may stay open after the program exited (what it
/// started in the background still holds them) before the run ends anyway.
const PIPE_GRACE: Duration = Duration::from_millis(250);
/// How long reaping may take once the group has been sent SIGKILL.
const REAP_WAIT: Duration = Duration::from_secs(1);
/// How often the program's exit is checked besides on SIGCHLD.
const EXIT_POLL: Duration = Duration::from_millis(100);

/// Bounds of one run.
#[derive(Debug, Clone)]
pub struct ExecLimits {
    /// When the program's process group is killed.
    pub deadline: Duration,
    /// Output bytes kept (stdout and stderr together).
    pub max_output: usize,
}

/// What a run produced.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExecOutcome {
    /// Exit code; None when killed (deadline) or ended by a signal.
    pub code: Option<i32>,
    /// stdout and stderr together (interleaved as read), lossy UTF-8, at most max_output bytes.
    pub output: String,
    /// Whether output was produced beyond `max_output` (read and discarded).
    pub truncated: bool,
    /// Whether the deadline came before the program exited.
    pub timed_out: bool,
    /// From the start to the end of the run.
    pub elapsed: Duration,
}

/// Runs `program` with `args` directly (no shell, no string building), stdin
/// null, the environment cleared except `PATH` ([`PATH`]) and `LANG=C`, in a
/// process group of its own. At the deadline the whole group gets SIGKILL;
/// when the program exits, whatever it left in its group is killed too, and
/// output pipes still held by something it started are given up after a
/// short grace. Output beyond `max_output` is read and discarded (the program
/// never blocks on a full pipe). A program that does not exist or cannot be
/// executed is a [`ProbeError::Invalid`] naming it. Returns by deadline + ~1 s.
pub async fn run(
    program: &Path,
    args: &[String],
    limits: &ExecLimits,
) -> Result<ExecOutcome, ProbeError> {
    let start = Instant::now();
    let deadline = start
        .checked_add(limits.deadline)
        .unwrap_or_else(|| start + Duration::from_secs(86_400 * 365));
    // Listen before spawning, so an immediate exit is not missed (EXIT_POLL
    // covers a runtime without signal handling).
    let mut sigchld = signal(SignalKind::child()).ok();
    let mut child = Command::new(program)
        .args(args)
        .env_clear()
        .env("PATH", PATH)
        .env("LANG", "C")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| spawn_error(program, e))?;
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    let Some(pid) = child.id().and_then(|p| i32::try_from(p).ok()) else {
        return Err(ProbeError::Invalid(format!(
            "{}: started without a process id",
            program.display()
        )));
    };
    // process_group(0): the group id is the program's own pid.
    let mut group = Group {
        child,
        pgid: Pid::from_raw(pid),
        reaped: false,
    };

    let mut kept = Vec::with_capacity(limits.max_output.min(64 * 1024));
    let mut truncated = false;
    let (mut out_buf, mut err_buf) = ([0u8; 8192], [0u8; 8192]);
    let mut exited_at: Option<Instant> = None;
    let mut timed_out = false;
    let mut poll = tokio::time::interval(EXIT_POLL);
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if exited_at.is_some() && stdout.is_none() && stderr.is_none() {
            break;
        }
        let grace_end = exited_at.map_or(deadline, |t| (t + PIPE_GRACE).min(deadline));
        tokio::select! {
            r = read_open(&mut stdout, &mut out_buf) => match r {
                Ok(n) if n > 0 => keep(&mut kept, &out_buf[..n], limits.max_output, &mut truncated),
                _ => stdout = None,
            },
            r = read_open(&mut stderr, &mut err_buf) => match r {
                Ok(n) if n > 0 => keep(&mut kept, &err_buf[..n], limits.max_output, &mut truncated),
                _ => stderr = None,
            },
            _ = child_signal(&mut sigchld), if exited_at.is_none() => {
                if group.leader_exited() {
                    exited_at = Some(Instant::now());
                }
            }
            _ = poll.tick(), if exited_at.is_none() => {
                if group.leader_exited() {
                    exited_at = Some(Instant::now());
                }
            }
            _ = tokio::time::sleep_until(grace_end) => {
                timed_out = exited_at.is_none() && !group.leader_exited();
                break;
            }
        }
    }
    // The program is not reaped yet, so its pid (the group id) cannot have
    // been reused: this reaches only the program and what it started.
    group.kill();
    drop((stdout, stderr));
    let status = tokio::time::timeout(REAP_WAIT, group.child.wait()).await;
    if let Ok(Ok(_)) = status {
        group.reaped = true;
    }
    let code = match status {
        Ok(Ok(s)) if !timed_out => s.code(),
        _ => None,
    };
    let mut output = String::from_utf8_lossy(&kept).into_owned();
    if output.len() > limits.max_output {
        // Replacement characters for invalid bytes (or a character cut at the
        // limit) take more room than the bytes they replace.
        let mut end = limits.max_output;
        while !output.is_char_boundary(end) {
            end -= 1;
        }
        output.truncate(end);
        truncated = true;
    }
    Ok(ExecOutcome {
        code,
        output,
        truncated,
        timed_out,
        elapsed: start.elapsed(),
    })
}

/// The program and its process group. Dropped before being reaped (the run
/// was cancelled), the group is killed so nothing outlives the caller.
struct Group {
    child: Child,
    pgid: Pid,
    reaped: bool,
}

impl Group {
    /// SIGKILLs every process in the group (one already gone is fine).
    fn kill(&self) {
        let _ = killpg(self.pgid, Signal::SIGKILL);
    }

    /// Whether the program has exited, WITHOUT reaping it: a zombie keeps its
    /// pid, so the group id stays ours until [`Group::kill`] has been sent.
    fn leader_exited(&self) -> bool {
        let flags = WaitPidFlag::WEXITED | WaitPidFlag::WNOHANG | WaitPidFlag::WNOWAIT;
        match waitid(Id::Pid(self.pgid), flags) {
            Ok(WaitStatus::StillAlive) | Err(Errno::EINTR) => false,
            // Exited, or (ECHILD) no longer ours to wait for.
            _ => true,
        }
    }
}

impl Drop for Group {
    fn drop(&mut self) {
        if !self.reaped {
            self.kill();
        }
    }
}

/// Reads from a pipe that is still open; never ready once it is closed.
async fn read_open<R: AsyncRead + Unpin>(
    pipe: &mut Option<R>,
    buf: &mut [u8],
) -> std::io::Result<usize> {
    match pipe {
        Some(p) => p.read(buf).await,
        None => std::future::pending().await,
    }
}

/// The next SIGCHLD; never ready without a signal stream.
async fn child_signal(stream: &mut Option<SignalStream>) {
    if let Some(s) = stream {
        if s.recv().await.is_some() {
            return;
        }
    }
    std::future::pending().await
}

/// Appends what fits under `max` and notes whether anything did not.
fn keep(kept: &mut Vec<u8>, chunk: &[u8], max: usize, truncated: &mut bool) {
    let room = max.saturating_sub(kept.len());
    if chunk.len() > room {
        *truncated = true;
    }
    kept.extend_from_slice(&chunk[..chunk.len().min(room)]);
}

/// A spawn failure: the program cannot be run (Invalid) or the system refused (Io).
fn spawn_error(program: &Path, e: std::io::Error) -> ProbeError {
    let cannot_run = matches!(
        e.kind(),
        ErrorKind::NotFound | ErrorKind::PermissionDenied | ErrorKind::InvalidInput
    ) || matches!(
        e.raw_os_error(),
        Some(libc::ENOEXEC | libc::ENOTDIR | libc::ELOOP | libc::ENAMETOOLONG)
    );
    if cannot_run {
        ProbeError::Invalid(format!("cannot run {}: {e}", program.display()))
    } else {
        ProbeError::io(format!("starting {}", program.display()), e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;
    use std::path::PathBuf;

    /// Writing a script while another test forks can leave the write end open
    /// in that child (ETXTBSY on exec): the exec tests take turns.
    static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

    fn script(dir: &Path, name: &str, body: &str, mode: u32) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
        path
    }

    fn limits(deadline_ms: u64, max_output: usize) -> ExecLimits {
        ExecLimits {
            deadline: Duration::from_millis(deadline_ms),
            max_output,
        }
    }

    /// Whether process `pid` is gone (or a zombie nobody reaps in this container).
    async fn gone(pid: u32) -> bool {
        for _ in 0..40 {
            match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
                Err(_) => return true,
                Ok(stat) => {
                    let state = stat.rsplit_once(')').map(|(_, rest)| rest.trim_start());
                    if state.is_some_and(|s| s.starts_with('Z') || s.starts_with('X')) {
                        return true;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    #[tokio::test]
    async fn exit_codes_and_both_streams() {
        let _turn = SERIAL.lock().await;
        let dir = tempfile::tempdir().unwrap();
        let s = script(
            dir.path(),
            "codes",
            "echo out\necho err >&2\nexit \"$1\"",
            0o755,
        );
        for code in [0, 1, 2] {
            let o = run(&s, &[code.to_string()], &limits(5000, 1024))
                .await
                .unwrap();
            assert_eq!(o.code, Some(code), "{o:?}");
            assert!(
                o.output.contains("out\n") && o.output.contains("err\n"),
                "{o:?}"
            );
            assert_eq!(o.output.len(), 8, "{o:?}");
            assert!(!o.truncated && !o.timed_out, "{o:?}");
        }
    }

    #[tokio::test]
    async fn arguments_are_not_shell_words_and_the_environment_is_clean() {
        let _turn = SERIAL.lock().await;
        let dir = tempfile::tempdir().unwrap();
        let s = script(
            dir.path(),
            "env",
            "printf '%s|' \"$1\" \"$#\" \"$PATH\" \"$LANG\" \"${HOME-unset}\"",
            0o755,
        );
        let arg = "$(touch pwned); * `id`".to_string();
        let o = run(&s, std::slice::from_ref(&arg), &limits(5000, 4096))
            .await
            .unwrap();
        assert_eq!(o.output, format!("{arg}|1|{PATH}|C|unset|"));
        assert!(!dir.path().join("pwned").exists());
    }

    #[tokio::test]
    async fn a_megabyte_of_output_is_cut_at_the_cap() {
        let _turn = SERIAL.lock().await;
        let dir = tempfile::tempdir().unwrap();
        let s = script(
            dir.path(),
            "big",
            "head -c 1048576 /dev/zero | tr '\\0' a\nhead -c 1048576 /dev/zero >&2\necho end",
            0o755,
        );
        let o = run(&s, &[], &limits(10_000, 4096)).await.unwrap();
        assert_eq!(o.code, Some(0), "{:?}", (o.code, o.timed_out));
        assert!(o.truncated && !o.timed_out);
        assert_eq!(o.output.len(), 4096);
        assert!(o.output.bytes().all(|b| b == b'a' || b == 0));
        let o = run(&s, &[], &limits(10_000, 0)).await.unwrap();
        assert_eq!(
            (o.code, o.output.as_str(), o.truncated),
            (Some(0), "", true)
        );
    }

    #[tokio::test]
    async fn invalid_utf8_stays_within_the_cap() {
        let _turn = SERIAL.lock().await;
        let dir = tempfile::tempdir().unwrap();
        let s = script(
            dir.path(),
            "bytes",
            "printf 'ab\\377\\377\\377\\377'",
            0o755,
        );
        let o = run(&s, &[], &limits(5000, 5)).await.unwrap();
        assert!(o.output.len() <= 5, "{o:?}");
        assert!(o.output.starts_with("ab\u{fffd}"), "{o:?}");
        assert!(o.truncated);
    }

    #[tokio::test]
    async fn a_script_that_never_exits_is_killed_at_the_deadline() {
        let _turn = SERIAL.lock().await;
        let dir = tempfile::tempdir().unwrap();
        let s = script(dir.path(), "hang", "sleep 100 &\necho $!\nwait", 0o755);
        let started = std::time::Instant::now();
        let o = run(&s, &[], &limits(500, 1024)).await.unwrap();
        let wall = started.elapsed();
        assert!(o.timed_out, "{o:?}");
        assert_eq!(o.code, None);
        assert!(wall >= Duration::from_millis(500), "{wall:?}");
        assert!(wall < Duration::from_millis(1500), "{wall:?}");
        assert!(o.elapsed <= wall);
        let sleeper: u32 = o.output.trim().parse().unwrap();
        assert!(
            gone(sleeper).await,
            "the backgrounded sleep {sleeper} survived"
        );
    }

    #[tokio::test]
    async fn a_plain_sleep_is_killed_at_the_deadline() {
        let _turn = SERIAL.lock().await;
        let started = std::time::Instant::now();
        let o = run(Path::new("sleep"), &["100".into()], &limits(300, 1024))
            .await
            .unwrap();
        assert!(o.timed_out && o.code.is_none(), "{o:?}");
        assert!(started.elapsed() < Duration::from_millis(1300));
    }

    #[tokio::test]
    async fn a_background_child_holding_the_pipe_does_not_hold_the_run() {
        let _turn = SERIAL.lock().await;
        let dir = tempfile::tempdir().unwrap();
        let s = script(dir.path(), "bg", "sleep 100 &\necho $!\nexit 1", 0o755);
        let started = std::time::Instant::now();
        let o = run(&s, &[], &limits(10_000, 1024)).await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(2), "{o:?}");
        assert_eq!(o.code, Some(1), "{o:?}");
        assert!(!o.timed_out && !o.truncated, "{o:?}");
        let sleeper: u32 = o.output.trim().parse().unwrap();
        assert!(
            gone(sleeper).await,
            "the backgrounded sleep {sleeper} survived"
        );
    }

    #[tokio::test]
    async fn a_missing_or_unrunnable_program_is_invalid() {
        let _turn = SERIAL.lock().await;
        let err = run(Path::new("/nonexistent/check_nope"), &[], &limits(1000, 10))
            .await
            .unwrap_err();
        assert!(
            matches!(&err, ProbeError::Invalid(m) if m.contains("/nonexistent/check_nope")),
            "{err:?}"
        );
        let dir = tempfile::tempdir().unwrap();
        let s = script(dir.path(), "noexec", "exit 0", 0o644);
        let err = run(&s, &[], &limits(1000, 10)).await.unwrap_err();
        assert!(
            matches!(&err, ProbeError::Invalid(m) if m.contains("noexec")),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn a_cancelled_run_kills_its_group() {
        let _turn = SERIAL.lock().await;
        let dir = tempfile::tempdir().unwrap();
        let pidfile = dir.path().join("pid");
        let s = script(
            dir.path(),
            "slow",
            &format!("echo $$ > {}\nsleep 100", pidfile.display()),
            0o755,
        );
        let r = tokio::time::timeout(
            Duration::from_millis(500),
            run(&s, &[], &limits(60_000, 10)),
        )
        .await;
        assert!(r.is_err());
        let pid: u32 = std::fs::read_to_string(&pidfile)
            .unwrap()
            .trim()
            .parse()
            .unwrap();
        assert!(
            gone(pid).await,
            "the script {pid} survived its cancelled run"
        );
    }
}
