//! Rule 6: without a lock, requests of different clients run one at a
//! time, round-robin across the clients with pending work, and each
//! client's own requests stay in order.
//!
//! What makes this deterministic: the order the probe runs requests in is
//! visible in the target itself. With the AHB-AP set to auto-increment, every
//! DRW read moves TAR one word on, so a TAR read tells how many DRW reads
//! ran before it, and the word a DRW read returns tells which turn it was.
//! A third client holds the lock while the others queue their pipelines, and
//! each client's bytes are known to be read by the server before the next
//! client sends; so when the lock is released, all the work is queued in a
//! known arrival order and only the scheduler decides what runs when.
//! (Timing alone could not show fairness: the virtual probe is fast enough
//! to finish a whole pipeline before a second client's line arrives.)

use std::net::SocketAddr;

use serde_json::{json, Value};

use crate::common::Client;
use crate::support::*;

/// The word stored at `RAM_BASE + 4 * index`.
fn pattern(index: u32) -> u32 {
    0x5A00_0000 | index
}

/// A client holding the lock, with RAM holding `pattern` over `words` words
/// and the AP set to read them one after the other from `RAM_BASE`.
fn gate_over_pattern(addr: SocketAddr, words: u32) -> Client {
    let mut gate = powered_session(addr);
    gate.ok("lock", json!([]));
    write_ap(&mut gate, AP_CSW, CSW_WORD_INCREMENT);
    write_ap(&mut gate, AP_TAR, RAM_BASE);
    let data: Vec<u32> = (0..words).map(pattern).collect();
    gate.ok("write_ap_multiple", json!([AP_DRW, data]));
    write_ap(&mut gate, AP_TAR, RAM_BASE);
    gate
}

/// Queues `count` copies of `request` and waits until the server has them.
fn queue(client: &mut Client, count: usize, request: (&str, Value)) -> Vec<i64> {
    let ids = client.pipeline(&vec![request; count]);
    client.wait_until_server_has_read();
    ids
}

fn read_drw() -> (&'static str, Value) {
    ("read_ap", json!([AP_DRW]))
}

#[test]
fn a_single_request_is_not_stuck_behind_another_clients_long_pipeline() {
    let server = crate::common::start_server();
    let addr = server.local_addr();
    let mut streamer = Client::session(addr);
    let mut latecomer = Client::session(addr);
    let mut gate = gate_over_pattern(addr, 500);
    let streamed = queue(&mut streamer, 500, read_drw());
    let late = queue(&mut latecomer, 3, ("read_ap", json!([AP_TAR])));

    gate.ok("unlock", json!([]));
    // Served in turns from the streamer's head on: one DRW read, then the
    // latecomer's, and so on. A first-come-first-served queue over all
    // requests would show TAR at 500 words for each of them.
    let tars: Vec<u32> = late
        .iter()
        .map(|&id| as_u32(&latecomer.recv_ok(id)))
        .collect();
    assert_eq!(tars, [RAM_BASE + 4, RAM_BASE + 8, RAM_BASE + 12]);
    for (index, id) in (0..).zip(streamed) {
        assert_eq!(as_u32(&streamer.recv_ok(id)), pattern(index));
    }
}

#[test]
fn busy_clients_take_turns_one_request_each() {
    let server = crate::common::start_server();
    let addr = server.local_addr();
    const CLIENTS: u32 = 3;
    const READS: u32 = 100;
    let mut clients: Vec<Client> = (0..CLIENTS).map(|_| Client::session(addr)).collect();
    let mut gate = gate_over_pattern(addr, CLIENTS * READS);
    let queued: Vec<Vec<i64>> = clients
        .iter_mut()
        .map(|client| queue(client, READS as usize, read_drw()))
        .collect();

    gate.ok("unlock", json!([]));
    // Turn t of client c reads word t * CLIENTS + c; responses come back in
    // each client's own request order.
    for ((c, client), ids) in (0..).zip(&mut clients).zip(queued) {
        for (turn, id) in (0..).zip(ids) {
            assert_eq!(
                as_u32(&client.recv_ok(id)),
                pattern(turn * CLIENTS + c),
                "client {c}, turn {turn}"
            );
        }
    }
}
