//! The mio loop of one served probe: poll, accept, hand completions to the
//! arbiter and its decisions to the worker and the connections, close
//! connections, shut down.
//!
//! The loop knows no wire format: its [`Listener`] carries one that gives
//! each accepted connection its front end, and connections do their own
//! reading, answering and writing ([`Connection`]). What stays here is
//! what concerns every client at once: scheduling through the arbiter, the
//! worker, limits on connections, idle and kicked clients, retiring, and
//! the published status.
//!
//! Responses produced during one turn of the loop are written at its end,
//! so a pipelining client gets them coalesced into one `write`. A
//! connection's closing releases everything the client held (rule 4), and
//! the arbiter is asked again in the same turn, since that release can be
//! all that others' queued work was waiting for.
//!
//! Events (docs/protocol.md, "Events") go out through the [`EventFeed`]:
//! joins and leaves from accept and close, the lock and DHCSR from the
//! arbiter's notices, each turn. A connection that sent `subscribe`
//! leaves the arbiter (releasing what it held, as if it had gone) once
//! its earlier requests are answered, and its queue is pumped into its
//! socket at every turn's end. The server's own DHCSR read is submitted
//! here when the feed says it is due, under the poller's client id.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Receiver;
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::{Events, Interest, Poll, Token};

use super::connection::{Connection, Next, Shared};
use super::event_feed::{EventFeed, POLLER};
use super::front_end::READ_CHUNK;
use super::listener::Listener;
use super::peers::PeerCounts;
use super::retire::{RetireOrder, Retiring};
use super::sessions::{Reservation, SessionId, SessionOrder};
use super::settings::ServerConfig;
use super::status::{EventStatus, LoopFacts, StatusWatch};
use super::subscribers::Subscribers;
use super::traffic::Ledger;
use super::window_clock::WindowClock;
use crate::arbiter::{Action, Arbiter, ArbiterConfig, Outcome};
use crate::events::{ClientChange, ClientRef};
use crate::ids::ClientId;
use crate::probe::{DebugProbe, ProbeError, ProbeInfo};
use crate::worker::{Completion, ProbeWorker, SPIN};

/// The pyOCD listener.
const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
/// The DAP port's listener (CMSIS-DAP over TCP), when it is served.
const DAP_LISTENER: Token = Token(2);
/// Client ids count up from here and are never reused, so a late event
/// for a closed connection cannot reach a new one. A session's listeners
/// take their tokens from the same count, so no token is ever both. (Ids
/// below it are the server's own: the DHCSR poller is
/// `event_feed::POLLER`.)
const FIRST_CLIENT: ClientId = ClientId(3);

/// A client's poll token is its id. This and `client_of` are the only
/// places one is made from the other. (Ids count up by one per accepted
/// connection, so one outgrows a `usize` token only on a 32-bit host after
/// 2^32 connections.)
fn token_of(client: ClientId) -> Token {
    Token(client.0 as usize)
}

/// The client a poll token stands for; `None` for the named tokens.
fn client_of(token: Token) -> Option<ClientId> {
    let client = ClientId(token.0 as u64);
    (client >= FIRST_CLIENT).then_some(client)
}

/// How long shutdown waits for the probe to be disconnected and closed.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// What clients are told when the probe's worker thread has died:
/// `probe disconnected: internal error` (status 2).
pub const WORKER_LOST: &str = "internal error";

/// How long the clients of a server whose worker died are kept before
/// they are closed: as for a probe that vanished from USB, short, since
/// nothing they send can be served any more.
const WORKER_LOST_GRACE: Duration = Duration::from_secs(1);

mod ending;
mod session_turn;

/// How the server's handles reach the loop.
pub struct Controls {
    pub stop: Arc<AtomicBool>,
    /// Set by [`super::ServerHandle::kick`]: close every connection.
    pub kick: Arc<AtomicBool>,
    /// Where [`super::ServerHandle::retire`] sends its order.
    pub retire_orders: Receiver<RetireOrder>,
    /// Where each turn's state is published for other threads.
    pub status: StatusWatch,
    /// Where a [`super::SessionControl`] sends its orders.
    pub session_orders: Receiver<SessionOrder>,
}

