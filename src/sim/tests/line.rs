//! Line resets on the SW-DP (`sim::line`): what makes one, the reset state
//! it leaves (only a DPIDR read is answered), and the registers it keeps.

use super::dp::powered_target;
use crate::sim::dp::*;
use crate::sim::mem_ap::{AHB_AP_IDR, AP_CSW, AP_DRW, AP_TAR, CSW_SIZE32};
use crate::sim::target::{Ack, SwdTarget, RAM_BASE};

/// A line reset as pyOCD sends it: 51 cycles high (56 bits given, the
/// rest dropped), then eight idle cycles.
fn line_reset(target: &mut SwdTarget) {
    target.clock_swdio(&[0xFF; 7], 51);
    idle(target, 8);
}

fn idle(target: &mut SwdTarget, cycles: usize) {
    target.clock_swdio(&[0; 32], cycles);
}

/// pyOCD's JTAG-to-SWD switch without dormant state (`SWJSequenceSender`
/// `switch_to_swd`): line reset, 0xE79E, line reset, idle.
fn jtag_to_swd(target: &mut SwdTarget) {
    target.clock_swdio(&[0xFF; 7], 51);
    target.clock_swdio(&[0x9E, 0xE7], 16);
    target.clock_swdio(&[0xFF; 7], 51);
    idle(target, 8);
}

/// Every kind of transaction but a DPIDR read gets no acknowledge.
fn assert_only_dpidr_is_answered(target: &mut SwdTarget) {
    assert!(target.in_line_reset_state());
    assert_eq!(target.dp_read(DP_CTRL_STAT), Err(Ack::NoAck));
    assert_eq!(target.dp_read(DP_RDBUFF), Err(Ack::NoAck));
    assert_eq!(target.dp_write(DP_ABORT, STKERRCLR), Err(Ack::NoAck));
    assert_eq!(target.dp_write(DP_SELECT, 0), Err(Ack::NoAck));
    assert_eq!(target.ap_read(AP_CSW), Err(Ack::NoAck));
    assert_eq!(target.ap_write(AP_TAR, RAM_BASE), Err(Ack::NoAck));
    assert!(target.in_line_reset_state(), "ignored requests end nothing");
    assert_eq!(target.dp_read(DP_IDR), Ok(DPIDR_VALUE));
    assert!(!target.in_line_reset_state());
}

#[test]
fn after_a_line_reset_only_a_dpidr_read_is_answered() {
    let mut target = powered_target();
    line_reset(&mut target);
    assert_only_dpidr_is_answered(&mut target);
    assert_eq!(target.ap_read(AP_CSW).map(|_| ()), Ok(()));
}

#[test]
fn the_jtag_to_swd_switch_ends_in_a_line_reset() {
    let mut target = powered_target();
    jtag_to_swd(&mut target);
    assert_only_dpidr_is_answered(&mut target);
}

#[test]
fn the_dormant_to_swd_wake_up_ends_in_a_line_reset() {
    // pyOCD's `dormant_to_swd`: 8 cycles high and the 128-bit selection
    // alert, 4 idle cycles and the SWD activation code, line reset, 2 idle.
    let mut alert = 0xbc0e_a2e3_ddaf_e986_852d_9562_09f3_92ffu128
        .to_le_bytes()
        .to_vec();
    alert.push(0x19);
    let mut target = powered_target();
    target.clock_swdio(&alert, 136);
    target.clock_swdio(&0x01a0u16.to_le_bytes(), 12);
    target.clock_swdio(&[0xFF; 7], 51);
    idle(&mut target, 2);
    assert_only_dpidr_is_answered(&mut target);
}

#[test]
fn a_line_reset_keeps_select_ctrl_stat_and_the_sticky_flags() {
    let mut target = powered_target();
    // APBANKSEL 0xF (IDR at 0xC) and DPBANKSEL 1 (DLCR at 0x4).
    target.dp_write(DP_SELECT, 0xF1).unwrap();
    target.dp_write(DP_CTRL_STAT, 0x0000_0300).unwrap();
    target.dp_write(DP_SELECT, 0xF0).unwrap();
    target.inject_write_parity_error();

    line_reset(&mut target);
    assert_eq!(target.dp_read(DP_IDR), Ok(DPIDR_VALUE));

    let ctrl_stat = target.dp_read(DP_CTRL_STAT).unwrap();
    let powered = CDBGPWRUPREQ | CDBGPWRUPACK | CSYSPWRUPREQ | CSYSPWRUPACK;
    assert_eq!(ctrl_stat & powered, powered, "{ctrl_stat:#x}");
    assert_eq!(ctrl_stat & STICKY_FLAGS, WDATAERR, "{ctrl_stat:#x}");
    assert_eq!(
        target.ap_read(0xC),
        Err(Ack::Fault),
        "the flag still refuses"
    );
    target.dp_write(DP_ABORT, WDERRCLR).unwrap();
    assert_eq!(target.ap_read(0xC), Ok(AHB_AP_IDR), "APBANKSEL kept");
    target.dp_write(DP_SELECT, 0xF1).unwrap();
    assert_eq!(target.dp_read(DP_CTRL_STAT).unwrap() & 0x300, 0x300);
}

