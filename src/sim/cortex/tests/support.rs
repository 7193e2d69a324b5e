//! What the Cortex-M4 tests share: the virtual target's bus driven by word
//! accesses, as a debugger drives it through the AHB-AP.

use crate::sim::bus::{AccessSize, MemoryBus};
use crate::sim::cortex::cortex_m4_bus;
use crate::sim::cortex::debug::{C_DEBUGEN, C_HALT, DBGKEY, DCRSR_REGWNR};
use crate::sim::cortex::scs::{DCRDR, DCRSR, DHCSR, SCS_BASE};

/// Word accesses that must succeed.
pub(super) trait Words {
    fn word(&mut self, addr: u32) -> u32;
    fn set_word(&mut self, addr: u32, value: u32);
}

impl Words for MemoryBus {
    fn word(&mut self, addr: u32) -> u32 {
        self.read(addr, AccessSize::Word)
            .unwrap_or_else(|_| panic!("read of {addr:#010x} faulted"))
    }

    fn set_word(&mut self, addr: u32, value: u32) {
        self.write(addr, AccessSize::Word, value)
            .unwrap_or_else(|_| panic!("write of {addr:#010x} faulted"))
    }
}

/// The address of the SCS register at `offset`.
pub(super) const fn scs(offset: u32) -> u32 {
    SCS_BASE + offset
}

/// A fresh target with halting debug enabled and the core halted.
pub(super) fn halted_target() -> MemoryBus {
    let mut bus = cortex_m4_bus();
    bus.set_word(scs(DHCSR), DBGKEY | C_DEBUGEN | C_HALT);
    bus
}

/// Reads a core register through DCRSR/DCRDR.
pub(super) fn core_register(bus: &mut MemoryBus, regsel: u8) -> u32 {
    bus.set_word(scs(DCRSR), u32::from(regsel));
    bus.word(scs(DCRDR))
}

/// Writes a core register through DCRDR/DCRSR.
pub(super) fn set_core_register(bus: &mut MemoryBus, regsel: u8, value: u32) {
    bus.set_word(scs(DCRDR), value);
    bus.set_word(scs(DCRSR), DCRSR_REGWNR | u32::from(regsel));
}
