//! Protocol rule 10's bound: how long one client's core register transfer
//! (its DCRSR/DCRDR window) may hold off every other client.
//!
//! The arbiter knows whether a window is open, but it has no clock; this
//! notes when the window it reports was first seen open, and closes it in
//! the arbiter once it has been open longer than the limit, so a client
//! that stopped halfway cannot hold off the others for good.

use std::time::{Duration, Instant};

use crate::arbiter::{Arbiter, RegisterWindow};

pub struct WindowClock {
    limit: Duration,
    /// The window open now, and since when.
    opened: Option<(RegisterWindow, Instant)>,
}

impl WindowClock {
    pub fn new(limit: Duration) -> WindowClock {
        WindowClock {
            limit,
            opened: None,
        }
    }

    /// Closes the arbiter's window if it has been open too long. True if
    /// one was closed (the others may run now).
    pub fn expire(&mut self, arbiter: &mut Arbiter) -> bool {
        let now = Instant::now();
        let Some(window) = arbiter.register_window() else {
            self.opened = None;
            return false;
        };
        let opened = match self.opened {
            Some((known, opened)) if known == window => opened,
            _ => {
                self.opened = Some((window, now));
                now
            }
        };
        if now.duration_since(opened) < self.limit {
            return false;
        }
        log::info!(
            "core register transfer of client {} left unfinished for {:?}: others may use the core again",
            window.client,
            self.limit
        );
        self.opened = None;
        arbiter.expire_register_window(window.id)
    }

    /// How long until the open window expires.
    pub fn timeout(&self) -> Option<Duration> {
        let (_, opened) = self.opened?;
        Some((opened + self.limit).saturating_duration_since(Instant::now()))
    }
}
