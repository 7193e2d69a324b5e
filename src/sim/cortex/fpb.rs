//! The Flash Patch and Breakpoint unit at 0xE0002000 (ARMv7-M C1.11), the
//! revision 0 FPB of the Cortex-M4: six instruction address comparators
//! and two literal comparators.
//!
//! - FP_CTRL: a write takes effect only with KEY (bit 1) set, which reads
//!   as zero; ENABLE is the only writable bit. NUM_CODE and NUM_LIT report
//!   the comparators, REV reads 0 (FPB version 1).
//! - FP_REMAP: RMPSPT reads one (remapping is supported); REMAP (bits
//!   28:5) keeps what is written. No remapping ever happens: the core
//!   fetches nothing.
//! - FP_COMP0-7 keep REPLACE, COMP and ENABLE as written. An enabled
//!   code comparator whose REPLACE selects a halfword (0b01 lower, 0b10
//!   upper, 0b11 both) is a breakpoint on the instruction there
//!   ([`breakpoint_at`]); REPLACE 0b00 asks for a remap, which never
//!   happens (nothing is fetched for execution). FPB version 1 compares
//!   addresses below 0x20000000 only.
//! - The FPB is in the debug reset domain: a system reset leaves it alone.
//!   At power-on everything is disabled.
//! - Word accesses only: narrower writes are ignored.

use super::id::{ComponentClass, ComponentId, PIDR4};
use crate::sim::bus::WordReader;

pub const FPB_BASE: u32 = 0xE000_2000;
pub const FPB_ID: ComponentId = ComponentId {
    part: 0x003,
    revision: 2,
    class: ComponentClass::GenericIp,
};

pub const FP_CTRL: u32 = 0x000;
pub const FP_REMAP: u32 = 0x004;
pub const FP_COMP0: u32 = 0x008;

pub const CODE_COMPARATORS: u32 = 6;
pub const LITERAL_COMPARATORS: u32 = 2;
const COMPARATORS: usize = (CODE_COMPARATORS + LITERAL_COMPARATORS) as usize;
const FP_COMP_LAST: u32 = FP_COMP0 + 4 * (COMPARATORS as u32 - 1);

pub const FP_CTRL_ENABLE: u32 = 1 << 0;
pub const FP_CTRL_KEY: u32 = 1 << 1;
/// NUM_CODE[3:0] in bits 7:4, NUM_LIT in 11:8, NUM_CODE[6:4] in 14:12.
const FP_CTRL_SIZES: u32 =
    (CODE_COMPARATORS & 0xF) << 4 | LITERAL_COMPARATORS << 8 | (CODE_COMPARATORS >> 4) << 12;
const FP_REMAP_RMPSPT: u32 = 1 << 29;
const FP_REMAP_REMAP: u32 = 0x1FFF_FFE0;
/// REPLACE (31:30), COMP (28:2), ENABLE (0).
const FP_COMP_IMPLEMENTED: u32 = 0xDFFF_FFFD;
const FP_COMP_ENABLE: u32 = 1 << 0;
const FP_COMP_ADDRESS: u32 = 0x1FFF_FFFC;
const FP_COMP_REPLACE_SHIFT: u32 = 30;
/// The code region, the only one FPB version 1 compares.
const CODE_REGION_END: u32 = 0x2000_0000;

#[derive(Debug, Default)]
pub struct Fpb {
    enabled: bool,
    remap: u32,
    comparators: [u32; COMPARATORS],
}

impl Fpb {
    pub fn new() -> Fpb {
        Fpb::default()
    }

    fn read_word(&self, offset: u32) -> u32 {
        match offset {
            FP_CTRL => FP_CTRL_SIZES | u32::from(self.enabled),
            FP_REMAP => FP_REMAP_RMPSPT | self.remap,
            FP_COMP0..=FP_COMP_LAST => self
                .comparators
                .get(comparator_index(offset))
                .copied()
                .unwrap_or(0),
            PIDR4.. => FPB_ID.register(offset).unwrap_or(0),
            _ => 0,
        }
    }

    fn write_word(&mut self, offset: u32, value: u32) {
        match offset {
            FP_CTRL if value & FP_CTRL_KEY != 0 => self.enabled = value & FP_CTRL_ENABLE != 0,
            FP_REMAP => self.remap = value & FP_REMAP_REMAP,
            FP_COMP0..=FP_COMP_LAST => {
                if let Some(comparator) = self.comparators.get_mut(comparator_index(offset)) {
                    *comparator = value & FP_COMP_IMPLEMENTED;
                }
            }
            _ => {}
        }
    }
}

/// Whether the FPB, as the bus shows it, has a breakpoint on the
/// instruction at `pc`. The processor asks this for every fetch.
pub fn breakpoint_at(read_word: &mut WordReader<'_>, pc: u32) -> bool {
    let Ok(control) = read_word(FPB_BASE + FP_CTRL) else {
        return false;
    };
    if control & FP_CTRL_ENABLE == 0 || pc >= CODE_REGION_END {
        return false;
    }
    let code_comparators = (control >> 4) & 0xF | ((control >> 12) & 0x7) << 4;
    let halfword = if pc & 2 == 0 { 0b01 } else { 0b10 };
    (0..code_comparators).any(|index| {
        read_word(FPB_BASE + FP_COMP0 + 4 * index).is_ok_and(|comp| {
            comp & FP_COMP_ENABLE != 0
                && comp & FP_COMP_ADDRESS == pc & FP_COMP_ADDRESS
                && (comp >> FP_COMP_REPLACE_SHIFT) & halfword != 0
        })
    })
}

fn comparator_index(offset: u32) -> usize {
    ((offset - FP_COMP0) / 4) as usize
}

super::word_register_device!(Fpb);
