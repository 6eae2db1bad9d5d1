//! Which worker thread the current task runs on. With `--threads N` the
//! gateway runs N single-threaded runtimes, each accepting on its own
//! SO_REUSEPORT socket (as HAProxy's nbthread); state is shared, but
//! connections to backends stay with the worker that opened them, since a
//! socket is driven by the runtime it was registered with.

use std::cell::Cell;
use std::sync::OnceLock;

static COUNT: OnceLock<usize> = OnceLock::new();

thread_local! {
    static CURRENT: Cell<usize> = const { Cell::new(0) };
}

/// Sets the number of workers (once, at start-up).
pub fn set_count(n: usize) {
    let _ = COUNT.set(n.max(1));
}

/// The number of workers (1 until set).
pub fn count() -> usize {
    COUNT.get().copied().unwrap_or(1)
}

/// Marks the calling thread as worker `i`.
pub fn enter(i: usize) {
    CURRENT.with(|c| c.set(i));
}

/// The worker the calling thread is (0 for the main thread).
pub fn current() -> usize {
    CURRENT.with(Cell::get).min(count() - 1)
}
