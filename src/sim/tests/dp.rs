//! Behaviour of the SW-DP registers, driven through [`SwdTarget`]'s
//! transaction interface as probe firmware would.

use crate::sim::dp::*;
use crate::sim::mem_ap::{AHB_AP_IDR, AP_CSW, AP_DRW, AP_TAR, CSW_ADDRINC_SINGLE, CSW_SIZE32};
use crate::sim::target::{Ack, SwdTarget, RAM_BASE};

const UNMAPPED: u32 = 0x1000_0000;

/// A target whose debug domain is powered up, as a debugger leaves it.
pub(super) fn powered_target() -> SwdTarget {
    let mut target = SwdTarget::cortex_m();
    target
        .dp_write(DP_CTRL_STAT, CDBGPWRUPREQ | CSYSPWRUPREQ)
        .unwrap();
    target
}

fn ctrl_stat(target: &mut SwdTarget) -> u32 {
    target.dp_read(DP_CTRL_STAT).unwrap()
}

/// Makes the AHB-AP read an unmapped word: a bus error.
fn provoke_bus_error(target: &mut SwdTarget) {
    target.ap_write(AP_CSW, CSW_SIZE32).unwrap();
    target.ap_write(AP_TAR, UNMAPPED).unwrap();
    assert_eq!(target.ap_read(AP_DRW), Err(Ack::Fault));
}

#[test]
fn dpidr_identifies_a_cortex_m_sw_dp() {
    let mut target = SwdTarget::cortex_m();
    assert_eq!(target.dp_read(DP_IDR), Ok(0x2BA0_1477));
}

#[test]
fn ctrl_stat_power_up_request_is_acknowledged() {
    let mut target = SwdTarget::cortex_m();
    assert_eq!(ctrl_stat(&mut target) & (CDBGPWRUPACK | CSYSPWRUPACK), 0);

    target.dp_write(DP_CTRL_STAT, CDBGPWRUPREQ).unwrap();
    assert_eq!(ctrl_stat(&mut target), CDBGPWRUPREQ | CDBGPWRUPACK);

    target
        .dp_write(DP_CTRL_STAT, CDBGPWRUPREQ | CSYSPWRUPREQ)
        .unwrap();
    assert_eq!(
        ctrl_stat(&mut target),
        CDBGPWRUPREQ | CDBGPWRUPACK | CSYSPWRUPREQ | CSYSPWRUPACK
    );
}

#[test]
fn dropping_power_up_request_drops_the_acknowledge() {
    let mut target = powered_target();
    target.dp_write(DP_CTRL_STAT, CSYSPWRUPREQ).unwrap();
    assert_eq!(ctrl_stat(&mut target), CSYSPWRUPREQ | CSYSPWRUPACK);
    target.dp_write(DP_CTRL_STAT, 0).unwrap();
    assert_eq!(ctrl_stat(&mut target), 0);
}

#[test]
fn ctrl_stat_keeps_writable_fields_and_ignores_read_only_ones() {
    let mut target = SwdTarget::cortex_m();
    let writable = ORUNDETECT | MASKLANE_MASK | TRNCNT_MASK;
    target
        .dp_write(DP_CTRL_STAT, writable | STICKYERR | READOK | WDATAERR)
        .unwrap();
    assert_eq!(ctrl_stat(&mut target), writable);
}

#[test]
fn ap_access_before_debug_power_up_faults_and_sets_stickyerr() {
    let mut target = SwdTarget::cortex_m();
    assert_eq!(target.ap_read(0xC), Err(Ack::Fault));
    assert_ne!(ctrl_stat(&mut target) & STICKYERR, 0);
}

#[test]
fn sticky_error_faults_ap_access_but_not_dp_access() {
    let mut target = powered_target();
    provoke_bus_error(&mut target);

    assert_eq!(target.ap_read(AP_CSW), Err(Ack::Fault));
    assert_eq!(target.ap_write(AP_TAR, RAM_BASE), Err(Ack::Fault));
    assert_eq!(target.dp_read(DP_IDR), Ok(DPIDR_VALUE));
    // The refused write did not happen.
    target.dp_write(DP_ABORT, STKERRCLR).unwrap();
    assert_eq!(target.ap_read(AP_TAR), Ok(UNMAPPED));
}

#[test]
fn abort_clears_sticky_error() {
    let mut target = powered_target();
    provoke_bus_error(&mut target);
    assert_ne!(ctrl_stat(&mut target) & STICKYERR, 0);

    target.dp_write(DP_ABORT, STKERRCLR).unwrap();
    assert_eq!(ctrl_stat(&mut target) & STICKY_FLAGS, 0);
    assert_eq!(target.ap_read(AP_CSW).map(|csw| csw & 0x7), Ok(CSW_SIZE32));
}

