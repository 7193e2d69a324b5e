//! The mio loop of one served probe: poll, accept, hand completions to the
//! arbiter and its decisions to the worker and the clients, shut down.
//!
//! Readiness is edge-triggered, so every readable socket is read until
//! `WouldBlock` (or until its client is paused for backpressure, in which
//! case the loop resumes it itself once its responses drain). Responses
//! produced during one turn of the loop are written at its end, so a
//! pipelining client gets them coalesced into one `write`.
//!
//! A client that sends EOF may only have half-closed its socket, so it still
//! gets the answers to what it sent before being closed; a connection that
//! is reset is closed at once. Either way, closing releases everything the
//! client held (rule 4), and the arbiter is asked again in the same turn,
//! since that release can be all that others' queued work was waiting for.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};

use super::connection::Connection;
use super::front_end::READ_CHUNK;
use super::pyocd::requests;
use super::retire::{RetireOrder, Retiring};
use super::settings::ServerConfig;
use super::status::{self, StatusWatch};
use super::traffic::Traffic;
use crate::arbiter::{self, Action, Arbiter, ArbiterConfig, ClientId, RegisterWindow};
use crate::probe::{DebugProbe, ProbeInfo};
use crate::protocol::{self, DecodeLimits, Failure, Reply};
use crate::worker::{ProbeWorker, SPIN};

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
/// Client tokens count up from here and are never reused, so a late event
/// for a closed connection cannot reach a new one.
const FIRST_CLIENT: usize = 2;

/// How long shutdown waits for the probe to be disconnected and closed.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

pub struct EventLoop {
    pub(super) poll: Poll,
    pub(super) listener: Option<TcpListener>,
    pub(super) conns: HashMap<ClientId, Connection>,
    pub(super) next_client: ClientId,
    pub(super) arbiter: Arbiter,
    pub(super) worker: ProbeWorker,
    pub(super) info: ProbeInfo,
    pub(super) config: ServerConfig,
    pub(super) decode_limits: DecodeLimits,
    pub(super) stop: Arc<AtomicBool>,
    pub(super) scratch: Vec<u8>,
    pub(super) actions: Vec<Action>,
    /// When the last batch went to the worker.
    pub(super) last_submit: Option<Instant>,
    /// Connections whose output or interest may have changed this turn.
    pub(super) touched: Vec<ClientId>,
    /// A connection was closed since the arbiter was last polled.
    pub(super) released_since_poll: bool,
    /// The core register window open now, and since when (rule 10).
    pub(super) register_window: Option<(RegisterWindow, Instant)>,
    /// Where [`super::ServerHandle::retire`] sends its order.
    pub(super) retire_orders: std::sync::mpsc::Receiver<RetireOrder>,
    pub(super) retiring: Option<Retiring>,
    /// Responses sent so far, by wire status code.
    pub(super) answered: BTreeMap<u8, u64>,
    /// The counters behind the metrics.
    pub(super) traffic: Traffic,
    /// Where each turn's state is published for other threads.
    pub(super) status: StatusWatch,
    /// Counts accepts and closes, so the published client list is rebuilt
    /// only when it changed.
    pub(super) conns_generation: u64,
    /// Set by [`super::ServerHandle::kick`]: close every connection.
    pub(super) kick: Arc<AtomicBool>,
}

impl EventLoop {
    pub fn new(
        mut listener: TcpListener,
        probe: Box<dyn DebugProbe>,
        config: ServerConfig,
        stop: Arc<AtomicBool>,
        retire_orders: std::sync::mpsc::Receiver<RetireOrder>,
        status: StatusWatch,
        kick: Arc<AtomicBool>,
    ) -> io::Result<(Self, Arc<mio::Waker>)> {
        let poll = Poll::new()?;
        poll.registry()
            .register(&mut listener, LISTENER, Interest::READABLE)?;
        let waker = Arc::new(mio::Waker::new(poll.registry(), WAKER)?);
        let info = probe.info().clone();
        let worker = ProbeWorker::spawn(probe, waker.clone())?;
        let decode_limits = DecodeLimits {
            max_block_elements: config.limits.max_block_elements,
        };
        let event_loop = EventLoop {
            poll,
            listener: Some(listener),
            conns: HashMap::new(),
            next_client: FIRST_CLIENT,
            arbiter: Arbiter::new(ArbiterConfig::default()),
            worker,
            info,
            config,
            decode_limits,
            stop,
            scratch: vec![0; READ_CHUNK],
            actions: Vec::new(),
            last_submit: None,
            touched: Vec::new(),
            released_since_poll: false,
            register_window: None,
            retire_orders,
            retiring: None,
            answered: BTreeMap::new(),
            traffic: Traffic::default(),
            status,
            conns_generation: 0,
            kick,
        };
        Ok((event_loop, waker))
    }

