//! The seam between the loop and a wire format: what a *front end* provides
//! and what the loop guarantees it.
//!
//! A wire format (pyOCD's JSON lines in `pyocd/`; CMSIS-DAP packets over
//! TCP for OpenOCD next) differs from another only in how bytes become
//! requests and answers become bytes. Everything else is the loop's and is
//! shared: accepting and the allow-list, limits and backpressure, fairness
//! and the lock (the arbiter), release on close, retiring, status and
//! metrics. A listener serves one [`WireFormat`]; each connection accepted
//! on it gets its own [`FrontEnd`] for its per-client state (pyOCD: `hello`
//! seen, memory handles).
//!
//! # What a front end provides
//!
//! - **Framing** ([`FrontEnd::read_from`]): reads once from the socket into
//!   its own buffer, never more than one frame's limit beyond a whole
//!   frame, so an unread peer costs bounded memory. A read error closes the
//!   connection: that is also how a front end drops a peer whose framing it
//!   cannot recover (return `io::ErrorKind::InvalidData`).
//! - **Routing** ([`FrontEnd::next_request`]): takes the next whole request
//!   out of its buffer and says where it goes, as an [`Incoming`]: answered
//!   now by the front end ([`Route::Answer`], already encoded), input that
//!   is no request ([`Route::Reject`]), or one arbiter [`Request`]
//!   ([`Route::Arbitrate`]). A frame whose operations must run as one
//!   (a CMSIS-DAP packet) is one arbiter request: atomicity is the
//!   arbiter's business, not the loop's. Input that needs no answer (a
//!   blank line) is consumed without returning it.
//! - **Encoding** ([`FrontEnd::encode`]): turns the arbiter's [`Outcome`]
//!   for a request back into bytes, appended to the buffer it is given, and
//!   says how the answer counts ([`AnswerStatus`]).
//!
//! # What the loop guarantees
//!
//! - **One answer per request, in order.** Every [`Incoming`] gets a
//!   ticket; its bytes reach the socket after those of every earlier one,
//!   whatever order the probe finishes in. `encode` runs at most once per
//!   request (exactly once unless the connection closes first), when the
//!   outcome arrives, which can be before earlier requests are answered: an
//!   answer's encoding must not depend on the answers before it.
//! - **Framing rhythm.** After each `read_from` the loop calls
//!   `next_request` until it returns `None` (or the client pauses) before
//!   it reads again, so a front end's buffer holds at most one unframed
//!   frame.
//! - **Backpressure.** The loop stops calling `read_from` and
//!   `next_request` while the client has `max_pending_requests` requests
//!   unanswered or `max_unsent_bytes` held (answers not yet taken by the
//!   socket, plus each pending request's [`Incoming::held`]), and resumes
//!   by itself once they drain.
//! - **Half-close.** After EOF the requests already read are still routed
//!   and answered, then the connection closes.
//! - **Release on close.** When the connection goes (peer reset, write or
//!   read error, idle timeout, kick, retirement, shutdown) the arbiter
//!   releases everything the client held (lock, open and connect
//!   references, queued requests), outcomes still due are dropped, and the
//!   front end is dropped with its per-client state.
//! - **Retiring.** While the server retires, every request is answered
//!   with the outcome `Outcome::Probe(ProbeError::Disconnected(reason))`
//!   instead of being run ([`Route::Reject`] input excepted), and the
//!   client is closed once that answer is written.
//! - **Counting.** Every answer is counted once, under its
//!   [`Incoming::name`] and [`AnswerStatus`], with its latency from the
//!   moment the loop asked for the request.

use std::io::{self, Read};

use super::traffic::AnswerStatus;
use crate::arbiter::{Arbiter, Outcome, Request};
use crate::ids::ClientId;
use crate::probe::{ProbeInfo, WireProtocol};

/// How much is read from a socket per `read` call: the size of the scratch
/// buffer [`FrontEnd::read_from`] is given.
pub const READ_CHUNK: usize = 64 * 1024;

