//! Every limit of docs/protocol.md ("Limits") hit on purpose, through the real
//! `probeshare serve` flag that sets it: hitting a limit is an error
//! response or a disconnect of that client alone, never a crash, never
//! unbounded memory. The memory-bound tests are in `limits/memory.rs`,
//! the many-connections test in `limits/idle_connections.rs`, the
//! per-peer connection limit in `limits/per_peer.rs`, an idle server's CPU
//! in `limits/idle_cpu.rs`.

mod common;
#[path = "limits/idle_connections.rs"]
mod idle_connections;
#[path = "limits/idle_cpu.rs"]
mod idle_cpu;
#[path = "limits/memory.rs"]
mod memory;
#[path = "limits/per_peer.rs"]
mod per_peer;

use std::io::Write;
use std::time::{Duration, Instant};

use common::{wait_until, Client, ServerProcess, DEADLINE};
use probeshare::sim::mem_ap::{AHB_AP_IDR, AP_IDR};
use serde_json::{json, Value};

/// DP CTRL/STAT with CDBGPWRUPREQ and CSYSPWRUPREQ: AP accesses need it.
const POWER_UP: u32 = 0x5000_0000;
const DP_CTRL_STAT: u32 = 0x4;

/// A client with the debug domain powered up, so AP reads succeed.
fn powered_session(addr: std::net::SocketAddr) -> Client {
    let mut client = Client::session(addr);
    client.ok("write_dp", json!([DP_CTRL_STAT, POWER_UP]));
    client
}

/// A request line padded with spaces to exactly `len` bytes (LF excluded).
fn line_of_length(id: i64, len: usize) -> Vec<u8> {
    let mut line = json!({"id": id, "request": "readprop", "arguments": ["unique_id"]}).to_string();
    assert!(line.len() <= len);
    line.extend(std::iter::repeat_n(' ', len - line.len()));
    line.into_bytes()
}

#[test]
fn over_long_line_is_refused_once_and_the_next_line_is_served() {
    let server = ServerProcess::start(&["--max-line-bytes", "1000"]);
    let mut client = Client::hello(server.addr);

    client.send_line(&[b'x'; 5000]);
    let refusal = client.recv();
    assert_eq!(refusal["status"], 1, "{refusal}");
    assert_eq!(refusal["id"], -1, "{refusal}");
    assert_eq!(
        refusal["error"], "request line too long (limit 1000 bytes)",
        "{refusal}"
    );
    // `ok` checks the id, so a second refusal for the same line would fail here.
    assert_eq!(client.ok("readprop", json!(["unique_id"])), json!("sim"));
}

#[test]
fn line_of_exactly_the_limit_is_served_and_one_byte_more_is_refused() {
    let server = ServerProcess::start(&["--max-line-bytes", "1000"]);
    let mut client = Client::hello(server.addr);

    client.send_line(&line_of_length(100, 1000));
    let at_limit = client.recv();
    assert_eq!(at_limit["id"], 100, "{at_limit}");
    assert_eq!(at_limit["result"], "sim", "{at_limit}");

    // The same line read by the server before its end arrives: a whole
    // limit's worth of bytes waiting for their LF is not yet too long.
    client.stream.write_all(&line_of_length(102, 1000)).unwrap();
    client.wait_until_server_has_read();
    client.stream.write_all(b"\n").unwrap();
    let split = client.recv();
    assert_eq!(split["id"], 102, "{split}");
    assert_eq!(split["result"], "sim", "{split}");

    client.send_line(&line_of_length(101, 1001));
    let over = client.recv();
    assert_eq!(over["status"], 1, "{over}");
    assert!(
        over["error"]
            .as_str()
            .is_some_and(|e| e.starts_with("request line too long")),
        "{over}"
    );
}