#[test]
fn abort_clears_only_the_flags_it_names() {
    let mut target = powered_target();
    provoke_bus_error(&mut target);
    target.inject_write_parity_error();

    target.dp_write(DP_ABORT, STKERRCLR).unwrap();
    assert_eq!(ctrl_stat(&mut target) & STICKY_FLAGS, WDATAERR);
    assert_eq!(target.ap_read(AP_CSW), Err(Ack::Fault));

    target.dp_write(DP_ABORT, WDERRCLR).unwrap();
    assert_eq!(ctrl_stat(&mut target) & STICKY_FLAGS, 0);
    assert!(target.ap_read(AP_CSW).is_ok());
}

#[test]
fn dapabort_alone_clears_no_sticky_flag() {
    let mut target = powered_target();
    provoke_bus_error(&mut target);
    target.dp_write(DP_ABORT, DAPABORT).unwrap();
    assert_ne!(ctrl_stat(&mut target) & STICKYERR, 0);
}

#[test]
fn overrun_detection_sets_stickyorun_on_a_fault() {
    let mut target = powered_target();
    target
        .dp_write(DP_CTRL_STAT, CDBGPWRUPREQ | ORUNDETECT)
        .unwrap();
    provoke_bus_error(&mut target);
    assert_eq!(
        ctrl_stat(&mut target) & STICKY_FLAGS,
        STICKYERR | STICKYORUN
    );

    target.dp_write(DP_ABORT, STKERRCLR).unwrap();
    assert_eq!(target.ap_read(AP_CSW), Err(Ack::Fault));
    target.dp_write(DP_ABORT, ORUNERRCLR).unwrap();
    assert!(target.ap_read(AP_CSW).is_ok());
}

#[test]
fn injected_wait_is_answered_without_doing_the_access() {
    let mut target = powered_target();
    target.ap_write(AP_TAR, RAM_BASE).unwrap();
    target.inject_wait_responses(1);
    assert_eq!(target.ap_write(AP_TAR, 0x2000_0100), Err(Ack::Wait));
    assert_eq!(target.ap_read(AP_TAR), Ok(RAM_BASE));
    assert_eq!(ctrl_stat(&mut target) & STICKY_FLAGS, 0);
}

#[test]
fn wait_with_overrun_detection_sets_stickyorun() {
    let mut target = powered_target();
    target
        .dp_write(DP_CTRL_STAT, CDBGPWRUPREQ | ORUNDETECT)
        .unwrap();
    target.inject_wait_responses(1);
    assert_eq!(target.ap_read(AP_CSW), Err(Ack::Wait));
    assert_eq!(ctrl_stat(&mut target) & STICKY_FLAGS, STICKYORUN);
    assert_eq!(target.ap_read(AP_CSW), Err(Ack::Fault));
}

#[test]
fn pushed_verify_sets_stickycmp_when_the_value_differs() {
    let mut target = powered_target();
    target.ap_write(AP_TAR, RAM_BASE).unwrap();
    let verify = CDBGPWRUPREQ | (0b01 << 2) | MASKLANE_MASK;
    target.dp_write(DP_CTRL_STAT, verify).unwrap();

    target.ap_write(AP_TAR, RAM_BASE).unwrap();
    assert_eq!(ctrl_stat(&mut target) & STICKY_FLAGS, 0);
    target.ap_write(AP_TAR, RAM_BASE + 4).unwrap();
    assert_eq!(ctrl_stat(&mut target) & STICKY_FLAGS, STICKYCMP);

    // The pushed writes did not write: TAR is unchanged.
    target.dp_write(DP_ABORT, STKCMPCLR).unwrap();
    target.dp_write(DP_CTRL_STAT, CDBGPWRUPREQ).unwrap();
    assert_eq!(target.ap_read(AP_TAR), Ok(RAM_BASE));
}

#[test]
fn pushed_compare_sets_stickycmp_on_a_match_in_the_masked_lanes() {
    let mut target = powered_target();
    target.ap_write(AP_TAR, 0x2000_1234).unwrap();
    let compare_low_byte = CDBGPWRUPREQ | (0b10 << 2) | (0b0001 << 8);
    target.dp_write(DP_CTRL_STAT, compare_low_byte).unwrap();

    target.ap_write(AP_TAR, 0x0000_0035).unwrap();
    assert_eq!(ctrl_stat(&mut target) & STICKY_FLAGS, 0);
    target.ap_write(AP_TAR, 0xFFFF_FF34).unwrap();
    assert_eq!(ctrl_stat(&mut target) & STICKY_FLAGS, STICKYCMP);
}

