//! Register addresses and fields of the ADIv5 debug port, the MEM-AP and
//! the ARMv7-M halting-debug registers, as the sharing layers need them.
//!
//! DP addresses are as the remote protocol carries them: A\[3:2\] in bits
//! 3:2 and, for banked registers, the DP bank in bits 7:4. AP addresses
//! are APv1: APSEL in bits 31:24, the register (bank and A\[3:2\]) in 7:0.

/// DP register 0x0: DPIDR when read, ABORT when written.
pub const DP_ABORT: u32 = 0x0;
/// DP register 0x4 in bank 0 (bank 1 is DLCR, 2 TARGETID, 3 DLPIDR).
pub const DP_CTRL_STAT: u32 = 0x4;
pub const DP_SELECT: u32 = 0x8;
pub const DP_RDBUFF: u32 = 0xC;
/// The bank field of a DP address.
pub const DP_ADDRESS_BANK: u32 = 0xF0;
/// SELECT.DPBANKSEL.
pub const SELECT_DPBANKSEL: u32 = 0xF;

/// ABORT bits: abort the AP transaction in progress, and clear each
/// sticky flag of CTRL/STAT.
pub const ABORT_DAPABORT: u32 = 1 << 0;
pub const ABORT_STKCMPCLR: u32 = 1 << 1;
pub const ABORT_STKERRCLR: u32 = 1 << 2;
pub const ABORT_WDERRCLR: u32 = 1 << 3;
pub const ABORT_ORUNERRCLR: u32 = 1 << 4;

/// CTRL/STAT sticky flags.
pub const STICKYORUN: u32 = 1 << 1;
pub const STICKYCMP: u32 = 1 << 4;
pub const STICKYERR: u32 = 1 << 5;
pub const WDATAERR: u32 = 1 << 7;

/// Power-up requests of CTRL/STAT, and their acknowledges.
pub const CDBGPWRUPREQ: u32 = 1 << 28;
pub const CSYSPWRUPREQ: u32 = 1 << 30;

/// MEM-AP register offsets (bank and A\[3:2\]).
pub const MEM_AP_CSW: u8 = 0x00;
pub const MEM_AP_TAR: u8 = 0x04;
pub const MEM_AP_DRW: u8 = 0x0C;
pub const MEM_AP_BD0: u8 = 0x10;
pub const MEM_AP_BD3: u8 = 0x1C;

/// CSW fields.
pub const CSW_SIZE_MASK: u32 = 0b111;
pub const CSW_ADDRINC_MASK: u32 = 0b11 << 4;
pub const CSW_ADDRINC_OFF: u32 = 0b00 << 4;
pub const CSW_ADDRINC_SINGLE: u32 = 0b01 << 4;
pub const CSW_ADDRINC_PACKED: u32 = 0b10 << 4;

/// ADIv5 promises that TAR auto-increment carries through bits 9:0 only;
/// past a 1 KiB boundary the next address is the implementation's choice.
pub const TAR_INCREMENT_PAGE: u32 = 0x400;

/// Debug Halting Control and Status Register.
pub const DHCSR: u32 = 0xE000_EDF0;
/// Debug Core Register Selector Register.
pub const DCRSR: u32 = 0xE000_EDF4;
/// Debug Core Register Data Register.
pub const DCRDR: u32 = 0xE000_EDF8;
/// DHCSR status bits that clear when DHCSR is read.
pub const S_RESET_ST: u32 = 1 << 25;
pub const S_RETIRE_ST: u32 = 1 << 24;
pub const DHCSR_CLEARED_ON_READ: u32 = S_RESET_ST | S_RETIRE_ST;
/// DCRSR.REGWnR: the transfer writes DCRDR's value to the register.
pub const DCRSR_REGWNR: u32 = 1 << 16;

/// A register of an APv1 access port, from a protocol AP address.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ApRegister {
    pub apsel: u8,
    /// Bank and A\[3:2\]: the register's offset in the AP.
    pub offset: u8,
}

impl ApRegister {
    pub fn from_address(addr: u32) -> ApRegister {
        ApRegister {
            apsel: (addr >> 24) as u8,
            offset: (addr & 0xFC) as u8,
        }
    }

