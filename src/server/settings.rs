//! How one probe is served: the limits every client is held to, whether
//! memory handles are given out, and who may connect.
//!
//! Plain values chosen before the loop starts; the loop, its connections
//! and the front ends read them and never change them.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;

pub use crate::limits::Limits;

use crate::events::EventBus;

/// How to serve one probe.
#[derive(Clone, Debug, Default)]
pub struct ServerConfig {
    pub limits: Limits,
    /// Hand out memory handles for MEM-APs (docs/protocol.md, "Memory
    /// handles"): one request per memory block instead of one per AP
    /// register access, which is what makes a distant client usable. Off
    /// by default: with a handle, pyOCD 0.46's client sends the data of
    /// `write_memory_block8` as it gets it, and a `bytes` or `bytearray`
    /// (commander `load`, `loadmem`, `fill`, API callers passing bytes)
    /// fails in its JSON encoder before reaching the server.
    pub memory_handles: bool,
    /// Which clients may connect; `None` lets in everyone who can reach
    /// the listener. A refused peer is closed at accept, before it can
    /// send a request.
    pub allow: Option<ClientFilter>,
    /// Where the server publishes its probe's events (docs/protocol.md,
    /// "Events"); a farm gives every probe the same bus. By default, a bus
    /// of its own.
    pub events: EventBus,
}

/// Decides by a peer's address whether it may connect. A closure rather
/// than a list of networks, so the server needs nothing of the
/// configuration's types.
#[derive(Clone)]
pub struct ClientFilter(Arc<dyn Fn(IpAddr) -> bool + Send + Sync>);

impl ClientFilter {
    pub fn new(permits: impl Fn(IpAddr) -> bool + Send + Sync + 'static) -> ClientFilter {
        ClientFilter(Arc::new(permits))
    }

    /// Whether a client at `address` may connect.
    pub fn permits(&self, address: IpAddr) -> bool {
        (self.0)(address)
    }
}

impl fmt::Debug for ClientFilter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientFilter")
    }
}
