//! Time for the USB latency model, injectable so that tests can check the
//! model in virtual time instead of waiting for real milliseconds.
//!
//! Times are durations since the clock's own epoch (its creation), which is
//! also where the model's USB frames start.

use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// A source of time that can also be waited on.
pub trait Clock: Send {
    /// Time since this clock's epoch.
    fn now(&self) -> Duration;
    /// Blocks the calling thread for `duration` (of this clock's time).
    fn sleep(&self, duration: Duration);
}

/// Real time: sleeping blocks the thread. Sleeping is how the bus is
/// modelled; it runs on the probe's worker thread, which would block on a
/// real USB transfer just the same.
#[derive(Debug)]
pub struct SystemClock {
    epoch: Instant,
}

impl SystemClock {
    pub fn new() -> SystemClock {
        SystemClock {
            epoch: Instant::now(),
        }
    }
}

impl Default for SystemClock {
    fn default() -> SystemClock {
        SystemClock::new()
    }
}

impl Clock for SystemClock {
    fn now(&self) -> Duration {
        self.epoch.elapsed()
    }

    fn sleep(&self, duration: Duration) {
        // The OS oversleeps by tens of microseconds, which is most of a
        // 125 µs high-speed microframe: sleep the bulk, then yield until
        // the deadline so the modelled bus keeps its own pace.
        let deadline = Instant::now() + duration;
        if let Some(coarse) = duration.checked_sub(PRECISE_TAIL) {
            std::thread::sleep(coarse);
        }
        while Instant::now() < deadline {
            std::thread::yield_now();
        }
    }
}

/// How much of a sleep is spent yielding rather than sleeping.
const PRECISE_TAIL: Duration = Duration::from_micros(200);

/// Virtual time: it stands still until someone sleeps, and sleeping moves
/// it forward at once. Clones share one time line, so a test keeps a clone
/// to read how much bus time its traffic took.
#[derive(Clone, Debug, Default)]
pub struct VirtualClock {
    now: Arc<Mutex<Duration>>,
}

impl VirtualClock {
    /// A clock at its epoch.
    pub fn new() -> VirtualClock {
        VirtualClock::default()
    }

    /// Moves time forward, as if the host had spent `duration` elsewhere.
    pub fn advance(&self, duration: Duration) {
        let mut now = self.now.lock();
        *now = now.saturating_add(duration);
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Duration {
        *self.now.lock()
    }

    fn sleep(&self, duration: Duration) {
        self.advance(duration);
    }
}
