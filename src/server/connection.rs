//! One client connection and everything it does on the loop thread:
//! reading and routing what the client sends through its front end,
//! answering each request once, writing the answers back, and keeping its
//! registration's interest in line with its buffers.
//!
//! Readiness is edge-triggered, so input is read until the socket is dry
//! or the client must wait for its answers to drain (backpressure). Data
//! already waiting raises no new event, so a paused reader is resumed by
//! the loop when [`Connection::flush`] says so.
//!
//! The connection decides nothing about other clients: it hands arbitrated
//! requests to the arbiter and tells the loop, by its return values, when
//! it must be closed or read again.

use std::io;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use mio::event::Event;
use mio::net::TcpStream;
use mio::{Interest, Registry, Token};

use super::front_end::{Encoded, FrontEnd, Incoming, ProbeView, Route};
use super::listener::Listener;
use super::responses::{RequestTag, ResponseQueue};
use super::retire::Retiring;
use super::sessions::{Eviction, Reservation, SessionId};
use super::settings::Limits;
use super::traffic::Ledger;
use crate::arbiter::{Arbiter, Outcome};
use crate::ids::{ClientId, Ticket};
use crate::probe::{ProbeError, ProbeInfo};

/// What a connection borrows from the loop while it reads.
pub struct Shared<'a> {
    pub arbiter: &'a mut Arbiter,
    pub info: &'a ProbeInfo,
    pub ledger: &'a mut Ledger,
    /// The loop's read buffer, shared by every connection.
    pub scratch: &'a mut [u8],
    /// Set while the server retires: requests are refused, not run.
    pub retiring: Option<&'a mut Retiring>,
    /// The session holding the probe, if one does: requests of anyone
    /// outside it that would reach the arbiter are refused.
    pub reservation: Option<&'a Reservation>,
    /// Sessions a client's `stop` command asked to end this turn.
    pub ended_sessions: &'a mut Vec<SessionId>,
}

/// What the loop must do next with a connection.
#[must_use]
#[derive(Debug, PartialEq, Eq)]
pub enum Next {
    /// Nothing: it waits for its next event.
    Wait,
    /// Read it again: its reading was paused and it has drained since.
    Read,
    /// Close it (an error, or a half-closed client that is fully answered).
    Close,
}

/// One client.
pub struct Connection {
    client: ClientId,
    /// The client's poll token, as the loop chose it with the id.
    token: Token,
    stream: TcpStream,
    peer: SocketAddr,
    front_end: Box<dyn FrontEnd>,
    /// The name of its wire format ([`WireFormat::name`]).
    front_end_name: &'static str,
    responses: ResponseQueue,
    /// `max_pending_requests` and `max_unsent_bytes` of the limits.
    max_pending: usize,
    max_unsent: usize,
    /// The peer sent EOF: answer what is pending, then close.
    read_closed: bool,
    /// Reading stopped for backpressure; it must be resumed from outside,
    /// as input already waiting raises no new edge-triggered event.
    input_paused: bool,
    /// The interest currently registered with the poll.
    interest: Interest,
    last_activity: Instant,
    connected_at: Instant,
    /// The session whose port it came in through.
    session: Option<SessionId>,
    /// Released for a session that preempted it: every request is refused
    /// (status 2) and it is closed once told.
    eviction: Option<Eviction>,
}

/// An answer to one ticket: made by the front end when it routed the
/// request, or the arbiter's outcome, still to be encoded.
enum Answer {
    Encoded(Encoded),
    Outcome(Outcome),
}

impl Connection {
    /// Registers `stream` for reading under `token`, the client's token;
    /// the client came in through `listener`, whose wire format it speaks
    /// and whose session (if any) it belongs to.
    pub fn register(
        registry: &Registry,
        mut stream: TcpStream,
        client: ClientId,
        token: Token,
        peer: SocketAddr,
        listener: &Listener,
        limits: &Limits,
    ) -> io::Result<Connection> {
        let format = &*listener.format;
        registry.register(&mut stream, token, Interest::READABLE)?;
        let now = Instant::now();
        Ok(Connection {
            client,
            token,
            stream,
            peer,
            front_end: format.front_end(),
            front_end_name: format.name(),
            responses: ResponseQueue::default(),
            max_pending: limits.max_pending_requests,
            max_unsent: limits.max_unsent_bytes,
            read_closed: false,
            input_paused: false,
            interest: Interest::READABLE,
            last_activity: now,
            connected_at: now,
            session: listener.session,
            eviction: None,
        })
    }

