//! The limits that bound what each client of a served probe may cost:
//! the server enforces them, the configuration file and `serve`'s flags
//! set them (re-exported as `server::Limits`).

use std::time::Duration;

/// The least [`Limits::target_poll`]: the server reads DHCSR at most
/// 10 times a second.
pub const MIN_TARGET_POLL: Duration = Duration::from_millis(100);

/// Resource limits (docs/protocol.md, "Limits"). Hitting one is an error response
/// or a logged disconnect of that client alone.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Longest request line in bytes, LF excluded.
    pub max_line_bytes: usize,
    /// Largest word/byte count of a block request or data list.
    pub max_block_elements: usize,
    /// Connections held at once; more are refused with a message.
    pub max_connections: usize,
    /// Connections held at once from one IP address (over both of the
    /// probe's ports), so that one host cannot take every one of
    /// `max_connections`; more from it are refused like those.
    pub max_connections_per_peer: usize,
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
    /// window, docs/protocol.md, Sharing, rule 10) may hold off every other client before
    /// the window is closed for it.
    pub register_window: Duration,
    /// The least time between two of the server's own DHCSR reads, made
    /// only while someone listens for target events and no client has
    /// read DHCSR for that long (docs/protocol.md, "Events"); at least
    /// 100 ms (10 Hz).
    pub target_poll: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_line_bytes: 16 << 20,
            max_block_elements: 1 << 20,
            max_connections: 4096,
            max_connections_per_peer: 64,
            max_unsent_bytes: 4 << 20,
            max_pending_requests: 4096,
            idle_timeout: None,
            register_window: Duration::from_secs(1),
            target_poll: Duration::from_millis(200),
        }
    }
}
