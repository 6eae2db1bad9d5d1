//! A small, fast, per-thread random number source for load-balancing
//! choices (not for anything secret).

use std::cell::Cell;

thread_local! {
    static STATE: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let mut b = [0u8; 8];
    if getrandom::fill(&mut b).is_err() {
        // No OS randomness: balancing still works, only less evenly spread.
        return 0x9E37_79B9_7F4A_7C15;
    }
    u64::from_le_bytes(b) | 1
}

/// A random number below `n` (`n > 0`).
pub fn below(n: usize) -> usize {
    STATE.with(|s| {
        // xorshift64*
        let mut x = s.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        s.set(x);
        let r = x.wrapping_mul(0x2545_F491_4F6C_DD1D);
        ((r >> 32) as usize) % n.max(1)
    })
}
