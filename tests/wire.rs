//! The requests that act on the SWD wire reach it: `set_clock`, `reset`,
//! `assert_reset` and `swj_sequence`, asserted on what the emulated
//! firmware recorded (`sim::dap_firmware::RecordHandle`) and on a SW-DP
//! that, as a real one, answers nothing until a line reset. A driver or
//! server that turned any of them into a no-op fails here.

mod common;

use std::time::Duration;

use probeshare::sim::dap_firmware::{ResetEdge, SwjSequence};
use serde_json::json;

use common::faulty::FaultyServer;
use common::{Client, SIM_DPIDR};

/// 56 cycles high (a line reset) and 8 idle cycles, LSB first.
const LINE_RESET_AND_IDLE: (usize, u64) = (64, 0x00FF_FFFF_FFFF_FFFF);
/// How long the driver holds nRESET low for `reset`.
const RESET_HOLD: Duration = Duration::from_millis(100);

#[test]
fn set_clock_sets_the_probes_swj_clock() {
    let server = FaultyServer::start();
    let mut c = Client::session(server.addr());
    server.record.clear();
    c.ok("set_clock", json!([400_000]));
    c.ok("set_clock", json!([4_000_000]));
    assert_eq!(server.record.get().clocks, [400_000, 4_000_000]);
}

#[test]
fn a_clock_set_before_connect_is_the_clock_connect_uses() {
    let server = FaultyServer::start();
    let mut c = Client::hello(server.addr());
    c.ok("open", json!([]));
    c.ok("set_clock", json!([250_000]));
    server.record.clear();
    c.ok("connect", json!(["SWD"]));
    assert_eq!(server.record.get().clocks, [250_000]);
}

#[test]
fn reset_pulses_nreset_once_for_the_hold_time() {
    let server = FaultyServer::start();
    let mut c = Client::session(server.addr());
    server.record.clear();
    c.ok("reset", json!([]));
    let edges = server.record.get().reset_edges;
    let [ResetEdge {
        asserted: true,
        at: low,
    }, ResetEdge {
        asserted: false,
        at: high,
    }] = edges[..]
    else {
        panic!("not one pulse: {edges:?}");
    };
    assert!(high - low >= RESET_HOLD, "held for {:?}", high - low);
    assert!(!server.target.lock().nreset_asserted());
    assert_eq!(server.target.lock().nreset_edges(), [true, false]);
    assert_eq!(c.ok("is_reset_asserted", json!([])), false);
}

#[test]
fn assert_reset_drives_the_line_and_releases_it() {
    let server = FaultyServer::start();
    let mut c = Client::session(server.addr());
    c.ok("assert_reset", json!([true]));
    assert!(server.target.lock().nreset_asserted());
    c.ok("assert_reset", json!([false]));
    assert!(!server.target.lock().nreset_asserted());
    assert_eq!(server.record.get().reset_pulses(), 1);
}

#[test]
fn swj_sequence_reaches_a_dp_that_needs_a_line_reset() {
    let server = FaultyServer::start();
    server.target.lock().require_line_reset();
    let mut c = Client::session(server.addr());
    // Deaf until a line reset, as a real SW-DP after power-on.
    let message = c.err("read_dp", json!([0]), 10);
    assert_eq!(message, "transfer error: no ACK to DP read 0x0");

    server.record.clear();
    let (bits, levels) = LINE_RESET_AND_IDLE;
    c.ok("swj_sequence", json!([bits, levels]));
    assert_eq!(
        server.record.get().swj_sequences,
        [SwjSequence {
            bits,
            levels: levels.to_le_bytes().to_vec(),
        }]
    );
    assert!(server.target.lock().in_line_reset_state());
    assert_eq!(c.ok("read_dp", json!([0])), SIM_DPIDR);
    assert!(!server.target.lock().in_line_reset_state());
}

#[test]
fn a_sequence_too_short_for_a_line_reset_leaves_the_dp_deaf() {
    // 49 cycles high are not a line reset (ADIv5.2 B4.3.3: at least 50).
    let server = FaultyServer::start();
    server.target.lock().require_line_reset();
    let mut c = Client::session(server.addr());
    c.ok("swj_sequence", json!([57, 0x0001_FFFF_FFFF_FFFFu64 >> 8]));
    c.err("read_dp", json!([0]), 10);
    c.ok(
        "swj_sequence",
        json!([LINE_RESET_AND_IDLE.0, LINE_RESET_AND_IDLE.1]),
    );
    assert_eq!(c.ok("read_dp", json!([0])), SIM_DPIDR);
}