    /// The session whose port it came in through, if any.
    pub fn session(&self) -> Option<SessionId> {
        self.session
    }

    /// Releases the client for a session that preempted it (the arbiter
    /// has already let go of what it held): every unanswered request, and
    /// each it sends from now on, is answered with status 2 and `reason`.
    pub fn evict(&mut self, eviction: Eviction, ledger: &mut Ledger) {
        let reason = eviction.reason.clone();
        self.eviction = Some(eviction);
        for ticket in self.responses.unanswered() {
            let outcome = Outcome::Probe(ProbeError::Disconnected(reason.clone()));
            self.settle(ticket, Answer::Outcome(outcome), ledger);
            self.mark_told();
        }
    }

    /// Whether an evicted client is to be closed now: told and every
    /// answer written, or out of time.
    pub fn eviction_due(&self, now: Instant) -> bool {
        self.eviction
            .as_ref()
            .is_some_and(|e| now >= e.deadline || (e.told && self.is_drained()))
    }

    pub fn is_evicted(&self) -> bool {
        self.eviction.is_some()
    }

    fn mark_told(&mut self) {
        if let Some(eviction) = &mut self.eviction {
            eviction.told = true;
        }
    }

    pub fn deregister(mut self, registry: &Registry) {
        let _ = registry.deregister(&mut self.stream);
    }

    pub fn peer(&self) -> SocketAddr {
        self.peer
    }

    pub fn connected_at(&self) -> Instant {
        self.connected_at
    }

