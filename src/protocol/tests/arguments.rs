//! Arguments of the wrong type or range are status 1 with a message naming
//! the argument and the request.

use super::argument_error;
use crate::protocol::{decode_request, DecodeLimits};

fn check(request: &str, arguments: &str, message: &str) {
    assert_eq!(
        argument_error(request, arguments),
        message,
        "{request} {arguments}"
    );
}

#[test]
fn negative_address_is_refused() {
    check(
        "read_dp",
        "[-1]",
        "invalid argument 'addr' of read_dp: expected an unsigned 32-bit integer, got -1",
    );
}

#[test]
fn string_where_an_integer_belongs_is_refused() {
    check(
        "read_ap",
        r#"["0x4"]"#,
        r#"invalid argument 'addr' of read_ap: expected an unsigned 32-bit integer, got "0x4""#,
    );
    check(
        "hello",
        r#"["1"]"#,
        r#"invalid argument 'version' of hello: expected a signed 64-bit integer, got "1""#,
    );
}

#[test]
fn float_is_refused_even_when_whole() {
    check(
        "write_dp",
        "[4, 1.0]",
        "invalid argument 'data' of write_dp: expected an unsigned 32-bit integer, got 1.0",
    );
    check(
        "set_clock",
        "[1e6]",
        "invalid argument 'freq' of set_clock: expected an unsigned 32-bit integer, got 1e6",
    );
}

#[test]
fn integer_wider_than_its_field_is_refused() {
    check(
        "write_ap",
        "[4294967296, 0]",
        "invalid argument 'addr' of write_ap: expected an unsigned 32-bit integer, got 4294967296",
    );
    check(
        "read_mem",
        "[18446744073709551616, 0, 32]",
        "invalid argument 'handle' of read_mem: expected an unsigned 64-bit integer, \
         got 18446744073709551616",
    );
}

#[test]
fn non_boolean_is_refused_where_a_boolean_belongs() {
    for value in ["2", "\"true\"", "null"] {
        check(
            "assert_reset",
            &format!("[{value}]"),
            &format!(
                "invalid argument 'asserted' of assert_reset: expected a boolean, got {value}"
            ),
        );
    }
    check(
        "jtag_sequence",
        "[4, 2, true, 0]",
        "invalid argument 'tms' of jtag_sequence: expected a boolean, got 2",
    );
}

#[test]
fn non_string_is_refused_where_a_string_belongs() {
    check(
        "readprop",
        "[5]",
        "invalid argument 'name' of readprop: expected a string, got 5",
    );
    check(
        "connect",
        "[null]",
        "invalid argument 'protocol' of connect: expected a string, got null",
    );
}

