//! Responses are one valid JSON line each, in pyOCD's shape, with
//! `result` left out when there is nothing to return.

use crate::probe::{OpOutput, ProbeError, SwdSequenceReply, WireProtocol};
use crate::protocol::{encode_response, Failure, Reply};
use serde_json::{json, Value};

/// The response as the client's `json.loads` would see it.
fn encoded(id: i64, reply: &Result<Reply, Failure>) -> Value {
    let mut out = Vec::new();
    encode_response(&mut out, id, reply);
    assert_eq!(
        out.iter().filter(|&&b| b == b'\n').count(),
        1,
        "exactly one line"
    );
    assert_eq!(out.last(), Some(&b'\n'), "the line ends with LF");
    serde_json::from_slice(&out).expect("the line is valid JSON")
}

fn output(output: OpOutput) -> Value {
    encoded(5, &Ok(Reply::Output(output)))
}

#[test]
fn outputs_without_a_value_leave_result_out() {
    for nothing in [
        OpOutput::Done,
        OpOutput::Connected(WireProtocol::Swd),
        OpOutput::Tdo(None),
    ] {
        assert_eq!(output(nothing), json!({"id": 5, "status": 0}));
    }
}

#[test]
fn scalar_outputs_are_the_result() {
    assert_eq!(
        output(OpOutput::Word(u32::MAX)),
        json!({"id": 5, "status": 0, "result": 4294967295u32})
    );
    assert_eq!(
        output(OpOutput::Word(0)),
        json!({"id": 5, "status": 0, "result": 0})
    );
    assert_eq!(
        output(OpOutput::Bool(true)),
        json!({"id": 5, "status": 0, "result": true})
    );
    assert_eq!(
        output(OpOutput::Bool(false)),
        json!({"id": 5, "status": 0, "result": false})
    );
    assert_eq!(
        output(OpOutput::Tdo(Some(u64::MAX))),
        json!({"id": 5, "status": 0, "result": u64::MAX})
    );
}

#[test]
fn words_and_bytes_are_lists_of_integers() {
    let words = OpOutput::Words(vec![1, 0xdead_beef, 0]);
    assert_eq!(
        output(words),
        json!({"id": 5, "status": 0, "result": [1, 0xdead_beefu32, 0]})
    );
    assert_eq!(
        output(OpOutput::Bytes(vec![0, 127, 255])),
        json!({"id": 5, "status": 0, "result": [0, 127, 255]})
    );
    assert_eq!(
        output(OpOutput::Words(vec![])),
        json!({"id": 5, "status": 0, "result": []})
    );
}

#[test]
fn swd_sequence_result_is_status_and_captured_byte_lists() {
    let reply = SwdSequenceReply {
        status: 0,
        captured: vec![vec![0x12, 0x34], vec![], vec![0xff]],
    };
    assert_eq!(
        output(OpOutput::SwdSequence(reply)),
        json!({"id": 5, "status": 0, "result": [0, [[0x12, 0x34], [], [0xff]]]})
    );
    let nothing_read = SwdSequenceReply {
        status: 0,
        captured: vec![],
    };
    assert_eq!(
        output(OpOutput::SwdSequence(nothing_read)),
        json!({"id": 5, "status": 0, "result": [0, []]})
    );
}

#[test]
fn server_values_are_the_result_and_null_is_left_out() {
    let handle = encoded(2, &Ok(Reply::Value(json!(0))));
    assert_eq!(handle, json!({"id": 2, "status": 0, "result": 0}));
    let protocols = encoded(2, &Ok(Reply::Value(json!(["SWD", "JTAG"]))));
    assert_eq!(
        protocols,
        json!({"id": 2, "status": 0, "result": ["SWD", "JTAG"]})
    );
    assert_eq!(
        encoded(2, &Ok(Reply::Value(Value::Null))),
        json!({"id": 2, "status": 0})
    );
}

#[test]
fn failure_carries_status_and_escaped_message() {
    let message = "unknown property name 'a\"b\\c\nd\u{1}é' requested";
    let response = encoded(-1, &Err(Failure::Request(message.into())));
    assert_eq!(response, json!({"id": -1, "status": 1, "error": message}));
    let fault = Failure::Probe(ProbeError::TransferFault("AP 0".into()));
    assert_eq!(
        encoded(i64::MAX, &Err(fault)),
        json!({"id": i64::MAX, "status": 12, "error": "transfer fault: AP 0"})
    );
    let response = encoded(i64::MIN, &Err(Failure::Request("x".into())));
    assert_eq!(response["id"], json!(i64::MIN));
}

#[test]
fn responses_append_to_what_is_already_queued() {
    let mut out = b"earlier\n".to_vec();
    encode_response(&mut out, 1, &Ok(Reply::Output(OpOutput::Done)));
    encode_response(&mut out, 2, &Ok(Reply::Output(OpOutput::Word(7))));
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "earlier\n{\"id\":1,\"status\":0}\n{\"id\":2,\"status\":0,\"result\":7}\n"
    );
}