pub struct EventLoop {
    poll: Poll,
    /// The listeners still open, each with its token.
    listeners: Vec<(Token, Listener)>,
    conns: HashMap<ClientId, Connection>,
    /// Connections per peer address, for the per-peer limit.
    peers: PeerCounts,
    next_client: ClientId,
    arbiter: Arbiter,
    worker: ProbeWorker,
    info: ProbeInfo,
    config: ServerConfig,
    controls: Controls,
    scratch: Vec<u8>,
    actions: Vec<Action>,
    /// When the last batch went to the worker.
    last_submit: Option<Instant>,
    /// Connections whose output or interest may have changed this turn.
    touched: Vec<ClientId>,
    /// A connection was closed since the arbiter was last polled.
    released_since_poll: bool,
    register_window: WindowClock,
    retiring: Option<Retiring>,
    ledger: Ledger,
    /// Counts accepts and closes, so the published client list is rebuilt
    /// only when it changed.
    conns_generation: u64,
    /// The session holding the probe, if one does.
    reservation: Option<Reservation>,
    /// Sessions a `stop` command asked to end this turn.
    ended_sessions: Vec<SessionId>,
    /// Clients released for a session that preempted them, still
    /// connected until told.
    evicted: Vec<ClientId>,
    /// The worker thread has ended on its own: nothing sent to it will
    /// ever be answered, so the arbiter's jobs fail at once instead.
    worker_lost: bool,
    feed: EventFeed,
    /// Connections that sent `subscribe`.
    subscribers: Subscribers,
}

impl EventLoop {
    /// A loop serving `listeners`: pyOCD's first, then the DAP port's if
    /// there is one.
    pub fn new(
        listeners: Vec<Listener>,
        probe: Box<dyn DebugProbe>,
        config: ServerConfig,
        controls: Controls,
    ) -> io::Result<(Self, Arc<mio::Waker>)> {
        let poll = Poll::new()?;
        let mut listeners: Vec<(Token, Listener)> = [LISTENER, DAP_LISTENER]
            .into_iter()
            .zip(listeners)
            .collect();
        for (token, listener) in &mut listeners {
            poll.registry()
                .register(&mut listener.socket, *token, Interest::READABLE)?;
        }
        let waker = Arc::new(mio::Waker::new(poll.registry(), WAKER)?);
        let info = probe.info().clone();
        let worker = ProbeWorker::spawn(probe, waker.clone())?;
        let feed = EventFeed::new(
            config.events.clone(),
            &info.unique_id,
            config.limits.target_poll,
        );
        let event_loop = EventLoop {
            poll,
            listeners,
            conns: HashMap::new(),
            peers: PeerCounts::default(),
            next_client: FIRST_CLIENT,
            arbiter: Arbiter::new(ArbiterConfig::default()),
            worker,
            info,
            register_window: WindowClock::new(config.limits.register_window),
            config,
            controls,
            scratch: vec![0; READ_CHUNK],
            actions: Vec::new(),
            last_submit: None,
            touched: Vec::new(),
            released_since_poll: false,
            retiring: None,
            ledger: Ledger::default(),
            conns_generation: 0,
            reservation: None,
            ended_sessions: Vec::new(),
            evicted: Vec::new(),
            worker_lost: false,
            feed,
            subscribers: Subscribers::new(waker.clone()),
        };
        Ok((event_loop, waker))
    }

    pub fn run(mut self) {
        self.subscribers.on_loop_thread();
        let mut events = Events::with_capacity(1024);
        let mut client_events = 0;
        while !self.controls.stop.load(Ordering::SeqCst) {
            // While the worker runs a batch, its answer usually comes sooner
            // than a sleep and wake-up of this thread would take, so peek
            // (timeout zero) for a short while before sleeping in poll.
            // Only under light load: with many clients busy, the cores are
            // better spent on them, and the next event comes soon anyway.
            let worker_busy_briefly = self.arbiter.in_flight() > 0
                && client_events <= 1
                && self.last_submit.is_some_and(|t| t.elapsed() < SPIN);
            let timeout = if worker_busy_briefly || !self.worker.prepare_to_sleep() {
                Some(Duration::ZERO)
            } else {
                self.poll_timeout()
            };
            let polled = self.poll.poll(&mut events, timeout);
            self.worker.awake();
            if let Err(e) = polled {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                log::error!("poll failed, stopping: {e}");
                break;
            }
            client_events = 0;
            for event in events.iter() {
                match event.token() {
                    WAKER => {}
                    token if self.listeners.iter().any(|(t, _)| *t == token) => {
                        self.accept_all(token)
                    }
                    token => {
                        if let Some(client) = client_of(token) {
                            client_events += 1;
                            self.on_client_event(client, event);
                        }
                    }
                }
            }
            self.close_idle();
            self.kick_turn();
            self.session_turn();
            self.turn_end();
            self.publish();
            if self.retire_turn() {
                break;
            }
        }
        self.shut_down();
    }

