//! A listening socket, the wire format its clients speak, and who gets in.
//!
//! Peers are checked at accept, before they can send anything: one
//! outside the allow-list is closed unanswered (it learns nothing about
//! the server); one over the connection limit is told why, in its wire
//! format, if its socket takes the message at once, and closed.

use std::io::{self, Write};
use std::net::SocketAddr;

use mio::net::{TcpListener, TcpStream};

use super::front_end::WireFormat;
use super::sessions::SessionId;
use super::settings::ServerConfig;

pub struct Listener {
    pub socket: TcpListener,
    pub format: Box<dyn WireFormat>,
    /// The session whose port this is; `None` for the probe's own ports.
    pub session: Option<SessionId>,
}

impl Listener {
    /// The next waiting peer that may connect, given `open` connections
    /// now; refused peers are dealt with on the way. `None` once no peer
    /// is waiting.
    pub fn next_peer(&self, config: &ServerConfig, open: usize) -> Option<(TcpStream, SocketAddr)> {
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
                    continue;
                }
            }
            if open >= config.limits.max_connections {
                let _ = stream.write(&self.format.refusal("too many connections"));
                log::warn!("refused {peer}: connection limit reached");
                continue;
            }
            return Some((stream, peer));
        }
    }
}