    /// The protocol address of register `offset` of AP `apsel`.
    pub fn address(apsel: u8, offset: u8) -> u32 {
        u32::from(apsel) << 24 | u32::from(offset)
    }

    /// DRW or BD0–BD3: an access that reaches memory at TAR.
    pub fn is_data(self) -> bool {
        self.offset == MEM_AP_DRW || (MEM_AP_BD0..=MEM_AP_BD3).contains(&self.offset)
    }
}

/// Whether DP register `addr` depends on SELECT.DPBANKSEL: 0x4 always,
/// 0x0 when read (DPv3 banks DPIDR1 and BASEPTR there; ABORT is not banked).
pub fn dp_is_banked(addr: u32, is_read: bool) -> bool {
    match addr & 0xC {
        0x4 => true,
        0x0 => is_read,
        _ => false,
    }
}

/// The DP bank an address names.
pub fn dp_bank(addr: u32) -> u32 {
    (addr & DP_ADDRESS_BANK) >> 4
}

/// Where TAR points after `count` accesses of `csw`'s size and increment
/// mode starting at `tar`, when that is certain: not when the increment
/// mode is reserved, nor when the increment crosses a 1 KiB boundary.
pub fn tar_after(tar: u32, csw: u32, count: u64) -> Option<u32> {
    let step = match csw & CSW_ADDRINC_MASK {
        CSW_ADDRINC_OFF => return Some(tar),
        CSW_ADDRINC_SINGLE => match csw & CSW_SIZE_MASK {
            0b000 => 1,
            0b001 => 2,
            0b010 => 4,
            _ => return None,
        },
        CSW_ADDRINC_PACKED => 4,
        _ => return None,
    };
    let offset = u64::from(tar % TAR_INCREMENT_PAGE) + step * count;
    (offset < u64::from(TAR_INCREMENT_PAGE)).then(|| tar - tar % TAR_INCREMENT_PAGE + offset as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tar_advances_by_the_transfer_size_within_a_kibibyte() {
        let words = 0x12 | CSW_ADDRINC_SINGLE | 0b010;
        assert_eq!(tar_after(0x2000_0000, words, 3), Some(0x2000_000C));
        let bytes = CSW_ADDRINC_SINGLE;
        assert_eq!(tar_after(0x2000_0001, bytes, 2), Some(0x2000_0003));
        let fixed = 0b010;
        assert_eq!(tar_after(0x2000_0000, fixed, 1000), Some(0x2000_0000));
        assert_eq!(
            tar_after(0x2000_0000, CSW_ADDRINC_PACKED | 1, 2),
            Some(0x2000_0008)
        );
    }

    #[test]
    fn tar_is_unknown_once_the_increment_reaches_a_kibibyte_boundary() {
        let words = CSW_ADDRINC_SINGLE | 0b010;
        assert_eq!(tar_after(0x2000_03F8, words, 1), Some(0x2000_03FC));
        assert_eq!(tar_after(0x2000_03FC, words, 1), None);
        assert_eq!(tar_after(0x2000_0000, words, 256), None);
        assert_eq!(tar_after(0, CSW_ADDRINC_MASK, 1), None, "reserved mode");
    }

    #[test]
    fn ap_addresses_split_into_apsel_and_register() {
        let register = ApRegister::from_address(0x0100_00FC);
        assert_eq!((register.apsel, register.offset), (1, 0xFC));
        assert_eq!(ApRegister::address(1, 0xFC), 0x0100_00FC);
        assert!(ApRegister::from_address(0x0C).is_data());
        assert!(ApRegister::from_address(0x1C).is_data());
        assert!(!ApRegister::from_address(0x04).is_data());
    }

    #[test]
    fn only_ctrl_stat_and_id_reads_are_banked() {
        assert!(dp_is_banked(0x4, true) && dp_is_banked(0x4, false));
        assert!(dp_is_banked(0x0, true) && !dp_is_banked(0x0, false));
        assert!(!dp_is_banked(0x8, false) && !dp_is_banked(0xC, true));
        assert_eq!(dp_bank(0x24), 2);
    }
}
