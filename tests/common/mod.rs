//! Shared helpers for the integration tests: a server on port 0 (in this
//! process or as the real binary) and a line-oriented JSON client with
//! deadlines, so no test can hang.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use probeshare::server::{self, Limits, ServerConfig, ServerHandle};
use probeshare::sim::{self, dap_firmware::UsbModel};

pub mod farm;
pub mod faulty;

/// How long any single wait in a test may take before it fails.
pub const DEADLINE: Duration = Duration::from_secs(20);

/// Starts a server for the virtual target on 127.0.0.1:0 in this process,
/// as `serve --probe sim` does: through the CMSIS-DAP driver and the
/// emulated firmware.
///
/// Its core register window (docs/protocol.md, Sharing, rule 10) lasts a
/// minute rather than the default second, so that no test's outcome depends
/// on how fast a loaded machine runs the client's next request; the tests
/// of the bound set their own.
pub fn start_server() -> ServerHandle {
    start_server_with(Limits {
        register_window: Duration::from_secs(60),
        ..Limits::default()
    })
}

pub fn start_server_with(limits: Limits) -> ServerHandle {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    server::spawn(
        listener,
        sim::virtual_probe("sim", UsbModel::None).expect("virtual probe"),
        ServerConfig {
            limits,
            ..ServerConfig::default()
        },
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

    /// Waits, up to the read timeout, for the server to close this
    /// connection: true on EOF or a reset, false on data or on nothing.
    pub fn is_closed_by_server(&mut self) -> bool {
        let mut buf = [0u8; 1];
        match self.reader.read(&mut buf) {
            Ok(0) => true,
            Ok(_) => false,
            // Nothing within the deadline is not a close.
            Err(e) => !matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ),
        }
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
    /// Reads the server's stderr into `log`; ends at the server's exit.
    log_reader: Option<std::thread::JoinHandle<()>>,
}

impl ServerProcess {
    /// `serve --probe sim --port 0` plus `extra`, once it is serving.
    pub fn start(extra: &[&str]) -> ServerProcess {
        let mut args = vec!["serve", "--probe", "sim", "--port", "0"];
        args.extend_from_slice(extra);
        ServerProcess::start_serving(&args, 1).0
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
    /// Its whole log is in `log` once this returns.
    pub fn wait_exit(&mut self) -> Option<i32> {
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                if let Some(reader) = self.log_reader.take() {
                    reader.join().expect("log reader");
                }
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

// ---- Added for tests/limits.rs: tolerant reads and peak memory. ----

impl Client {
    /// Reads one response line; `None` when the server closed the
    /// connection or reset it (for probing whether a peer was refused).
    pub fn try_recv(&mut self) -> Option<Value> {
        let mut line = String::new();
        match self.reader.read_line(&mut line) {
            Ok(n) if n > 0 => serde_json::from_str(&line).ok(),
            _ => None,
        }
    }
}

impl ServerProcess {
    /// A `kB` field of /proc/PID/status (`VmRSS`, `VmHWM`, ...) in bytes.
    pub fn status_bytes(&self, field: &str) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id()))
            .expect("proc status");
        let kb: u64 = status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{field} in /proc status"));
        kb * 1024
    }

    /// The most memory the server process has had resident since it started.
    pub fn peak_rss_bytes(&self) -> u64 {
        self.status_bytes("VmHWM")
    }
}

impl Client {
    /// Reads one raw response line, LF included (for responses too large
    /// to parse cheaply); fails the test on EOF or after the deadline.
    pub fn recv_line(&mut self) -> String {
        let mut line = String::new();
        let n = self
            .reader
            .read_line(&mut line)
            .expect("response within deadline");
        assert!(n > 0, "server closed the connection");
        line
    }
}

// ---------------------------------------------------------------------------
// Added for the sharing tests (t-sharing): knowing that the server has taken
// a request in without it being answered, and checking that nothing has been
// answered yet.

impl Client {
    /// Sends several requests in one write, without reading; returns their
    /// ids, to be matched with [`Client::recv_ok`] or [`Client::recv_status`].
    /// One write of a few kilobytes reaches the server as one read on
    /// loopback, so the server queues them all before it answers any.
    pub fn pipeline(&mut self, requests: &[(&str, Value)]) -> Vec<i64> {
        let mut bytes = Vec::new();
        let mut ids = Vec::with_capacity(requests.len());
        for (request, arguments) in requests {
            let id = self.next_id;
            self.next_id += 1;
            let line = json!({"id": id, "request": request, "arguments": arguments});
            bytes.extend_from_slice(line.to_string().as_bytes());
            bytes.push(b'\n');
            ids.push(id);
        }
        self.stream.write_all(&bytes).expect("send");
        ids
    }

    /// Reads the response to `id` (the next one on this connection) and
    /// returns its result; fails unless it succeeded.
    pub fn recv_ok(&mut self, id: i64) -> Value {
        let response = self.recv();
        assert_eq!(response["id"], id, "responses out of order: {response}");
        assert_eq!(response["status"], 0, "request {id} failed: {response}");
        response.get("result").cloned().unwrap_or(Value::Null)
    }

    /// Reads the response to `id` (the next one on this connection), which
    /// must have failed with `status`; returns its error message.
    pub fn recv_status(&mut self, id: i64, status: i64) -> String {
        let response = self.recv();
        assert_eq!(response["id"], id, "responses out of order: {response}");
        assert_eq!(response["status"], status, "request {id}: {response}");
        response["error"].as_str().unwrap_or_default().to_string()
    }

    /// Asserts that no response byte arrives within `window`. A negative
    /// check only: it proves something is being held back, never that
    /// something has happened, so it is not a way to wait.
    pub fn assert_no_response_within(&mut self, window: Duration) {
        assert!(
            self.reader.buffer().is_empty(),
            "a response is already here: {:?}",
            String::from_utf8_lossy(self.reader.buffer())
        );
        self.stream.set_read_timeout(Some(window)).unwrap();
        let outcome = self.reader.fill_buf().map(|bytes| bytes.to_vec());
        self.stream.set_read_timeout(Some(DEADLINE)).unwrap();
        match outcome {
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Ok(bytes) if bytes.is_empty() => panic!("the server closed the connection"),
            Ok(bytes) => panic!(
                "expected no response yet, got {:?}",
                String::from_utf8_lossy(&bytes)
            ),
            Err(e) => panic!("expected no response yet, read failed: {e}"),
        }
    }

    /// Waits until the server has read every byte this client sent: the
    /// client's send queue is acknowledged and the server's receive queue
    /// is empty (Linux, from /proc/net/tcp). The server decodes and queues
    /// each line as soon as it has read it, before it looks at any other
    /// socket, so afterwards every request sent so far is queued with the
    /// arbiter (or answered). That turns "sent before" on two sockets into
    /// "queued before", which the kernel alone does not promise. (Not for a
    /// client paused for backpressure: its lines wait in the server's
    /// buffer until its responses drain.)
    pub fn wait_until_server_has_read(&self) {
        let client = self.stream.local_addr().expect("local address");
        let server = self.stream.peer_addr().expect("peer address");
        wait_until("the server to read everything sent", || {
            let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
            let unacked = tcp_queues(&table, client, server).map(|(tx, _)| tx);
            let unread = tcp_queues(&table, server, client).map(|(_, rx)| rx);
            unacked == Some(0) && unread == Some(0)
        });
    }
}

impl Client {
    /// Bytes this client sent that sit in the server's socket receive
    /// queue, not read by the server yet (Linux, from /proc/net/tcp).
    pub fn unread_by_server(&self) -> u64 {
        let client = self.stream.local_addr().expect("local address");
        let server = self.stream.peer_addr().expect("peer address");
        let table = std::fs::read_to_string("/proc/net/tcp").expect("/proc/net/tcp");
        tcp_queues(&table, server, client).map_or(0, |(_, rx)| rx)
    }
}

/// The (tx_queue, rx_queue) of the IPv4 socket `local` connected to
/// `remote`, from the text of /proc/net/tcp.
fn tcp_queues(table: &str, local: SocketAddr, remote: SocketAddr) -> Option<(u64, u64)> {
    let key = |addr: SocketAddr| match addr {
        SocketAddr::V4(v4) => format!(
            "{:08X}:{:04X}",
            u32::from_le_bytes(v4.ip().octets()),
            v4.port()
        ),
        SocketAddr::V6(_) => panic!("the tests listen on IPv4 loopback"),
    };
    let (local, remote) = (key(local), key(remote));
    table.lines().skip(1).find_map(|line| {
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.get(1) != Some(&local.as_str()) || fields.get(2) != Some(&remote.as_str()) {
            return None;
        }
        let (tx, rx) = fields.get(4)?.split_once(':')?;
        Some((
            u64::from_str_radix(tx, 16).ok()?,
            u64::from_str_radix(rx, 16).ok()?,
        ))
    })
}

// ---------------------------------------------------------------------------
// Added for the memory-handle tests (memap): a server that hands out memory
// handles (off by default, see `ServerConfig::memory_handles`).

/// Like [`start_server`], with memory handles for MEM-APs.
pub fn start_server_with_memory_handles() -> ServerHandle {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind port 0");
    server::spawn(
        listener,
        sim::virtual_probe("sim", UsbModel::None).expect("virtual probe"),
        ServerConfig {
            memory_handles: true,
            ..ServerConfig::default()
        },
    )
    .expect("server starts")
}

// ---------------------------------------------------------------------------
// Added for the farm tests (farm): the real binary serving several probes,
// each announced by its own `Serving debug probe` line.

impl ServerProcess {
    /// Runs `probeshare ARGS` and waits for `probes` Serving lines; returns
    /// the process and each announced probe's `(unique_id, address)`, in the
    /// order they were logged. `addr` is the first probe's address.
    pub fn start_serving(
        args: &[&str],
        probes: usize,
    ) -> (ServerProcess, Vec<(String, SocketAddr)>) {
        ServerProcess::start_serving_with_env(args, probes, &[])
    }

    /// [`ServerProcess::start_serving`] with environment variables set.
    pub fn start_serving_with_env(
        args: &[&str],
        probes: usize,
        env: &[(&str, &std::ffi::OsStr)],
    ) -> (ServerProcess, Vec<(String, SocketAddr)>) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_probeshare"))
            .args(args)
            .envs(env.iter().copied())
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start probeshare");
        let stderr = child.stderr.take().unwrap();
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = log.clone();
        let log_reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
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
        let mut served = Vec::new();
        let start = Instant::now();
        while served.len() < probes {
            let left = DEADLINE.saturating_sub(start.elapsed());
            let serving = rx.recv_timeout(left).unwrap_or_else(|_| {
                panic!(
                    "{} of {probes} Serving lines; log:\n{}",
                    served.len(),
                    log.lock().unwrap()
                )
            });
            let unique_id = serving.split(' ').next().unwrap_or_default().to_string();
            let addr = serving
                .rsplit(" on ")
                .next()
                .and_then(|a| a.parse().ok())
                .unwrap_or_else(|| panic!("no address in {serving:?}"));
            served.push((unique_id, addr));
        }
        let process = ServerProcess {
            child,
            addr: served.first().map(|(_, addr)| *addr).expect("a probe"),
            log,
            log_reader: Some(log_reader),
        };
        (process, served)
    }
}

/// A port free on 127.0.0.1 a moment ago (for configuration files, which
/// cannot say "any port"; another process may take it in between, a race
/// a test can accept), never one this process was given before: two calls
/// in a row could otherwise get the same port back.
pub fn free_port() -> u16 {
    static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());
    loop {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|listener| listener.local_addr())
            .expect("a free port")
            .port();
        if HANDED_OUT
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(port)
        {
            return port;
        }
    }
}
