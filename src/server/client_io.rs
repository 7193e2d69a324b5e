//! Client input and output on the loop thread: reading and framing what a
//! client sends, routing each request, and writing what is ready back.
//!
//! Readiness is edge-triggered, so input is read until the socket is dry
//! or the client must wait for its responses to drain (backpressure); the
//! loop resumes a paused client itself once it has drained, because data
//! already waiting raises no new event.

use std::io;
use std::time::Instant;

use mio::{Interest, Token};

use super::event_loop::EventLoop;
use super::pyocd::framing::Frame;
use super::pyocd::requests::{self, ClientState, Route, ServerState};
use super::responses::RequestTag;
use super::traffic::INVALID_REQUEST;
use crate::arbiter::ClientId;
use crate::protocol::{self, Command, Failure};

impl EventLoop {
    pub(super) fn on_client_event(&mut self, client: ClientId, event: &mio::event::Event) {
        if !self.conns.contains_key(&client) {
            return;
        }
        if event.is_error() || event.is_write_closed() {
            // Reset, or closed both ways (the server never shuts down its
            // own side): nothing can be answered any more, so release what
            // the client holds now (rule 4), not after its queued work.
            log::debug!("client {client}: connection reset or closed");
            self.close(client);
            return;
        }
        let peer_closed = event.is_read_closed();
        if event.is_readable() || peer_closed {
            self.service_input(client, peer_closed);
        }
        self.touched.push(client);
    }

    /// Handles buffered lines, then reads more, until the socket is dry or
    /// the client must wait for its responses to drain.
    ///
    /// A short read means the socket was empty at that moment, and new data
    /// raises a new edge, so the usual extra `read` that only returns
    /// `WouldBlock` is skipped, unless the peer has closed its side
    /// (`must_drain`): its EOF raises no further edge and must be read now.
    pub(super) fn service_input(&mut self, client: ClientId, must_drain: bool) {
        let mut socket_empty = false;
        loop {
            let paused = self.is_paused(client);
            let Some(conn) = self.conns.get_mut(&client) else {
                return;
            };
            conn.input_paused = paused;
            if paused {
                return;
            }
            if let Some(frame) = conn.framer.next_frame() {
                self.handle_frame(client, frame);
                continue;
            }
            if conn.read_closed || socket_empty {
                return;
            }
            match conn.framer.read_from(&mut conn.stream, &mut self.scratch) {
                Ok((0, _)) => {
                    conn.read_closed = true;
                    return;
                }
                Ok((read, short)) => {
                    self.traffic.received_bytes += read as u64;
                    conn.last_activity = Instant::now();
                    socket_empty = short && !must_drain;
                }
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

    pub(super) fn is_paused(&self, client: ClientId) -> bool {
        let Some(conn) = self.conns.get(&client) else {
            return true;
        };
        let limits = &self.config.limits;
        conn.responses.pending() >= limits.max_pending_requests
            || conn.responses.queued_bytes() >= limits.max_unsent_bytes
    }

    pub(super) fn handle_frame(&mut self, client: ClientId, frame: Frame) {
        let Some(conn) = self.conns.get_mut(&client) else {
            return;
        };
        let framed_at = Instant::now();
        let line = match frame {
            Frame::Line(line) => line,
            Frame::TooLong => {
                let tag = RequestTag {
                    name: INVALID_REQUEST,
                    framed_at,
                };
                let ticket = conn.responses.reserve(-1, 0, tag);
                let result = Err(Failure::Request(format!(
                    "request line too long (limit {} bytes)",
                    self.config.limits.max_line_bytes
                )));
                super::status::count_answer(&mut self.answered, &result);
                self.traffic
                    .record_answer(INVALID_REQUEST, framed_at, &result);
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
        let (id, held, name, route) = match protocol::decode_request(line, &self.decode_limits) {
            Ok(request) => {
                let name = request.command.name();
                let held = requests::held_bytes(&request.command);
                let wire_protocol = match &request.command {
                    Command::ReadProp { name } if name == "wire_protocol" => {
                        self.arbiter.observe_wire(client)
                    }
                    _ => self.arbiter.wire_protocol(),
                };
                let state = ClientState {
                    said_hello: &mut conn.said_hello,
                    memory_handles: &conn.memory_handles,
                };
                let server = ServerState {
                    info: &self.info,
                    wire_protocol,
                    memory_handles: self.config.memory_handles,
                };
                let route = requests::route(request.command, state, server);
                (request.id, held, name, route)
            }
            Err(e) => (
                e.id,
                0,
                INVALID_REQUEST,
                Route::Answer(Err(Failure::Request(e.message))),
            ),
        };
        let route = match self.retired_answer(client) {
            Some(failure) => Route::Answer(Err(failure)),
            None => route,
        };
        let Some(conn) = self.conns.get_mut(&client) else {
            return;
        };
        let tag = RequestTag { name, framed_at };
        let ticket = conn.responses.reserve(id, held, tag);
        match route {
            Route::Answer(result) => {
                super::status::count_answer(&mut self.answered, &result);
                self.traffic.record_answer(name, framed_at, &result);
                conn.responses.fill(ticket, |out, id| {
                    protocol::encode_response(out, id, &result)
                });
            }
            Route::Arbitrate(request) => self.arbiter.submit(client, ticket, request),
        }
    }

    /// Writes what each touched connection has ready, resumes paused
    /// readers that drained, closes finished half-closed clients, and keeps
    /// each registration's interest in line with its buffers.
    pub(super) fn flush_touched(&mut self) {
        while let Some(client) = self.touched.pop() {
            let Some(conn) = self.conns.get_mut(&client) else {
                continue;
            };
            let unwritten = conn.responses.unwritten();
            let written = conn.responses.write_to(&mut conn.stream);
            let sent = unwritten.saturating_sub(conn.responses.unwritten());
            self.traffic.sent_bytes += sent as u64;
            if let Err(e) = written {
                log::debug!("client {client}: write failed: {e}");
                self.close(client);
                continue;
            }
            // Whether reading paused is what counts, not whether it would
            // pause now: completions may already have made room before
            // this flush, and then nothing else would resume it.
            if conn.input_paused && !self.is_paused(client) {
                // Edge-triggered: the data already waiting raises no new
                // event, so read it now.
                self.service_input(client, true);
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
}