    /// Work that follows every batch of events: completions in, decisions
    /// out, responses written.
    fn turn_end(&mut self) {
        // Looked at before draining: once the thread has ended, all it
        // ever sent is in the channel.
        let worker_ended = !self.worker_lost && self.worker.has_ended();
        for completion in self.worker.try_completions() {
            self.arbiter.complete(completion);
        }
        if worker_ended {
            self.on_worker_death();
        }
        // A connection closed while flushing released what it held, which
        // may let others' queued requests run or start a cleanup. No event
        // may come to prompt that, so decide again at once.
        loop {
            self.released_since_poll = false;
            self.feed.poll(&mut self.arbiter, self.retiring.is_none());
            self.apply_arbiter();
            let expired = self.register_window.expire(&mut self.arbiter);
            self.publish_notices(None);
            self.released_since_poll |= self.subscribers.pump(
                &mut self.conns,
                &mut self.arbiter,
                &self.feed,
                self.poll.registry(),
                &mut self.ledger,
                &mut self.touched,
            );
            self.flush_touched();
            if !self.released_since_poll && !expired {
                break;
            }
        }
    }

    /// Publishes what the arbiter noticed; `departing` names a client
    /// whose connection is already gone.
    fn publish_notices(&mut self, departing: Option<&ClientRef>) {
        let conns = &self.conns;
        let name = |client: ClientId| match conns.get(&client) {
            Some(conn) => Some(conn.client_ref()),
            None => departing.filter(|d| d.id == client.0).cloned(),
        };
        self.feed.take_notices(&mut self.arbiter, name);
    }

    fn apply_arbiter(&mut self) {
        self.arbiter.poll(&mut self.actions);
        for action in self.actions.drain(..) {
            match action {
                Action::Execute(batch) if self.worker_lost => {
                    // Cleanups of departing clients, say: nobody will run
                    // them. Their results come out of the next poll, which
                    // `turn_end` makes before it lets the loop sleep.
                    for job in batch.jobs {
                        self.arbiter.complete(Completion {
                            id: job.id,
                            result: Err(ProbeError::Disconnected(WORKER_LOST.into())),
                        });
                    }
                    self.released_since_poll = true;
                }
                Action::Execute(batch) => {
                    self.worker.submit(batch);
                    self.last_submit = Some(Instant::now());
                }
                Action::InternalFailed { op, error } => {
                    log::warn!("{op} on behalf of departed clients failed: {error}");
                }
                Action::Reply {
                    client: POLLER,
                    outcome,
                    ..
                } => self.feed.poll_answered(matches!(outcome, Outcome::Ok(_))),
                Action::Reply {
                    client,
                    ticket,
                    outcome,
                } => {
                    if let Some(conn) = self.conns.get_mut(&client) {
                        conn.answer(ticket, outcome, &mut self.ledger);
                        self.touched.push(client);
                    }
                }
            }
        }
    }

    fn on_client_event(&mut self, client: ClientId, event: &mio::event::Event) {
        let next = self.drive(client, |conn, shared| conn.on_event(event, shared));
        if next.is_some_and(|next| next != Next::Close) {
            self.touched.push(client);
        }
    }

