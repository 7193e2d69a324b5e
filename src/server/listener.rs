//! A listening socket, the wire format its clients speak, and who gets in.
//!
//! Peers are checked at accept, before they can send anything: one
//! outside the allow-list is closed unanswered (it learns nothing about
//! the server); one over the connection limit, or over the limit of
//! connections from one address, is told why, in its wire format, if its
//! socket takes the message at once, and closed. Each refusal is counted
//! by its reason (`Traffic::refused_connections`).

use std::io::{self, Write};
use std::net::SocketAddr;

use mio::net::{TcpListener, TcpStream};

use super::front_end::WireFormat;
use super::peers::PeerCounts;
use super::sessions::SessionId;
use super::settings::ServerConfig;
use super::traffic::Traffic;

/// Why a peer was refused at accept, as counted and labelled in the
/// metrics (`reason`).
pub const REFUSED_NOT_ALLOWED: &str = "not_allowed";
pub const REFUSED_MAX_CONNECTIONS: &str = "max_connections";
pub const REFUSED_MAX_CONNECTIONS_PER_PEER: &str = "max_connections_per_peer";

pub struct Listener {
    pub socket: TcpListener,
    pub format: Box<dyn WireFormat>,
    /// The session whose port this is; `None` for the probe's own ports.
    pub session: Option<SessionId>,
}

impl Listener {
    /// The next waiting peer that may connect, given `open` connections
    /// now, `peers` of them by address; refused peers are dealt with (and
    /// counted in `traffic`) on the way. `None` once no peer is waiting.
    pub fn next_peer(
        &self,
        config: &ServerConfig,
        open: usize,
        peers: &PeerCounts,
        traffic: &mut Traffic,
    ) -> Option<(TcpStream, SocketAddr)> {
        let mut refuse = |reason: &'static str| {
            *traffic.refused_connections.entry(reason).or_insert(0) += 1;
        };
        loop {
            let (mut stream, peer) = match self.socket.accept() {
                Ok(accepted) => accepted,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return None,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    // EMFILE and friends: log and try again on the next event
                    // rather than spinning.
                    log::warn!("accept failed: {e}");
                    return None;
                }
            };
            if let Some(filter) = &config.allow {
                if !filter.permits(peer.ip()) {
                    // Dropping the stream closes it unanswered.
                    log::info!("refused {peer}: not in the allowed networks");
                    refuse(REFUSED_NOT_ALLOWED);
                    continue;
                }
            }
            if open >= config.limits.max_connections {
                let _ = stream.write(&self.format.refusal("too many connections"));
                log::warn!("refused {peer}: connection limit reached");
                refuse(REFUSED_MAX_CONNECTIONS);
                continue;
            }
            let limit = config.limits.max_connections_per_peer;
            if peers.of(peer.ip()) >= limit {
                let _ = stream.write(
                    &self
                        .format
                        .refusal("too many connections from your address"),
                );
                log::warn!("refused {peer}: it holds {limit} connections already");
                refuse(REFUSED_MAX_CONNECTIONS_PER_PEER);
                continue;
            }
            return Some((stream, peer));
        }
    }
}