    pub fn run(mut self) {
        let mut events = Events::with_capacity(1024);
        let mut client_events = 0;
        while !self.stop.load(Ordering::SeqCst) {
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
                if event.token().0 >= FIRST_CLIENT {
                    client_events += 1;
                }
                match event.token() {
                    LISTENER => self.accept_all(),
                    WAKER => {}
                    Token(client) => self.on_client_event(client, event),
                }
            }
            self.close_idle();
            self.kick_turn();
            self.turn_end();
            self.status.publish(&self);
            if self.retire_turn() {
                break;
            }
        }
        self.shut_down();
    }

    /// Work that follows every batch of events: completions in, decisions
    /// out, responses written.
    fn turn_end(&mut self) {
        for completion in self.worker.try_completions() {
            self.arbiter.complete(completion);
        }
        // A connection closed while flushing released what it held, which
        // may let others' queued requests run or start a cleanup. No event
        // may come to prompt that, so decide again at once.
        loop {
            self.released_since_poll = false;
            self.apply_arbiter();
            let expired = self.expire_register_window();
            self.flush_touched();
            if !self.released_since_poll && !expired {
                break;
            }
        }
    }

    /// Rule 10's bound: a core register window open longer than the limit
    /// is closed, so a client that stopped halfway cannot hold off the
    /// others for good. True if one was closed (the others may run now).
    fn expire_register_window(&mut self) -> bool {
        let now = Instant::now();
        let Some(window) = self.arbiter.register_window() else {
            self.register_window = None;
            return false;
        };
        let opened = match self.register_window {
            Some((known, opened)) if known == window => opened,
            _ => {
                self.register_window = Some((window, now));
                now
            }
        };
        if now.duration_since(opened) < self.config.limits.register_window {
            return false;
        }
        log::info!(
            "core register transfer of client {} left unfinished for {:?}: others may use the core again",
            window.client,
            self.config.limits.register_window
        );
        self.register_window = None;
        self.arbiter.expire_register_window(window.id)
    }

    /// How long until the open register window expires.
    fn register_window_timeout(&self) -> Option<Duration> {
        let (_, opened) = self.register_window?;
        Some(
            (opened + self.config.limits.register_window).saturating_duration_since(Instant::now()),
        )
    }

    pub(super) fn apply_arbiter(&mut self) {
        self.arbiter.poll(&mut self.actions);
        for action in self.actions.drain(..) {
            match action {
                Action::Execute(batch) => {
                    self.worker.submit(batch);
                    self.last_submit = Some(Instant::now());
                }
                Action::InternalFailed { op, error } => {
                    log::warn!("{op} on behalf of departed clients failed: {error}");
                }
                Action::Reply {
                    client,
                    ticket,
                    outcome,
                } => {
                    if let Some(conn) = self.conns.get_mut(&client) {
                        let result =
                            requests::finish(outcome_to_reply(outcome), &mut conn.memory_handles);
                        status::count_answer(&mut self.answered, &result);
                        let tag = conn.responses.fill(ticket, |out, id| {
                            protocol::encode_response(out, id, &result)
                        });
                        if let Some((tag, ())) = tag {
                            self.traffic.record_answer(tag.name, tag.framed_at, &result);
                        }
                        self.touched.push(client);
                    }
                }
            }
        }
    }

    fn poll_timeout(&self) -> Option<Duration> {
        let idle = self
            .config
            .limits
            .idle_timeout
            .map(|t| (t / 4).clamp(Duration::from_millis(10), Duration::from_secs(1)));
        [idle, self.retire_timeout(), self.register_window_timeout()]
            .into_iter()
            .flatten()
            .min()
    }

    fn accept_all(&mut self) {
        loop {
            let Some(listener) = &self.listener else {
                return;
            };
            let (mut stream, peer) = match listener.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // EMFILE and friends: log and try again on the next event
                    // rather than spinning.
                    log::warn!("accept failed: {e}");
                    return;
                }
            };
            if let Some(filter) = &self.config.allow {
                if !filter.permits(peer.ip()) {
                    // Dropping the stream closes it unanswered: a refused
                    // peer learns nothing about the server.
                    log::info!("refused {peer}: not in the allowed networks");
                    continue;
                }
            }
            if self.conns.len() >= self.config.limits.max_connections {
                refuse(&mut stream, "too many connections");
                log::warn!("refused {peer}: connection limit reached");
                continue;
            }
            let _ = stream.set_nodelay(true);
            let client = self.next_client;
            self.next_client += 1;
            if let Err(e) =
                self.poll
                    .registry()
                    .register(&mut stream, Token(client), Interest::READABLE)
            {
                log::warn!("cannot register {peer}: {e}");
                continue;
            }
            let mut conn = Connection::new(stream, peer, self.config.limits.max_line_bytes);
            conn.interest = Some(Interest::READABLE);
            self.conns.insert(client, conn);
            self.conns_generation += 1;
            self.traffic.connections += 1;
            self.arbiter.add_client(client);
            log::debug!("client {client} connected from {peer}");
        }
    }

    fn close_idle(&mut self) {
        let Some(timeout) = self.config.limits.idle_timeout else {
            return;
        };
        let idle: Vec<ClientId> = self
            .conns
            .iter()
            .filter(|(_, c)| c.last_activity.elapsed() >= timeout && c.is_drained())
            .map(|(&id, _)| id)
            .collect();
        for client in idle {
            log::info!("closing idle client {client}");
            self.close(client);
        }
    }

    /// Closes every connection if a kick was asked for: each client is
    /// released as if it had died, and the listener stays open.
    fn kick_turn(&mut self) {
        if !self.kick.swap(false, Ordering::SeqCst) {
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

    pub(super) fn close(&mut self, client: ClientId) {
        if let Some(mut conn) = self.conns.remove(&client) {
            let _ = self.poll.registry().deregister(&mut conn.stream);
            self.arbiter.remove_client(client);
            self.released_since_poll = true;
            self.conns_generation += 1;
            log::debug!("client {client} ({}) closed", conn.peer);
        }
    }

    /// Stops accepting, drops every client (releasing what they held), and
    /// lets the worker disconnect and close the probe.
    fn shut_down(mut self) {
        if let Some(mut listener) = self.listener.take() {
            let _ = self.poll.registry().deregister(&mut listener);
        }
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
        self.status.publish(&self);
        let _ = self.worker.join();
        let probe_state = if self.arbiter.is_open() || self.arbiter.wire_protocol().is_some() {
            "probe left open"
        } else {
            "probe closed"
        };
        log::info!("stopped serving {} ({probe_state})", self.info.unique_id);
    }
}

fn outcome_to_reply(outcome: arbiter::Outcome) -> Result<Reply, Failure> {
    match outcome {
        arbiter::Outcome::Ok(output) => Ok(Reply::Output(output)),
        arbiter::Outcome::Sharing(e) => Err(Failure::Sharing(protocol::SharingFailure {
            probe_error: e.is_probe_error(),
            message: e.to_string(),
        })),
        arbiter::Outcome::Probe(e) => Err(Failure::Probe(e)),
    }
}

/// Tells a refused peer why, if its socket takes the line at once.
fn refuse(stream: &mut mio::net::TcpStream, why: &str) {
    use std::io::Write;
    let mut line = Vec::new();
    protocol::encode_response(&mut line, -1, &Err(Failure::Request(why.into())));
    let _ = stream.write(&line);
}
