//! Byte layouts of DAP_Transfer, DAP_TransferBlock, DAP_SWD_Sequence and
//! DAP_JTAG_Sequence, written out from the CMSIS-DAP specification.

use crate::cmsis_dap::commands::sequence::{JtagSequence, JtagSequences, SwdSequences};
use crate::cmsis_dap::commands::transfer::*;
use crate::cmsis_dap::commands::{DapCommand, ReplyError};
use crate::probe::{SwdSequence, SwdSequenceReply};

#[test]
fn request_bytes_hold_port_direction_and_a32() {
    assert_eq!(Register::dp(0x0).request_byte(true), 0x02);
    assert_eq!(Register::dp(0x8).request_byte(false), 0x08);
    assert_eq!(Register::ap(0xC).request_byte(true), 0x0F);
    assert_eq!(Register::ap(0x4).request_byte(false), 0x05);
    assert_eq!(describe_request(0x0F), "AP read 0xc");
    assert_eq!(describe_request(0x04), "DP write 0x4");
}

#[test]
fn transfer_mixes_reads_and_writes() {
    let transfer = Transfer {
        requests: vec![
            TransferRequest::write(Register::dp(0x8), 0x0000_00F0),
            TransferRequest::read(Register::ap(0xC)),
            TransferRequest::read(Register::dp(0x0)),
        ],
    };
    assert_eq!(
        transfer.request(),
        [0x05, 0x00, 0x03, 0x08, 0xF0, 0x00, 0x00, 0x00, 0x0F, 0x02]
    );
    let reply = [
        0x05, 0x03, 0x01, 0x11, 0x00, 0x77, 0x04, 0x77, 0x14, 0xA0, 0x2B,
    ];
    assert_eq!(
        transfer.parse_reply(&reply),
        Ok(TransferReply {
            count: 3,
            response: 0x01,
            data: vec![0x0477_0011, 0x2BA0_1477],
        })
    );
}

#[test]
fn transfer_reply_missing_read_data_is_an_error() {
    let transfer = Transfer {
        requests: vec![TransferRequest::read(Register::dp(0x0))],
    };
    assert!(matches!(
        transfer.parse_reply(&[0x05, 0x01, 0x01, 0x77, 0x14]),
        Err(ReplyError::Short { .. })
    ));
    assert!(matches!(
        transfer.parse_reply(&[0x05, 0x02, 0x01, 0, 0, 0, 0, 0, 0, 0, 0]),
        Err(ReplyError::Malformed { .. })
    ));
}

#[test]
fn failed_transfer_reports_count_and_response_without_data() {
    let transfer = Transfer {
        requests: vec![
            TransferRequest::write(Register::ap(0x4), 1),
            TransferRequest::read(Register::ap(0xC)),
        ],
    };
    let reply = transfer.parse_reply(&[0x05, 0x01, 0x04]).unwrap();
    assert_eq!(reply.count, 1);
    assert!(!reply.completed(2));
    assert_eq!(check_response(reply.response), Err(AckError::Fault));
}

#[test]
fn response_bytes_classify_every_ack() {
    assert_eq!(check_response(0x01), Ok(()));
    assert_eq!(check_response(0x02), Err(AckError::Wait));
    assert_eq!(check_response(0x04), Err(AckError::Fault));
    assert_eq!(check_response(0x07), Err(AckError::NoAck));
    assert_eq!(check_response(0x09), Err(AckError::Protocol));
    assert_eq!(check_response(0x08), Err(AckError::Protocol));
    assert_eq!(check_response(0x11), Err(AckError::ValueMismatch));
    assert_eq!(check_response(0x03), Err(AckError::Invalid(3)));
}

#[test]
fn transfer_block_write_layout() {
    let block = TransferBlock {
        register: Register::ap(0xC),
        access: BlockAccess::Write(vec![0x1122_3344, 0x5566_7788]),
    };
    assert_eq!(
        block.request(),
        [0x06, 0x00, 0x02, 0x00, 0x0D, 0x44, 0x33, 0x22, 0x11, 0x88, 0x77, 0x66, 0x55]
    );
    let reply = block.parse_reply(&[0x06, 0x02, 0x00, 0x01]).unwrap();
    assert!(reply.completed(2));
    assert!(reply.data.is_empty());
}

