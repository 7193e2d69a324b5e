//! Every non-register request of docs/protocol.md through a real socket: the
//! hello gate, properties, open/close and connect/disconnect, sequences,
//! clock and reset; the malformed-request messages of the status table,
//! id echoing, void results, and a 1000-request pipelined burst.
//! DP/AP register, SWO and memory-interface requests are in
//! `requests_ap.rs`.

mod common;

use common::{assert_failure, powered_session, start_server, Client, SIM_DPIDR};
use serde_json::{json, Value};

/// pyOCD's dormant-to-SWD wake-up sequence (probe/swj.py): 136 bits sent as
/// one JSON integer, 0x19bc0ea2e3ddafe986852d956209f392ff.
const DORMANT_WAKEUP: &str = "8757030032190802792567494178692171797247";
/// 2^256: one bit wider than any SWJ sequence.
const TWO_POW_256: &str =
    "115792089237316195423570985008687907853269984665640564039457584007913129639936";

/// Sends `request` and asserts the response is exactly `{"id", "status": 0}`.
fn void(c: &mut Client, request: &str, arguments: Value) {
    let id = c.send(request, arguments.clone());
    let response = c.recv();
    assert_eq!(
        response,
        json!({"id": id, "status": 0}),
        "{request} {arguments}"
    );
}

// ---- hello ----------------------------------------------------------

#[test]
fn hello_with_version_1_succeeds_without_result() {
    let server = start_server();
    let mut c = Client::connect(server.local_addr());
    void(&mut c, "hello", json!([1]));
}

#[test]
fn hello_with_wrong_version_is_refused_and_a_correct_hello_still_works() {
    let server = start_server();
    let mut c = Client::connect(server.local_addr());
    let message = c.err("hello", json!([2]), 1);
    assert_eq!(
        message,
        "client requested unsupported protocol version 2 (expected 1)"
    );
    assert_eq!(
        c.err("readprop", json!(["vendor_name"]), 1),
        "hello required"
    );
    c.ok("hello", json!([1]));
    assert_eq!(c.ok("readprop", json!(["vendor_name"])), "probeshare");
}

#[test]
fn every_request_before_hello_gets_hello_required() {
    let server = start_server();
    let mut c = Client::connect(server.local_addr());
    let requests = [
        ("readprop", json!(["vendor_name"])),
        ("open", json!([])),
        ("lock", json!([])),
        ("connect", json!(["SWD"])),
        ("read_dp", json!([0])),
        ("get_memory_interface_for_ap", json!([1, 0])),
        ("read_mem", json!([1, 0x2000_0000, 32])),
        ("has_swo", json!([])),
    ];
    for (request, arguments) in requests {
        assert_eq!(c.err(request, arguments, 1), "hello required", "{request}");
    }
}

#[test]
fn open_and_lock_before_hello_touch_nothing() {
    let server = start_server();
    let mut early = Client::connect(server.local_addr());
    early.err("open", json!([]), 1);
    early.err("lock", json!([]), 1);

    let mut other = Client::hello(server.local_addr());
    // A granted lock would make this wait; an opened probe would take the clock.
    other.ok("lock", json!([]));
    let refused = other.err("set_clock", json!([1_000_000]), 3);
    assert!(refused.contains("not open"), "{refused}");
    other.ok("unlock", json!([]));

    // Nor was the open counted for the early client.
    early.ok("hello", json!([1]));
    early.err("close", json!([]), 1);
}

// ---- readprop ---------------------------------------------------------

#[test]
fn readprop_answers_every_property_of_the_sim() {
    let server = start_server();
    let mut c = Client::hello(server.local_addr());
    let expected = [
        ("vendor_name", json!("probeshare")),
        ("product_name", json!("probeshare CMSIS-DAP (virtual)")),
        ("supported_wire_protocols", json!(["DEFAULT", "SWD"])),
        (
            "capabilities",
            json!(["SWJ_SEQUENCE", "BANKED_DP_REGISTERS", "SWD_SEQUENCE"]),
        ),
        ("unique_id", json!("sim")),
        ("description", json!("probeshare virtual target")),
    ];
    for (name, value) in expected {
        assert_eq!(c.ok("readprop", json!([name])), value, "{name}");
    }
}

