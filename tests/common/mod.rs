//! Shared helpers for the integration tests: a server on port 0 (in this
//! process or as the real binary) and a line-oriented JSON client with
//! deadlines, so no test can hang.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use probeshare::server::{self, Limits, ServerConfig, ServerHandle};
use probeshare::sim::SimProbe;

/// How long any single wait in a test may take before it fails.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Starts a server for the virtual target on 127.0.0.1:0 in this process.
pub fn start_server() -> ServerHandle {
    start_server_with(Limits::default())
}

pub fn start_server_with(limits: Limits) -> ServerHandle {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    server::spawn(
        listener,
        Box::new(SimProbe::new("sim")),
        ServerConfig { limits },
    )
    .expect("server starts")
}

/// A blocking client speaking LF-delimited JSON.
pub struct Client {
    pub stream: TcpStream,
    reader: BufReader<TcpStream>,
    next_id: i64,
}

impl Client {
    pub fn connect(addr: SocketAddr) -> Client {
        let stream = TcpStream::connect(addr).expect("connect");
        stream.set_read_timeout(Some(DEADLINE)).unwrap();
        stream.set_nodelay(true).unwrap();
        let reader = BufReader::new(stream.try_clone().unwrap());
        Client {
            stream,
            reader,
            next_id: 1,
        }
    }

    /// Connects and says `hello`.
    pub fn hello(addr: SocketAddr) -> Client {
        let mut c = Client::connect(addr);
        c.ok("hello", json!([1]));
        c
    }

    /// Connects, says hello, opens and connects SWD.
    pub fn session(addr: SocketAddr) -> Client {
        let mut c = Client::hello(addr);
        c.ok("open", json!([]));
        c.ok("connect", json!(["SWD"]));
        c
    }

    pub fn send_line(&mut self, line: &[u8]) {
        self.stream.write_all(line).expect("send");
        self.stream.write_all(b"\n").expect("send");
    }

    /// Sends a request without waiting; returns its id.
    pub fn send(&mut self, request: &str, arguments: Value) -> i64 {
        let id = self.next_id;
        self.next_id += 1;
        let line = json!({"id": id, "request": request, "arguments": arguments});
        self.send_line(line.to_string().as_bytes());
        id
    }

    /// Reads one response line (fails the test after the deadline).
    pub fn recv(&mut self) -> Value {
        let mut line = String::new();
        let n = self
            .reader
            .read_line(&mut line)
            .expect("response within deadline");
        assert!(n > 0, "server closed the connection");
        serde_json::from_str(&line).unwrap_or_else(|e| panic!("bad response {line:?}: {e}"))
    }

    /// Sends a request and returns its response.
    pub fn call(&mut self, request: &str, arguments: Value) -> Value {
        let id = self.send(request, arguments);
        let response = self.recv();
        assert_eq!(
            response["id"], id,
            "response to the wrong request: {response}"
        );
        response
    }

    /// A call that must succeed; returns its result (null when absent).
    pub fn ok(&mut self, request: &str, arguments: Value) -> Value {
        let r = self.call(request, arguments.clone());
        assert_eq!(r["status"], 0, "{request} {arguments} failed: {r}");
        r.get("result").cloned().unwrap_or(Value::Null)
    }

    /// A call that must fail with `status`; returns the error message.
    pub fn err(&mut self, request: &str, arguments: Value, status: i64) -> String {
        let r = self.call(request, arguments.clone());
        assert_eq!(r["status"], status, "{request} {arguments}: {r}");
        assert!(r.get("result").is_none(), "error with a result: {r}");
        r["error"].as_str().expect("error message").to_string()
    }

    /// True once the server has closed this connection.
    pub fn is_closed_by_server(&mut self) -> bool {
        let mut buf = [0u8; 1];
        matches!(self.reader.read(&mut buf), Ok(0) | Err(_))
    }
}

/// Polls `check` until it is true or the deadline passes.
pub fn wait_until(what: &str, mut check: impl FnMut() -> bool) {
    let start = Instant::now();
    while !check() {
        assert!(start.elapsed() < DEADLINE, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(5));
    }
}

/// The real binary serving the virtual target on a free port.
pub struct ServerProcess {
    pub child: Child,
    pub addr: SocketAddr,
    pub log: std::sync::Arc<std::sync::Mutex<String>>,
}

impl ServerProcess {
    pub fn start(extra: &[&str]) -> ServerProcess {
        let mut child = Command::new(env!("CARGO_BIN_EXE_probeshare"))
            .args(["serve", "--probe", "sim", "--port", "0"])
            .args(extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start probeshare");
        let stderr = child.stderr.take().unwrap();
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                // Logged before it is announced, so `start`'s caller finds
                // the Serving line in `log`.
                {
                    let mut log = sink.lock().unwrap();
                    log.push_str(&line);
                    log.push('\n');
                }
                if let Some(rest) = line.split("Serving debug probe ").nth(1) {
                    let _ = tx.send(rest.to_string());
                }
            }
        });
        let serving = rx.recv_timeout(DEADLINE).expect("the Serving line");
        let addr = serving
            .rsplit(" on ")
            .next()
            .and_then(|a| a.parse().ok())
            .unwrap_or_else(|| panic!("no address in {serving:?}"));
        ServerProcess { child, addr, log }
    }

    /// Resident set size of the server process in bytes (Linux).
    pub fn rss_bytes(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("proc status");
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .expect("VmRSS");
        kb * 1024
    }

    pub fn signal(&self, signal: &str) {
        let status = Command::new("kill")
            .args(["-s", signal, &self.child.id().to_string()])
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Waits for the process to exit and returns its exit code.
    pub fn wait_exit(&mut self) -> Option<i32> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status.code();
            }
            assert!(start.elapsed() < DEADLINE, "server did not exit");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------
// Added for tests/requests*.rs and tests/hostile.rs (helper t-requests):
// raw request lines, failure checks, and a session whose debug port is
// powered up so AP accesses work.
// ---------------------------------------------------------------------

/// CTRL/STAT (DP address 0x4) bits requesting debug and system power-up.
pub const POWER_UP_REQUEST: u32 = 0x5000_0000;
/// CTRL/STAT bits acknowledging both power-up requests.
pub const POWER_UP_ACK: u32 = 0xA000_0000;
/// DPIDR of the virtual target's SW-DP.
pub const SIM_DPIDR: u32 = 0x2BA0_1477;

impl Client {
    /// Sends `line` exactly as given (LF appended) and returns the next
    /// response.
    pub fn raw(&mut self, line: &[u8]) -> Value {
        self.send_line(line);
        self.recv()
    }
}

/// A session (hello, open, connect SWD) with the debug port powered up.
pub fn powered_session(addr: SocketAddr) -> Client {
    let mut c = Client::session(addr);
    c.ok("write_dp", json!([4, POWER_UP_REQUEST]));
    c
}

/// Asserts that `response` failed with `status` and a message containing
/// `needle`, and carries no result.
pub fn assert_failure(response: &Value, status: i64, needle: &str) {
    assert_eq!(response["status"], status, "wrong status: {response}");
    assert!(
        response.get("result").is_none(),
        "error with a result: {response}"
    );
    let message = response["error"].as_str().unwrap_or_default();
    assert!(
        message.contains(needle),
        "message {message:?} lacks {needle:?}: {response}"
    );
}
