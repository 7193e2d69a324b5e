//! Every request kind decodes into its command, with pyOCD's argument
//! shapes.

use super::command;
use crate::events::EventKind;
use crate::memap::MemoryOp;
use crate::probe::{Op, ProtocolRequest, SwdSequence, WireProtocol};
use crate::protocol::commands::request_names;
use crate::protocol::Command;
use std::collections::BTreeSet;

fn line(request: &str, arguments: &str) -> String {
    format!(r#"{{"id": 1, "request": "{request}", "arguments": {arguments}}}"#)
}

fn decoded(request: &str, arguments: &str) -> Command {
    command(&line(request, arguments))
}

fn memory(handle: u64, op: MemoryOp) -> Command {
    Command::Memory { handle, op }
}

#[test]
fn every_request_kind_decodes_to_its_command() {
    use Command::Probe;
    let cases = [
        ("hello", "[1]", Command::Hello { version: 1 }),
        (
            "readprop",
            r#"["vendor_name"]"#,
            Command::ReadProp {
                name: "vendor_name".into(),
            },
        ),
        ("open", "[]", Probe(Op::Open)),
        ("close", "[]", Probe(Op::Close)),
        ("lock", "[]", Command::Lock),
        ("unlock", "[]", Command::Unlock),
        (
            "connect",
            r#"["SWD"]"#,
            Probe(Op::Connect(ProtocolRequest::Specific(WireProtocol::Swd))),
        ),
        ("disconnect", "[]", Probe(Op::Disconnect)),
        (
            "swj_sequence",
            "[16, 59196]",
            Probe(Op::SwjSequence {
                bit_count: 16,
                bits: vec![0x3c, 0xe7],
            }),
        ),
        (
            "swd_sequence",
            "[[[8, 255], [3]]]",
            Probe(Op::SwdSequence(vec![
                SwdSequence {
                    cycles: 8,
                    bits: Some(0xff),
                },
                SwdSequence {
                    cycles: 3,
                    bits: None,
                },
            ])),
        ),
        (
            "jtag_sequence",
            "[6, 1, false, 63]",
            Probe(Op::JtagSequence {
                cycles: 6,
                tms: true,
                read_tdo: false,
                tdi: 0x3f,
            }),
        ),
        ("set_clock", "[1000000]", Probe(Op::SetClock(1_000_000))),
        ("reset", "[]", Probe(Op::Reset)),
        ("assert_reset", "[true]", Probe(Op::AssertReset(true))),
        ("is_reset_asserted", "[]", Probe(Op::IsResetAsserted)),
        ("flush", "[]", Probe(Op::Flush)),
        ("read_dp", "[0]", Probe(Op::ReadDp(0))),
        (
            "write_dp",
            "[4, 1342177280]",
            Probe(Op::WriteDp {
                addr: 4,
                value: 0x5000_0000,
            }),
        ),
        ("read_ap", "[16777468]", Probe(Op::ReadAp(0x0100_00fc))),
        (
            "write_ap",
            "[0, 4294967295]",
            Probe(Op::WriteAp {
                addr: 0,
                value: u32::MAX,
            }),
        ),
        (
            "read_ap_multiple",
            "[12, 3]",
            Probe(Op::ReadApMultiple { addr: 12, count: 3 }),
        ),
        (
            "write_ap_multiple",
            "[12, [1, 2, 3]]",
            Probe(Op::WriteApMultiple {
                addr: 12,
                values: vec![1, 2, 3],
            }),
        ),
        (
            "get_memory_interface_for_ap",
            "[1, 0]",
            Command::GetMemoryInterface {
                ap_address_version: 1,
                ap_nominal_address: 0,
            },
        ),
        ("swo_start", "[2000000]", Probe(Op::SwoStart(2_000_000))),
        ("swo_stop", "[]", Probe(Op::SwoStop)),
        ("swo_read", "[]", Probe(Op::SwoRead)),
        ("has_swo", "[]", Probe(Op::HasSwo)),
        (
            "read_mem",
            "[0, 536870912, 16]",
            memory(
                0,
                MemoryOp::Read {
                    addr: 0x2000_0000,
                    size: 16,
                },
            ),
        ),
        (
            "write_mem",
            "[1, 536870913, 171, 8]",
            memory(
                1,
                MemoryOp::Write {
                    addr: 0x2000_0001,
                    value: 0xab,
                    size: 8,
                },
            ),
        ),
        (
            "read_block32",
            "[0, 536870912, 256]",
            memory(
                0,
                MemoryOp::ReadBlock32 {
                    addr: 0x2000_0000,
                    count: 256,
                },
            ),
        ),
        (
            "write_block32",
            "[0, 4, [4294967295, 0]]",
            memory(
                0,
                MemoryOp::WriteBlock32 {
                    addr: 4,
                    data: vec![u32::MAX, 0],
                },
            ),
        ),
        (
            "read_block8",
            "[2, 3, 5]",
            memory(2, MemoryOp::ReadBlock8 { addr: 3, count: 5 }),
        ),
        (
            "write_block8",
            "[2, 3, [0, 255, 7]]",
            memory(
                2,
                MemoryOp::WriteBlock8 {
                    addr: 3,
                    data: vec![0, 255, 7],
                },
            ),
        ),
        (
            "subscribe",
            r#"[["target", "lock", "target"]]"#,
            Command::Subscribe {
                kinds: [EventKind::Target, EventKind::Lock].into_iter().collect(),
            },
        ),
        (
            "probeshare_features",
            r#"[["memory_handles", "later"]]"#,
            Command::Features {
                names: vec!["memory_handles".into(), "later".into()],
            },
        ),
    ];
    for (request, arguments, expected) in &cases {
        let command = decoded(request, arguments);
        assert_eq!(&command, expected, "{request} {arguments}");
        assert_eq!(command.name(), *request, "the command names its request");
    }
    let tested: BTreeSet<_> = cases.iter().map(|(request, _, _)| *request).collect();
    let known: BTreeSet<_> = request_names().collect();
    assert_eq!(tested, known, "every request kind has a case");
}

#[test]
fn connect_accepts_pyocd_protocol_names() {
    let connect = |name| decoded("connect", &format!("[\"{name}\"]"));
    assert_eq!(
        connect("DEFAULT"),
        Command::Probe(Op::Connect(ProtocolRequest::Default))
    );
    assert_eq!(
        connect("JTAG"),
        Command::Probe(Op::Connect(ProtocolRequest::Specific(WireProtocol::Jtag)))
    );
}

#[test]
fn dormant_wakeup_as_one_136_bit_integer_decodes_lsb_first() {
    // pyOCD's swj_sequence(136, 0x19bc0ea2e3ddafe986852d956209f392ff).
    let command = decoded(
        "swj_sequence",
        "[136, 8757030032190802792567494178692171797247]",
    );
    let bits = vec![
        0xff, 0x92, 0xf3, 0x09, 0x62, 0x95, 0x2d, 0x85, 0x86, 0xe9, 0xaf, 0xdd, 0xe3, 0xa2, 0x0e,
        0xbc, 0x19,
    ];
    assert_eq!(
        command,
        Command::Probe(Op::SwjSequence {
            bit_count: 136,
            bits
        })
    );
}

#[test]
fn swj_bits_beyond_length_are_dropped_like_pyocd_line_reset() {
    // pyOCD's line reset: swj_sequence(51, 0xffffffffffffff), 56 ones.
    let command = decoded("swj_sequence", "[51, 72057594037927935]");
    let bits = vec![0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x07];
    assert_eq!(
        command,
        Command::Probe(Op::SwjSequence {
            bit_count: 51,
            bits
        })
    );
}

#[test]
fn swj_sequence_of_256_bits_and_of_none() {
    let all_ones = "115792089237316195423570985008687907853269984665640564039457584007913129639935";
    let command = decoded("swj_sequence", &format!("[256, {all_ones}]"));
    let expected = Op::SwjSequence {
        bit_count: 256,
        bits: vec![0xff; 32],
    };
    assert_eq!(command, Command::Probe(expected));
    let command = decoded("swj_sequence", "[0, 0]");
    assert_eq!(
        command,
        Command::Probe(Op::SwjSequence {
            bit_count: 0,
            bits: vec![]
        })
    );
}

#[test]
fn sequence_bits_beyond_cycles_are_dropped() {
    let command = decoded("swd_sequence", "[[[4, 255], [64, 18446744073709551615]]]");
    let expected = Op::SwdSequence(vec![
        SwdSequence {
            cycles: 4,
            bits: Some(0x0f),
        },
        SwdSequence {
            cycles: 64,
            bits: Some(u64::MAX),
        },
    ]);
    assert_eq!(command, Command::Probe(expected));
    let command = decoded("jtag_sequence", "[1, 0, true, 3]");
    let expected = Op::JtagSequence {
        cycles: 1,
        tms: false,
        read_tdo: true,
        tdi: 1,
    };
    assert_eq!(command, Command::Probe(expected));
}

#[test]
fn integers_zero_and_one_are_booleans_as_python_sends_them() {
    // pyOCD's STM32H7 targets call assert_reset(1) and assert_reset(0).
    assert_eq!(
        decoded("assert_reset", "[1]"),
        Command::Probe(Op::AssertReset(true))
    );
    assert_eq!(
        decoded("assert_reset", "[0]"),
        Command::Probe(Op::AssertReset(false))
    );
    assert_eq!(
        decoded("assert_reset", "[false]"),
        Command::Probe(Op::AssertReset(false))
    );
}

#[test]
fn hello_keeps_any_version_for_the_server_to_judge() {
    assert_eq!(decoded("hello", "[2]"), Command::Hello { version: 2 });
    assert_eq!(decoded("hello", "[-1]"), Command::Hello { version: -1 });
}

#[test]
fn readprop_name_with_escapes_is_unescaped() {
    let command = decoded("readprop", r#"["unique\u005fid"]"#);
    assert_eq!(
        command,
        Command::ReadProp {
            name: "unique_id".into()
        }
    );
}

#[test]
fn megabyte_write_block8_decodes_whole() {
    let count = 1 << 20;
    let data: Vec<String> = (0..count).map(|i| (i % 256).to_string()).collect();
    let arguments = format!("[0, 536870912, [{}]]", data.join(", "));
    let Command::Memory {
        op: MemoryOp::WriteBlock8 { data, .. },
        ..
    } = decoded("write_block8", &arguments)
    else {
        panic!("write_block8 decoded to something else");
    };
    assert_eq!(data.len(), count);
    assert!(data
        .iter()
        .enumerate()
        .all(|(i, &b)| usize::from(b) == i % 256));
}

#[test]
fn lists_may_be_empty_or_spread_over_json_whitespace() {
    let command = decoded("write_block32", "[0, 0, [ ]]");
    assert_eq!(
        command,
        memory(
            0,
            MemoryOp::WriteBlock32 {
                addr: 0,
                data: vec![]
            }
        )
    );
    let command = decoded("write_ap_multiple", "[ 4 ,[\t1 ,\r\n2\n] ]");
    let expected = Op::WriteApMultiple {
        addr: 4,
        values: vec![1, 2],
    };
    assert_eq!(command, Command::Probe(expected));
}

#[test]
fn subscribe_names_an_unknown_kind_and_refuses_an_empty_list() {
    let refused = |arguments: &str| super::refusal(&line("subscribe", arguments)).message;
    assert_eq!(
        refused(r#"[["target", "halts"]]"#),
        "invalid argument 'kinds' of subscribe: element 1: unknown event kind 'halts' \
         (expected one of probe, client, lock, session, target)"
    );
    assert_eq!(
        refused("[[]]"),
        "invalid argument 'kinds' of subscribe: expected at least one event kind"
    );
    assert!(refused(r#"[[7]]"#).contains("element 0: expected a string, got 7"));
    assert!(refused(r#"["target"]"#).contains("expected a list"));
}

#[test]
fn probeshare_features_takes_a_list_of_at_most_64_strings() {
    assert_eq!(
        decoded("probeshare_features", "[[]]"),
        Command::Features { names: Vec::new() }
    );
    let error = |arguments: &str| {
        crate::protocol::decode_request(
            line("probeshare_features", arguments).as_bytes(),
            &crate::protocol::DecodeLimits::default(),
        )
        .unwrap_err()
        .message
    };
    assert_eq!(
        error("[[1]]"),
        "invalid argument 'features' of probeshare_features: element 0: expected a string, got 1"
    );
    assert_eq!(
        error(r#"["memory_handles"]"#),
        "invalid argument 'features' of probeshare_features: expected a list, got \"memory_handles\""
    );
    let too_many = format!("[[{}]]", vec!["\"x\""; 65].join(","));
    assert_eq!(
        error(&too_many),
        "invalid argument 'features' of probeshare_features: more than 64 elements"
    );
}
