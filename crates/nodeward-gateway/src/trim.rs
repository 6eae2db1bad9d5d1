//! Handing memory freed after a burst back to the operating system.
//!
//! The allocator (the binary's choice: mimalloc) keeps pages it freed
//! resident until the thread that owns them allocates again. A gateway
//! that has just answered thousands of requests and now holds their
//! connections idle allocates nothing, so the burst's request state stayed
//! resident: about 900 bytes per idle connection after 1,000 connections'
//! first requests (bench/scale.sh). Each listener's idle reaper
//! ([`crate::listen::idle`]) calls the hook the binary set here about once
//! a second, on its own worker thread.

use std::sync::OnceLock;

static HOOK: OnceLock<fn()> = OnceLock::new();

/// Sets the function that returns the calling thread's freed memory to the
/// operating system (once; later calls are ignored).
pub fn set_hook(hook: fn()) {
    let _ = HOOK.set(hook);
}

/// Runs the hook, if one was set.
pub(crate) fn run() {
    if let Some(hook) = HOOK.get() {
        hook();
    }
}
