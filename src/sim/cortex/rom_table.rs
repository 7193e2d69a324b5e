//! The Cortex-M4 ROM table at 0xE00FF000 (ADIv5.2 D3, a class 0x1 ROM
//! table), where the AHB-AP's BASE points.
//!
//! Entries, in the order of the Cortex-M4's own table: SCS, DWT, FPB,
//! ITM, TPIU, then the ETM marked not present (this core has none), then
//! the zero end marker. Each entry is the component's offset from the
//! table as a 32-bit two's complement value in bits 31:12, with the
//! 32-bit format (bit 1) and present (bit 0) flags. MEMTYPE.SYSMEM reads
//! one: system memory is on the same bus. The table identifies as Arm's
//! Cortex-M4 ROM table, part 0x4C4. Writes are ignored.

use super::dwt::DWT_BASE;
use super::fpb::FPB_BASE;
use super::id::{ComponentClass, ComponentId, PIDR4};
use super::itm::ITM_BASE;
use super::narrow;
use super::scs::SCS_BASE;
use super::tpiu::TPIU_BASE;
use crate::sim::bus::{AccessSize, BusDevice, BusFault};

pub const ROM_TABLE_BASE: u32 = 0xE00F_F000;
pub const ROM_TABLE_ID: ComponentId = ComponentId {
    part: 0x4C4,
    revision: 0,
    class: ComponentClass::RomTable,
};
/// Where the ETM would be; the entry says it is not present.
pub const ETM_BASE: u32 = 0xE004_1000;

pub const MEMTYPE: u32 = 0xFCC;
pub const MEMTYPE_SYSMEM: u32 = 1 << 0;
pub const ENTRY_PRESENT: u32 = 1 << 0;
pub const ENTRY_FORMAT_32BIT: u32 = 1 << 1;

/// The entries, end marker excluded.
const ENTRIES: [u32; 6] = [
    present(SCS_BASE),
    present(DWT_BASE),
    present(FPB_BASE),
    present(ITM_BASE),
    present(TPIU_BASE),
    offset_of(ETM_BASE) | ENTRY_FORMAT_32BIT,
];

const fn offset_of(component: u32) -> u32 {
    component.wrapping_sub(ROM_TABLE_BASE) & 0xFFFF_F000
}

const fn present(component: u32) -> u32 {
    offset_of(component) | ENTRY_FORMAT_32BIT | ENTRY_PRESENT
}

#[derive(Debug, Default)]
pub struct RomTable;

impl RomTable {
    fn read_word(offset: u32) -> u32 {
        match offset {
            MEMTYPE => MEMTYPE_SYSMEM,
            PIDR4.. => ROM_TABLE_ID.register(offset).unwrap_or(0),
            // The entries, then the end marker and zeros.
            _ => ENTRIES.get((offset / 4) as usize).copied().unwrap_or(0),
        }
    }
}

impl BusDevice for RomTable {
    fn read(&mut self, offset: u32, size: AccessSize) -> Result<u32, BusFault> {
        Ok(narrow(RomTable::read_word(offset & !3), offset, size))
    }

    fn write(&mut self, _offset: u32, _size: AccessSize, _value: u32) -> Result<(), BusFault> {
        Ok(())
    }
}
