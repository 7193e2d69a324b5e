//! The request envelope: id, request name, argument list, and the
//! malformed-input messages pyOCD's server gives.

use super::{command, decode, refusal};
use crate::probe::Op;
use crate::protocol::{Command, Request, RequestError};

fn refused(id: i64, message: &str) -> RequestError {
    RequestError {
        id,
        message: message.to_string(),
    }
}

#[test]
fn pyocd_formatted_request_decodes_with_its_id() {
    let request = decode("{\"id\": 3, \"request\": \"read_ap\", \"arguments\": [16777468]}\n");
    assert_eq!(
        request,
        Ok(Request {
            id: 3,
            command: Command::Probe(Op::ReadAp(16777468)),
        })
    );
}

#[test]
fn absent_arguments_mean_no_arguments() {
    assert_eq!(
        command(r#"{"id": 0, "request": "open"}"#),
        Command::Probe(Op::Open)
    );
    assert_eq!(
        command(r#"{"id": 0, "request": "open", "arguments": []}"#),
        Command::Probe(Op::Open)
    );
}

#[test]
fn keys_may_come_in_any_order_and_unknown_keys_are_ignored() {
    let line = r#"{"arguments": [4], "extra": {"x": [1, 2]}, "request": "read_dp", "id": 9}"#;
    assert_eq!(decode(line).map(|r| r.id), Ok(9));
    assert_eq!(command(line), Command::Probe(Op::ReadDp(4)));
}

#[test]
fn escaped_keys_and_names_are_read_as_python_reads_them() {
    let line = r#"{"\u0069d": 4, "request": "\u006fpen"}"#;
    assert_eq!(decode(line).map(|r| r.id), Ok(4));
    assert_eq!(command(line), Command::Probe(Op::Open));
}

#[test]
fn repeated_key_takes_its_last_value() {
    let line = r#"{"id": 1, "id": 2, "request": "close", "request": "open"}"#;
    assert_eq!(
        decode(line),
        Ok(Request {
            id: 2,
            command: Command::Probe(Op::Open),
        })
    );
}

#[test]
fn crlf_line_end_is_accepted() {
    assert_eq!(
        command("{\"id\": 1, \"request\": \"reset\"}\r\n"),
        Command::Probe(Op::Reset)
    );
}

#[test]
fn negative_id_is_echoed() {
    assert_eq!(
        decode(r#"{"id": -5, "request": "flush"}"#).map(|r| r.id),
        Ok(-5)
    );
}

#[test]
fn line_that_is_not_a_json_object_is_invalid_request_format() {
    for line in [
        "",
        "\n",
        "not json",
        "{\"id\": 1, \"request\": \"open\"",
        "{\"id\": 1, \"request\": \"open\"} trailing",
        "[1, \"open\", []]",
        "17",
        "\"open\"",
        "null",
    ] {
        assert_eq!(
            refusal(line),
            refused(-1, "invalid request format"),
            "{line:?}"
        );
    }
}

#[test]
fn invalid_utf8_is_invalid_request_format() {
    let line = b"{\"id\": 1, \"request\": \"readprop\", \"arguments\": [\"\xff\"]}";
    let error = crate::protocol::decode_request(line, &Default::default());
    assert_eq!(error, Err(refused(-1, "invalid request format")));
}

#[test]
fn missing_id_is_answered_under_id_minus_one() {
    assert_eq!(
        refusal(r#"{"request": "open"}"#),
        refused(-1, "missing request ID")
    );
}

#[test]
fn id_that_is_not_an_i64_is_refused_under_id_minus_one() {
    for id in ["\"3\"", "1.5", "null", "[1]", "9223372036854775808"] {
        let error = refusal(&format!(r#"{{"id": {id}, "request": "open"}}"#));
        assert_eq!(error.id, -1);
        assert_eq!(
            error.message,
            format!("invalid request field 'id': expected a signed 64-bit integer, got {id}")
        );
    }
}

#[test]
fn extreme_i64_ids_are_accepted() {
    for id in [i64::MIN, i64::MAX] {
        let line = format!(r#"{{"id": {id}, "request": "open"}}"#);
        assert_eq!(decode(&line).map(|r| r.id), Ok(id));
    }
}

#[test]
fn missing_request_field_is_answered_under_the_id() {
    assert_eq!(
        refusal(r#"{"id": 5, "arguments": []}"#),
        refused(5, "missing request field")
    );
}

#[test]
fn arguments_that_are_not_a_list_are_refused() {
    for arguments in ["5", "\"abc\"", "{\"a\": 1}", "null", "true", "1.5"] {
        let line = format!(r#"{{"id": 6, "request": "read_dp", "arguments": {arguments}}}"#);
        assert_eq!(
            refusal(&line),
            refused(6, "invalid request arguments format"),
            "{arguments}"
        );
    }
}

#[test]
fn arguments_format_is_checked_before_request_type() {
    let line = r#"{"id": 6, "request": "no_such_request", "arguments": 5}"#;
    assert_eq!(
        refusal(line),
        refused(6, "invalid request arguments format")
    );
}

#[test]
fn unknown_or_non_string_request_is_unknown_request_type() {
    for request in [
        "\"no_such_request\"",
        "\"READ_DP\"",
        "5",
        "null",
        "[\"open\"]",
    ] {
        let line = format!(r#"{{"id": 8, "request": {request}}}"#);
        assert_eq!(
            refusal(&line),
            refused(8, "unknown request type"),
            "{request}"
        );
    }
}

#[test]
fn wrong_argument_count_is_refused_before_argument_types() {
    for (request, arguments) in [
        ("open", "[1]"),
        ("read_dp", "[]"),
        ("read_dp", "[\"x\", \"y\"]"),
        ("write_mem", "[0, 0, 0]"),
        ("write_mem", "[0, 0, 0, 32, 0, 0, 0]"),
    ] {
        let line = format!(r#"{{"id": 2, "request": "{request}", "arguments": {arguments}}}"#);
        assert_eq!(
            refusal(&line),
            refused(2, "malformed request; invalid number of arguments"),
            "{request} {arguments}"
        );
    }
}

#[test]
fn deeply_nested_arguments_are_refused_without_overflowing_the_stack() {
    let depth = 100_000;
    let line = format!(
        r#"{{"id": 1, "request": "write_block8", "arguments": [0, 0, {}{}]}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    );
    let error = refusal(&line);
    assert_eq!(error.id, 1);
    assert!(
        error
            .message
            .starts_with("invalid argument 'data' of write_block8: element 0: "),
        "{}",
        error.message
    );
}
