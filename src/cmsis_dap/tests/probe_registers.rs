//! `CmsisDapProbe` register access: addresses, the SELECT cache, blocks,
//! and which request a deferred error reaches.

use super::mock::{connected_probe, FULL};
use crate::probe::{DebugProbe, ProbeError, SwdSequence};

/// APSEL 1, bank 0xF0, register 0xC (IDR of AP 1).
const AP1_IDR: u32 = 0x0100_00FC;

#[test]
fn reading_dpidr_is_one_transfer() {
    let (mut probe, script) = connected_probe(FULL);
    script.exchange(
        &[0x05, 0x00, 0x01, 0x02],
        &[0x05, 0x01, 0x01, 0x77, 0x14, 0xA0, 0x2B],
    );
    assert_eq!(probe.read_dp(0x0), Ok(0x2BA0_1477));
    script.assert_done();
}

#[test]
fn select_is_written_only_when_the_ap_or_bank_changes() {
    let (mut probe, script) = connected_probe(FULL);
    script.exchange(
        &[0x05, 0x00, 0x02, 0x08, 0xF0, 0x00, 0x00, 0x01, 0x0F],
        &[0x05, 0x02, 0x01, 0x11, 0x00, 0x77, 0x04],
    );
    assert_eq!(probe.read_ap(AP1_IDR), Ok(0x0477_0011));
    script.exchange(
        &[0x05, 0x00, 0x01, 0x0F],
        &[0x05, 0x01, 0x01, 0x11, 0x00, 0x77, 0x04],
    );
    assert_eq!(probe.read_ap(AP1_IDR), Ok(0x0477_0011));
    // AP 0, bank 0: SELECT changes again.
    script.exchange(
        &[0x05, 0x00, 0x02, 0x08, 0, 0, 0, 0, 0x03],
        &[0x05, 0x02, 0x01, 0x52, 0x00, 0x00, 0x23],
    );
    assert_eq!(probe.read_ap(0x0), Ok(0x2300_0052));
    script.assert_done();
}

#[test]
fn a_clients_own_select_write_keeps_the_cache_coherent() {
    let (mut probe, script) = connected_probe(FULL);
    probe.write_dp(0x8, 0x0100_00F1).unwrap();
    script.exchange(
        &[0x05, 0x00, 0x02, 0x08, 0xF1, 0x00, 0x00, 0x01, 0x0F],
        &[0x05, 0x02, 0x01, 0, 0, 0, 0],
    );
    assert_eq!(probe.read_ap(AP1_IDR), Ok(0));
    // Another AP keeps DPBANKSEL 1 that the client chose.
    script.exchange(
        &[0x05, 0x00, 0x02, 0x08, 0x01, 0x00, 0x00, 0x02, 0x03],
        &[0x05, 0x02, 0x01, 0, 0, 0, 0],
    );
    assert_eq!(probe.read_ap(0x0200_0000), Ok(0));
    script.assert_done();
}

#[test]
fn a_transfer_error_forgets_select() {
    let (mut probe, script) = connected_probe(FULL);
    let select_and_read = [0x05, 0x00, 0x02, 0x08, 0xF0, 0x00, 0x00, 0x01, 0x0F];
    script.exchange(&select_and_read, &[0x05, 0x00, 0x04]);
    assert!(
        matches!(probe.read_ap(AP1_IDR), Err(ProbeError::TransferFault(m)) if m.contains("DP write 0x8"))
    );
    script.exchange(&select_and_read, &[0x05, 0x02, 0x01, 1, 0, 0, 0]);
    assert_eq!(probe.read_ap(AP1_IDR), Ok(1));
    script.assert_done();
}

#[test]
fn swj_and_swd_sequences_forget_select() {
    let (mut probe, script) = connected_probe(FULL);
    let select_and_read = [0x05, 0x00, 0x02, 0x08, 0xF0, 0x00, 0x00, 0x01, 0x0F];
    let idr = [0x05, 0x02, 0x01, 0x11, 0x00, 0x77, 0x04];
    script.exchange(&select_and_read, &idr);
    assert_eq!(probe.read_ap(AP1_IDR), Ok(0x0477_0011));
    // A line reset: SELECT is written again before the next AP access.
    script.exchange(&[0x12, 0x08, 0xFF], &[0x12, 0x00]);
    probe.swj_sequence(8, &[0xFF]).unwrap();
    script.exchange(&select_and_read, &idr);
    assert_eq!(probe.read_ap(AP1_IDR), Ok(0x0477_0011));
    // So after an SWD sequence (a multi-drop selection, say).
    script.exchange(&[0x1D, 0x01, 0x08, 0x00], &[0x1D, 0x00]);
    let idle = SwdSequence {
        cycles: 8,
        bits: Some(0),
    };
    probe.swd_sequence(&[idle]).unwrap();
    script.exchange(&select_and_read, &idr);
    assert_eq!(probe.read_ap(AP1_IDR), Ok(0x0477_0011));
    script.assert_done();
}

#[test]
fn bad_register_addresses_are_invalid_arguments() {
    let (mut probe, script) = connected_probe(FULL);
    assert!(matches!(
        probe.read_dp(0x2),
        Err(ProbeError::InvalidArgument(_))
    ));
    assert!(matches!(
        probe.read_dp(0x100),
        Err(ProbeError::InvalidArgument(_))
    ));
    assert!(matches!(
        probe.write_ap(0x0001_0000, 0),
        Err(ProbeError::InvalidArgument(_))
    ));
    assert!(matches!(
        probe.read_ap_multiple(0x1, 4),
        Err(ProbeError::InvalidArgument(_))
    ));
    script.assert_done();
}

