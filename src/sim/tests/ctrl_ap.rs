//! The CTRL-AP at APSEL 1, driven through [`SwdTarget`]: identity, the
//! mass erase of the code memory with its busy status, the reset hold.

use super::dp::powered_target;
use crate::sim::bus::AccessSize;
use crate::sim::ctrl_ap::*;
use crate::sim::dp::DP_SELECT;
use crate::sim::target::SwdTarget;

const DHCSR: u32 = 0xE000_EDF0;
const S_RESET_ST: u32 = 1 << 25;

/// SELECT for APSEL 1, bank `bank`.
fn select_ctrl_ap(target: &mut SwdTarget, reg: u8) {
    target
        .dp_write(DP_SELECT, (1 << 24) | u32::from(reg & 0xF0))
        .unwrap();
}

fn read(target: &mut SwdTarget, reg: u8) -> u32 {
    select_ctrl_ap(target, reg);
    target.ap_read(reg & 0xC).unwrap()
}

fn write(target: &mut SwdTarget, reg: u8, value: u32) {
    select_ctrl_ap(target, reg);
    target.ap_write(reg & 0xC, value).unwrap();
}

fn code_word(target: &mut SwdTarget, addr: u32) -> u32 {
    target.bus_mut().read(addr, AccessSize::Word).unwrap()
}

#[test]
fn apsel_1_identifies_as_nordic_ctrl_ap_without_protection() {
    let mut target = powered_target();
    assert_eq!(read(&mut target, CTRL_AP_IDR), 0x0288_0000);
    assert_eq!(read(&mut target, CTRL_AP_APPROTECTSTATUS), 1);
    assert_eq!(read(&mut target, CTRL_AP_ERASEALLSTATUS), 0);
}

#[test]
fn eraseall_empties_the_code_memory_and_reads_busy_until_done() {
    let mut target = powered_target();
    assert_ne!(code_word(&mut target, 0), 0xFFFF_FFFF, "boot image first");
    let ram = crate::sim::RAM_BASE;
    target
        .bus_mut()
        .write(ram, AccessSize::Word, 0x1234_5678)
        .unwrap();

    write(&mut target, CTRL_AP_ERASEALL, 1);
    let statuses: Vec<u32> = (0..ERASE_BUSY_READS + 2)
        .map(|_| read(&mut target, CTRL_AP_ERASEALLSTATUS))
        .collect();
    let busy = vec![1; ERASE_BUSY_READS as usize];
    assert_eq!(statuses[..busy.len()], busy[..]);
    assert_eq!(statuses[busy.len()..], [0, 0]);
    for addr in [0, 4, 0x100, crate::sim::cortex::FLASH_SIZE - 4] {
        assert_eq!(code_word(&mut target, addr), 0xFFFF_FFFF, "{addr:#x}");
    }
    // RAM is volatile: not this erase's business.
    assert_eq!(code_word(&mut target, ram), 0x1234_5678);
}

#[test]
fn writing_zero_to_eraseall_erases_nothing() {
    let mut target = powered_target();
    let before = code_word(&mut target, 0);
    write(&mut target, CTRL_AP_ERASEALL, 0);
    assert_eq!(code_word(&mut target, 0), before);
    assert_eq!(read(&mut target, CTRL_AP_ERASEALLSTATUS), 0);
}

#[test]
fn reset_holds_the_system_in_reset_until_cleared_with_nreset_as_one_line() {
    let mut target = powered_target();
    // Clear S_RESET_ST left by power-on.
    code_word(&mut target, DHCSR);
    write(&mut target, CTRL_AP_RESET, 1);
    assert_eq!(read(&mut target, CTRL_AP_RESET), 1);
    assert!(target.system_held_in_reset());
    // nRESET pulsed meanwhile: the CTRL-AP still holds the system.
    target.set_nreset(true);
    target.set_nreset(false);
    assert!(target.system_held_in_reset());
    write(&mut target, CTRL_AP_RESET, 0);
    assert!(!target.system_held_in_reset());
    assert_ne!(code_word(&mut target, DHCSR) & S_RESET_ST, 0);
}
