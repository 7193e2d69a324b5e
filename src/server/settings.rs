//! How one probe is served: the limits every client is held to, whether
//! memory handles are given out, and who may connect.
//!
//! Plain values chosen before the loop starts; the loop, its connections
//! and the front ends read them and never change them.

use std::fmt;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// Resource limits (protocol.md, "Limits"). Hitting one is an error response
/// or a logged disconnect of that client alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest request line in bytes, LF excluded.
    pub max_line_bytes: usize,
    /// Largest word/byte count of a block request or data list.
    pub max_block_elements: usize,
    /// Connections held at once; more are refused with a message.
    pub max_connections: usize,
    /// Bytes held for a client before its reading pauses: responses not
    /// yet taken by its socket, plus what its pending requests may still
    /// produce (their longest response) and hold (their data).
    pub max_unsent_bytes: usize,
    /// Requests of one client waiting for their response before its
    /// reading pauses.
    pub max_pending_requests: usize,
    /// Close connections that send nothing for this long.
    pub idle_timeout: Option<Duration>,
    /// How long one client's core register transfer (its DCRSR/DCRDR
    /// window, protocol rule 10) may hold off every other client before
    /// the window is closed for it.
    pub register_window: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_bytes: 16 << 20,
            max_block_elements: 1 << 20,
            max_connections: 4096,
            max_unsent_bytes: 4 << 20,
            max_pending_requests: 4096,
            idle_timeout: None,
            register_window: Duration::from_secs(1),
        }
    }
}

/// How to serve one probe.
#[derive(Clone, Debug, Default)]
pub struct ServerConfig {
    pub limits: Limits,
    /// Hand out memory handles for MEM-APs (protocol.md, "Memory
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