#[test]
fn block_counts_over_the_limit_are_refused_naming_the_argument() {
    let server = ServerProcess::start(&["--max-block-elements", "16"]);
    let mut client = powered_session(server.addr);
    let seventeen = vec![0u32; 17];

    let over = [
        (
            "read_ap_multiple",
            json!([AP_IDR, 17]),
            "invalid argument 'count' of read_ap_multiple: 17 exceeds the limit of 16 elements",
        ),
        (
            "write_ap_multiple",
            json!([0x04, seventeen]),
            "invalid argument 'data' of write_ap_multiple: more than 16 elements",
        ),
        (
            "read_block32",
            json!([0, 0x2000_0000u32, 17]),
            "invalid argument 'word_count' of read_block32: 17 exceeds the limit of 16 elements",
        ),
        (
            "write_block8",
            json!([0, 0x2000_0000u32, seventeen]),
            "invalid argument 'data' of write_block8: more than 16 elements",
        ),
    ];
    for (request, arguments, message) in over {
        assert_eq!(client.err(request, arguments, 1), message);
    }

    let at_limit = client.ok("read_ap_multiple", json!([AP_IDR, 16]));
    assert_eq!(at_limit, json!(vec![AHB_AP_IDR; 16]));
    client.ok("write_ap_multiple", json!([0x04, vec![0x2000_0000u32; 16]]));
    assert_eq!(client.ok("read_ap", json!([0x04])), json!(0x2000_0000u32));
}

/// Connects and says hello; `None` when the server refused the connection.
fn try_hello(addr: std::net::SocketAddr) -> Option<Client> {
    let mut client = Client::connect(addr);
    let _ = client
        .stream
        .write_all(b"{\"id\": 1, \"request\": \"hello\", \"arguments\": [1]}\n");
    let response = client.try_recv()?;
    (response["status"] == 0 && response["id"] == 1).then_some(client)
}

#[test]
fn connection_over_the_limit_is_told_and_closed_until_a_slot_frees() {
    let server = ServerProcess::start(&["--max-connections", "3"]);
    let mut held: Vec<Client> = (0..3).map(|_| Client::hello(server.addr)).collect();

    let mut refused = Client::connect(server.addr);
    let refusal = refused.recv();
    assert_eq!(refusal["status"], 1, "{refusal}");
    assert_eq!(refusal["error"], "too many connections", "{refusal}");
    assert!(refused.is_closed_by_server());

    for client in &mut held {
        assert_eq!(client.ok("readprop", json!(["unique_id"])), json!("sim"));
    }
    let gone = held.pop().expect("three clients");
    gone.stream.shutdown(std::net::Shutdown::Both).unwrap();
    drop(gone);

    // The server notices the departure asynchronously: retry until admitted.
    let mut admitted = None;
    wait_until("a connection in the freed slot", || {
        admitted = try_hello(server.addr);
        admitted.is_some()
    });
    let mut admitted = admitted.expect("admitted");
    assert_eq!(admitted.ok("readprop", json!(["unique_id"])), json!("sim"));
    assert!(try_hello(server.addr).is_none(), "a fourth connection");
    let log = server.log.lock().unwrap().clone();
    assert!(log.contains("connection limit reached"), "{log}");
    // Running out of connections to accept is no failure to warn about.
    assert!(!log.contains("accept failed"), "{log}");
}

/// Sends `count` requests in one go and only then reads: a client that is
/// slow to read. Checks that every response arrives exactly once, in
/// order, with the expected result. Keep the requests under about 50 KB:
/// they must fit in the socket buffers while the server is paused.
fn pipeline_then_read(client: &mut Client, count: i64, request: impl Fn(i64) -> (Value, Value)) {
    let first_id = 1000;
    let ids = first_id..first_id + count;
    let mut batch = Vec::new();
    let mut expected = Vec::new();
    for id in ids.clone() {
        let (line, result) = request(id);
        batch.extend_from_slice(line.to_string().as_bytes());
        batch.push(b'\n');
        expected.push(result);
    }
    let mut writer = client.stream.try_clone().unwrap();
    writer.set_write_timeout(Some(DEADLINE)).unwrap();
    writer.write_all(&batch).expect("every request sent");

    for (id, result) in ids.zip(expected) {
        let response = client.recv();
        assert_eq!(response["id"], id, "responses out of order: {response}");
        assert_eq!(response["status"], 0, "{response}");
        assert_eq!(response["result"], result, "response to {id}");
    }
    // Nothing answered twice: the next response is the next request's.
    assert_eq!(client.ok("readprop", json!(["unique_id"])), json!("sim"));
}

#[test]
fn pipelining_past_the_pending_request_limit_gets_every_response_in_order() {
    let server = ServerProcess::start(&["--max-pending-requests", "2"]);
    let mut client = powered_session(server.addr);
    let dpidr = client.ok("read_dp", json!([0]));
    // Short responses, from the probe and at once, so that only the count
    // of pending requests pauses reading.
    pipeline_then_read(&mut client, 1000, |id| match id % 4 {
        0 => (
            json!({"id": id, "request": "readprop", "arguments": ["unique_id"]}),
            json!("sim"),
        ),
        1 | 2 => (
            json!({"id": id, "request": "read_dp", "arguments": [0]}),
            dpidr.clone(),
        ),
        _ => (
            json!({"id": id, "request": "read_ap", "arguments": [AP_IDR]}),
            json!(AHB_AP_IDR),
        ),
    });
}