#[test]
fn rdbuff_returns_last_ap_read() {
    let mut target = powered_target();
    target
        .ap_write(AP_CSW, CSW_SIZE32 | CSW_ADDRINC_SINGLE)
        .unwrap();
    target.ap_write(AP_TAR, RAM_BASE).unwrap();
    target.ap_write(AP_DRW, 0x1111_1111).unwrap();
    target.ap_write(AP_DRW, 0x2222_2222).unwrap();
    target.ap_write(AP_TAR, RAM_BASE).unwrap();

    assert_eq!(target.ap_read(AP_DRW), Ok(0x1111_1111));
    assert_eq!(target.dp_read(DP_RDBUFF), Ok(0x1111_1111));
    // Reading RDBUFF again starts no AP access: no second DRW read, no
    // TAR increment.
    assert_eq!(target.dp_read(DP_RDBUFF), Ok(0x1111_1111));
    assert_eq!(target.ap_read(AP_TAR), Ok(RAM_BASE + 4));
    assert_eq!(target.dp_read(DP_RESEND), Ok(RAM_BASE + 4));
}

#[test]
fn faulted_ap_read_keeps_rdbuff_and_clears_readok() {
    let mut target = powered_target();
    target.ap_write(AP_TAR, RAM_BASE).unwrap();
    assert_eq!(target.ap_read(AP_TAR), Ok(RAM_BASE));
    assert_ne!(ctrl_stat(&mut target) & READOK, 0);

    provoke_bus_error(&mut target);
    assert_eq!(ctrl_stat(&mut target) & READOK, 0);
    assert_eq!(target.dp_read(DP_RDBUFF), Ok(RAM_BASE));
}

#[test]
fn dpbanksel_1_reaches_dlcr_and_other_banks_read_zero() {
    let mut target = SwdTarget::cortex_m();
    target.dp_write(DP_SELECT, 1).unwrap();
    assert_eq!(target.dp_read(DP_CTRL_STAT), Ok(0x40));
    target.dp_write(DP_CTRL_STAT, 0x300).unwrap();
    assert_eq!(target.dp_read(DP_CTRL_STAT), Ok(0x340));

    target.dp_write(DP_SELECT, 2).unwrap();
    assert_eq!(target.dp_read(DP_CTRL_STAT), Ok(0));

    // The DLCR write reached DLCR, not CTRL/STAT.
    target.dp_write(DP_SELECT, 0).unwrap();
    assert_eq!(target.dp_read(DP_CTRL_STAT), Ok(0));
}

#[test]
fn apbanksel_selects_the_register_bank() {
    let mut target = powered_target();
    target.dp_write(DP_SELECT, 0xF0).unwrap();
    assert_eq!(target.ap_read(0xC), Ok(AHB_AP_IDR));
    target.dp_write(DP_SELECT, 0x00).unwrap();
    assert_eq!(target.ap_read(0x4), Ok(0));
}

#[test]
fn absent_ap_reads_idr_zero() {
    let mut target = powered_target();
    target.dp_write(DP_SELECT, 0x0200_00F0).unwrap();
    assert_eq!(target.ap_read(0xC), Ok(0));
}

#[test]
fn absent_ap_ignores_writes() {
    let mut target = powered_target();
    target.ap_write(AP_TAR, RAM_BASE).unwrap();
    target.dp_write(DP_SELECT, 0x0200_0000).unwrap();
    target.ap_write(AP_TAR, 0x2000_0040).unwrap();
    assert_eq!(target.ap_read(AP_TAR), Ok(0));
    target.dp_write(DP_SELECT, 0).unwrap();
    assert_eq!(target.ap_read(AP_TAR), Ok(RAM_BASE));
}

#[test]
fn system_reset_leaves_the_debug_domain_alone() {
    let mut target = powered_target();
    target.ap_write(AP_TAR, RAM_BASE).unwrap();
    target.set_nreset(true);
    assert!(target.nreset_asserted());
    target.set_nreset(false);
    assert!(!target.nreset_asserted());
    assert_ne!(ctrl_stat(&mut target) & CDBGPWRUPACK, 0);
    assert_eq!(target.ap_read(AP_TAR), Ok(RAM_BASE));
}
