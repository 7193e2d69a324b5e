//! The TCP front of one served probe: a mio event loop that owns the
//! listener and every client connection.
//!
//! [`spawn`] takes an already-bound listener (so tests bind port 0 and run
//! many servers side by side) and a probe, starts the probe's worker thread
//! and the loop thread, and returns a [`ServerHandle`]. The loop frames
//! requests, answers those that touch no hardware (`hello`, `readprop`) at
//! once, and routes the rest through the arbiter to the worker. Nothing on
//! the loop thread blocks.

mod client_io;
mod connection;
mod event_loop;
mod front_end;
mod handle;
mod pyocd;
mod responses;
mod retire;
mod settings;
mod status;
mod traffic;

pub use handle::{spawn, Kicker, ServerHandle, Stopper};
pub use pyocd::framing::{Frame, LineFramer};
pub use settings::{ClientFilter, Limits, ServerConfig};
pub use status::{ClientStatus, ProbeStatus, StatusWatch};
pub use traffic::{Traffic, LATENCY_BOUNDS_SECONDS};
