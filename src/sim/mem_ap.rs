//! The AHB-AP (a MEM-AP, ADIv5.2 chapter C2) of a Cortex-M3/M4 DAP.
//!
//! Registers, by address (APBANKSEL << 4 | A\[3:2\] << 2):
//! CSW 0x00, TAR 0x04, DRW 0x0C, BD0-BD3 0x10-0x1C, CFG 0xF4, BASE 0xF8,
//! IDR 0xFC. Every other address reads as zero and ignores writes.
//!
//! Choices where ADIv5 leaves room (each is what this AP does, always):
//! - CSW resets to 0x03000040: HPROT privileged data access, DeviceEn,
//!   byte size, no increment. MasterType (bit 29) resets to 0 (core);
//!   debuggers set it to mark their accesses (pyOCD does, for this IDR).
//! - Size supports byte, halfword and word; AddrInc supports off and
//!   single. Writing any other value to one of these fields leaves that
//!   field as it was (the other fields of the write still apply), so a
//!   read-back always shows what the AP will do: that is how debuggers
//!   probe for supported sizes, and ADIv6 requires it. Packed increment is
//!   not supported.
//! - CSW bits 31:8 are kept as written, except SPIDEN (bit 23), which reads
//!   as zero: this AP has no secure debug. DeviceEn (bit 6) reads as one,
//!   TrInProg (bit 7) as zero: every transfer completes at once.
//! - TAR auto-increment wraps inside a 4 KiB page: the identity this AP
//!   reports (IDR 0x24770011) is the Cortex-M3/M4 AHB-AP, whose increment
//!   covers TAR\[11:0\]. ADIv5 only promises the low 10 bits, so debuggers
//!   that do not know the AP split at 1 KiB and are served too, while
//!   pyOCD, which knows this IDR, streams a whole 4 KiB page per TAR write.
//! - An access that is not aligned to its size goes to the aligned address
//!   (TAR's low bits still pick the byte lanes); TAR increments by the size.
//! - A DRW access that gets a bus error leaves TAR unchanged, so TAR names
//!   the faulting address.
//! - On a byte or halfword read the lanes outside the access read as zero.
//! - BD0-BD3 always move whole words, at (TAR & !0xF) + 4n, and never
//!   change TAR.

use super::bus::{AccessSize, BusFault, MemoryBus};

pub const AP_CSW: u8 = 0x00;
pub const AP_TAR: u8 = 0x04;
pub const AP_DRW: u8 = 0x0C;
pub const AP_BD0: u8 = 0x10;
pub const AP_BD3: u8 = 0x1C;
pub const AP_CFG: u8 = 0xF4;
pub const AP_BASE: u8 = 0xF8;
pub const AP_IDR: u8 = 0xFC;

/// Cortex-M3/M4 AHB-AP: ARM, MEM-AP class, variant 1, AHB.
pub const AHB_AP_IDR: u32 = 0x2477_0011;
/// Where the ROM table will sit, with the format (bit 1) and present
/// (bit 0) flags of an ADIv5 BASE.
pub const CORTEX_M_ROM_BASE: u32 = 0xE00F_F003;
pub const CSW_RESET: u32 = 0x0300_0040;

pub const CSW_SIZE_MASK: u32 = 0b111;
pub const CSW_SIZE8: u32 = 0b000;
pub const CSW_SIZE16: u32 = 0b001;
pub const CSW_SIZE32: u32 = 0b010;
pub const CSW_ADDRINC_MASK: u32 = 0b11 << 4;
pub const CSW_ADDRINC_OFF: u32 = 0b00 << 4;
pub const CSW_ADDRINC_SINGLE: u32 = 0b01 << 4;
pub const CSW_DEVICEEN: u32 = 1 << 6;
pub const CSW_TRINPROG: u32 = 1 << 7;
pub const CSW_SPIDEN: u32 = 1 << 23;
/// The upper attribute bits (HPROT, MasterType, …) kept as written.
const CSW_KEPT_AS_WRITTEN: u32 = 0xFFFF_FF00 & !CSW_SPIDEN;

