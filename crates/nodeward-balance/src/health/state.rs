//! A backend's active-health state with rise/fall hysteresis, and the last
//! check's report for `/status`.

use super::{Exclusion, Level};
use std::sync::atomic::{AtomicU32, AtomicU64, AtomicU8, Ordering::Relaxed};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// Where a backend stands by its checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Active {
    /// The pool has no active checks: serving.
    Unchecked = 0,
    /// New: waiting for its first passing check.
    Pending = 1,
    /// Passing.
    Healthy = 2,
    /// Serving at reduced weight.
    Warn = 3,
    /// Out of rotation.
    Critical = 4,
}

impl Active {
    fn from_u8(v: u8) -> Active {
        match v {
            1 => Active::Pending,
            2 => Active::Healthy,
            3 => Active::Warn,
            4 => Active::Critical,
            _ => Active::Unchecked,
        }
    }

    /// The state's name in `/status`.
    pub fn name(self) -> &'static str {
        match self {
            Active::Unchecked | Active::Healthy => "healthy",
            Active::Pending => "pending",
            Active::Warn => "warn",
            Active::Critical => "critical",
        }
    }
}

/// The last check of a backend, as `/status` shows it.
#[derive(Debug, Clone)]
pub struct CheckReport {
    /// When it finished.
    pub at: SystemTime,
    /// Its level after judging against the pool.
    pub level: Level,
    /// What the check saw.
    pub output: String,
    /// Why it is not (fully) fit.
    pub exclusions: Vec<Exclusion>,
    /// Notes from judging (a reason set aside because the whole pool shares it, ...).
    pub notes: Vec<String>,
    /// How long it took.
    pub elapsed: Duration,
}

/// A change of serving state caused by a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// Nothing changed in or out of service.
    None,
    /// The backend came into service.
    Entered,
    /// The backend was taken out.
    Left,
}

/// One backend's active-health state.
#[derive(Debug)]
pub struct HealthCell {
    state: AtomicU8,
    passes: AtomicU32,
    failures: AtomicU32,
    counts: [AtomicU64; 3],
    report: Mutex<Option<CheckReport>>,
}

impl HealthCell {
    fn with(state: Active) -> HealthCell {
        HealthCell {
            state: AtomicU8::new(state as u8),
            passes: AtomicU32::new(0),
            failures: AtomicU32::new(0),
            counts: Default::default(),
            report: Mutex::new(None),
        }
    }

    /// For a pool without active checks.
    pub fn unchecked() -> HealthCell {
        HealthCell::with(Active::Unchecked)
    }

    /// For a new backend of a checked pool: pending, or serving at once.
    pub fn new_checked(start_healthy: bool) -> HealthCell {
        HealthCell::with(if start_healthy {
            Active::Healthy
        } else {
            Active::Pending
        })
    }

    /// The current state.
    pub fn active(&self) -> Active {
        Active::from_u8(self.state.load(Relaxed))
    }

    /// Whether the checks let it serve.
    pub fn serving(&self) -> bool {
        matches!(
            self.active(),
            Active::Unchecked | Active::Healthy | Active::Warn
        )
    }

    /// Checks of each level so far (pass, warn, critical).
    pub fn counts(&self) -> [u64; 3] {
        [0, 1, 2].map(|i| self.counts[i].load(Relaxed))
    }

    /// The last report.
    pub fn report(&self) -> Option<CheckReport> {
        self.report
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Applies one judged check result: `fall` critical results in a row take
    /// a serving backend out, `rise` good ones bring a critical one back, and
    /// a pending one enters on its first good result.
    pub fn apply(&self, report: CheckReport, rise: u32, fall: u32) -> Transition {
        let level = report.level;
        self.counts[level as usize].fetch_add(1, Relaxed);
        *self.report.lock().unwrap_or_else(|p| p.into_inner()) = Some(report);
        let before = self.active();
        let after = if level == Level::Critical {
            self.passes.store(0, Relaxed);
            let n = self.failures.fetch_add(1, Relaxed) + 1;
            match before {
                Active::Healthy | Active::Warn | Active::Unchecked if n < fall.max(1) => before,
                _ => Active::Critical,
            }
        } else {
            self.failures.store(0, Relaxed);
            let n = self.passes.fetch_add(1, Relaxed) + 1;
            let up = if level == Level::Warn {
                Active::Warn
            } else {
                Active::Healthy
            };
            match before {
                Active::Critical if n < rise.max(1) => Active::Critical,
                _ => up,
            }
        };
        self.state.store(after as u8, Relaxed);
        let serving = |a: Active| matches!(a, Active::Unchecked | Active::Healthy | Active::Warn);
        match (serving(before), serving(after)) {
            (false, true) => Transition::Entered,
            (true, false) => Transition::Left,
            _ => Transition::None,
        }
    }

    /// Starts over: checked (serving until its first check, which the
    /// pool runs at once) or unchecked.
    pub fn reset(&self, checked: bool) {
        let state = if checked {
            Active::Healthy
        } else {
            Active::Unchecked
        };
        self.state.store(state as u8, Relaxed);
        self.passes.store(0, Relaxed);
        self.failures.store(0, Relaxed);
    }

    /// Copies the state of `other` (a backend carried over to a new endpoint).
    pub fn carry_from(&self, other: &HealthCell) {
        self.state.store(other.state.load(Relaxed), Relaxed);
        self.passes.store(other.passes.load(Relaxed), Relaxed);
        self.failures.store(other.failures.load(Relaxed), Relaxed);
        for i in 0..3 {
            self.counts[i].store(other.counts[i].load(Relaxed), Relaxed);
        }
        *self.report.lock().unwrap_or_else(|p| p.into_inner()) = other.report();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(level: Level) -> CheckReport {
        CheckReport {
            at: SystemTime::now(),
            level,
            output: String::new(),
            exclusions: vec![],
            notes: vec![],
            elapsed: Duration::ZERO,
        }
    }

    #[test]
    fn rise_and_fall() {
        let h = HealthCell::new_checked(false);
        assert!(!h.serving());
        assert_eq!(h.apply(r(Level::Pass), 2, 3), Transition::Entered);
        assert_eq!(h.active(), Active::Healthy);
        assert_eq!(h.apply(r(Level::Critical), 2, 3), Transition::None);
        assert_eq!(h.apply(r(Level::Critical), 2, 3), Transition::None);
        assert_eq!(h.apply(r(Level::Critical), 2, 3), Transition::Left);
        assert_eq!(h.apply(r(Level::Pass), 2, 3), Transition::None);
        assert_eq!(h.active(), Active::Critical);
        assert_eq!(h.apply(r(Level::Warn), 2, 3), Transition::Entered);
        assert_eq!(h.active(), Active::Warn);
        assert_eq!(h.apply(r(Level::Pass), 2, 3), Transition::None);
        assert_eq!(h.active(), Active::Healthy);
        // A pending backend that fails is critical at once.
        let h = HealthCell::new_checked(false);
        assert_eq!(h.apply(r(Level::Critical), 2, 3), Transition::None);
        assert_eq!(h.active(), Active::Critical);
        assert_eq!(h.counts(), [0, 0, 1]);
    }
}
