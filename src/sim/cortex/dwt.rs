//! The Data Watchpoint and Trace unit at 0xE0001000 (ARMv7-M C1.8), as on
//! the Cortex-M4: four comparators, cycle counter, profiling counters,
//! trace packets and external match signals all implemented.
//!
//! - DWT_CTRL reports NUMCOMP 4 and keeps its writable fields; the
//!   counters keep what is written and never count (the core makes no
//!   progress, and there is no clock).
//! - DWT_PCSR reads 0xFFFFFFFF, what it reads when no sample is
//!   available (the unit does not see the core's PC here).
//! - COMPn keeps what is written, MASKn its 5-bit mask. FUNCTIONn keeps
//!   FUNCTION, EMITRANGE and DATAVSIZE; CYCMATCH exists on comparator 0
//!   only, data value matching (DATAVMATCH, DATAVADDR0/1, and LNK1ENA
//!   reading one) on comparator 1 only. MATCHED never sets: no access or
//!   cycle is ever compared.
//! - Not gated by DEMCR.TRCENA, and in the debug reset domain: a system
//!   reset leaves the unit alone.
//! - Word accesses only: narrower writes are ignored.

use super::id::{ComponentClass, ComponentId, PIDR4};

pub const DWT_BASE: u32 = 0xE000_1000;
pub const DWT_ID: ComponentId = ComponentId {
    part: 0x002,
    revision: 3,
    class: ComponentClass::GenericIp,
};

pub const DWT_CTRL: u32 = 0x000;
pub const DWT_CYCCNT: u32 = 0x004;
pub const DWT_CPICNT: u32 = 0x008;
pub const DWT_FOLDCNT: u32 = 0x018;
pub const DWT_PCSR: u32 = 0x01C;
pub const DWT_COMP0: u32 = 0x020;
pub const DWT_MASK0: u32 = 0x024;
pub const DWT_FUNCTION0: u32 = 0x028;
/// Each comparator's COMP, MASK and FUNCTION take 16 bytes.
pub const COMPARATOR_STRIDE: u32 = 0x10;

pub const COMPARATORS: u32 = 4;
const COMPARATOR_REGISTERS_END: u32 = DWT_COMP0 + COMPARATORS * COMPARATOR_STRIDE;
const NUMCOMP_SHIFT: u32 = 28;
/// CYCEVTENA down to CYCCNTENA: every field but the read-only ones.
const CTRL_WRITABLE: u32 = 0x007F_1FFF;
/// CPICNT, EXCCNT, SLEEPCNT, LSUCNT and FOLDCNT are 8 bits wide.
const PROFILE_COUNTER_MASK: u32 = 0xFF;
const MASK_WIDTH: u32 = 0x1F;
/// FUNCTION, EMITRANGE, DATAVSIZE.
const FUNCTION_COMMON: u32 = 0x0000_0C2F;
const FUNCTION_CYCMATCH: u32 = 1 << 7;
/// DATAVMATCH, DATAVADDR0, DATAVADDR1.
const FUNCTION_DATA_MATCH: u32 = 0x000F_F100;
pub const FUNCTION_LNK1ENA: u32 = 1 << 9;
const PCSR_NO_SAMPLE: u32 = 0xFFFF_FFFF;

#[derive(Debug, Default, Clone, Copy)]
struct Comparator {
    comp: u32,
    mask: u32,
    function: u32,
}

#[derive(Debug, Default)]
pub struct Dwt {
    control: u32,
    cycle_count: u32,
    /// CPICNT, EXCCNT, SLEEPCNT, LSUCNT, FOLDCNT.
    profile_counters: [u32; 5],
    comparators: [Comparator; COMPARATORS as usize],
}

impl Dwt {
    pub fn new() -> Dwt {
        Dwt::default()
    }

    fn read_word(&self, offset: u32) -> u32 {
        match offset {
            DWT_CTRL => COMPARATORS << NUMCOMP_SHIFT | self.control,
            DWT_CYCCNT => self.cycle_count,
            DWT_CPICNT..=DWT_FOLDCNT => self
                .profile_counters
                .get(profile_index(offset))
                .copied()
                .unwrap_or(0),
            DWT_PCSR => PCSR_NO_SAMPLE,
            DWT_COMP0..COMPARATOR_REGISTERS_END => {
                let (index, register) = comparator_register(offset);
                let Some(comparator) = self.comparators.get(index) else {
                    return 0;
                };
                match register {
                    0x0 => comparator.comp,
                    0x4 => comparator.mask,
                    0x8 if index == 1 => comparator.function | FUNCTION_LNK1ENA,
                    0x8 => comparator.function,
                    _ => 0,
                }
            }
            PIDR4.. => DWT_ID.register(offset).unwrap_or(0),
            _ => 0,
        }
    }

    fn write_word(&mut self, offset: u32, value: u32) {
        match offset {
            DWT_CTRL => self.control = value & CTRL_WRITABLE,
            DWT_CYCCNT => self.cycle_count = value,
            DWT_CPICNT..=DWT_FOLDCNT => {
                if let Some(counter) = self.profile_counters.get_mut(profile_index(offset)) {
                    *counter = value & PROFILE_COUNTER_MASK;
                }
            }
            DWT_COMP0..COMPARATOR_REGISTERS_END => {
                let (index, register) = comparator_register(offset);
                let writable = function_writable(index);
                let Some(comparator) = self.comparators.get_mut(index) else {
                    return;
                };
                match register {
                    0x0 => comparator.comp = value,
                    0x4 => comparator.mask = value & MASK_WIDTH,
                    0x8 => comparator.function = value & writable,
                    _ => {}
                }
            }
            _ => {}
        }
    }
}

fn profile_index(offset: u32) -> usize {
    ((offset - DWT_CPICNT) / 4) as usize
}

/// Which comparator an offset reaches, and the register within its block.
fn comparator_register(offset: u32) -> (usize, u32) {
    let relative = offset - DWT_COMP0;
    (
        (relative / COMPARATOR_STRIDE) as usize,
        relative % COMPARATOR_STRIDE,
    )
}

fn function_writable(index: usize) -> u32 {
    match index {
        0 => FUNCTION_COMMON | FUNCTION_CYCMATCH,
        1 => FUNCTION_COMMON | FUNCTION_DATA_MATCH,
        _ => FUNCTION_COMMON,
    }
}

super::word_register_device!(Dwt);
