//! Retiring a server whose probe went away (removed from the
//! configuration, disabled, unplugged, vanished from USB): its clients are
//! told (status 2, probe disconnected, with the reason) on their next
//! request and closed, rather than cut off mid-session without a word.
//!
//! The listener goes at once, so the port is free for whatever the new
//! configuration puts there. Requests already with the probe finish as
//! usual; only new ones are refused. A client that sends nothing is closed
//! when the grace period ends, so an idle client cannot keep the probe
//! open forever. When no client is left the loop ends, and shutting down
//! releases and closes the probe as a stop does.
//!
//! [`Retiring`] only keeps the books and decides; the loop owns the
//! listener and the connections and acts on its decisions.

use std::collections::HashSet;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use crate::arbiter::Outcome;
use crate::ids::ClientId;
use crate::probe::ProbeError;

/// Sent by [`ServerHandle::retire`](super::ServerHandle::retire) to the loop.
pub struct RetireOrder {
    pub grace: Duration,
    /// Why, as clients are told: `probe disconnected: <reason>`.
    pub reason: String,
    /// Told once the listener is closed.
    pub listener_closed: Sender<()>,
}

/// A retiring server's progress.
pub struct Retiring {
    /// Clients still connected then are closed unanswered.
    deadline: Instant,
    /// Clients that got their status 2 and close once it is written.
    told: HashSet<ClientId>,
    reason: String,
}

impl Retiring {
    pub fn new(grace: Duration, reason: String) -> Retiring {
        Retiring {
            deadline: Instant::now() + grace,
            told: HashSet::new(),
            reason,
        }
    }

    /// The answer to a request of `client` from now on, instead of what
    /// it asked: the probe is gone. The client is closed once that answer
    /// is written.
    pub fn refuse(&mut self, client: ClientId) -> Outcome {
        self.told.insert(client);
        Outcome::Probe(ProbeError::Disconnected(self.reason.clone()))
    }

    /// Counts `client` as told: it closes once drained.
    pub fn tell(&mut self, client: ClientId) {
        self.told.insert(client);
    }

    /// The clients to close now, out of `clients` (every connection):
    /// all of them once the grace period is over, else those that were
    /// told and are `drained` (their answer is written; a client that is
    /// gone counts as drained).
    pub fn due(
        &mut self,
        clients: impl Iterator<Item = ClientId>,
        drained: impl Fn(ClientId) -> bool,
    ) -> Vec<ClientId> {
        let due: Vec<ClientId> = if Instant::now() >= self.deadline {
            clients.collect()
        } else {
            self.told.iter().copied().filter(|&c| drained(c)).collect()
        };
        for client in &due {
            self.told.remove(client);
        }
        due
    }

    /// How long the loop may sleep before the grace period ends.
    pub fn timeout(&self) -> Duration {
        self.deadline.saturating_duration_since(Instant::now())
    }
}
