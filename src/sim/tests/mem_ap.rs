//! Behaviour of the AHB-AP, driven through [`SwdTarget`] with SELECT
//! pointing at AP 0 bank 0 (and bank 0xF for the ID registers).

use super::dp::powered_target;
use crate::sim::dp::{DP_ABORT, DP_CTRL_STAT, DP_SELECT, STICKYERR, STKERRCLR};
use crate::sim::mem_ap::*;
use crate::sim::target::{Ack, SwdTarget, RAM_BASE, RAM_SIZE};

const WORDS_SINGLE: u32 = CSW_SIZE32 | CSW_ADDRINC_SINGLE;

fn target_with_csw(csw: u32) -> SwdTarget {
    let mut target = powered_target();
    target.ap_write(AP_CSW, csw).unwrap();
    target
}

/// Reads an ID-bank register (0xF0-0xFC) and returns SELECT to bank 0.
fn read_id_register(target: &mut SwdTarget, reg: u8) -> Result<u32, Ack> {
    target.dp_write(DP_SELECT, 0xF0).unwrap();
    let value = target.ap_read(reg & 0xC);
    target.dp_write(DP_SELECT, 0).unwrap();
    value
}

fn write_words(target: &mut SwdTarget, addr: u32, words: &[u32]) {
    target.ap_write(AP_TAR, addr).unwrap();
    for &word in words {
        target.ap_write(AP_DRW, word).unwrap();
    }
}

#[test]
fn ahb_ap_identifies_as_a_cortex_m_ahb_ap_with_a_rom_table() {
    let mut target = powered_target();
    assert_eq!(read_id_register(&mut target, AP_IDR), Ok(0x2477_0011));
    assert_eq!(read_id_register(&mut target, AP_CFG), Ok(0));
    assert_eq!(read_id_register(&mut target, AP_BASE), Ok(0xE00F_F003));
}

#[test]
fn id_registers_ignore_writes() {
    let mut target = powered_target();
    target.dp_write(DP_SELECT, 0xF0).unwrap();
    target.ap_write(AP_IDR & 0xC, 0).unwrap();
    target.ap_write(AP_BASE & 0xC, 0).unwrap();
    assert_eq!(target.ap_read(AP_IDR & 0xC), Ok(AHB_AP_IDR));
    assert_eq!(target.ap_read(AP_BASE & 0xC), Ok(CORTEX_M_ROM_BASE));
}

#[test]
fn csw_resets_to_privileged_data_byte_access_without_increment() {
    let mut target = powered_target();
    assert_eq!(target.ap_read(AP_CSW), Ok(0x0300_0040));
}

#[test]
fn csw_keeps_upper_attribute_bits_as_written() {
    let mut target = target_with_csw(0xFFFF_FF00 | WORDS_SINGLE);
    let expected = (0xFFFF_FF00 & !CSW_SPIDEN) | CSW_DEVICEEN | WORDS_SINGLE;
    assert_eq!(target.ap_read(AP_CSW), Ok(expected));
}

#[test]
fn csw_device_enabled_reads_one_and_transfer_in_progress_reads_zero() {
    let mut target = target_with_csw(CSW_TRINPROG | CSW_SIZE16);
    assert_eq!(target.ap_read(AP_CSW), Ok(CSW_DEVICEEN | CSW_SIZE16));
}

#[test]
fn csw_unsupported_size_keeps_the_previous_size() {
    let mut target = target_with_csw(CSW_SIZE16);
    for unsupported in 3..=7 {
        target.ap_write(AP_CSW, 0x2300_0000 | unsupported).unwrap();
        assert_eq!(
            target.ap_read(AP_CSW),
            Ok(0x2300_0000 | CSW_DEVICEEN | CSW_SIZE16)
        );
    }
}

#[test]
fn csw_packed_increment_is_not_supported() {
    let mut target = target_with_csw(WORDS_SINGLE);
    target.ap_write(AP_CSW, CSW_SIZE8 | (0b10 << 4)).unwrap();
    assert_eq!(
        target.ap_read(AP_CSW),
        Ok(CSW_DEVICEEN | CSW_SIZE8 | CSW_ADDRINC_SINGLE)
    );
}

