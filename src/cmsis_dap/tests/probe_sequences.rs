//! `CmsisDapProbe` SWD and JTAG sequences and SWO capture, and what a
//! probe without them answers.

use super::mock::{connected_probe, Firmware, FULL};
use crate::probe::{DebugProbe, ProbeError, SwdSequence, SwdSequenceReply};

const SWD_ONLY_V1: Firmware = Firmware {
    packet_size: 64,
    packet_count: 1,
    capabilities: 0x01,
    version: "1.10",
};

#[test]
fn swd_sequences_go_out_and_return_what_was_read() {
    let (mut probe, script) = connected_probe(FULL);
    let sequences = [
        SwdSequence {
            cycles: 8,
            bits: Some(0xA5),
        },
        SwdSequence {
            cycles: 33,
            bits: None,
        },
    ];
    script.exchange(
        &[0x1D, 0x02, 0x08, 0xA5, 0xA1],
        &[0x1D, 0x00, 1, 2, 3, 4, 0x01],
    );
    assert_eq!(
        probe.swd_sequence(&sequences),
        Ok(SwdSequenceReply {
            status: 0,
            captured: vec![vec![1, 2, 3, 4, 0x01]],
        })
    );
    script.assert_done();
}

#[test]
fn swd_sequences_longer_than_a_packet_take_several_commands() {
    let (mut probe, script) = connected_probe(FULL);
    // Seven 64-cycle outputs of 9 bytes each do not fit 64 bytes with the header.
    let sequences = vec![
        SwdSequence {
            cycles: 64,
            bits: Some(0)
        };
        7
    ];
    let mut first = vec![0x1D, 0x06];
    (0..6).for_each(|_| first.extend([0x00, 0, 0, 0, 0, 0, 0, 0, 0]));
    script
        .exchange(&first, &[0x1D, 0x00])
        .exchange(&[0x1D, 0x01, 0x00, 0, 0, 0, 0, 0, 0, 0, 0], &[0x1D, 0x00]);
    let reply = probe.swd_sequence(&sequences).unwrap();
    assert_eq!(reply.status, 0);
    script.assert_done();
}

#[test]
fn a_failed_swd_sequence_passes_its_status_on() {
    let (mut probe, script) = connected_probe(FULL);
    let read = [SwdSequence {
        cycles: 8,
        bits: None,
    }];
    script.exchange(&[0x1D, 0x01, 0x88], &[0x1D, 0xFF]);
    assert_eq!(
        probe.swd_sequence(&read),
        Ok(SwdSequenceReply {
            status: 0xFF,
            captured: vec![],
        })
    );
    let too_long = [SwdSequence {
        cycles: 65,
        bits: None,
    }];
    assert!(matches!(
        probe.swd_sequence(&too_long),
        Err(ProbeError::InvalidArgument(_))
    ));
    script.assert_done();
}

#[test]
fn a_probe_before_protocol_1_2_has_no_swd_sequence_nor_jtag() {
    let (mut probe, script) = connected_probe(SWD_ONLY_V1);
    let read = [SwdSequence {
        cycles: 8,
        bits: None,
    }];
    assert_eq!(
        probe.swd_sequence(&read),
        Err(ProbeError::Unsupported("swd_sequence"))
    );
    assert_eq!(
        probe.jtag_sequence(8, false, true, 0),
        Err(ProbeError::Unsupported("jtag_sequence"))
    );
    assert_eq!(
        probe.swo_start(1_000_000),
        Err(ProbeError::Unsupported("SWO"))
    );
    assert_eq!(probe.swo_read(), Err(ProbeError::Unsupported("SWO")));
    script.assert_done();
}

#[test]
fn a_probe_that_answers_0xff_makes_the_request_unsupported_and_stays_usable() {
    let (mut probe, script) = connected_probe(FULL);
    script.exchange(&[0x1D, 0x01, 0x88], &[0xFF]);
    let read = [SwdSequence {
        cycles: 8,
        bits: None,
    }];
    assert_eq!(
        probe.swd_sequence(&read),
        Err(ProbeError::Unsupported("DAP_SWD_Sequence"))
    );
    script.exchange(&[0x05, 0x00, 0x01, 0x02], &[0x05, 0x01, 0x01, 1, 0, 0, 0]);
    assert_eq!(probe.read_dp(0), Ok(1));
    script.assert_done();
}

#[test]
fn jtag_sequence_returns_tdo_masked_to_its_cycles() {
    let (mut probe, script) = connected_probe(FULL);
    script.exchange(&[0x14, 0x01, 0x8C, 0x34, 0x12], &[0x14, 0x00, 0xFF, 0xFF]);
    assert_eq!(
        probe.jtag_sequence(12, false, true, 0x1234),
        Ok(Some(0x0FFF))
    );
    script.exchange(&[0x14, 0x01, 0x40, 1, 0, 0, 0, 0, 0, 0, 0], &[0x14, 0x00]);
    assert_eq!(probe.jtag_sequence(64, true, false, 1), Ok(None));
    script.assert_done();
}

#[test]
fn swo_start_configures_uart_capture_then_starts_it() {
    let (mut probe, script) = connected_probe(FULL);
    script
        .exchange(&[0x17, 0x01], &[0x17, 0x00])
        .exchange(&[0x18, 0x01], &[0x18, 0x00])
        .exchange(
            &[0x19, 0x40, 0x42, 0x0F, 0x00],
            &[0x19, 0x40, 0x42, 0x0F, 0x00],
        )
        .exchange(&[0x1A, 0x01], &[0x1A, 0x00]);
    probe.swo_start(1_000_000).unwrap();
    script.assert_done();
    // Restarting stops the running capture first.
    script
        .exchange(&[0x1A, 0x00], &[0x1A, 0x00])
        .exchange(&[0x17, 0x01], &[0x17, 0x00])
        .exchange(&[0x18, 0x01], &[0x18, 0x00])
        .exchange(
            &[0x19, 0x00, 0x00, 0x00, 0x10],
            &[0x19, 0x00, 0x00, 0x00, 0x00],
        );
    assert!(
        matches!(probe.swo_start(0x1000_0000), Err(ProbeError::Probe(m)) if m.contains("baud"))
    );
    script.exchange(&[0x1A, 0x00], &[0x1A, 0x00]);
    probe.swo_stop().unwrap();
    script.assert_done();
}

#[test]
fn swo_read_polls_until_the_probe_has_less_than_a_packet() {
    let (mut probe, script) = connected_probe(FULL);
    // 64-byte packets: at most 60 trace bytes per DAP_SWO_Data.
    let mut full = vec![0x1C, 0x01, 60, 0x00];
    full.extend([0x55; 60]);
    script
        .exchange(&[0x1C, 60, 0x00], &full)
        .exchange(&[0x1C, 60, 0x00], &[0x1C, 0x81, 0x02, 0x00, 0x01, 0x02]);
    let trace = probe.swo_read().unwrap();
    assert_eq!(trace.len(), 62);
    assert_eq!(trace[60..], [0x01, 0x02]);
    script.assert_done();
}
