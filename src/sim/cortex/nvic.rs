//! The NVIC of the virtual Cortex-M4 (ARMv7-M B3.4), with 32 interrupt
//! lines (ICTR.INTLINESNUM = 0) and four priority bits.
//!
//! Enable and pending state is kept; nothing ever becomes active, because
//! the core takes no exception. Registers past the implemented lines read
//! as zero and ignore writes. The priority registers are byte-accessible.
//! A system reset clears everything.

use super::core::PRIORITY_MASK;

/// Offsets in the SCS.
pub const ICTR: u32 = 0x004;
pub const ISER0: u32 = 0x100;
pub const ICER0: u32 = 0x180;
pub const ISPR0: u32 = 0x200;
pub const ICPR0: u32 = 0x280;
pub const IABR0: u32 = 0x300;
pub const IPR0: u32 = 0x400;
pub const STIR: u32 = 0xF00;
/// The NVIC's part of the SCS: ISER0 up to the last IPR word ARMv7-M allows.
pub const NVIC_REGISTERS: std::ops::RangeInclusive<u32> = 0x100..=0x5EC;
/// The bytes of the priority registers, which are byte-accessible.
pub const IPR_BYTES: std::ops::RangeInclusive<u32> = IPR0..=0x5EF;

pub const INTERRUPT_LINES: u32 = 32;
const IPR_LAST: u32 = IPR0 + INTERRUPT_LINES - 4;
/// The first exception number of an external interrupt.
pub const FIRST_INTERRUPT_EXCEPTION: u32 = 16;

#[derive(Debug, Default)]
pub(crate) struct Nvic {
    enabled: u32,
    pending: u32,
    priority: [u8; INTERRUPT_LINES as usize],
}

impl Nvic {
    pub(crate) fn read(&self, offset: u32) -> u32 {
        match offset {
            ICTR => 0,
            ISER0 | ICER0 => self.enabled,
            ISPR0 | ICPR0 => self.pending,
            IPR0..=IPR_LAST => (0..4).fold(0, |word, lane| {
                word | u32::from(self.priority_of(offset - IPR0 + lane)) << (8 * lane)
            }),
            // IABR0 (nothing is ever active) and unimplemented lines.
            _ => 0,
        }
    }

    pub(crate) fn write(&mut self, offset: u32, value: u32) {
        match offset {
            ISER0 => self.enabled |= value,
            ICER0 => self.enabled &= !value,
            ISPR0 => self.pending |= value,
            ICPR0 => self.pending &= !value,
            IPR0..=IPR_LAST => {
                for lane in 0..4 {
                    self.write_priority_byte(offset + lane, (value >> (8 * lane)) as u8);
                }
            }
            STIR => self.trigger(value & 0x1FF),
            _ => {}
        }
    }

    /// The priority registers are byte-accessible.
    pub(crate) fn write_priority_byte(&mut self, offset: u32, value: u8) {
        let line = offset.wrapping_sub(IPR0);
        if let Some(priority) = self.priority.get_mut(line as usize) {
            *priority = value & PRIORITY_MASK;
        }
    }

    /// STIR: software triggers interrupt `line`, making it pending.
    fn trigger(&mut self, line: u32) {
        if line < INTERRUPT_LINES {
            self.pending |= 1 << line;
        }
    }

    /// Whether any interrupt is pending (ICSR.ISRPENDING).
    pub(crate) fn any_pending(&self) -> bool {
        self.pending != 0
    }

    /// The most urgent enabled pending interrupt, as (priority, exception
    /// number): the lowest priority value, then the lowest number.
    pub(crate) fn most_urgent_pending(&self) -> Option<(u8, u32)> {
        (0..INTERRUPT_LINES)
            .filter(|line| self.enabled & self.pending & (1 << line) != 0)
            .map(|line| (self.priority_of(line), FIRST_INTERRUPT_EXCEPTION + line))
            .min()
    }

    fn priority_of(&self, line: u32) -> u8 {
        self.priority.get(line as usize).copied().unwrap_or(0)
    }
}
