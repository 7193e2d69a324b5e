//! The mio loop of one served probe.
//!
//! Readiness is edge-triggered, so every readable socket is read until
//! `WouldBlock` (or until its client is paused for backpressure, in which
//! case the loop resumes it itself once its responses drain). Responses
//! produced during one turn of the loop are written at its end, so a
//! pipelining client gets them coalesced into one `write`.

use std::collections::HashMap;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use mio::net::TcpListener;
use mio::{Events, Interest, Poll, Token};

use super::connection::{Connection, Frame, READ_CHUNK};
use super::requests::{self, ClientState, Route};
use super::ServerConfig;
use crate::arbiter::{self, Action, Arbiter, ArbiterConfig, ClientId};
use crate::probe::worker::{ProbeWorker, SPIN};
use crate::probe::{DebugProbe, ProbeInfo};
use crate::protocol::{self, Command, DecodeLimits, Failure, Reply};

const LISTENER: Token = Token(0);
const WAKER: Token = Token(1);
/// Client tokens count up from here and are never reused, so a late event
/// for a closed connection cannot reach a new one.
const FIRST_CLIENT: usize = 2;

/// How long shutdown waits for the probe to be disconnected and closed.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

pub struct EventLoop {
    poll: Poll,
    listener: Option<TcpListener>,
    conns: HashMap<ClientId, Connection>,
    next_client: ClientId,
    arbiter: Arbiter,
    worker: ProbeWorker,
    info: ProbeInfo,
    config: ServerConfig,
    decode_limits: DecodeLimits,
    stop: Arc<AtomicBool>,
    scratch: Vec<u8>,
    actions: Vec<Action>,
    /// Connections whose output or interest may have changed this turn.
    touched: Vec<ClientId>,
    /// A connection closed since the arbiter last decided: what it held (a
    /// lock, a reference) may free others' waiting requests.
    closed_since_decision: bool,
}

