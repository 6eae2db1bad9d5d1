//! The head deadline and the shutdown signal of plain HTTP/1.1 connections,
//! kept out of each connection's task.
//!
//! Every keep-alive connection waits for its next request head with a
//! deadline (the header timeout) and must wake when the gateway shuts down.
//! A tokio `Sleep` and a `watch` wait per connection cost about 250 bytes of
//! every idle connection's task; here a connection holds an index into its
//! listener's table instead (a 24-byte entry: the waker and the deadline),
//! and one reaper task per listener wakes the connections whose deadline
//! has passed, checking every `header_timeout / 16` (at least 10 ms, at most
//! 1 s): a deadline is never early and at most that late.

use std::sync::atomic::{AtomicBool, Ordering::Relaxed};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};
use tokio::sync::watch;

/// The deadline of a free entry.
const FREE: u64 = u64::MAX;
/// A deadline that is not set.
const UNSET: u64 = u64::MAX - 1;

/// One connection's entry.
struct Entry {
    /// The task to wake at the deadline or on shutdown.
    waker: Option<Waker>,
    /// Milliseconds since the table's epoch; [`UNSET`] when not waiting,
    /// [`FREE`] when no connection holds the entry.
    deadline_ms: u64,
}

#[derive(Default)]
struct Slots {
    entries: Vec<Entry>,
    free: Vec<u32>,
}

/// The waiting connections of one listener (on one worker thread).
pub struct IdleSet {
    slots: Mutex<Slots>,
    closing: AtomicBool,
    epoch: Instant,
}

/// Why a connection's wait for a head ended without the head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Woken {
    /// The head deadline passed.
    Expired,
    /// The gateway is shutting down.
    Closing,
}

impl IdleSet {
    /// An empty table.
    pub fn new() -> Arc<Self> {
        Arc::new(IdleSet {
            slots: Mutex::new(Slots::default()),
            closing: AtomicBool::new(false),
            epoch: Instant::now(),
        })
    }

    fn lock(&self) -> MutexGuard<'_, Slots> {
        self.slots.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn now_ms(&self) -> u64 {
        u64::try_from(self.epoch.elapsed().as_millis()).unwrap_or(UNSET - 1)
    }

    /// A slot for a new connection, released when the slot is dropped.
    pub fn slot(self: &Arc<Self>) -> IdleSlot {
        let mut slots = self.lock();
        let entry = Entry {
            waker: None,
            deadline_ms: UNSET,
        };
        let index = match slots.free.pop() {
            Some(i) => {
                slots.entries[i as usize] = entry;
                i
            }
            None => {
                slots.entries.push(entry);
                u32::try_from(slots.entries.len() - 1).unwrap_or(u32::MAX)
            }
        };
        IdleSlot {
            set: self.clone(),
            index,
        }
    }

    /// Whether the gateway is shutting down.
    pub fn closing(&self) -> bool {
        self.closing.load(Relaxed)
    }

    /// Connections holding a slot now.
    pub fn holders(&self) -> usize {
        let slots = self.lock();
        slots.entries.len() - slots.free.len()
    }

    /// Wakes every connection whose deadline has passed (or all of them,
    /// when closing). Wakers are called after the lock is released.
    fn reap(&self) {
        let now = self.now_ms();
        let closing = self.closing();
        let mut due = Vec::new();
        {
            let mut slots = self.lock();
            for e in slots.entries.iter_mut() {
                if e.deadline_ms != FREE && (closing || e.deadline_ms <= now) {
                    if let Some(w) = e.waker.take() {
                        due.push(w);
                    }
                }
            }
            // Give back what a crowd that has left grew (free entries at the end).
            if slots.free.len() * 2 > slots.entries.len() && slots.entries.capacity() > 1024 {
                let live = slots.entries.len() - slots.free.len();
                let end = slots
                    .entries
                    .iter()
                    .rposition(|e| e.deadline_ms != FREE)
                    .map_or(0, |i| i + 1);
                slots.entries.truncate(end);
                slots.free.retain(|&i| (i as usize) < end);
                slots.entries.shrink_to(end.max(live * 2).max(1024));
                let keep = slots.free.len() * 2;
                slots.free.shrink_to(keep);
            }
        }
        for w in due {
            w.wake();
        }
    }

    /// Marks the table closing and wakes everyone.
    fn close(&self) {
        self.closing.store(true, Relaxed);
        self.reap();
    }
}

/// How often the reaper hands freed memory back ([`crate::trim`]).
const TRIM_EVERY: Duration = Duration::from_secs(1);

/// How often the reaper looks for passed deadlines.
fn period(header_timeout: Duration) -> Duration {
    (header_timeout / 16).clamp(Duration::from_millis(10), Duration::from_secs(1))
}

