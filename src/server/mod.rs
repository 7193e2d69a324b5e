//! The TCP front of one served probe: a mio event loop that owns the
//! listener and every client connection.
//!
//! [`spawn`] takes an already-bound listener (so tests bind port 0 and run
//! many servers side by side) and a probe, starts the probe's worker thread
//! and the loop thread, and returns a [`ServerHandle`]. Each connection's
//! front end frames its requests and answers those that touch no hardware
//! (pyOCD's `hello`, `readprop`) at once; the loop routes the rest through
//! the arbiter to the worker. Nothing on the loop thread blocks.
//!
//! A wire format is a front end behind one seam (`front_end.rs`, whose
//! module doc is the contract): a second one is a new module beside
//! `pyocd/` and a listener for it, and shares the loop's scheduling,
//! limits, release on close, status and metrics unchanged.
//!
//! # Files
//!
//! Top down; each file uses only files below it, so no two import each
//! other:
//!
//! - `handle.rs`: [`spawn`] and the handles other threads keep
//!   ([`ServerHandle`], [`Stopper`], [`Kicker`]).
//! - `event_loop.rs`: the loop: poll, accept, completions to the arbiter
//!   and its decisions to the worker and the connections; idle, kicked and
//!   retired clients; closing (release on close); shutdown.
//! - `status.rs`: the state published each turn ([`ProbeStatus`]).
//! - `connection.rs`: one client: reading and routing through its front
//!   end, answering each request once (the one place answers are encoded
//!   and counted), writing, backpressure, poll interest.
//! - `listener.rs`: a listening socket, its wire format, and who gets in.
//! - `pyocd/`: the front end of pyOCD's JSON lines: LF framing, the
//!   `hello` gate, properties, memory handles, encoding; and a session
//!   port's, which also takes session commands (`session_port.rs`).
//! - `front_end.rs`: the seam (`WireFormat`, `FrontEnd`) and its contract.
//! - `responses.rs`: a connection's answer slots in request order and its
//!   write buffer.
//! - `retire.rs`: the books of a retiring server and its decisions.
//! - `sessions.rs`: sessions (a reservation with ports of its own): the
//!   books the loop keeps, the control other threads hold, and the one
//!   place each where a session opens, is about to expire and closes.
//! - `window_clock.rs`: the time limit on a core register window.
//! - `traffic.rs`: what is counted: answers by status, the metrics.
//! - `settings.rs`: [`Limits`], [`ServerConfig`], [`ClientFilter`].

mod cmsis_dap_tcp;
mod connection;
mod event_loop;
mod front_end;
mod handle;
mod listener;
mod pyocd;
mod responses;
mod retire;
mod sessions;
mod settings;
mod status;
mod traffic;
mod window_clock;

pub use front_end::{FRONT_END_CMSIS_DAP, FRONT_END_PYOCD};
pub use handle::{spawn, spawn_with_dap, Kicker, ServerHandle, Stopper};
pub use pyocd::framing::{Frame, LineFramer};
pub use sessions::{
    reserved_message, CloseReason, SessionControl, SessionId, SessionInfo, SessionRefusal,
    SessionRequest, SessionResult, EVICTION_GRACE,
};
pub use settings::{ClientFilter, Limits, ServerConfig};
pub use status::{ClientStatus, ProbeStatus, StatusWatch};
pub use traffic::{Traffic, LATENCY_BOUNDS_SECONDS};

use cmsis_dap_tcp::CmsisDapTcp;
use pyocd::session_port::SessionPort;