impl EventLoop {
    pub fn new(
        mut listener: TcpListener,
        probe: Box<dyn DebugProbe>,
        config: ServerConfig,
        stop: Arc<AtomicBool>,
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
            touched: Vec::new(),
            closed_since_decision: false,
        };
        Ok((event_loop, waker))
    }

    pub fn run(mut self) {
        let mut events = Events::with_capacity(1024);
        let mut waiting_since: Option<Instant> = None;
        while !self.stop.load(Ordering::SeqCst) {
            // While the worker runs a batch, its answer usually comes sooner
            // than a sleep and wake-up of this thread would take, so peek
            // (timeout zero) for a short while before sleeping in poll.
            let timeout = if self.arbiter.in_flight() == 0 {
                waiting_since = None;
                self.poll_timeout()
            } else if waiting_since.get_or_insert_with(Instant::now).elapsed() < SPIN {
                Some(Duration::ZERO)
            } else {
                self.poll_timeout()
            };
            if let Err(e) = self.poll.poll(&mut events, timeout) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                log::error!("poll failed, stopping: {e}");
                break;
            }
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept_all(),
                    WAKER => {}
                    Token(client) => self.on_client_event(client, event),
                }
            }
            self.close_idle();
            self.turn_end();
        }
        self.shut_down();
    }

    /// Work that follows every batch of events: completions in, decisions
    /// out, responses written.
    fn turn_end(&mut self) {
        for completion in self.worker.try_completions() {
            self.arbiter.complete(completion);
        }
        loop {
            self.apply_arbiter();
            self.flush_touched();
            // A client that closed while flushing (a killed pyOCD, say) may
            // have held the lock others wait on, and no event will come to
            // say it is free: decide again now.
            if !std::mem::take(&mut self.closed_since_decision) {
                break;
            }
        }
    }

    fn apply_arbiter(&mut self) {
        self.arbiter.poll(&mut self.actions);
        for action in self.actions.drain(..) {
            match action {
                Action::Execute(batch) => self.worker.submit(batch),
                Action::InternalFailed { op, error } => {
                    log::warn!("{op} on behalf of departed clients failed: {error}");
                }
                Action::Reply {
                    client,
                    ticket,
                    outcome,
                } => {
                    if let Some(conn) = self.conns.get_mut(&client) {
                        let result = outcome_to_reply(outcome);
                        conn.responses.fill(ticket, |out, id| {
                            protocol::encode_response(out, id, &result)
                        });
                        self.touched.push(client);
                    }
                }
            }
        }
    }

    fn poll_timeout(&self) -> Option<Duration> {
        self.config
            .limits
            .idle_timeout
            .map(|t| (t / 4).clamp(Duration::from_millis(10), Duration::from_secs(1)))
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
            self.arbiter.add_client(client);
            log::debug!("client {client} connected from {peer}");
        }
    }

    fn on_client_event(&mut self, client: ClientId, event: &mio::event::Event) {
        if !self.conns.contains_key(&client) {
            return;
        }
        if event.is_readable() || event.is_read_closed() || event.is_error() {
            self.service_input(client);
        }
        self.touched.push(client);
    }

    /// Handles buffered lines, then reads more, until the socket is dry or
    /// the client must wait for its responses to drain.
    fn service_input(&mut self, client: ClientId) {
        loop {
            if self.is_paused(client) {
                return;
            }
            let Some(conn) = self.conns.get_mut(&client) else {
                return;
            };
            if let Some(frame) = conn.framer.next_frame() {
                self.handle_frame(client, frame);
                continue;
            }
            if conn.read_closed {
                return;
            }
            match conn.framer.read_from(&mut conn.stream, &mut self.scratch) {
                Ok(0) => {
                    conn.read_closed = true;
                    return;
                }
                Ok(_) => conn.last_activity = Instant::now(),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    log::debug!("client {client}: read failed: {e}");
                    self.close(client);
                    return;
                }
            }
        }
    }

    fn is_paused(&self, client: ClientId) -> bool {
        let Some(conn) = self.conns.get(&client) else {
            return true;
        };
        let limits = &self.config.limits;
        conn.responses.pending() >= limits.max_pending_requests
            || conn.responses.unwritten() >= limits.max_unsent_bytes
    }

    fn handle_frame(&mut self, client: ClientId, frame: Frame) {
        let Some(conn) = self.conns.get_mut(&client) else {
            return;
        };
        let line = match frame {
            Frame::Line(line) => line,
            Frame::TooLong => {
                let ticket = conn.responses.reserve(-1);
                let result = Err(Failure::Request(format!(
                    "request line too long (limit {} bytes)",
                    self.config.limits.max_line_bytes
                )));
                conn.responses.fill(ticket, |out, id| {
                    protocol::encode_response(out, id, &result)
                });
                return;
            }
        };
        let line = line.strip_suffix(b"\r").unwrap_or(&line);
        if line.iter().all(u8::is_ascii_whitespace) {
            return;
        }
        let (id, route) = match protocol::decode_request(line, &self.decode_limits) {
            Ok(request) => {
                let wire_protocol = match &request.command {
                    Command::ReadProp { name } if name == "wire_protocol" => {
                        self.arbiter.observe_wire(client)
                    }
                    _ => self.arbiter.wire_protocol(),
                };
                let state = ClientState {
                    said_hello: &mut conn.said_hello,
                };
                let route = requests::route(request.command, state, &self.info, wire_protocol);
                (request.id, route)
            }
            Err(e) => (e.id, Route::Answer(Err(Failure::Request(e.message)))),
        };
        let ticket = conn.responses.reserve(id);
        match route {
            Route::Answer(result) => conn.responses.fill(ticket, |out, id| {
                protocol::encode_response(out, id, &result)
            }),
            Route::Arbitrate(request) => self.arbiter.submit(client, ticket, request),
        }
    }

    /// Writes what each touched connection has ready, resumes paused
    /// readers that drained, closes finished half-closed clients, and keeps
    /// each registration's interest in line with its buffers.
    fn flush_touched(&mut self) {
        while let Some(client) = self.touched.pop() {
            let was_paused = self.is_paused(client);
            let Some(conn) = self.conns.get_mut(&client) else {
                continue;
            };
            if let Err(e) = conn.responses.write_to(&mut conn.stream) {
                log::debug!("client {client}: write failed: {e}");
                self.close(client);
                continue;
            }
            if was_paused && !self.is_paused(client) {
                // Edge-triggered: the data already waiting raises no new
                // event, so read it now.
                self.service_input(client);
                self.apply_arbiter();
                if !self.touched.contains(&client) {
                    self.touched.push(client);
                }
                continue;
            }
            let Some(conn) = self.conns.get_mut(&client) else {
                continue;
            };
            if conn.read_closed && conn.is_drained() {
                self.close(client);
                continue;
            }
            let wanted = if conn.responses.unwritten() > 0 {
                Interest::READABLE | Interest::WRITABLE
            } else {
                Interest::READABLE
            };
            if conn.interest != Some(wanted) {
                let registry = self.poll.registry();
                if registry
                    .reregister(&mut conn.stream, Token(client), wanted)
                    .is_err()
                {
                    self.close(client);
                    continue;
                }
                conn.interest = Some(wanted);
            }
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

    fn close(&mut self, client: ClientId) {
        if let Some(mut conn) = self.conns.remove(&client) {
            let _ = self.poll.registry().deregister(&mut conn.stream);
            self.arbiter.remove_client(client);
            self.closed_since_decision = true;
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
            let _ = self.poll.poll(&mut events, Some(left));
        }
        let _ = self.worker.join();
        log::info!("stopped serving {}", self.info.unique_id);
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
