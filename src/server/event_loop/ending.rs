//! How clients and the server itself stop being served: idle clients
//! closed, a kick, a retire order (the probe unplugged, disabled or
//! removed) and the worker thread's death, which retires the server the
//! same way (ARCHITECTURE.md, "Worker death").

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{Connection, EventLoop, Retiring, WORKER_LOST, WORKER_LOST_GRACE};
use crate::ids::ClientId;
use crate::probe::ProbeError;

impl EventLoop {
    /// The worker thread ended while the loop needed it (a panic): every
    /// job in flight and every queued request is answered with status 2
    /// `probe disconnected: internal error`, and the server retires as for
    /// a probe that vanished (port closed, later requests refused the same
    /// way, clients closed), so that whoever started it can serve the
    /// probe anew (ARCHITECTURE.md, "Worker death").
    pub(super) fn on_worker_death(&mut self) {
        self.worker_lost = true;
        let cause = self.worker.end_cause();
        log::error!(
            "the worker thread of probe {} ended ({cause}); its {} job(s) in flight and {} \
             queued request(s) are answered with status 2, and the probe is retired",
            self.info.unique_id,
            self.arbiter.in_flight(),
            self.arbiter.queued(),
        );
        self.arbiter
            .fail_everything(ProbeError::Disconnected(WORKER_LOST.into()));
        self.begin_retiring(WORKER_LOST_GRACE, WORKER_LOST.to_owned());
    }

    pub(super) fn close_idle(&mut self) {
        let Some(timeout) = self.config.limits.idle_timeout else {
            return;
        };
        let idle: Vec<ClientId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.is_idle(timeout))
            .map(|(&id, _)| id)
            .collect();
        for client in idle {
            log::info!("closing idle client {client}");
            self.close(client);
        }
    }

    /// Closes every connection if a kick was asked for: each client is
    /// released as if it had died, and the listener stays open.
    pub(super) fn kick_turn(&mut self) {
        if !self.controls.kick.swap(false, Ordering::SeqCst) {
            return;
        }
        let clients: Vec<ClientId> = self.conns.keys().copied().collect();
        log::info!(
            "kicking {} client(s) of {}",
            clients.len(),
            self.info.unique_id
        );
        for client in clients {
            self.close(client);
        }
    }

    /// Runs after every turn: takes a retire order, closes the clients
    /// that have been told (or all once the grace period is over). True
    /// when the retired server has no client left and should end.
    pub(super) fn retire_turn(&mut self) -> bool {
        if let Ok(order) = self.controls.retire_orders.try_recv() {
            self.begin_retiring(order.grace, order.reason);
            let _ = order.listener_closed.send(());
        }
        let Some(retiring) = &mut self.retiring else {
            return false;
        };
        let conns = &self.conns;
        let drained = |client| conns.get(&client).is_none_or(Connection::is_drained);
        for client in retiring.due(conns.keys().copied(), drained) {
            if let Some(conn) = self.conns.get(&client) {
                log::info!("retired server: closing client {client} ({})", conn.peer());
            }
            self.close(client);
        }
        self.conns.is_empty()
    }

    /// Closes the listeners and refuses every request from now on with
    /// `probe disconnected: <reason>`. A second order keeps the first's
    /// reason and deadline.
    pub(super) fn begin_retiring(&mut self, grace: Duration, reason: String) {
        self.end_any_session();
        self.close_listener();
        let retiring = self
            .retiring
            .get_or_insert_with(|| Retiring::new(grace, reason));
        // Subscribers send no request to be told with: they have their
        // `retired` event, and close once it is written.
        for client in self.subscribers.clients() {
            retiring.tell(client);
        }
        log::info!(
            "retiring {}: {} client(s) are told on their next request",
            self.info.unique_id,
            self.conns.len()
        );
    }
}
