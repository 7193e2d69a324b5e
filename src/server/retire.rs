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

use std::collections::HashSet;
use std::sync::mpsc::Sender;
use std::time::{Duration, Instant};

use super::event_loop::EventLoop;
use crate::arbiter::ClientId;
use crate::probe::ProbeError;
use crate::protocol::Failure;

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

impl EventLoop {
    /// The answer for a request of `client`, if the server is retiring.
    pub(super) fn retired_answer(&mut self, client: ClientId) -> Option<Failure> {
        let retiring = self.retiring.as_mut()?;
        retiring.told.insert(client);
        Some(Failure::Probe(ProbeError::Disconnected(
            retiring.reason.clone(),
        )))
    }

    /// Runs after every turn: takes a retire order, closes the clients
    /// that have been told (or all once the grace period is over). True
    /// when the retired server has no client left and should end.
    pub(super) fn retire_turn(&mut self) -> bool {
        if let Ok(order) = self.retire_orders.try_recv() {
            self.begin_retiring(order);
        }
        let Some(retiring) = &mut self.retiring else {
            return false;
        };
        let expired = Instant::now() >= retiring.deadline;
        let to_close: Vec<ClientId> = if expired {
            self.conns.keys().copied().collect()
        } else {
            let conns = &self.conns;
            retiring
                .told
                .iter()
                .copied()
                .filter(|client| conns.get(client).is_none_or(|conn| conn.is_drained()))
                .collect()
        };
        for client in &to_close {
            retiring.told.remove(client);
        }
        for client in to_close {
            if let Some(conn) = self.conns.get(&client) {
                log::info!("retired server: closing client {client} ({})", conn.peer);
            }
            self.close(client);
        }
        self.conns.is_empty()
    }

    fn begin_retiring(&mut self, order: RetireOrder) {
        if let Some(mut listener) = self.listener.take() {
            let _ = self.poll.registry().deregister(&mut listener);
        }
        if self.retiring.is_none() {
            self.retiring = Some(Retiring {
                deadline: Instant::now() + order.grace,
                told: HashSet::new(),
                reason: order.reason,
            });
        }
        log::info!(
            "retiring {}: {} client(s) are told on their next request",
            self.info.unique_id,
            self.conns.len()
        );
        let _ = order.listener_closed.send(());
    }

    /// How long the loop may sleep before the grace period ends.
    pub(super) fn retire_timeout(&self) -> Option<Duration> {
        let retiring = self.retiring.as_ref()?;
        Some(retiring.deadline.saturating_duration_since(Instant::now()))
    }
}
