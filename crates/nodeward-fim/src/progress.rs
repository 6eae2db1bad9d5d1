//! The progress bar of `fim init|check|update` on a terminal. The walk and the
//! workers only bump relaxed atomics ([`Counters`]); a separate thread reads
//! them ten times a second and draws, so a scan is no slower with the bar.

use indicatif::{HumanBytes, ProgressBar, ProgressDrawTarget, ProgressStyle};
use std::io::IsTerminal;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicU8, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often the bar is redrawn.
const TICK: Duration = Duration::from_millis(100);

/// `Counters::phase` after the walk (0 while listing).
const INSPECTING: u8 = 1;

/// What a scan has done so far; cheap to update from any thread.
#[derive(Debug, Default)]
pub struct Counters {
    phase: AtomicU8,
    /// Entries the walk has listed.
    pub listed: AtomicUsize,
    /// Entries to inspect (known once the walk is done).
    total: AtomicUsize,
    /// Entries inspected.
    pub inspected: AtomicUsize,
    /// Files whose content was read.
    pub hashed: AtomicUsize,
    /// Bytes of content read.
    pub bytes: AtomicU64,
}

impl Counters {
    /// The walk is over: `total` entries will be inspected.
    pub fn start_inspecting(&self, total: usize) {
        self.total.store(total, Ordering::Relaxed);
        self.phase.store(INSPECTING, Ordering::Relaxed);
    }
}

/// A bar drawn on standard error while it lives.
pub struct Progress {
    counters: Arc<Counters>,
    done: Arc<AtomicBool>,
    drawer: Option<JoinHandle<()>>,
}

impl Progress {
    /// A bar when standard error is a terminal, else `None`.
    pub fn on_terminal() -> Option<Progress> {
        std::io::stderr().is_terminal().then(Progress::start)
    }

    fn start() -> Progress {
        let counters = Arc::new(Counters::default());
        let done = Arc::new(AtomicBool::new(false));
        let (c, d) = (counters.clone(), done.clone());
        let drawer = std::thread::Builder::new()
            .name("fim-progress".into())
            .spawn(move || draw(&c, &d))
            .ok();
        Progress {
            counters,
            done,
            drawer,
        }
    }

    /// The counters the scan updates.
    pub fn counters(&self) -> &Counters {
        &self.counters
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.done.store(true, Ordering::Relaxed);
        if let Some(t) = self.drawer.take() {
            let _ = t.join();
        }
    }
}

fn draw(c: &Counters, done: &AtomicBool) {
    let bar = ProgressBar::with_draw_target(None, ProgressDrawTarget::stderr_with_hz(10));
    bar.set_style(
        ProgressStyle::with_template("{spinner} listing: {pos} entries ({elapsed})")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    let mut started = Instant::now();
    let mut inspecting = false;
    loop {
        // Read before drawing: the last frame shows the finished scan.
        let finished = done.load(Ordering::Relaxed);
        if !inspecting && c.phase.load(Ordering::Relaxed) == INSPECTING {
            inspecting = true;
            started = Instant::now();
            bar.reset_elapsed();
            bar.set_style(
                ProgressStyle::with_template("{bar:20} {pos}/{len} entries, {msg} {elapsed}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar()),
            );
            bar.set_length(c.total.load(Ordering::Relaxed) as u64);
        }
        if inspecting {
            let bytes = c.bytes.load(Ordering::Relaxed);
            let secs = started.elapsed().as_secs_f64().max(0.1);
            bar.set_position(c.inspected.load(Ordering::Relaxed) as u64);
            bar.set_message(format!(
                "{} hashed, {} ({}/s)",
                c.hashed.load(Ordering::Relaxed),
                HumanBytes(bytes),
                HumanBytes((bytes as f64 / secs) as u64)
            ));
        } else {
            bar.set_position(c.listed.load(Ordering::Relaxed) as u64);
            bar.tick();
        }
        if finished {
            break;
        }
        std::thread::sleep(TICK);
    }
    bar.finish_and_clear();
}