/// The `WireFormat::name` of pyOCD's front end.
pub const FRONT_END_PYOCD: &str = "pyocd";
/// The `WireFormat::name` of the DAP port's front end (CMSIS-DAP over TCP).
pub const FRONT_END_CMSIS_DAP: &str = "cmsis-dap";

/// A wire format served on a listener.
pub trait WireFormat: Send {
    /// The front end's name where clients and metrics are shown (the
    /// management interface's `front_end`): `pyocd`, `cmsis-dap`.
    fn name(&self) -> &'static str;

    /// The front end of a newly accepted connection.
    fn front_end(&self) -> Box<dyn FrontEnd>;

    /// What a peer refused for the connection limit is sent before it is
    /// closed (empty when the format has no way to say it).
    fn refusal(&self, why: &str) -> Vec<u8>;
}

/// One connection's wire format: framing, routing and encoding, with
/// whatever per-client state they need. See the module doc for the
/// contract.
pub trait FrontEnd: Send {
    /// Reads once from `socket` through `scratch` into the front end's
    /// buffer; returns the byte count (0 at EOF) and whether the read came
    /// back short (the socket had no more data at that moment).
    fn read_from(&mut self, socket: &mut dyn Read, scratch: &mut [u8])
        -> io::Result<(usize, bool)>;

    /// The next request out of what has been read, routed; `None` until a
    /// whole one is there.
    fn next_request(&mut self, probe: &mut ProbeView<'_>) -> Option<Incoming>;

    /// Appends the answer to the request known by `key` (see
    /// [`Incoming::key`]), whose arbiter request ended with `outcome`, to
    /// `out`.
    fn encode(&mut self, out: &mut Vec<u8>, key: i64, outcome: Outcome) -> AnswerStatus;
}

/// One request as the front end framed and routed it.
#[derive(Debug)]
pub struct Incoming {
    /// The front end's name for the request, handed back to
    /// [`FrontEnd::encode`] (pyOCD: the request's id).
    pub key: i64,
    /// The request's name in the metrics (`INVALID_REQUEST` for input that
    /// is no request).
    pub name: &'static str,
    /// The most memory the request may hold until its answer is written:
    /// its data and its longest answer. Counted against `max_unsent_bytes`
    /// from now on, so reading pauses before large answers pile up.
    pub held: usize,
    pub route: Route,
}

/// Where a request goes.
#[derive(Debug)]
pub enum Route {
    /// Answered by the front end without the probe.
    Answer(Encoded),
    /// Input that is no request (a line over the length limit): answered
    /// as encoded even while the server retires, since there is no request
    /// to refuse.
    Reject(Encoded),
    /// Queued with the arbiter under the client's name; the outcome comes
    /// back through [`FrontEnd::encode`].
    Arbitrate(Request),
    /// Ends the session whose port the client came in through (a
    /// session's `stop` command), then answered as encoded.
    EndSession(Encoded),
}

/// An answer the front end encoded itself.
#[derive(Debug)]
pub struct Encoded {
    pub bytes: Vec<u8>,
    pub status: AnswerStatus,
}

/// What a front end may see of the served probe while it routes a request
/// of one client: the probe's facts and the wire's state, nothing that
/// queues or runs work.
pub struct ProbeView<'a> {
    client: ClientId,
    info: &'a ProbeInfo,
    arbiter: &'a mut Arbiter,
}

impl<'a> ProbeView<'a> {
    pub fn new(client: ClientId, info: &'a ProbeInfo, arbiter: &'a mut Arbiter) -> Self {
        ProbeView {
            client,
            info,
            arbiter,
        }
    }

    /// What the probe said about itself when it was opened.
    pub fn info(&self) -> &ProbeInfo {
        self.info
    }

    /// The protocol the wire is up with, if it is.
    pub fn wire_protocol(&self) -> Option<WireProtocol> {
        self.arbiter.wire_protocol()
    }

    /// [`Self::wire_protocol`] as the client is told it: a client that
    /// sees the wire up and never connected it is counted as connected
    /// ([`Arbiter::observe_wire`]).
    pub fn observe_wire(&mut self) -> Option<WireProtocol> {
        self.arbiter.observe_wire(self.client)
    }
}
