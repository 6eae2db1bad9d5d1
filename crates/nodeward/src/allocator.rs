//! Memory settings for mimalloc, which reads them from the environment only
//! as the process starts.

/// Commit memory on demand rather than when an arena is reserved: with 1,000
/// busy connections the gateway peaks at about a third less memory
/// (docs/benchmarks.md). Purging freed pages at once (`MIMALLOC_PURGE_DELAY=0`)
/// would save more but cost 5-15 % more CPU per request, so it is left alone.
const GATEWAY_SETTINGS: [(&str, &str); 1] = [("MIMALLOC_ARENA_EAGER_COMMIT", "0")];

/// For the long-running gateway: re-executes this binary once, same process,
/// same arguments, with [`GATEWAY_SETTINGS`] in its environment. Does nothing
/// when any of them is already set (an operator's own values win, and the
/// re-executed process finds them set). Returns only if nothing needed doing
/// or the exec failed, in which case the gateway runs with the defaults.
pub fn settle_for_gateway() {
    use std::os::unix::process::CommandExt;
    if GATEWAY_SETTINGS
        .iter()
        .any(|(name, _)| std::env::var_os(name).is_some())
    {
        return;
    }
    let mut args = std::env::args_os();
    let argv0 = args.next().unwrap_or_default();
    let _exec_failed = std::process::Command::new("/proc/self/exe")
        .arg0(argv0)
        .args(args)
        .envs(GATEWAY_SETTINGS)
        .exec();
}

/// Returns the calling thread's freed memory to the operating system:
/// mimalloc otherwise keeps it resident until that thread allocates again,
/// which an idle gateway does not (set as the gateway's trim hook).
pub fn collect() {
    // SAFETY: `mi_collect` takes no pointers and touches only mimalloc's own
    // bookkeeping of memory no live allocation uses (pages and segments of
    // the calling thread's heap that are already free); it may be called at
    // any time from any thread.
    unsafe { libmimalloc_sys::mi_collect(false) }
}
