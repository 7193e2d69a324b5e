//! Faults injected at an address (`sim::faults`): what answers them, what
//! they leave in the DP, and what they leave alone.

use super::dp::powered_target;
use crate::sim::dp::*;
use crate::sim::faults::InjectedAck;
use crate::sim::mem_ap::{AP_CSW, AP_DRW, AP_TAR, CSW_ADDRINC_SINGLE, CSW_SIZE32};
use crate::sim::target::{Ack, SwdTarget, RAM_BASE};

const WORD: u32 = RAM_BASE + 0x40;

fn word_target() -> SwdTarget {
    let mut target = powered_target();
    target
        .ap_write(AP_CSW, CSW_SIZE32 | CSW_ADDRINC_SINGLE)
        .unwrap();
    target.ap_write(AP_TAR, WORD).unwrap();
    target.ap_write(AP_DRW, 0x1234_5678).unwrap();
    target.ap_write(AP_TAR, WORD).unwrap();
    target
}

#[test]
fn a_fault_armed_for_two_transactions_answers_two_then_lets_them_run() {
    let mut target = word_target();
    target.inject_fault_at(WORD..WORD + 4, InjectedAck::NoAck, Some(2));
    assert_eq!(target.ap_read(AP_DRW), Err(Ack::NoAck));
    assert_eq!(target.ap_read(AP_DRW), Err(Ack::NoAck));
    assert_eq!(target.ap_read(AP_DRW), Ok(0x1234_5678));
    assert_eq!(target.injected_faults(), 2);
}

#[test]
fn only_accesses_to_the_armed_addresses_fail() {
    let mut target = word_target();
    target.inject_fault_at(WORD + 4..WORD + 8, InjectedAck::Wait, None);
    // TAR and CSW are no memory access; the word before the range runs.
    assert_eq!(target.ap_read(AP_TAR), Ok(WORD));
    assert_eq!(target.ap_read(AP_DRW), Ok(0x1234_5678));
    // Auto-incremented into the range.
    assert_eq!(target.ap_read(AP_DRW), Err(Ack::Wait));
    assert_eq!(target.ap_read(AP_DRW), Err(Ack::Wait), "until cleared");
    target.clear_faults();
    assert!(target.ap_read(AP_DRW).is_ok());
}

#[test]
fn an_injected_fault_sets_stickyerr_and_a_wait_does_not() {
    let mut target = word_target();
    target.inject_fault_at(WORD..WORD + 4, InjectedAck::Wait, Some(1));
    assert_eq!(target.ap_read(AP_DRW), Err(Ack::Wait));
    assert_eq!(target.dp_read(DP_CTRL_STAT).unwrap() & STICKYERR, 0);
    target.inject_fault_at(WORD..WORD + 4, InjectedAck::Fault, Some(1));
    assert_eq!(target.ap_read(AP_DRW), Err(Ack::Fault));
    assert_ne!(target.dp_read(DP_CTRL_STAT).unwrap() & STICKYERR, 0);
}

#[test]
fn a_parity_error_hits_reads_and_not_writes() {
    let mut target = word_target();
    target.inject_fault_at(WORD..WORD + 4, InjectedAck::ParityError, None);
    assert_eq!(target.ap_write(AP_DRW, 7), Ok(()));
    target.ap_write(AP_TAR, WORD).unwrap();
    assert_eq!(target.ap_read(AP_DRW), Err(Ack::ParityError));
    assert_eq!(target.dp_read(DP_CTRL_STAT).unwrap() & STICKYERR, 0);
}