#[test]
fn readprop_wire_protocol_is_null_before_connect_and_swd_after() {
    let server = start_server();
    let mut c = Client::hello(server.local_addr());
    let before = c.call("readprop", json!(["wire_protocol"]));
    assert_eq!(before["status"], 0, "{before}");
    assert!(before.get("result").is_none_or(Value::is_null), "{before}");
    c.ok("open", json!([]));
    c.ok("connect", json!(["SWD"]));
    assert_eq!(c.ok("readprop", json!(["wire_protocol"])), "SWD");
}

#[test]
fn readprop_of_unknown_name_is_refused_with_the_name() {
    let server = start_server();
    let mut c = Client::hello(server.local_addr());
    let message = c.err("readprop", json!(["x"]), 1);
    assert_eq!(message, "unknown property name 'x' requested");
}

// ---- open / close / connect / disconnect ------------------------------

#[test]
fn open_and_close_bring_the_probe_up_and_down() {
    let server = start_server();
    let mut c = Client::hello(server.local_addr());
    void(&mut c, "open", json!([]));
    void(&mut c, "set_clock", json!([1_000_000]));
    void(&mut c, "close", json!([]));
    let refused = c.err("set_clock", json!([1_000_000]), 3);
    assert!(refused.contains("not open"), "{refused}");
}

#[test]
fn close_without_open_is_refused() {
    let server = start_server();
    let mut c = Client::hello(server.local_addr());
    let message = c.err("close", json!([]), 1);
    assert!(message.contains("not opened"), "{message}");
}

#[test]
fn connect_default_brings_up_swd() {
    let server = start_server();
    let mut c = Client::hello(server.local_addr());
    c.ok("open", json!([]));
    void(&mut c, "connect", json!(["DEFAULT"]));
    assert_eq!(c.ok("readprop", json!(["wire_protocol"])), "SWD");
    assert_eq!(c.ok("read_dp", json!([0])), SIM_DPIDR);
}

#[test]
fn connect_jtag_is_refused_by_the_sim_and_swd_still_connects() {
    let server = start_server();
    let mut c = Client::hello(server.local_addr());
    c.ok("open", json!([]));
    let message = c.err("connect", json!(["JTAG"]), 3);
    assert!(message.contains("JTAG"), "{message}");
    assert!(c.ok("readprop", json!(["wire_protocol"])).is_null());
    void(&mut c, "connect", json!(["SWD"]));
    assert_eq!(c.ok("read_dp", json!([0])), SIM_DPIDR);
}

#[test]
fn connect_jtag_while_swd_is_up_is_a_protocol_conflict() {
    let server = start_server();
    let mut c = Client::session(server.local_addr());
    let message = c.err("connect", json!(["JTAG"]), 3);
    assert_eq!(message, "probe already connected using SWD protocol");
    assert_eq!(c.ok("read_dp", json!([0])), SIM_DPIDR);
}

#[test]
fn connect_with_unknown_protocol_name_is_refused() {
    let server = start_server();
    let mut c = Client::hello(server.local_addr());
    c.ok("open", json!([]));
    let message = c.err("connect", json!(["swd"]), 1);
    assert_eq!(message, "invalid protocol name swd");
}

#[test]
fn disconnect_takes_the_wire_down() {
    let server = start_server();
    let mut c = Client::session(server.local_addr());
    void(&mut c, "disconnect", json!([]));
    assert!(c.ok("readprop", json!(["wire_protocol"])).is_null());
    let refused = c.err("read_dp", json!([0]), 3);
    assert!(refused.contains("not connected"), "{refused}");
    let again = c.err("disconnect", json!([]), 1);
    assert!(again.contains("not connected"), "{again}");
}

// ---- sequences ----------------------------------------------------------