#[test]
fn transfer_block_read_layout() {
    let block = TransferBlock {
        register: Register::ap(0xC),
        access: BlockAccess::Read(0x0102),
    };
    assert_eq!(block.request(), [0x06, 0x00, 0x02, 0x01, 0x0F]);
    let small = TransferBlock {
        register: Register::ap(0xC),
        access: BlockAccess::Read(2),
    };
    let reply = small
        .parse_reply(&[0x06, 0x02, 0x00, 0x01, 1, 0, 0, 0, 2, 0, 0, 0])
        .unwrap();
    assert_eq!(reply.data, [1, 2]);
    assert!(small
        .parse_reply(&[0x06, 0x02, 0x00, 0x01, 1, 0, 0, 0])
        .is_err());
    assert!(small.parse_reply(&[0x06, 0x03, 0x00, 0x01]).is_err());
    let wait = small.parse_reply(&[0x06, 0x00, 0x00, 0x02]).unwrap();
    assert_eq!((wait.count, wait.response), (0, 0x02));
}

#[test]
fn swd_sequence_layout_outputs_then_inputs() {
    let sequences = SwdSequences::new(vec![
        SwdSequence {
            cycles: 12,
            bits: Some(0x0ABC),
        },
        SwdSequence {
            cycles: 64,
            bits: None,
        },
        SwdSequence {
            cycles: 3,
            bits: None,
        },
    ])
    .unwrap();
    assert_eq!(
        sequences.request(),
        [0x1D, 0x03, 0x0C, 0xBC, 0x0A, 0x80, 0x83]
    );
    let reply = [0x1D, 0x00, 1, 2, 3, 4, 5, 6, 7, 8, 0x05];
    assert_eq!(
        sequences.parse_reply(&reply),
        Ok(SwdSequenceReply {
            status: 0,
            captured: vec![vec![1, 2, 3, 4, 5, 6, 7, 8], vec![0x05]],
        })
    );
    assert!(sequences.parse_reply(&reply[..6]).is_err());
    let failed = sequences.parse_reply(&[0x1D, 0xFF]).unwrap();
    assert_eq!((failed.status, failed.captured.len()), (0xFF, 0));
}

#[test]
fn swd_sequences_need_1_to_64_cycles_and_split_to_fit_packets() {
    let sequence = |cycles, bits| SwdSequence { cycles, bits };
    assert!(SwdSequences::new(vec![sequence(0, None)]).is_err());
    assert!(SwdSequences::new(vec![sequence(65, Some(0))]).is_err());
    // 16-byte packets: 2 header bytes + two 64-cycle outputs of 9 bytes do not fit.
    let outputs = [sequence(64, Some(u64::MAX)), sequence(64, Some(0))];
    let split = SwdSequences::split(&outputs, 16).unwrap();
    assert_eq!(split.len(), 2);
    assert_eq!(
        split[1].request(),
        [0x1D, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0]
    );
    let inputs = [sequence(8, None), sequence(8, None), sequence(8, None)];
    assert_eq!(SwdSequences::split(&inputs, 16).unwrap().len(), 1);
    assert!(SwdSequences::split(&[sequence(70, None)], 64).is_err());
}

#[test]
fn jtag_sequence_layout_with_tms_and_capture() {
    let sequences = JtagSequences::new(vec![
        JtagSequence {
            cycles: 5,
            tms: true,
            capture_tdo: false,
            tdi: 0x1F,
        },
        JtagSequence {
            cycles: 12,
            tms: false,
            capture_tdo: true,
            tdi: 0x0123,
        },
    ])
    .unwrap();
    assert_eq!(
        sequences.request(),
        [0x14, 0x02, 0x45, 0x1F, 0x8C, 0x23, 0x01]
    );
    assert_eq!(
        sequences.parse_reply(&[0x14, 0x00, 0x34, 0x02]),
        Ok(vec![0x0234])
    );
    assert!(sequences.parse_reply(&[0x14, 0x00, 0x34]).is_err());
    assert!(sequences.parse_reply(&[0x14, 0xFF, 0x34, 0x02]).is_err());
}