#[test]
fn a_line_reset_keeps_the_ap_registers_and_rdbuff() {
    let mut target = powered_target();
    target.ap_write(AP_CSW, CSW_SIZE32).unwrap();
    target.ap_write(AP_TAR, RAM_BASE).unwrap();
    target.ap_write(AP_DRW, 0x1234_5678).unwrap();
    let csw = target.ap_read(AP_CSW).unwrap();
    jtag_to_swd(&mut target);
    target.dp_read(DP_IDR).unwrap();
    assert_eq!(target.dp_read(DP_RDBUFF), Ok(csw));
    assert_eq!(target.ap_read(AP_TAR), Ok(RAM_BASE));
    assert_eq!(target.ap_read(AP_DRW), Ok(0x1234_5678));
}

#[test]
fn fewer_than_fifty_high_cycles_are_no_line_reset() {
    let mut target = powered_target();
    target.clock_swdio(&[0xFF; 7], 49);
    idle(&mut target, 8);
    assert!(!target.in_line_reset_state());
    assert!(target.ap_read(AP_CSW).is_ok());
}

#[test]
fn high_cycles_add_up_across_sequences_but_not_across_a_transaction() {
    let mut target = powered_target();
    target.clock_swdio(&[0xFF; 4], 30);
    target.dp_read(DP_CTRL_STAT).unwrap();
    target.clock_swdio(&[0xFF; 4], 30);
    idle(&mut target, 2);
    assert!(
        !target.in_line_reset_state(),
        "a transaction ends a high run"
    );

    target.clock_swdio(&[0xFF; 4], 30);
    target.clock_swdio(&[0xFF; 4], 30);
    idle(&mut target, 2);
    assert!(target.in_line_reset_state());
}

#[test]
fn a_request_needs_two_idle_cycles_after_the_high_run() {
    let after_the_high_run: [&[bool]; 3] = [&[], &[false], &[false, true, false]];
    for idle_then_high in after_the_high_run {
        let mut target = powered_target();
        target.clock_swdio(&[0xFF; 7], 51);
        for &level in idle_then_high {
            target.clock_swdio(&[u8::from(level)], 1);
        }
        // The header is not told apart from the line reset...
        assert_eq!(
            target.dp_read(DP_IDR),
            Err(Ack::NoAck),
            "{idle_then_high:?}"
        );
        // ...which it completes: the next request is seen, in the reset state.
        assert_only_dpidr_is_answered(&mut target);
    }
}

#[test]
fn a_second_line_reset_needs_a_second_dpidr_read() {
    let mut target = powered_target();
    line_reset(&mut target);
    target.dp_read(DP_IDR).unwrap();
    idle(&mut target, 8);
    assert!(
        target.ap_read(AP_CSW).is_ok(),
        "idle cycles alone reset nothing"
    );
    line_reset(&mut target);
    assert_only_dpidr_is_answered(&mut target);
}

#[test]
fn the_line_reset_state_outlasts_nreset() {
    let mut target = powered_target();
    line_reset(&mut target);
    target.set_nreset(true);
    target.set_nreset(false);
    assert_only_dpidr_is_answered(&mut target);
}

#[test]
fn a_dp_that_requires_a_line_reset_is_deaf_until_one() {
    let mut target = SwdTarget::cortex_m();
    target.require_line_reset();
    assert_eq!(target.dp_read(DP_IDR), Err(Ack::NoAck));
    target.clock_swdio(&[0xFF; 7], 49);
    idle(&mut target, 8);
    assert_eq!(target.dp_read(DP_IDR), Err(Ack::NoAck), "49 cycles");
    line_reset(&mut target);
    assert_only_dpidr_is_answered(&mut target);
}
