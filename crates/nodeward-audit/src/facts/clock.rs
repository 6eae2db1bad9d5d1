//! Interpreting the kernel's clock discipline state (`adjtimex`).

/// `TIME_ERROR`: the clock is not synchronised.
const TIME_ERROR: i32 = 5;
/// `STA_UNSYNC` in `timex.status`.
const STA_UNSYNC: i32 = 0x0040;

/// Whether the clock is synchronised, from `adjtimex`'s return value and
/// `status` bits, with evidence text.
pub fn interpret(state: i32, status: i32, maxerror_us: libc::c_long) -> (bool, String) {
    let synced = state != TIME_ERROR && status & STA_UNSYNC == 0;
    let evidence = format!(
        "adjtimex: state {state}{}, status 0x{status:04x} (STA_UNSYNC {}), maxerror {maxerror_us} µs",
        if state == TIME_ERROR { " (TIME_ERROR)" } else { "" },
        if status & STA_UNSYNC != 0 { "set" } else { "clear" }
    );
    (synced, evidence)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unsync_bit_or_time_error_means_not_synchronised() {
        assert!(interpret(0, 0x2001, 16000).0);
        assert!(!interpret(5, 0x0041, 16_000_000).0);
        assert!(!interpret(0, 0x0040, 0).0);
        assert!(interpret(0, 0x0040, 0).1.contains("STA_UNSYNC set"));
    }
}