    /// The name of the wire format the client speaks.
    pub fn front_end_name(&self) -> &'static str {
        self.front_end_name
    }

    /// Whether everything asked has been answered and sent.
    pub fn is_drained(&self) -> bool {
        self.responses.pending() == 0 && self.responses.unwritten() == 0
    }

    /// Whether the client has sent nothing for `timeout` and waits for
    /// nothing either.
    pub fn is_idle(&self, timeout: Duration) -> bool {
        self.last_activity.elapsed() >= timeout && self.is_drained()
    }

    /// Handles a readiness event: reads what came (an EOF included).
    /// [`Next::Close`] when the connection is reset or closed both ways
    /// (the server never shuts down its own side): nothing can be answered
    /// any more, so what the client holds is to be released now (rule 4),
    /// not after its queued work.
    pub fn on_event(&mut self, event: &Event, shared: &mut Shared<'_>) -> Next {
        if event.is_error() || event.is_write_closed() {
            log::debug!("client {}: connection reset or closed", self.client);
            return Next::Close;
        }
        let peer_closed = event.is_read_closed();
        if event.is_readable() || peer_closed {
            return self.read(peer_closed, shared);
        }
        Next::Wait
    }

    /// Handles the requests already read, then reads more, until the
    /// socket is dry or the client must wait for its answers to drain.
    ///
    /// A short read means the socket was empty at that moment, and new data
    /// raises a new edge, so the usual extra `read` that only returns
    /// `WouldBlock` is skipped, unless the peer has closed its side
    /// (`must_drain`): its EOF raises no further edge and must be read now.
    pub fn read(&mut self, must_drain: bool, shared: &mut Shared<'_>) -> Next {
        let mut socket_empty = false;
        loop {
            self.input_paused = self.is_paused();
            if self.input_paused {
                return Next::Wait;
            }
            let framed_at = Instant::now();
            let mut probe = ProbeView::new(self.client, shared.info, shared.arbiter);
            if let Some(incoming) = self.front_end.next_request(&mut probe) {
                self.take(incoming, framed_at, shared);
                continue;
            }
            if self.read_closed || socket_empty {
                return Next::Wait;
            }
            match self.front_end.read_from(&mut self.stream, shared.scratch) {
                Ok((0, _)) => {
                    self.read_closed = true;
                    return Next::Wait;
                }
                Ok((read, short)) => {
                    shared.ledger.traffic.received_bytes += read as u64;
                    self.last_activity = Instant::now();
                    socket_empty = short && !must_drain;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Next::Wait,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    log::debug!("client {}: read failed: {e}", self.client);
                    return Next::Close;
                }
            }
        }
    }

    /// Answers request `ticket` with the arbiter's outcome.
    pub fn answer(&mut self, ticket: Ticket, outcome: Outcome, ledger: &mut Ledger) {
        self.settle(ticket, Answer::Outcome(outcome), ledger);
    }

    /// Writes what is ready and keeps the registration's interest in line
    /// with what is left to write.
    pub fn flush(&mut self, registry: &Registry, ledger: &mut Ledger) -> Next {
        let unwritten = self.responses.unwritten();
        let written = self.responses.write_to(&mut self.stream);
        let sent = unwritten.saturating_sub(self.responses.unwritten());
        ledger.traffic.sent_bytes += sent as u64;
        if let Err(e) = written {
            log::debug!("client {}: write failed: {e}", self.client);
            return Next::Close;
        }
        // Whether reading paused is what counts, not whether it would
        // pause now: answers may already have made room before this
        // flush, and then nothing else would resume it.
        if self.input_paused && !self.is_paused() {
            return Next::Read;
        }
        if self.read_closed && self.is_drained() {
            return Next::Close;
        }
        let wanted = if self.responses.unwritten() > 0 {
            Interest::READABLE | Interest::WRITABLE
        } else {
            Interest::READABLE
        };
        if self.interest != wanted {
            if registry
                .reregister(&mut self.stream, self.token, wanted)
                .is_err()
            {
                return Next::Close;
            }
            self.interest = wanted;
        }
        Next::Wait
    }

    fn is_paused(&self) -> bool {
        self.responses.pending() >= self.max_pending
            || self.responses.queued_bytes() >= self.max_unsent
    }

    /// Gives a routed request its ticket and answers it or queues it.
    fn take(&mut self, incoming: Incoming, framed_at: Instant, shared: &mut Shared<'_>) {
        let Incoming {
            key,
            name,
            held,
            route,
        } = incoming;
        let ticket = self
            .responses
            .reserve(key, held, RequestTag { name, framed_at });
        match (route, shared.retiring.as_deref_mut()) {
            (Route::Reject(encoded), _) => {
                self.settle(ticket, Answer::Encoded(encoded), shared.ledger);
            }
            (_, Some(retiring)) => {
                let refused = retiring.refuse(self.client);
                self.settle(ticket, Answer::Outcome(refused), shared.ledger);
            }
            (_, None) if self.eviction.is_some() => {
                let reason = self.eviction.as_ref().map(|e| e.reason.clone());
                let outcome = Outcome::Probe(ProbeError::Disconnected(reason.unwrap_or_default()));
                self.settle(ticket, Answer::Outcome(outcome), shared.ledger);
                self.mark_told();
            }
            (Route::Answer(encoded), None) => {
                self.settle(ticket, Answer::Encoded(encoded), shared.ledger);
            }
            (Route::EndSession(encoded), None) => {
                if let Some(session) = self.session {
                    shared.ended_sessions.push(session);
                }
                self.settle(ticket, Answer::Encoded(encoded), shared.ledger);
            }
            (Route::Arbitrate(request), None) => {
                let refusal = shared
                    .reservation
                    .and_then(|reservation| reservation.refusal(self.session));
                match refusal {
                    // docs/protocol.md, "Sessions": outsiders are refused.
                    Some(message) => {
                        let outcome = Outcome::Probe(ProbeError::Probe(message));
                        self.settle(ticket, Answer::Outcome(outcome), shared.ledger);
                    }
                    None => shared.arbiter.submit(self.client, ticket, request),
                }
            }
        }
    }

    /// The one place a request is answered: encoded into its slot (once:
    /// a slot already filled or gone is left alone) and counted.
    fn settle(&mut self, ticket: Ticket, answer: Answer, ledger: &mut Ledger) {
        let front_end = &mut self.front_end;
        let filled = self.responses.fill(ticket, |out, key| match answer {
            Answer::Encoded(encoded) => {
                out.extend_from_slice(&encoded.bytes);
                encoded.status
            }
            Answer::Outcome(outcome) => front_end.encode(out, key, outcome),
        });
        if let Some((tag, status)) = filled {
            ledger.count_answer(self.front_end_name, tag.name, tag.framed_at, status);
        }
    }
}