#[test]
fn word_writes_through_drw_read_back_from_ram() {
    let mut target = target_with_csw(WORDS_SINGLE);
    write_words(&mut target, RAM_BASE + 0x100, &[0xDEAD_BEEF, 0x0BAD_F00D]);
    target.ap_write(AP_TAR, RAM_BASE + 0x100).unwrap();
    assert_eq!(target.ap_read(AP_DRW), Ok(0xDEAD_BEEF));
    assert_eq!(target.ap_read(AP_DRW), Ok(0x0BAD_F00D));
}

#[test]
fn tar_autoincrement_single_advances_by_the_access_size() {
    for (size, step) in [(CSW_SIZE8, 1), (CSW_SIZE16, 2), (CSW_SIZE32, 4)] {
        let mut target = target_with_csw(size | CSW_ADDRINC_SINGLE);
        target.ap_write(AP_TAR, RAM_BASE).unwrap();
        target.ap_read(AP_DRW).unwrap();
        target.ap_write(AP_DRW, 0).unwrap();
        assert_eq!(target.ap_read(AP_TAR), Ok(RAM_BASE + 2 * step));
    }
}

#[test]
fn tar_stays_put_with_autoincrement_off() {
    let mut target = target_with_csw(CSW_SIZE32 | CSW_ADDRINC_OFF);
    write_words(&mut target, RAM_BASE, &[1, 2, 3]);
    assert_eq!(target.ap_read(AP_TAR), Ok(RAM_BASE));
    assert_eq!(target.ap_read(AP_DRW), Ok(3));
}

#[test]
fn tar_autoincrement_carries_across_a_1k_boundary_inside_a_4k_page() {
    let mut target = target_with_csw(WORDS_SINGLE);
    write_words(&mut target, RAM_BASE + 0x3FC, &[0xA, 0xB]);
    assert_eq!(target.ap_read(AP_TAR), Ok(RAM_BASE + 0x404));
    target.ap_write(AP_TAR, RAM_BASE + 0x400).unwrap();
    assert_eq!(target.ap_read(AP_DRW), Ok(0xB));
}

#[test]
fn tar_autoincrement_wraps_at_the_4k_page_boundary() {
    let mut target = target_with_csw(WORDS_SINGLE);
    let page = RAM_BASE + 0x1000;
    write_words(&mut target, page + 0xFFC, &[0xA, 0xB]);
    // The second word went to the start of the same page, not the next one.
    assert_eq!(target.ap_read(AP_TAR), Ok(page + 4));
    target.ap_write(AP_TAR, page).unwrap();
    assert_eq!(target.ap_read(AP_DRW), Ok(0xB));
    target.ap_write(AP_TAR, page + 0x1000).unwrap();
    assert_eq!(target.ap_read(AP_DRW), Ok(0));
}

#[test]
fn byte_access_uses_lane_of_tar_low_bits() {
    let mut target = target_with_csw(CSW_SIZE8 | CSW_ADDRINC_SINGLE);
    target.ap_write(AP_TAR, RAM_BASE).unwrap();
    for lane in 0..4u32 {
        // Only the byte in the lane TAR[1:0] selects is written.
        target
            .ap_write(AP_DRW, 0x0101_0101 * (0x10 + lane))
            .unwrap();
    }
    target.ap_write(AP_CSW, WORDS_SINGLE).unwrap();
    target.ap_write(AP_TAR, RAM_BASE).unwrap();
    assert_eq!(target.ap_read(AP_DRW), Ok(0x1312_1110));

    target.ap_write(AP_CSW, CSW_SIZE8).unwrap();
    target.ap_write(AP_TAR, RAM_BASE + 2).unwrap();
    assert_eq!(target.ap_read(AP_DRW), Ok(0x0012_0000));
}

