//! The virtual Cortex-M4 r0p1 with FPU behind the AHB-AP: its memory map
//! and its debug architecture (ARMv7-M part C, ADIv5.2 for the ROM table),
//! faithful enough that pyOCD identifies and debugs it as a real one.
//!
//! Memory map ([`cortex_m4_bus`]); everything else answers with a bus error:
//!
//! | Address      | Size    | What                                       |
//! |--------------|---------|--------------------------------------------|
//! | `0x00000000` | 512 KiB | code memory with a boot image, writable (`flash`) |
//! | `0x20000000` | 128 KiB | RAM                                        |
//! | `0xE0000000` | 4 KiB   | ITM (`itm`)                                |
//! | `0xE0001000` | 4 KiB   | DWT (`dwt`)                                |
//! | `0xE0002000` | 4 KiB   | FPB (`fpb`)                                |
//! | `0xE000E000` | 4 KiB   | SCS: SCB, NVIC, SysTick, halting debug (`scs`) |
//! | `0xE0040000` | 4 KiB   | TPIU (`tpiu`)                              |
//! | `0xE00FF000` | 4 KiB   | ROM table (`rom_table`)                    |
//!
//! The core is the one thing that is not real: it executes nothing. It
//! resets, halts, steps and resumes as ARMv7-M says, but running it makes
//! no progress: it behaves as if it spun on a branch to itself at its PC,
//! so a breakpoint on that instruction halts it (see `debug`). A fresh target is as after power-on and a
//! first reset: running from the reset vector, debug disabled.
//!
//! Reset domains: a system reset (nRESET, AIRCR.SYSRESETREQ or VECTRESET)
//! resets the core and the SCS's system registers; the debug components
//! (FPB, DWT, ITM, TPIU), the debug registers of the SCS, the DP and the
//! AP keep their state, and memory keeps its contents.
//!
//! Each component's module lists its choices where the architecture
//! leaves room. Byte and halfword reads of any component return their part
//! of the register word.

pub mod core;
pub mod debug;
pub mod dwt;
pub mod flash;
pub mod fpb;
pub mod id;
pub mod itm;
pub mod nvic;
pub mod rom_table;
pub mod scb;
pub mod scs;
pub mod systick;
pub mod tpiu;

#[cfg(test)]
mod tests;

use crate::sim::bus::{AccessSize, BusDevice, MemoryBus, Ram};

pub use dwt::Dwt;
pub use flash::{Flash, WritePolicy, FLASH_BASE, FLASH_SIZE};
pub use fpb::Fpb;
pub use itm::Itm;
pub use rom_table::RomTable;
pub use scs::Scs;
pub use tpiu::Tpiu;

/// Where the RAM sits, and how big it is.
pub const RAM_BASE: u32 = 0x2000_0000;
pub const RAM_SIZE: u32 = 128 * 1024;
/// The top of RAM: the initial stack pointer of the boot image.
pub const INITIAL_SP: u32 = RAM_BASE + RAM_SIZE;
/// Every debug component occupies one 4 KiB block.
pub const COMPONENT_SIZE: u32 = 0x1000;

/// The bus of the virtual Cortex-M4, after power-on and a first reset.
pub fn cortex_m4_bus() -> MemoryBus {
    let mut bus = MemoryBus::new();
    let image = flash::boot_image(INITIAL_SP);
    let flash = Flash::with_image(FLASH_SIZE as usize, &image, WritePolicy::Accept);
    let regions: [(u32, u32, Box<dyn BusDevice>); 8] = [
        (FLASH_BASE, FLASH_SIZE, Box::new(flash)),
        (RAM_BASE, RAM_SIZE, Box::new(Ram::new(RAM_SIZE as usize))),
        (itm::ITM_BASE, COMPONENT_SIZE, Box::new(Itm::new())),
        (dwt::DWT_BASE, COMPONENT_SIZE, Box::new(Dwt::new())),
        (fpb::FPB_BASE, COMPONENT_SIZE, Box::new(Fpb::new())),
        (scs::SCS_BASE, COMPONENT_SIZE, Box::new(Scs::new())),
        (tpiu::TPIU_BASE, COMPONENT_SIZE, Box::new(Tpiu::new())),
        (
            rom_table::ROM_TABLE_BASE,
            COMPONENT_SIZE,
            Box::new(RomTable),
        ),
    ];
    for (base, size, device) in regions {
        bus.map(base, size, device)
            .expect("the Cortex-M4 regions do not overlap");
    }
    bus.system_reset();
    bus
}

/// The part of a register word that an access of `size` at `offset` sees.
/// Implements `BusDevice` for a component made of word registers, through
/// its inherent `read_word`/`write_word`: byte and halfword reads see the
/// lanes of their word, narrower writes are ignored (as ITM stimulus writes
/// of other sizes go nowhere).
macro_rules! word_register_device {
    ($component:ty) => {
        impl $crate::sim::bus::BusDevice for $component {
            fn read(
                &mut self,
                offset: u32,
                size: $crate::sim::bus::AccessSize,
            ) -> Result<u32, $crate::sim::bus::BusFault> {
                Ok($crate::sim::cortex::narrow(
                    self.read_word(offset & !3),
                    offset,
                    size,
                ))
            }

            fn write(
                &mut self,
                offset: u32,
                size: $crate::sim::bus::AccessSize,
                value: u32,
            ) -> Result<(), $crate::sim::bus::BusFault> {
                if size == $crate::sim::bus::AccessSize::Word {
                    self.write_word(offset, value);
                }
                Ok(())
            }
        }
    };
}
pub(crate) use word_register_device;

pub(crate) fn narrow(word: u32, offset: u32, size: AccessSize) -> u32 {
    (word >> (8 * (offset & 3))) & size.value_mask()
}