#[test]
fn a_dp_bank_in_bits_7_4_is_selected_when_it_changes() {
    let (mut probe, script) = connected_probe(FULL);
    // DLPIDR: SELECT.DPBANKSEL = 3, then A[3:2] = 0x4.
    script.exchange(
        &[0x05, 0x00, 0x02, 0x08, 0x03, 0, 0, 0, 0x06],
        &[0x05, 0x02, 0x01, 1, 0, 0, 0],
    );
    assert_eq!(probe.read_dp(0x34), Ok(1));
    script.exchange(&[0x05, 0x00, 0x01, 0x06], &[0x05, 0x01, 0x01, 1, 0, 0, 0]);
    assert_eq!(probe.read_dp(0x34), Ok(1), "bank 3 already selected");
    // CTRL/STAT is bank 0 again; DPIDR, RDBUFF and ABORT are not banked.
    script
        .exchange(
            &[0x05, 0x00, 0x02, 0x08, 0, 0, 0, 0, 0x06],
            &[0x05, 0x02, 0x01, 0, 0, 0, 0xF0],
        )
        .exchange(
            &[0x05, 0x00, 0x01, 0x02],
            &[0x05, 0x01, 0x01, 0x77, 0x14, 0xA0, 0x2B],
        );
    assert_eq!(probe.read_dp(0x4), Ok(0xF000_0000));
    assert_eq!(probe.read_dp(0x0), Ok(0x2BA0_1477));
    script.assert_done();
}

#[test]
fn ap_multiple_accesses_use_transfer_blocks() {
    let (mut probe, script) = connected_probe(FULL);
    script
        .write(&[0x05, 0x00, 0x01, 0x08, 0, 0, 0, 0])
        .write(&[0x06, 0x00, 0x02, 0x00, 0x0F])
        .reply(&[0x05, 0x01, 0x01])
        .reply(&[0x06, 0x02, 0x00, 0x01, 5, 0, 0, 0, 6, 0, 0, 0]);
    assert_eq!(probe.read_ap_multiple(0xC, 2), Ok(vec![5, 6]));
    // A block write goes out at once; its reply is read at the flush.
    script.write(&[0x06, 0x00, 0x02, 0x00, 0x0D, 7, 0, 0, 0, 8, 0, 0, 0]);
    probe.write_ap_multiple(0xC, &[7, 8]).unwrap();
    script.assert_done();
    script.reply(&[0x06, 0x02, 0x00, 0x01]);
    probe.flush().unwrap();
    script.assert_done();
}

#[test]
fn a_deferred_write_error_is_reported_by_the_next_command_which_is_not_sent() {
    let (mut probe, script) = connected_probe(FULL);
    probe.write_dp(0x0, 0x1E).unwrap();
    script.exchange(
        &[0x05, 0x00, 0x01, 0x00, 0x1E, 0, 0, 0],
        &[0x05, 0x00, 0x07],
    );
    let error = probe.swj_sequence(8, &[0xFF]).unwrap_err();
    assert!(
        matches!(&error, ProbeError::Transfer(m) if m.contains("earlier request")),
        "{error:?}"
    );
    script.exchange(&[0x12, 0x08, 0xFF], &[0x12, 0x00]);
    probe.swj_sequence(8, &[0xFF]).unwrap();
    script.assert_done();
}

#[test]
fn flush_reports_a_deferred_error_once() {
    let (mut probe, script) = connected_probe(FULL);
    probe.write_ap(0x4, 0x2000_0000).unwrap();
    script.exchange(
        &[
            0x05, 0x00, 0x02, 0x08, 0, 0, 0, 0, 0x05, 0x00, 0x00, 0x00, 0x20,
        ],
        &[0x05, 0x01, 0x02],
    );
    assert!(matches!(probe.flush(), Err(ProbeError::TransferTimeout(_))));
    assert_eq!(probe.flush(), Ok(()));
    script.assert_done();
}

#[test]
fn without_deferral_a_write_reports_its_own_error() {
    let (mut probe, script) = connected_probe(FULL);
    probe.set_deferred_writes(false);
    script.exchange(
        &[0x05, 0x00, 0x01, 0x00, 0x1E, 0, 0, 0],
        &[0x05, 0x00, 0x04],
    );
    assert!(matches!(
        probe.write_dp(0x0, 0x1E),
        Err(ProbeError::TransferFault(_))
    ));
    script.assert_done();
}

#[test]
fn with_the_packet_count_limited_to_1_each_reply_is_read_first() {
    let (mut probe, script) = connected_probe(FULL);
    probe.limit_packet_count(1);
    script
        .exchange(&[0x05, 0x00, 0x01, 0x08, 0, 0, 0, 0], &[0x05, 0x01, 0x01])
        .exchange(
            &[0x06, 0x00, 0x01, 0x00, 0x0F],
            &[0x06, 0x01, 0x00, 0x01, 9, 0, 0, 0],
        );
    assert_eq!(probe.read_ap_multiple(0xC, 1), Ok(vec![9]));
    script.assert_done();
}
