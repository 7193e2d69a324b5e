//! One client connection.

use std::net::SocketAddr;

use mio::net::TcpStream;

use super::pyocd::framing::LineFramer;
use super::pyocd::memory_handles::MemoryHandles;
use super::responses::ResponseQueue;

/// Everything the event loop keeps for one client.
#[derive(Debug)]
pub struct Connection {
    pub stream: TcpStream,
    pub peer: SocketAddr,
    pub framer: LineFramer,
    pub responses: ResponseQueue,
    pub said_hello: bool,
    /// The memory handles this client obtained; they die with it.
    pub memory_handles: MemoryHandles,
    /// The peer sent EOF: answer what is pending, then close.
    pub read_closed: bool,
    /// Reading stopped for backpressure; the loop must resume it itself,
    /// as input already waiting raises no new edge-triggered event.
    pub input_paused: bool,
    /// The interest currently registered with the poll.
    pub interest: Option<mio::Interest>,
    pub last_activity: std::time::Instant,
    pub connected_at: std::time::Instant,
}

impl Connection {
    pub fn new(stream: TcpStream, peer: SocketAddr, max_line: usize) -> Self {
        Connection {
            stream,
            peer,
            framer: LineFramer::new(max_line),
            responses: ResponseQueue::default(),
            said_hello: false,
            memory_handles: MemoryHandles::default(),
            read_closed: false,
            input_paused: false,
            interest: None,
            last_activity: std::time::Instant::now(),
            connected_at: std::time::Instant::now(),
        }
    }

    /// Whether everything asked has been answered and sent.
    pub fn is_drained(&self) -> bool {
        self.responses.pending() == 0 && self.responses.unwritten() == 0
    }
}
