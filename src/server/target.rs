//! The target's run state as the DHCSR values the server sees tell it
//! ([`TargetState`]), and when the server reads DHCSR itself
//! ([`TargetPoller`]) for `target` events (docs/protocol.md, "Events").
//!
//! Every DHCSR value a client reads passes through the arbiter, which
//! notes it as the hardware answered it (before the clear-on-read bits
//! owed to that client are added, rule 11), so one reset is one `reset`,
//! whoever reads it. While someone listens for target events, the probe
//! is connected and no DHCSR value has been seen for one poll interval,
//! the loop sends a read of its own: a memory-handle read of DHCSR
//! through APSEL 0 under the poller's own client id, so it waits behind
//! locks and register windows like any client's request, puts back what it
//! changes of the AP (rule 9), and shares the clear-on-read bits it takes
//! with every client (rule 11). This is pure: the loop gives it the time.

use std::time::{Duration, Instant};

use crate::dap::registers::{S_HALT, S_LOCKUP, S_RESET_ST};
use crate::events::TargetChange;
use crate::limits::MIN_TARGET_POLL;

/// What the DHCSR values seen so far say about the core; `None` for what
/// is not known (no value seen since the wire came up).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TargetState {
    pub halted: Option<bool>,
    pub locked_up: Option<bool>,
}

impl TargetState {
    /// Takes in a DHCSR value; returns what changed, in the order it
    /// happened: a reset first, then the run state, then a lockup. A value
    /// with S_RESET_ST is a `reset` every time: while the core is held in
    /// reset every read shows it, and two resets between two reads are
    /// one, as DHCSR cannot tell them apart.
    pub fn observe(&mut self, dhcsr: u32) -> Vec<TargetChange> {
        let mut changes = Vec::new();
        if dhcsr & S_RESET_ST != 0 {
            changes.push(TargetChange::Reset);
        }
        let halted = dhcsr & S_HALT != 0;
        if self.halted != Some(halted) {
            changes.push(if halted {
                TargetChange::Halted
            } else {
                TargetChange::Running
            });
        }
        let locked_up = dhcsr & S_LOCKUP != 0;
        if locked_up && self.locked_up != Some(true) {
            changes.push(TargetChange::LockedUp);
        }
        self.halted = Some(halted);
        self.locked_up = Some(locked_up);
        changes
    }

    /// The state as events greet a new subscriber with.
    pub fn current(&self) -> Vec<TargetChange> {
        let run = self.halted.map(|halted| {
            if halted {
                TargetChange::Halted
            } else {
                TargetChange::Running
            }
        });
        let lockup = (self.locked_up == Some(true)).then_some(TargetChange::LockedUp);
        run.into_iter().chain(lockup).collect()
    }
}

/// The longest the poller waits after reads that failed.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// When the server reads DHCSR itself.
#[derive(Debug)]
pub struct TargetPoller {
    interval: Duration,
    /// When a DHCSR value was last seen, anyone's.
    last_seen: Option<Instant>,
    /// When the poller's last read was sent.
    last_sent: Option<Instant>,
    in_flight: bool,
    /// Reads that failed in a row.
    failures: u32,
    /// Reads sent since the server started.
    sent: u64,
}

impl TargetPoller {
    /// A poller reading at most once per `interval` (at least
    /// [`MIN_TARGET_POLL`]).
    pub fn new(interval: Duration) -> TargetPoller {
        TargetPoller {
            interval: interval.max(MIN_TARGET_POLL),
            last_seen: None,
            last_sent: None,
            in_flight: false,
            failures: 0,
            sent: 0,
        }
    }

    /// A DHCSR value was seen at `now` (a client's or the poller's).
    pub fn seen(&mut self, now: Instant) {
        self.last_seen = Some(now);
    }

    /// How long after `now` the next read is due (zero: now); `None`
    /// while one is in flight.
    pub fn due_in(&self, now: Instant) -> Option<Duration> {
        if self.in_flight {
            return None;
        }
        let wait = self.interval * 2u32.saturating_pow(self.failures.min(6));
        let wait = wait.min(MAX_BACKOFF.max(self.interval));
        let since = |t: Option<Instant>| t.map(|t| t + wait);
        let due = [since(self.last_seen), since(self.last_sent)]
            .into_iter()
            .flatten()
            .max()
            .unwrap_or(now);
        Some(due.saturating_duration_since(now))
    }

    /// The read is being sent at `now`.
    pub fn sending(&mut self, now: Instant) {
        self.in_flight = true;
        self.last_sent = Some(now);
        self.sent += 1;
    }

    /// The read came back (or failed).
    pub fn answered(&mut self, ok: bool) {
        self.in_flight = false;
        self.failures = if ok { 0 } else { self.failures + 1 };
    }

    /// Reads sent since the server started.
    pub fn reads(&self) -> u64 {
        self.sent
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dap::registers::S_RETIRE_ST;

    #[test]
    fn transitions_become_changes_and_a_reset_comes_first() {
        let mut state = TargetState::default();
        assert_eq!(state.observe(S_RETIRE_ST), [TargetChange::Running]);
        assert_eq!(state.observe(S_RETIRE_ST), []);
        assert_eq!(state.observe(S_HALT), [TargetChange::Halted]);
        assert_eq!(
            state.observe(S_RESET_ST),
            [TargetChange::Reset, TargetChange::Running]
        );
        assert_eq!(state.observe(S_RESET_ST), [TargetChange::Reset]);
        assert_eq!(state.observe(S_LOCKUP), [TargetChange::LockedUp]);
        assert_eq!(state.observe(S_LOCKUP), []);
        assert_eq!(
            state.current(),
            [TargetChange::Running, TargetChange::LockedUp]
        );
        assert_eq!(TargetState::default().current(), []);
    }

    #[test]
    fn the_poller_waits_an_interval_after_any_value_and_one_read_at_a_time() {
        let start = Instant::now();
        let ms = Duration::from_millis;
        let mut poller = TargetPoller::new(ms(10));
        assert_eq!(poller.interval, MIN_TARGET_POLL, "at most 10 Hz");
        assert_eq!(poller.due_in(start), Some(Duration::ZERO));
        poller.sending(start);
        assert_eq!(poller.due_in(start + ms(500)), None, "one in flight");
        poller.answered(true);
        poller.seen(start + ms(20));
        assert_eq!(poller.due_in(start + ms(50)), Some(ms(70)));
        poller.seen(start + ms(90));
        assert_eq!(
            poller.due_in(start + ms(100)),
            Some(ms(90)),
            "a client read"
        );
        poller.sending(start + ms(190));
        poller.answered(false);
        assert_eq!(
            poller.due_in(start + ms(190)),
            Some(ms(200)),
            "a failure doubles the wait"
        );
        assert_eq!(poller.reads(), 2);
    }
}
