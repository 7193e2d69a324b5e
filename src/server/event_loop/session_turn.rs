//! The loop's side of sessions (docs/protocol.md, "Sessions"): orders from
//! a [`super::super::SessionControl`], `stop` commands, expiry, and closing
//! preempted clients once told. The books are `sessions.rs`'s; this is
//! where the loop acts on them, as it does for retiring in `retire_turn`.

use std::time::{Duration, Instant};

use mio::Interest;

use super::{token_of, Connection, EventLoop, Listener};
use crate::ids::ClientId;
use crate::server::sessions::{
    self, CloseReason, Eviction, Reservation, SessionId, SessionInfo, SessionOrder, SessionRefusal,
    SessionRequest, SessionResult,
};
use crate::server::{CmsisDapTcp, SessionPort};

impl EventLoop {
    /// Sessions: orders from their controls, `stop` commands, expiry,
    /// closing evicted clients once told.
    pub(super) fn session_turn(&mut self) {
        let mut replies = Vec::new();
        while let Ok(order) = self.controls.session_orders.try_recv() {
            replies.push(match order {
                SessionOrder::Open(request, reply) => (reply, self.open_session(request)),
                SessionOrder::Renew(id, ttl, reply) => (reply, self.renew_session(id, ttl)),
                SessionOrder::Close(id, reply) => {
                    (reply, self.end_session(id, CloseReason::Closed))
                }
            });
        }
        if !replies.is_empty() {
            // Whoever asked sees the change in the published status (the
            // session lists) as soon as it has its answer.
            self.publish();
        }
        for (reply, result) in replies {
            let _ = reply.send(result);
        }
        for id in std::mem::take(&mut self.ended_sessions) {
            let _ = self.end_session(id, CloseReason::Stopped);
        }
        let now = Instant::now();
        if let Some(reservation) = &mut self.reservation {
            if reservation.take_warning(now) {
                let event = sessions::session_expiring(&self.info.unique_id, reservation.info());
                self.feed.publish(event);
            }
            if reservation.expired(now) {
                let id = reservation.id();
                let _ = self.end_session(id, CloseReason::Expired);
            }
        }
        let due: Vec<ClientId> = self
            .evicted
            .iter()
            .copied()
            .filter(|client| self.conns.get(client).is_none_or(|c| c.eviction_due(now)))
            .collect();
        for client in due {
            log::info!("closing client {client}: released for a session");
            self.close(client);
        }
    }

    fn open_session(&mut self, request: SessionRequest) -> SessionResult {
        if self.retiring.is_some() {
            return Err(SessionRefusal::NotServing);
        }
        if let Some(reservation) = &self.reservation {
            return Err(SessionRefusal::Reserved(reservation.info().clone()));
        }
        let mut users: Vec<ClientId> = self
            .conns
            .iter()
            .filter(|(&id, conn)| !conn.is_evicted() && self.arbiter.is_using(id))
            .map(|(&id, _)| id)
            .collect();
        users.sort_unstable();
        if !users.is_empty() && !request.preempt {
            let peers = users.iter().filter_map(|id| self.conns.get(id));
            return Err(SessionRefusal::InUse(peers.map(Connection::peer).collect()));
        }
        let port_of = |listener: &std::net::TcpListener| {
            listener.set_nonblocking(true)?;
            listener.local_addr().map(|addr| addr.port())
        };
        let ports = port_of(&request.listener).and_then(|port| {
            let dap_port = request.dap_listener.as_ref().map(port_of).transpose()?;
            Ok((port, dap_port))
        });
        let Ok((port, dap_port)) = ports else {
            return Err(SessionRefusal::NotServing);
        };
        let id = SessionId::next();
        let mut listeners = vec![Listener {
            socket: mio::net::TcpListener::from_std(request.listener),
            format: Box::new(SessionPort::new(&self.config)),
            session: Some(id),
        }];
        if let Some(dap) = request.dap_listener {
            listeners.push(Listener {
                socket: mio::net::TcpListener::from_std(dap),
                format: Box::new(CmsisDapTcp),
                session: Some(id),
            });
        }
        for mut listener in listeners {
            let token = token_of(self.next_client);
            self.next_client = ClientId(self.next_client.0 + 1);
            let registered =
                self.poll
                    .registry()
                    .register(&mut listener.socket, token, Interest::READABLE);
            if let Err(e) = registered {
                log::warn!("session {id}: cannot listen: {e}");
                self.close_session_listeners(id);
                return Err(SessionRefusal::NotServing);
            }
            self.listeners.push((token, listener));
        }
        let info = SessionInfo {
            id,
            holder: request.holder,
            port,
            dap_port,
            expires: std::time::SystemTime::now(),
            ttl: request.ttl,
            clients: 0,
        };
        let reservation = Reservation::new(info);
        for client in users {
            self.evict(client, &reservation.info().holder);
        }
        let event = sessions::session_opened(&self.info.unique_id, reservation.info());
        self.feed.publish(event);
        let info = reservation.info().clone();
        self.reservation = Some(reservation);
        self.released_since_poll = true;
        Ok(info)
    }

    /// Releases `client` for a session of `holder` that preempted it.
    fn evict(&mut self, client: ClientId, holder: &str) {
        let Some(conn) = self.conns.get_mut(&client) else {
            return;
        };
        log::info!(
            "client {client} ({}) preempted by a session of {holder}",
            conn.peer()
        );
        self.arbiter.remove_client(client);
        conn.evict(Eviction::new(holder), &mut self.ledger);
        self.evicted.push(client);
        self.touched.push(client);
        self.conns_generation += 1;
    }

    fn renew_session(&mut self, id: SessionId, ttl: Option<Duration>) -> SessionResult {
        match &mut self.reservation {
            Some(reservation) if reservation.id() == id => {
                let ttl = ttl.unwrap_or(reservation.info().ttl);
                reservation.extend(ttl);
                Ok(reservation.info().clone())
            }
            _ => Err(SessionRefusal::NoSuchSession),
        }
    }

    fn end_session(&mut self, id: SessionId, reason: CloseReason) -> SessionResult {
        let Some(reservation) = self.reservation.take_if(|r| r.id() == id) else {
            return Err(SessionRefusal::NoSuchSession);
        };
        self.close_session_listeners(id);
        // Others' requests refused so far are theirs to send again; what
        // waited in the arbiter may run now.
        self.released_since_poll = true;
        let event = sessions::session_closed(&self.info.unique_id, reservation.info(), reason);
        self.feed.publish(event);
        Ok(reservation.info().clone())
    }

    /// The server goes away: so does its session.
    pub(super) fn end_any_session(&mut self) {
        if let Some(id) = self.reservation.as_ref().map(Reservation::id) {
            let _ = self.end_session(id, CloseReason::ServerGone);
        }
    }

    fn close_session_listeners(&mut self, id: SessionId) {
        let registry = self.poll.registry();
        self.listeners.retain_mut(|(_, listener)| {
            if listener.session != Some(id) {
                return true;
            }
            let _ = registry.deregister(&mut listener.socket);
            false
        });
    }
}