/// `--max-pending-requests` stops the server reading a client's socket,
/// shown by the bytes left unread in the server's receive queue: a writer
/// whose requests all wait behind another client's lock fills the limit,
/// and the rest of what it sent stays in the kernel, untouched, until the
/// lock is released and its answers drain.
#[test]
fn reading_pauses_at_the_pending_request_limit() {
    const REQUESTS: usize = 4000;
    let server = ServerProcess::start(&["--max-pending-requests", "4"]);
    let mut writer = Client::session(server.addr);
    let dpidr = writer.ok("read_dp", json!([0]));
    let mut holder = Client::session(server.addr);
    holder.ok("lock", json!([]));

    // About 200 KB: more than one read of the server (64 KiB) and, once
    // reading pauses, more than the socket buffers hold, so the write
    // blocks until the lock is released.
    let lines: String = (0..REQUESTS)
        .map(|i| {
            format!(
                "{{\"id\":{},\"request\":\"read_dp\",\"arguments\":[0]}}\n",
                100 + i
            )
        })
        .collect();
    let mut stream = writer.stream.try_clone().expect("clone");
    let sender = std::thread::spawn(move || stream.write_all(lines.as_bytes()));

    wait_until("the server to leave the writer's bytes unread", || {
        writer.unread_by_server() >= 32 * 1024
    });
    // Not merely slow: nothing more is read while the lock is held.
    let unread = writer.unread_by_server();
    let watched = Instant::now();
    while watched.elapsed() < Duration::from_millis(300) {
        let now = writer.unread_by_server();
        assert!(
            now >= unread,
            "the server read on: {unread} then {now} unread"
        );
    }

    holder.ok("unlock", json!([]));
    for i in 0..REQUESTS {
        let response = writer.recv();
        assert_eq!(response["id"], 100 + i as i64, "{response}");
        assert_eq!(response["result"], dpidr, "{response}");
    }
    sender.join().expect("sender").expect("every request sent");
    assert_eq!(writer.unread_by_server(), 0);
}

#[test]
fn pipelining_past_the_unsent_byte_limit_gets_every_response_in_order() {
    let server = ServerProcess::start(&["--max-unsent-bytes", "256"]);
    let mut client = powered_session(server.addr);
    // Long responses (about 2.8 KB each, 1.1 MB in all): each is over the
    // limit on its own, so reading pauses after every one until it has
    // been written, and the socket fills as the client reads only at the end.
    pipeline_then_read(&mut client, 600, |id| match id % 3 {
        0 => (
            json!({"id": id, "request": "readprop", "arguments": ["unique_id"]}),
            json!("sim"),
        ),
        _ => (
            json!({"id": id, "request": "read_ap_multiple", "arguments": [AP_IDR, 256]}),
            json!(vec![AHB_AP_IDR; 256]),
        ),
    });
}

#[test]
fn idle_connection_is_closed_and_an_active_one_is_kept() {
    let server = ServerProcess::start(&["--idle-timeout-secs", "1"]);
    let mut idle = Client::hello(server.addr);
    let idle_since = Instant::now();
    let addr = server.addr;
    let active = std::thread::spawn(move || {
        let mut client = Client::hello(addr);
        let start = Instant::now();
        // Three timeouts' worth of traffic, never silent for half a timeout.
        while start.elapsed() < Duration::from_secs(3) {
            assert_eq!(client.ok("readprop", json!(["unique_id"])), json!("sim"));
            std::thread::sleep(Duration::from_millis(200));
        }
        client
    });

    assert!(idle.is_closed_by_server(), "idle connection kept open");
    let idle_for = idle_since.elapsed();
    assert!(
        idle_for >= Duration::from_secs(1),
        "closed after {idle_for:?}"
    );
    assert!(idle_for < DEADLINE);

    let mut active = active.join().expect("active client served throughout");
    assert_eq!(active.ok("readprop", json!(["unique_id"])), json!("sim"));
    assert!(active.is_closed_by_server(), "closed once silent");
}