#[test]
fn unknown_protocol_name_gets_pyocds_message() {
    check("connect", r#"["swd"]"#, "invalid protocol name swd");
}

#[test]
fn swj_sequence_longer_than_256_bits_is_refused() {
    check(
        "swj_sequence",
        "[257, 0]",
        "invalid argument 'length' of swj_sequence: expected an integer from 0 to 256, got 257",
    );
    let two_to_the_256 =
        "115792089237316195423570985008687907853269984665640564039457584007913129639936";
    assert_eq!(
        argument_error("swj_sequence", &format!("[256, {two_to_the_256}]")),
        "invalid argument 'bits' of swj_sequence: expected a non-negative integer of at most \
         256 bits, got 1157920892373161954235709850086879078532..."
    );
    check(
        "swj_sequence",
        "[8, -1]",
        "invalid argument 'bits' of swj_sequence: expected a non-negative integer of at most \
         256 bits, got -1",
    );
}

#[test]
fn swd_sequence_elements_are_checked() {
    let cases = [
        (
            "[[[0]]]",
            "sequence 0: cycles: expected an integer from 1 to 64, got 0",
        ),
        (
            "[[[8], [65, 0]]]",
            "sequence 1: cycles: expected an integer from 1 to 64, got 65",
        ),
        (
            "[[[8, -1]]]",
            "sequence 0: bits: expected an unsigned 64-bit integer, got -1",
        ),
        (
            "[[[8, 1, 2]]]",
            "sequence 0: expected [cycles] or [cycles, bits], got [8, 1, 2]",
        ),
        (
            "[[[]]]",
            "sequence 0: expected [cycles] or [cycles, bits], got []",
        ),
        (
            "[[8]]",
            "sequence 0: expected [cycles] or [cycles, bits], got 8",
        ),
        ("[8]", "expected a list, got 8"),
    ];
    for (arguments, problem) in cases {
        check(
            "swd_sequence",
            arguments,
            &format!("invalid argument 'sequences' of swd_sequence: {problem}"),
        );
    }
}

#[test]
fn jtag_sequence_cycles_must_be_1_to_64() {
    check(
        "jtag_sequence",
        "[0, 0, false, 0]",
        "invalid argument 'cycles' of jtag_sequence: expected an integer from 1 to 64, got 0",
    );
}

#[test]
fn transfer_size_must_be_8_16_or_32() {
    check(
        "read_mem",
        "[0, 0, 64]",
        "invalid argument 'xfer_size' of read_mem: expected 8, 16 or 32, got 64",
    );
}

#[test]
fn write_mem_value_must_fit_its_transfer_size() {
    check(
        "write_mem",
        "[0, 0, 256, 8]",
        "invalid argument 'value' of write_mem: 0x100 does not fit in the transfer size of 8 bits",
    );
    check(
        "write_mem",
        "[0, 0, 65536, 16]",
        "invalid argument 'value' of write_mem: 0x10000 does not fit in the transfer size of \
         16 bits",
    );
}

#[test]
fn block32_address_must_be_word_aligned() {
    check(
        "read_block32",
        "[0, 2, 1]",
        "invalid argument 'addr' of read_block32: expected a 4-aligned address, got 0x2",
    );
}

#[test]
fn ap_address_version_must_be_1_or_2() {
    check(
        "get_memory_interface_for_ap",
        "[3, 0]",
        "invalid argument 'ap_address_version' of get_memory_interface_for_ap: expected an \
         integer from 1 to 2, got 3",
    );
}

#[test]
fn write_block8_element_must_be_a_byte() {
    check(
        "write_block8",
        "[0, 0, [1, 2, 256]]",
        "invalid argument 'data' of write_block8: element 2: expected an integer from 0 to 255, \
         got 256",
    );
    check(
        "write_block8",
        "[0, 0, \"abc\"]",
        "invalid argument 'data' of write_block8: expected a list, got \"abc\"",
    );
}

fn small_limit_error(request: &str, arguments: &str) -> Option<String> {
    let limits = DecodeLimits {
        max_block_elements: 4,
    };
    let line = format!(r#"{{"id": 1, "request": "{request}", "arguments": {arguments}}}"#);
    decode_request(line.as_bytes(), &limits)
        .err()
        .map(|e| e.message)
}

#[test]
fn block_limit_bounds_every_count_and_list() {
    let cases = [
        (
            "read_block32",
            "[0, 0, 5]",
            "[0, 0, 4]",
            "'word_count' of read_block32: 5 exceeds the limit of 4 elements",
        ),
        (
            "read_block8",
            "[0, 0, 5]",
            "[0, 0, 4]",
            "'byte_count' of read_block8: 5 exceeds the limit of 4 elements",
        ),
        (
            "read_ap_multiple",
            "[0, 5]",
            "[0, 4]",
            "'count' of read_ap_multiple: 5 exceeds the limit of 4 elements",
        ),
        (
            "write_block32",
            "[0, 0, [1, 2, 3, 4, 5]]",
            "[0, 0, [1, 2, 3, 4]]",
            "'data' of write_block32: more than 4 elements",
        ),
        (
            "write_block8",
            "[0, 0, [1, 2, 3, 4, 5]]",
            "[0, 0, [1, 2, 3, 4]]",
            "'data' of write_block8: more than 4 elements",
        ),
        (
            "write_ap_multiple",
            "[0, [1, 2, 3, 4, 5]]",
            "[0, [1, 2, 3, 4]]",
            "'data' of write_ap_multiple: more than 4 elements",
        ),
        (
            "swd_sequence",
            "[[[1], [1], [1], [1], [1]]]",
            "[[[1], [1], [1], [1]]]",
            "'sequences' of swd_sequence: more than 4 elements",
        ),
    ];
    for (request, over, at_limit, message) in cases {
        let expected = format!("invalid argument {message}");
        assert_eq!(
            small_limit_error(request, over),
            Some(expected),
            "{request}"
        );
        assert_eq!(
            small_limit_error(request, at_limit),
            None,
            "{request} at the limit"
        );
    }
}

#[test]
fn long_values_are_cut_short_in_messages() {
    let long_string = format!("\"{}\"", "é".repeat(1000));
    let message = argument_error("read_dp", &format!("[{long_string}]"));
    assert!(
        message.ends_with(&format!("got \"{}...", "é".repeat(39))),
        "{message}"
    );
}

#[test]
fn list_element_with_commas_and_brackets_in_a_string_stays_whole() {
    check(
        "write_ap_multiple",
        r#"[0, [1, "a,]\",[", 2]]"#,
        r#"invalid argument 'data' of write_ap_multiple: element 1: expected an unsigned 32-bit integer, got "a,]\",[""#,
    );
    check(
        "write_block32",
        r#"[0, 0, [1, [2, 3], {"k": [4, 5]}]]"#,
        "invalid argument 'data' of write_block32: element 1: expected an unsigned 32-bit \
         integer, got [2, 3]",
    );
}

#[test]
fn first_bad_argument_is_the_one_reported() {
    check(
        "read_mem",
        r#"["h", -1, 64]"#,
        r#"invalid argument 'handle' of read_mem: expected an unsigned 64-bit integer, got "h""#,
    );
    check(
        "write_mem",
        r#"[-1, -1, -1, 64]"#,
        "invalid argument 'handle' of write_mem: expected an unsigned 64-bit integer, got -1",
    );
}
