//! Register addresses and fields of the ADIv5 debug port, the MEM-AP and
//! the ARMv7-M halting-debug registers: the one place the server and the
//! CMSIS-DAP driver take them from (the virtual target in `sim` keeps its
//! own, as an independent reading of the specification).
//!
//! DP addresses are as the remote protocol carries them: A\[3:2\] in bits
//! 3:2 and, for banked registers, the DP bank in bits 7:4. AP addresses
//! are APv1: APSEL in bits 31:24, the register (bank and A\[3:2\]) in 7:0;
//! or APv2: the AP's 4 KiB aligned base plus the register's offset.

/// DP register 0x0: DPIDR when read, ABORT when written.
pub const DP_ABORT: u32 = 0x0;
/// DP register 0x0 read in bank 0: DPIDR, the first read after a line reset.
pub const DP_IDR: u32 = 0x0;
/// DP register 0x4 in bank 0 (bank 1 is DLCR, 2 TARGETID, 3 DLPIDR).
pub const DP_CTRL_STAT: u32 = 0x4;
pub const DP_SELECT: u32 = 0x8;
pub const DP_RDBUFF: u32 = 0xC;
/// The bank field of a DP address.
pub const DP_ADDRESS_BANK: u32 = 0xF0;
/// A\[3:2\] of a DP or AP address: the register within its bank.
pub const ADDRESS_A32: u32 = 0xC;
/// Bits of a DP register address that are neither the bank nor A\[3:2\].
pub const DP_ADDRESS_RESERVED: u32 = !(DP_ADDRESS_BANK | ADDRESS_A32);
/// Bits of an APv1 register address that are neither APSEL, the bank nor
/// A\[3:2\].
pub const AP_ADDRESS_RESERVED: u32 = 0x00FF_FF03;

/// SELECT fields (ADIv5): APSEL, APBANKSEL, DPBANKSEL.
pub const SELECT_APSEL: u32 = 0xFF00_0000;
pub const SELECT_APBANKSEL: u32 = 0xF0;
pub const SELECT_DPBANKSEL: u32 = 0xF;

/// ABORT bits: abort the AP transaction in progress, and clear each
/// sticky flag of CTRL/STAT.
pub const ABORT_DAPABORT: u32 = 1 << 0;
pub const ABORT_STKCMPCLR: u32 = 1 << 1;
pub const ABORT_STKERRCLR: u32 = 1 << 2;
pub const ABORT_WDERRCLR: u32 = 1 << 3;
pub const ABORT_ORUNERRCLR: u32 = 1 << 4;
/// Every sticky-flag clear bit of ABORT.
pub const ABORT_CLEAR_STICKY: u32 =
    ABORT_STKCMPCLR | ABORT_STKERRCLR | ABORT_WDERRCLR | ABORT_ORUNERRCLR;

/// CTRL/STAT sticky flags.
pub const STICKYORUN: u32 = 1 << 1;
pub const STICKYCMP: u32 = 1 << 4;
pub const STICKYERR: u32 = 1 << 5;
pub const WDATAERR: u32 = 1 << 7;

/// Power-up requests of CTRL/STAT, and their acknowledges.
pub const CDBGPWRUPREQ: u32 = 1 << 28;
pub const CSYSPWRUPREQ: u32 = 1 << 30;
pub const CDBGPWRUPACK: u32 = 1 << 29;
pub const CSYSPWRUPACK: u32 = 1 << 31;

/// MEM-AP register offsets (bank and A\[3:2\]).
pub const MEM_AP_CSW: u8 = 0x00;
pub const MEM_AP_TAR: u8 = 0x04;
pub const MEM_AP_DRW: u8 = 0x0C;
pub const MEM_AP_BD0: u8 = 0x10;
pub const MEM_AP_BD3: u8 = 0x1C;
/// The identification register of every AP (APv1 offset).
pub const AP_IDR: u8 = 0xFC;
/// An APv2's identification register, from its base.
pub const APV2_IDR: u32 = 0xDFC;
/// Where an APv2's MEM-AP registers start, from its base: the APv1
/// offsets apply from there.
pub const APV2_MEM_AP_REGISTERS: u32 = 0xD00;

/// IDR fields: the class (bits 16:13), the designer's JEP106 code (bits
/// 27:17), the variant (bits 7:4) and the type (bits 3:0).
pub const IDR_CLASS_SHIFT: u32 = 13;
pub const IDR_CLASS_MASK: u32 = 0xF;
pub const IDR_DESIGNER_SHIFT: u32 = 17;
pub const IDR_DESIGNER_MASK: u32 = 0x7FF;
pub const IDR_VARIANT_SHIFT: u32 = 4;
pub const IDR_VARIANT_MASK: u32 = 0xF;
pub const IDR_TYPE_MASK: u32 = 0xF;
/// IDR class 0b1000: a MEM-AP, whoever designed it (its CSW/TAR/DRW
/// layout is architected).
pub const IDR_CLASS_MEM_AP: u32 = 0x8;
/// ARM's JEP106 continuation code and identity.
pub const IDR_DESIGNER_ARM: u32 = 0x23B;
/// IDR type 1: an AHB-AP.
pub const IDR_TYPE_AHB: u32 = 1;

/// CSW fields.
pub const CSW_SIZE_MASK: u32 = 0b111;
pub const CSW_SIZE_8: u32 = 0b000;
pub const CSW_SIZE_16: u32 = 0b001;
pub const CSW_SIZE_32: u32 = 0b010;
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
/// Nordic's CTRL-AP (nRF52 and later parts, APSEL 1): register offsets.
/// RESET bit 0 holds the system in reset; writing 1 to ERASEALL starts an
/// erase of all non-volatile memory; ERASEALLSTATUS reads 1 while it runs.
pub const CTRL_AP_RESET: u8 = 0x00;
pub const CTRL_AP_ERASEALL: u8 = 0x04;
pub const CTRL_AP_ERASEALLSTATUS: u8 = 0x08;
/// The CTRL-AP's IDR (nRF52); nRF53 and nRF91 parts give revision 1
/// (0x12880000), with the same registers.
pub const NORDIC_CTRL_AP_IDR: u32 = 0x0288_0000;
/// IDR\[31:28\], the AP's revision.
pub const AP_IDR_REVISION: u32 = 0xF000_0000;
/// The APSEL of the CTRL-AP on Nordic parts.
pub const NORDIC_CTRL_AP_APSEL: u8 = 1;

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
    match addr & ADDRESS_A32 {
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
            CSW_SIZE_8 => 1,
            CSW_SIZE_16 => 2,
            CSW_SIZE_32 => 4,
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
