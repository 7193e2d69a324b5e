//! The floor server: the fastest a line-per-request server on this machine
//! can be, so probeshare's figures can be read as a fraction of it.
//!
//! It parses nothing: every LF it receives is answered with one fixed line.
//! One thread per connection with blocking sockets, TCP_NODELAY, and all the
//! answers owed for one `read` go out in one `write` (probeshare coalesces
//! ready responses too; a floor that wrote each answer separately would be an
//! artificially slow floor and flatter the ratio).

use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::{self, JoinHandle};

/// What the floor answers to every line: a successful `read_dp` of DPIDR.
pub const FLOOR_RESPONSE: &str = "{\"id\":0,\"status\":0,\"result\":731911287}\n";

/// A running floor server; dropping it closes the listener and every
/// connection, and joins its threads.
pub struct FloorServer {
    addr: SocketAddr,
    stopping: Arc<AtomicBool>,
    acceptor: Option<JoinHandle<()>>,
}

impl FloorServer {
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for FloorServer {
    fn drop(&mut self) {
        self.stopping.store(true, Ordering::SeqCst);
        // The acceptor is blocked in `accept`; one connection wakes it to see
        // the flag. If even that fails, detaching beats hanging the caller.
        let woke = TcpStream::connect(self.addr).is_ok();
        if let Some(acceptor) = self.acceptor.take() {
            if woke {
                let _ = acceptor.join();
            }
        }
    }
}

/// Starts the floor server on an ephemeral loopback port.
pub fn spawn_floor_server() -> io::Result<FloorServer> {
    spawn_fixed_line_server(FLOOR_RESPONSE)
}

/// A server answering every LF with `response` (which must end in LF).
/// Tests use it to stand in for a server that answers errors.
pub(crate) fn spawn_fixed_line_server(response: &str) -> io::Result<FloorServer> {
    let listener = TcpListener::bind(("127.0.0.1", 0))?;
    let addr = listener.local_addr()?;
    let stopping = Arc::new(AtomicBool::new(false));
    let response: Arc<[u8]> = Arc::from(response.as_bytes());
    let acceptor = {
        let stopping = Arc::clone(&stopping);
        thread::Builder::new()
            .name("bench-floor-accept".into())
            .spawn(move || accept_loop(listener, &stopping, response))?
    };
    Ok(FloorServer {
        addr,
        stopping,
        acceptor: Some(acceptor),
    })
}

fn accept_loop(listener: TcpListener, stopping: &AtomicBool, response: Arc<[u8]>) {
    let mut connections: Vec<(JoinHandle<()>, TcpStream)> = Vec::new();
    for stream in listener.incoming() {
        if stopping.load(Ordering::SeqCst) {
            break;
        }
        let Ok(stream) = stream else { continue };
        let Ok(handle) = stream.try_clone() else {
            continue;
        };
        let response = Arc::clone(&response);
        let spawned = thread::Builder::new()
            .name("bench-floor-conn".into())
            .spawn(move || {
                serve_connection(&stream, &response);
                // The acceptor holds a clone for shutting down, so dropping
                // ours would not close the connection.
                let _ = stream.shutdown(Shutdown::Both);
            });
        if let Ok(thread) = spawned {
            connections.retain(|(thread, _)| !thread.is_finished());
            connections.push((thread, handle));
        }
    }
    // Shutting the sockets down unblocks the readers so the joins return.
    for (_, stream) in &connections {
        let _ = stream.shutdown(Shutdown::Both);
    }
    for (thread, _) in connections {
        let _ = thread.join();
    }
}

fn serve_connection(mut stream: &TcpStream, response: &[u8]) {
    if stream.set_nodelay(true).is_err() {
        return;
    }
    let mut input = vec![0u8; 64 * 1024];
    let mut output = Vec::new();
    loop {
        let received = match stream.read(&mut input) {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let lines = input
            .get(..received)
            .unwrap_or_default()
            .iter()
            .filter(|&&byte| byte == b'\n')
            .count();
        if lines == 0 {
            continue;
        }
        output.clear();
        for _ in 0..lines {
            output.extend_from_slice(response);
        }
        if stream.write_all(&output).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{BufRead, BufReader};
    use std::time::Duration;

    fn connect(server: &FloorServer) -> (TcpStream, BufReader<TcpStream>) {
        let stream = TcpStream::connect(server.addr()).unwrap();
        // A broken server then fails the test instead of hanging it.
        stream
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        (stream, reader)
    }

    #[test]
    fn answers_every_pipelined_line_with_the_fixed_response() {
        let server = spawn_floor_server().unwrap();
        let (mut stream, mut reader) = connect(&server);
        let requests = "{\"id\":3,\"request\":\"read_dp\",\"arguments\":[0]}\n".repeat(16);
        stream.write_all(requests.as_bytes()).unwrap();
        for _ in 0..16 {
            let mut line = String::new();
            reader.read_line(&mut line).unwrap();
            assert_eq!(line, FLOOR_RESPONSE);
        }
    }

    #[test]
    fn a_line_split_across_writes_gets_one_answer() {
        let server = spawn_floor_server().unwrap();
        let (mut stream, mut reader) = connect(&server);
        stream.write_all(b"{\"id\":0,").unwrap();
        stream
            .write_all(b"\"request\":\"open\"}\nsecond\n")
            .unwrap();
        let mut answers = String::new();
        for _ in 0..2 {
            reader.read_line(&mut answers).unwrap();
        }
        assert_eq!(answers, FLOOR_RESPONSE.repeat(2));
        // Nothing more is owed: closing our side gets a clean end of stream.
        stream.shutdown(Shutdown::Write).unwrap();
        let mut rest = String::new();
        assert_eq!(reader.read_line(&mut rest).unwrap(), 0);
    }

    #[test]
    fn dropping_the_server_closes_its_connections() {
        let server = spawn_floor_server().unwrap();
        let (_stream, mut reader) = connect(&server);
        drop(server);
        let mut line = String::new();
        assert_eq!(reader.read_line(&mut line).unwrap(), 0);
    }
}