#[test]
fn halfword_access_uses_upper_lanes_when_tar_bit_1_is_set() {
    let mut target = target_with_csw(CSW_SIZE16);
    target.ap_write(AP_TAR, RAM_BASE + 2).unwrap();
    target.ap_write(AP_DRW, 0xBEEF_0000 | 0xFFFF).unwrap();
    target.ap_write(AP_TAR, RAM_BASE).unwrap();
    target.ap_write(AP_DRW, 0xFFFF_0000 | 0xF00D).unwrap();

    target.ap_write(AP_CSW, CSW_SIZE32).unwrap();
    assert_eq!(target.ap_read(AP_DRW), Ok(0xBEEF_F00D));
    target.ap_write(AP_CSW, CSW_SIZE16).unwrap();
    target.ap_write(AP_TAR, RAM_BASE + 2).unwrap();
    assert_eq!(target.ap_read(AP_DRW), Ok(0xBEEF_0000));
}

#[test]
fn unaligned_access_goes_to_the_aligned_address() {
    let mut target = target_with_csw(CSW_SIZE32);
    write_words(&mut target, RAM_BASE, &[0x4433_2211]);
    target.ap_write(AP_TAR, RAM_BASE + 3).unwrap();
    assert_eq!(target.ap_read(AP_DRW), Ok(0x4433_2211));
    target.ap_write(AP_CSW, CSW_SIZE16).unwrap();
    assert_eq!(target.ap_read(AP_DRW), Ok(0x4433_0000));
}

#[test]
fn banked_data_registers_access_words_of_the_tar_block_without_increment() {
    let mut target = target_with_csw(CSW_SIZE8 | CSW_ADDRINC_SINGLE);
    target.ap_write(AP_TAR, RAM_BASE + 0x2B).unwrap();
    target.dp_write(DP_SELECT, u32::from(AP_BD0)).unwrap();
    for n in 0..4u8 {
        target
            .ap_write(4 * n, 0x1000_0000 * u32::from(n + 1))
            .unwrap();
    }
    assert_eq!(target.ap_read(AP_BD3 & 0xC), Ok(0x4000_0000));
    target.dp_write(DP_SELECT, 0).unwrap();
    assert_eq!(target.ap_read(AP_TAR), Ok(RAM_BASE + 0x2B));

    target.ap_write(AP_CSW, WORDS_SINGLE).unwrap();
    target.ap_write(AP_TAR, RAM_BASE + 0x20).unwrap();
    let words: Vec<_> = (0..4).map(|_| target.ap_read(AP_DRW).unwrap()).collect();
    assert_eq!(words, [0x1000_0000, 0x2000_0000, 0x3000_0000, 0x4000_0000]);
}

#[test]
fn unmapped_access_faults_and_sets_stickyerr() {
    let mut target = target_with_csw(WORDS_SINGLE);
    target.ap_write(AP_TAR, RAM_BASE + RAM_SIZE).unwrap();
    assert_eq!(target.ap_read(AP_DRW), Err(Ack::Fault));
    let ctrl_stat = target.dp_read(DP_CTRL_STAT).unwrap();
    assert_ne!(ctrl_stat & STICKYERR, 0);

    target.dp_write(DP_ABORT, STKERRCLR).unwrap();
    assert_eq!(target.ap_write(AP_DRW, 0), Err(Ack::Fault));
    target.dp_write(DP_ABORT, STKERRCLR).unwrap();
    target.dp_write(DP_SELECT, u32::from(AP_BD0)).unwrap();
    assert_eq!(target.ap_read(AP_BD0 & 0xC), Err(Ack::Fault));
}

#[test]
fn faulted_drw_access_leaves_tar_at_the_faulting_address() {
    let mut target = target_with_csw(WORDS_SINGLE);
    target.ap_write(AP_TAR, 0x4000_0000).unwrap();
    assert_eq!(target.ap_read(AP_DRW), Err(Ack::Fault));
    target.dp_write(DP_ABORT, STKERRCLR).unwrap();
    assert_eq!(target.ap_read(AP_TAR), Ok(0x4000_0000));
}

#[test]
fn last_word_of_ram_is_reachable() {
    let mut target = target_with_csw(CSW_SIZE32);
    write_words(&mut target, RAM_BASE + RAM_SIZE - 4, &[0x5A5A_A5A5]);
    assert_eq!(target.ap_read(AP_DRW), Ok(0x5A5A_A5A5));
}