    /// Runs `work` on the connection of `client` with what it borrows from
    /// the loop, and closes the connection if asked to. `None` if there is
    /// no such connection.
    fn drive(
        &mut self,
        client: ClientId,
        work: impl FnOnce(&mut Connection, &mut Shared<'_>) -> Next,
    ) -> Option<Next> {
        let conn = self.conns.get_mut(&client)?;
        let mut shared = Shared {
            arbiter: &mut self.arbiter,
            info: &self.info,
            ledger: &mut self.ledger,
            scratch: &mut self.scratch,
            retiring: self.retiring.as_mut(),
            reservation: self.reservation.as_ref(),
            ended_sessions: &mut self.ended_sessions,
            subscribing: self.subscribers.joining(),
        };
        let next = work(conn, &mut shared);
        if next == Next::Close {
            self.close(client);
        }
        Some(next)
    }

    /// Writes what each touched connection has ready, resumes paused
    /// readers that drained, and closes those that are done or failed.
    fn flush_touched(&mut self) {
        while let Some(client) = self.touched.pop() {
            let Some(conn) = self.conns.get_mut(&client) else {
                continue;
            };
            match conn.flush(self.poll.registry(), &mut self.ledger) {
                Next::Wait => {}
                Next::Close => self.close(client),
                Next::Read => {
                    // Edge-triggered: the data already waiting raises no
                    // new event, so read it now, and flush again after.
                    let _ = self.drive(client, |conn, shared| conn.read(true, shared));
                    self.apply_arbiter();
                    if !self.touched.contains(&client) {
                        self.touched.push(client);
                    }
                }
            }
        }
    }

    fn poll_timeout(&mut self) -> Option<Duration> {
        let idle = self
            .config
            .limits
            .idle_timeout
            .map(|t| (t / 4).clamp(Duration::from_millis(10), Duration::from_secs(1)));
        let retire = self.retiring.as_ref().map(Retiring::timeout);
        let now = Instant::now();
        let session = self.reservation.as_ref().map(|r| r.timeout(now));
        let eviction = (!self.evicted.is_empty()).then_some(Duration::from_millis(100));
        let poll = self
            .feed
            .poll_due_in(&self.arbiter, self.retiring.is_none());
        [
            idle,
            retire,
            self.register_window.timeout(),
            session,
            eviction,
            poll,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    fn accept_all(&mut self, token: Token) {
        while let Some((_, listener)) = self.listeners.iter().find(|(t, _)| *t == token) {
            let open = self.conns.len();
            let traffic = &mut self.ledger.traffic;
            let Some((stream, peer)) = listener.next_peer(&self.config, open, &self.peers, traffic)
            else {
                return;
            };
            let _ = stream.set_nodelay(true);
            let client = self.next_client;
            self.next_client = ClientId(client.0 + 1);
            let format = &*listener.format;
            let registry = self.poll.registry();
            let limits = &self.config.limits;
            let token = token_of(client);
            let registered =
                Connection::register(registry, stream, client, token, peer, listener, limits);
            let conn = match registered {
                Ok(conn) => conn,
                Err(e) => {
                    log::warn!("cannot register {peer}: {e}");
                    continue;
                }
            };
            self.feed.client(ClientChange::Joined, conn.client_ref());
            self.conns.insert(client, conn);
            self.peers.add(peer.ip());
            self.conns_generation += 1;
            *self
                .ledger
                .traffic
                .connections
                .entry(format.name())
                .or_insert(0) += 1;
            self.arbiter.add_client(client);
            log::debug!("client {client} connected from {peer}");
        }
    }

    fn close_listener(&mut self) {
        for (_, mut listener) in std::mem::take(&mut self.listeners) {
            let _ = self.poll.registry().deregister(&mut listener.socket);
        }
    }

    fn close(&mut self, client: ClientId) {
        if let Some(conn) = self.conns.remove(&client) {
            if conn.is_evicted() {
                self.evicted.retain(|&c| c != client);
            }
            let peer = conn.peer();
            self.peers.remove(peer.ip());
            let name = conn.client_ref();
            let subscribed = conn.has_subscribed();
            conn.deregister(self.poll.registry());
            if !subscribed {
                self.arbiter.remove_client(client);
            }
            // The lock it held is released now, while its name is known.
            self.publish_notices(Some(&name));
            self.feed.client(ClientChange::Left, name);
            self.released_since_poll = true;
            self.conns_generation += 1;
            log::debug!("client {client} ({peer}) closed");
        }
    }

    fn publish(&mut self) {
        if let Some(reservation) = &mut self.reservation {
            let id = Some(reservation.id());
            let clients = self.conns.values().filter(|c| c.session() == id).count();
            reservation.set_clients(clients);
        }
        let events = EventStatus {
            target: self.feed.target(),
            last_dhcsr: self.feed.last_dhcsr(),
            target_polls: self.feed.polls(),
            subscribers: self.subscribers.clients().count(),
            queued_events: self
                .subscribers
                .clients()
                .filter_map(|client| self.conns.get(&client))
                .map(Connection::queued_events)
                .sum(),
        };
        self.controls.status.publish(
            &self.arbiter,
            &self.conns,
            self.conns_generation,
            &self.ledger,
            LoopFacts {
                session: self.reservation.as_ref().map(Reservation::info),
                worker_died: self.worker_lost,
                events,
            },
        );
    }

    /// Stops accepting, drops every client (releasing what they held), and
    /// lets the worker disconnect and close the probe.
    fn shut_down(mut self) {
        self.end_any_session();
        self.close_listener();
        let clients: Vec<ClientId> = self.conns.keys().copied().collect();
        for client in clients {
            self.close(client);
        }
        self.arbiter.release_all();
        let deadline = Instant::now() + SHUTDOWN_GRACE;
        let mut events = Events::with_capacity(16);
        loop {
            self.turn_end();
            if self.arbiter.is_idle() {
                break;
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                log::warn!("probe did not finish closing within {SHUTDOWN_GRACE:?}");
                break;
            }
            if self.worker.prepare_to_sleep() {
                let _ = self.poll.poll(&mut events, Some(left));
            }
            self.worker.awake();
        }
        self.publish();
        let _ = self.worker.join();
        let probe_state = if self.arbiter.is_open() || self.arbiter.wire_protocol().is_some() {
            "probe left open"
        } else {
            "probe closed"
        };
        log::info!("stopped serving {} ({probe_state})", self.info.unique_id);
    }
}