#[test]
fn swj_sequence_accepts_line_reset_and_dormant_wakeup() {
    let server = start_server();
    let mut c = Client::session(server.local_addr());
    void(
        &mut c,
        "swj_sequence",
        json!([51, 0x00FF_FFFF_FFFF_FFFFu64]),
    );
    void(&mut c, "swj_sequence", json!([16, 0xE79E]));
    let line =
        format!(r#"{{"id":77,"request":"swj_sequence","arguments":[136,{DORMANT_WAKEUP}]}}"#);
    assert_eq!(c.raw(line.as_bytes()), json!({"id": 77, "status": 0}));
    assert_eq!(c.ok("read_dp", json!([0])), SIM_DPIDR);
}

#[test]
fn swj_sequence_longer_than_256_bits_is_refused() {
    let server = start_server();
    let mut c = Client::session(server.local_addr());
    let message = c.err("swj_sequence", json!([257, 0]), 1);
    assert!(message.contains("'length'"), "{message}");
    let line = format!(r#"{{"id":5,"request":"swj_sequence","arguments":[256,{TWO_POW_256}]}}"#);
    let response = c.raw(line.as_bytes());
    assert_failure(&response, 1, "'bits'");
    assert_eq!(response["id"], 5);
}

#[test]
fn swd_sequence_returns_status_and_one_byte_string_per_input_sequence() {
    let server = start_server();
    let mut c = Client::session(server.local_addr());
    // The emulated firmware reads an undriven SWDIO as ones (pull-up).
    let result = c.ok("swd_sequence", json!([[[8, 0xFF], [4], [12]]]));
    assert_eq!(result, json!([0, [[0x0F], [0xFF, 0x0F]]]));
}

#[test]
fn jtag_sequence_is_not_supported_by_the_sim() {
    let server = start_server();
    let mut c = Client::session(server.local_addr());
    let message = c.err("jtag_sequence", json!([8, false, true, 0xFF]), 3);
    assert!(message.contains("not supported"), "{message}");
}

// ---- clock, reset, flush ------------------------------------------------

#[test]
fn set_clock_accepts_any_u32_frequency() {
    let server = start_server();
    let mut c = Client::session(server.local_addr());
    void(&mut c, "set_clock", json!([1_000_000]));
    void(&mut c, "set_clock", json!([u32::MAX]));
    let message = c.err("set_clock", json!([1u64 << 32]), 1);
    assert!(message.contains("'freq'"), "{message}");
}

#[test]
fn reset_pulses_and_leaves_reset_deasserted() {
    let server = start_server();
    let mut c = Client::session(server.local_addr());
    void(&mut c, "reset", json!([]));
    assert_eq!(c.ok("is_reset_asserted", json!([])), false);
}

#[test]
fn assert_reset_round_trips_through_is_reset_asserted() {
    let server = start_server();
    let mut c = Client::session(server.local_addr());
    assert_eq!(c.ok("is_reset_asserted", json!([])), false);
    void(&mut c, "assert_reset", json!([true]));
    assert_eq!(c.ok("is_reset_asserted", json!([])), true);
    void(&mut c, "assert_reset", json!([false]));
    assert_eq!(c.ok("is_reset_asserted", json!([])), false);
    // pyOCD's own target code passes 1 for true.
    void(&mut c, "assert_reset", json!([1]));
    assert_eq!(c.ok("is_reset_asserted", json!([])), true);
}

#[test]
fn flush_succeeds_without_result() {
    let server = start_server();
    let mut c = Client::session(server.local_addr());
    void(&mut c, "flush", json!([]));
}

// ---- the status table's messages, ids, void results ---------------------

#[test]
fn malformed_requests_get_pyocd_server_messages() {
    let server = start_server();
    let mut c = Client::hello(server.local_addr());
    let cases: [(&str, i64, &str); 6] = [
        ("not json at all", -1, "invalid request format"),
        (
            r#"{"request":"read_dp","arguments":[0]}"#,
            -1,
            "missing request ID",
        ),
        (r#"{"id":3,"arguments":[0]}"#, 3, "missing request field"),
        (
            r#"{"id":4,"request":"read_dp","arguments":0}"#,
            4,
            "invalid request arguments format",
        ),
        (
            r#"{"id":5,"request":"frobnicate"}"#,
            5,
            "unknown request type",
        ),
        (
            r#"{"id":6,"request":"read_dp","arguments":[]}"#,
            6,
            "malformed request; invalid number of arguments",
        ),
    ];
    for (line, id, message) in cases {
        let response = c.raw(line.as_bytes());
        assert_eq!(
            response,
            json!({"id": id, "status": 1, "error": message}),
            "{line}"
        );
    }
}

#[test]
fn responses_carry_the_request_id_verbatim() {
    let server = start_server();
    let mut c = Client::hello(server.local_addr());
    let ids = [
        "0",
        "-7",
        "9223372036854775807",
        "-9223372036854775808",
        "9007199254740993",
    ];
    for id in ids {
        let line = format!(r#"{{"id":{id},"request":"readprop","arguments":["unique_id"]}}"#);
        let response = c.raw(line.as_bytes());
        let expected: Value = serde_json::from_str(id).unwrap();
        assert_eq!(response["id"], expected, "{response}");
        assert_eq!(response["result"], "sim");
    }
}

#[test]
fn arguments_may_be_absent_for_requests_without_any() {
    let server = start_server();
    let mut c = Client::hello(server.local_addr());
    let response = c.raw(br#"{"id":12,"request":"open"}"#);
    assert_eq!(response, json!({"id": 12, "status": 0}));
}

#[test]
fn void_requests_leave_the_result_key_out() {
    let server = start_server();
    let mut c = Client::connect(server.local_addr());
    void(&mut c, "hello", json!([1]));
    void(&mut c, "open", json!([]));
    void(&mut c, "lock", json!([]));
    void(&mut c, "connect", json!(["SWD"]));
    void(&mut c, "write_dp", json!([4, common::POWER_UP_REQUEST]));
    void(&mut c, "write_ap", json!([0x04, 0x2000_0000]));
    void(&mut c, "write_ap_multiple", json!([0x04, [0x2000_0000]]));
    void(&mut c, "unlock", json!([]));
    void(&mut c, "disconnect", json!([]));
    void(&mut c, "close", json!([]));
}

// ---- pipelining ----------------------------------------------------------

/// What one pipelined request must be answered with.
enum Expect {
    Result(Value),
    Void,
    Failure(i64, &'static str),
}

/// Request `i` of the burst: a repeating mix of reads, property lookups,
/// TAR writes and read-backs, and two kinds of failure.
fn burst_request(i: u32) -> (&'static str, Value, Expect) {
    let tar_value = |i: u32| 0x2000_0000 + 4 * i;
    match i % 6 {
        0 => ("read_dp", json!([0]), Expect::Result(json!(SIM_DPIDR))),
        1 => (
            "readprop",
            json!(["vendor_name"]),
            Expect::Result(json!("probeshare")),
        ),
        2 => ("write_ap", json!([0x04, tar_value(i)]), Expect::Void),
        3 => (
            "read_ap",
            json!([0x04]),
            Expect::Result(json!(tar_value(i - 1))),
        ),
        4 => (
            "read_dp",
            json!([0x100]),
            Expect::Failure(1, "invalid DP register address"),
        ),
        _ => (
            "readprop",
            json!(["nope"]),
            Expect::Failure(1, "unknown property name"),
        ),
    }
}

#[test]
fn thousand_pipelined_requests_are_answered_in_order_with_their_ids() {
    let server = start_server();
    let mut c = powered_session(server.local_addr());
    let wire_id = |i: u32| 1_000_000 - 3 * i64::from(i);
    let mut burst = Vec::new();
    for i in 0..1000 {
        let (request, arguments, _) = burst_request(i);
        let line = json!({"id": wire_id(i), "request": request, "arguments": arguments});
        burst.extend_from_slice(line.to_string().as_bytes());
        burst.push(b'\n');
    }
    std::io::Write::write_all(&mut c.stream, &burst).expect("send the burst");

    for i in 0..1000 {
        let response = c.recv();
        assert_eq!(
            response["id"],
            wire_id(i),
            "response {i} out of order: {response}"
        );
        match burst_request(i).2 {
            Expect::Result(value) => {
                assert_eq!(response["status"], 0, "{i}: {response}");
                assert_eq!(response["result"], value, "{i}: {response}");
            }
            Expect::Void => assert_eq!(response, json!({"id": wire_id(i), "status": 0})),
            Expect::Failure(status, needle) => assert_failure(&response, status, needle),
        }
    }
    assert_eq!(c.ok("read_dp", json!([0])), SIM_DPIDR);
}