/// Wakes the connections of `set` at their deadlines, and all of them when
/// `shutdown` flips; ends once shut down and every connection has gone.
/// About once a second it also runs [`crate::trim`]'s hook on this thread.
/// `header_timeout` is read again each round (a reload may change it).
pub async fn reaper(
    set: Arc<IdleSet>,
    header_timeout: impl Fn() -> Duration,
    mut shutdown: watch::Receiver<bool>,
) {
    let mut stop = std::pin::pin!(shutdown.changed());
    let mut trimmed = Instant::now();
    loop {
        let closing = set.closing();
        tokio::select! {
            biased;
            _ = stop.as_mut(), if !closing => set.close(),
            _ = tokio::time::sleep(period(header_timeout())) => set.reap(),
        }
        if trimmed.elapsed() >= TRIM_EVERY {
            crate::trim::run();
            trimmed = Instant::now();
        }
        if set.closing() && set.holders() == 0 {
            return;
        }
    }
}

/// One connection's place in its listener's [`IdleSet`].
pub struct IdleSlot {
    set: Arc<IdleSet>,
    index: u32,
}

impl IdleSlot {
    /// Starts a wait that ends `timeout` from now.
    pub fn arm(&self, timeout: Duration) {
        let set = &self.set;
        let when = set
            .now_ms()
            .saturating_add(u64::try_from(timeout.as_millis()).unwrap_or(UNSET));
        if let Some(e) = set.lock().entries.get_mut(self.index as usize) {
            e.deadline_ms = when.min(UNSET - 1);
        }
    }

    /// Whether the gateway is shutting down.
    pub fn closing(&self) -> bool {
        self.set.closing()
    }

    /// Ready once the armed deadline has passed, or (when `idle`: no part of
    /// a head has arrived) once the gateway is shutting down; otherwise
    /// registers `cx` to be woken then.
    pub fn poll_woken(&self, idle: bool, cx: &mut Context<'_>) -> Poll<Woken> {
        if idle && self.set.closing() {
            return Poll::Ready(Woken::Closing);
        }
        let now = self.set.now_ms();
        let mut slots = self.set.lock();
        let Some(e) = slots.entries.get_mut(self.index as usize) else {
            return Poll::Ready(Woken::Expired);
        };
        if e.deadline_ms <= now {
            return Poll::Ready(Woken::Expired);
        }
        match &e.waker {
            Some(w) if w.will_wake(cx.waker()) => {}
            _ => e.waker = Some(cx.waker().clone()),
        }
        drop(slots);
        // Closing may have been flagged between the check and the
        // registration: look again, now that a wake-up cannot be missed.
        if idle && self.set.closing() {
            return Poll::Ready(Woken::Closing);
        }
        Poll::Pending
    }
}

impl Drop for IdleSlot {
    fn drop(&mut self) {
        let mut slots = self.set.lock();
        if let Some(e) = slots.entries.get_mut(self.index as usize) {
            e.waker = None;
            e.deadline_ms = FREE;
            slots.free.push(self.index);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_entry_is_24_bytes() {
        assert_eq!(std::mem::size_of::<Entry>(), 24);
        assert_eq!(std::mem::size_of::<IdleSlot>(), 16);
    }

    #[tokio::test]
    async fn a_deadline_wakes_never_early_and_shutdown_wakes_the_idle() {
        let set = IdleSet::new();
        let (tx, rx) = watch::channel(false);
        tokio::spawn(reaper(set.clone(), || Duration::from_millis(160), rx));
        let a = set.slot();
        let b = set.slot();
        a.arm(Duration::from_millis(150));
        b.arm(Duration::from_secs(3600));
        let start = Instant::now();
        let woken = std::future::poll_fn(|cx| a.poll_woken(true, cx)).await;
        assert_eq!(woken, Woken::Expired);
        let took = start.elapsed();
        assert!(took >= Duration::from_millis(150), "{took:?}");
        // A connection mid-head keeps its deadline through shutdown; an idle
        // one is woken at once.
        tx.send(true).unwrap();
        let woken = std::future::poll_fn(|cx| b.poll_woken(true, cx)).await;
        assert_eq!(woken, Woken::Closing);
        drop((a, b));
        assert_eq!(set.holders(), 0);
    }

    #[test]
    fn slots_are_reused_and_a_crowd_is_given_back() {
        let set = IdleSet::new();
        let kept = set.slot();
        let crowd: Vec<_> = (0..10_000).map(|_| set.slot()).collect();
        assert_eq!(set.holders(), 10_001);
        drop(crowd);
        let again = set.slot();
        assert!(again.index < 10_001, "a free entry is reused");
        drop(again);
        set.reap();
        assert_eq!(set.holders(), 1);
        assert!(set.lock().entries.capacity() <= 1024, "given back");
        drop(kept);
        assert_eq!(set.holders(), 0);
    }
}