/// TAR increments carry through bits 11:0 only.
pub const TAR_INCREMENT_PAGE: u32 = 0x1000;

#[derive(Debug)]
pub(crate) struct MemAp {
    /// CSW as stored: Size, AddrInc and the kept upper bits.
    csw: u32,
    tar: u32,
}

impl MemAp {
    /// The AHB-AP as after power-on.
    pub(crate) fn new() -> MemAp {
        MemAp {
            csw: CSW_RESET & !CSW_DEVICEEN,
            tar: 0,
        }
    }

    pub(crate) fn read(&mut self, reg: u8, bus: &mut MemoryBus) -> Result<u32, BusFault> {
        match reg {
            AP_CSW => Ok(self.csw | CSW_DEVICEEN),
            AP_TAR => Ok(self.tar),
            AP_DRW => {
                let size = self.size();
                let addr = aligned(self.tar, size);
                let value = bus.read(addr, size)?;
                let lanes = lane_shift(self.tar, size);
                self.increment_tar(size);
                Ok(value << lanes)
            }
            AP_BD0..=AP_BD3 => bus.read(self.banked_address(reg), AccessSize::Word),
            AP_BASE => Ok(CORTEX_M_ROM_BASE),
            AP_IDR => Ok(AHB_AP_IDR),
            // CFG is zero: little-endian, no large address or data.
            _ => Ok(0),
        }
    }

    pub(crate) fn write(
        &mut self,
        reg: u8,
        value: u32,
        bus: &mut MemoryBus,
    ) -> Result<(), BusFault> {
        match reg {
            AP_CSW => self.write_csw(value),
            AP_TAR => self.tar = value,
            AP_DRW => {
                let size = self.size();
                let addr = aligned(self.tar, size);
                bus.write(addr, size, value >> lane_shift(self.tar, size))?;
                self.increment_tar(size);
            }
            AP_BD0..=AP_BD3 => bus.write(self.banked_address(reg), AccessSize::Word, value)?,
            _ => {}
        }
        Ok(())
    }

    /// The bus address an access to `reg` reaches, if it reaches memory
    /// (DRW, BD0–BD3).
    pub(crate) fn access_address(&self, reg: u8) -> Option<u32> {
        match reg {
            AP_DRW => Some(aligned(self.tar, self.size())),
            AP_BD0..=AP_BD3 => Some(self.banked_address(reg)),
            _ => None,
        }
    }

    fn write_csw(&mut self, value: u32) {
        let size = match value & CSW_SIZE_MASK {
            CSW_SIZE8 | CSW_SIZE16 | CSW_SIZE32 => value & CSW_SIZE_MASK,
            _ => self.csw & CSW_SIZE_MASK,
        };
        let increment = match value & CSW_ADDRINC_MASK {
            CSW_ADDRINC_OFF | CSW_ADDRINC_SINGLE => value & CSW_ADDRINC_MASK,
            _ => self.csw & CSW_ADDRINC_MASK,
        };
        self.csw = (value & CSW_KEPT_AS_WRITTEN) | increment | size;
    }

    fn size(&self) -> AccessSize {
        match self.csw & CSW_SIZE_MASK {
            CSW_SIZE8 => AccessSize::Byte,
            CSW_SIZE16 => AccessSize::Halfword,
            _ => AccessSize::Word,
        }
    }

    fn increment_tar(&mut self, size: AccessSize) {
        if self.csw & CSW_ADDRINC_MASK == CSW_ADDRINC_SINGLE {
            let page = TAR_INCREMENT_PAGE - 1;
            let offset = self.tar.wrapping_add(size.bytes()) & page;
            self.tar = (self.tar & !page) | offset;
        }
    }

    fn banked_address(&self, reg: u8) -> u32 {
        (self.tar & !0xF) | u32::from(reg & 0xC)
    }
}

fn aligned(addr: u32, size: AccessSize) -> u32 {
    addr & !(size.bytes() - 1)
}

/// How far up the 32-bit data bus the lanes of this access sit.
fn lane_shift(addr: u32, size: AccessSize) -> u32 {
    8 * (aligned(addr, size) & 0b11)
}
