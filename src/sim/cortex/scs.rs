//! The System Control Space at 0xE000E000 (ARMv7-M B3.2): the register
//! map that joins the SCB, the NVIC, SysTick, halting debug and the core,
//! and the two registers that involve all of them, ICSR and AIRCR.
//!
//! Choices:
//! - Word accesses reach every register. Byte and halfword reads see their
//!   part of the word; byte and halfword writes reach the byte-accessible
//!   priority registers (SHPR1-3, NVIC_IPR) and are ignored elsewhere.
//! - Addresses inside the SCS that name no register of a Cortex-M4 without
//!   MPU or cache read as zero and ignore writes.
//! - AIRCR needs VECTKEY (0x05FA in bits 31:16) on writes and reads back
//!   VECTKEYSTAT (0xFA05). SYSRESETREQ and VECTRESET both ask the bus for
//!   a system reset: nothing outside the core and the SCS holds state that
//!   a system reset would clear and a local reset keep, so the two are the
//!   same here. VECTCLRACTIVE, defined only in Debug state, clears IPSR and
//!   the active handler bits there and is ignored otherwise.
//! - ICSR shows IPSR as VECTACTIVE, RETTOBASE when an exception is active
//!   (there is never a second one), and the most urgent enabled pending
//!   exception (NMI, PendSV, SysTick, interrupts; masking is ignored) as
//!   VECTPENDING. Pended exceptions stay pending: the core takes none.
//! - The reset fetch reads the vector table at VTOR, which a reset sets to
//!   zero; if that read fails the core locks up (see `debug`).
//! - Each time the bus gives the core a turn (after every write), a core
//!   that runs or steps with debug enabled fetches the instruction at its
//!   PC: an FPB breakpoint there ([`fpb::breakpoint_at`]) or a BKPT
//!   instruction halts it.

use super::debug::{HaltingDebug, RunState};
use super::fpb;
use super::id::{ComponentClass, ComponentId, PIDR4};
use super::narrow;
use super::nvic::{self, Nvic};
use super::scb::{self, SystemControlBlock};
use super::systick::{self, SysTick};
use crate::sim::bus::{AccessSize, BusDevice, BusFault, WordReader};

pub const SCS_BASE: u32 = 0xE000_E000;
pub const SCS_ID: ComponentId = ComponentId {
    part: 0x00C,
    revision: 0,
    class: ComponentClass::GenericIp,
};

pub const ICSR: u32 = 0xD04;
pub const AIRCR: u32 = 0xD0C;
pub const DFSR: u32 = 0xD30;
pub const DHCSR: u32 = 0xDF0;
pub const DCRSR: u32 = 0xDF4;
pub const DCRDR: u32 = 0xDF8;
pub const DEMCR: u32 = 0xDFC;

pub const VECTKEY: u32 = 0x05FA << 16;
pub const VECTKEYSTAT: u32 = 0xFA05 << 16;
pub const AIRCR_VECTRESET: u32 = 1 << 0;
pub const AIRCR_VECTCLRACTIVE: u32 = 1 << 1;
pub const AIRCR_SYSRESETREQ: u32 = 1 << 2;
const AIRCR_PRIGROUP: u32 = 0x7 << 8;

pub const ICSR_RETTOBASE: u32 = 1 << 11;
pub const ICSR_ISRPENDING: u32 = 1 << 22;
pub const ICSR_PENDSTCLR: u32 = 1 << 25;
pub const ICSR_PENDSTSET: u32 = 1 << 26;
pub const ICSR_PENDSVCLR: u32 = 1 << 27;
pub const ICSR_PENDSVSET: u32 = 1 << 28;
pub const ICSR_NMIPENDSET: u32 = 1 << 31;
const ICSR_VECTPENDING_SHIFT: u32 = 12;

/// Thumb BKPT #imm8 is 0xBE00 | imm8.
pub const BKPT_ENCODING: u32 = 0xBE00;

const NMI: u32 = 2;
const PENDSV: u32 = 14;
const SYSTICK: u32 = 15;

/// The SCS, with the processor whose debug interface it is.
pub struct Scs {
    debug: HaltingDebug,
    scb: SystemControlBlock,
    nvic: Nvic,
    systick: SysTick,
    prigroup: u32,
    /// NMIPENDSET, PENDSVSET and PENDSTSET as set.
    pended: u32,
    reset_requested: bool,
}

impl Scs {
    /// As at power-on: the core runs, debug is disabled. Until the first
    /// reset the core's registers are zero.
    pub fn new() -> Scs {
        Scs {
            debug: HaltingDebug::new(),
            scb: SystemControlBlock::new(),
            nvic: Nvic::default(),
            systick: SysTick::default(),
            prigroup: 0,
            pended: 0,
            reset_requested: false,
        }
    }

    fn read_word(&mut self, offset: u32) -> u32 {
        if let Some(value) = self.scb.read(offset) {
            return value;
        }
        match offset {
            nvic::ICTR => self.nvic.read(offset),
            systick::SYST_CSR..=systick::SYST_CALIB => self.systick.read(offset),
            offset if nvic::NVIC_REGISTERS.contains(&offset) => self.nvic.read(offset),
            ICSR => self.icsr(),
            AIRCR => VECTKEYSTAT | self.prigroup,
            DFSR => self.debug.dfsr(),
            DHCSR => self.debug.read_dhcsr(),
            DCRDR => self.debug.dcrdr(),
            DEMCR => self.debug.demcr(),
            PIDR4.. => SCS_ID.register(offset).unwrap_or(0),
            // DCRSR and STIR are write-only; the rest is unimplemented.
            _ => 0,
        }
    }

    fn write_word(&mut self, offset: u32, value: u32) {
        if self.scb.write(offset, value) {
            return;
        }
        match offset {
            systick::SYST_CSR..=systick::SYST_CALIB => self.systick.write(offset, value),
            offset if nvic::NVIC_REGISTERS.contains(&offset) || offset == nvic::STIR => {
                self.nvic.write(offset, value)
            }
            ICSR => self.write_icsr(value),
            AIRCR => self.write_aircr(value),
            DFSR => self.debug.write_dfsr(value),
            DHCSR => self.debug.write_dhcsr(value),
            DCRSR => self.debug.write_dcrsr(value),
            DCRDR => self.debug.write_dcrdr(value),
            DEMCR => self.debug.write_demcr(value),
            _ => {}
        }
    }

    fn write_byte(&mut self, offset: u32, value: u8) {
        if scb::SHPR_BYTES.contains(&offset) {
            self.scb.write_priority_byte(offset, value);
        } else if nvic::IPR_BYTES.contains(&offset) {
            self.nvic.write_priority_byte(offset, value);
        }
    }

    fn icsr(&self) -> u32 {
        let active = self.debug.core().exception_number();
        let mut value = active | self.pended;
        if active != 0 {
            value |= ICSR_RETTOBASE;
        }
        if let Some(exception) = self.most_urgent_pending() {
            value |= exception << ICSR_VECTPENDING_SHIFT;
        }
        if self.nvic.any_pending() {
            value |= ICSR_ISRPENDING;
        }
        value
    }

    fn write_icsr(&mut self, value: u32) {
        let pairs = [
            (ICSR_PENDSVSET, ICSR_PENDSVCLR),
            (ICSR_PENDSTSET, ICSR_PENDSTCLR),
        ];
        for (set, clear) in pairs {
            if value & set != 0 {
                self.pended |= set;
            } else if value & clear != 0 {
                self.pended &= !set;
            }
        }
        // NMIPENDSET: writing zero has no effect; the NMI is never taken.
        self.pended |= value & ICSR_NMIPENDSET;
    }

    fn most_urgent_pending(&self) -> Option<u32> {
        if self.pended & ICSR_NMIPENDSET != 0 {
            return Some(NMI);
        }
        [(ICSR_PENDSVSET, PENDSV), (ICSR_PENDSTSET, SYSTICK)]
            .into_iter()
            .filter(|(bit, _)| self.pended & bit != 0)
            .map(|(_, exception)| (self.scb.handler_priority(exception), exception))
            .chain(self.nvic.most_urgent_pending())
            .min()
            .map(|(_, exception)| exception)
    }

    fn write_aircr(&mut self, value: u32) {
        if value & 0xFFFF_0000 != VECTKEY {
            return;
        }
        self.prigroup = value & AIRCR_PRIGROUP;
        if value & AIRCR_VECTCLRACTIVE != 0 && self.debug.state() == RunState::Halted {
            self.debug.core_mut().clear_exception_number();
            self.scb.clear_active();
        }
        if value & (AIRCR_SYSRESETREQ | AIRCR_VECTRESET) != 0 {
            self.reset_requested = true;
        }
    }
}

impl Default for Scs {
    fn default() -> Scs {
        Scs::new()
    }
}

impl BusDevice for Scs {
    fn read(&mut self, offset: u32, size: AccessSize) -> Result<u32, BusFault> {
        Ok(narrow(self.read_word(offset & !3), offset, size))
    }

    fn write(&mut self, offset: u32, size: AccessSize, value: u32) -> Result<(), BusFault> {
        match size {
            AccessSize::Word => self.write_word(offset, value),
            AccessSize::Halfword => {
                self.write_byte(offset, value as u8);
                self.write_byte(offset + 1, (value >> 8) as u8);
            }
            AccessSize::Byte => self.write_byte(offset, value as u8),
        }
        Ok(())
    }

    fn system_reset(&mut self) {
        self.scb = SystemControlBlock::new();
        self.nvic = Nvic::default();
        self.systick = SysTick::default();
        self.prigroup = 0;
        self.pended = 0;
        self.debug.enter_reset();
    }

    fn reset_released(&mut self, read_word: &mut WordReader<'_>) {
        let table = self.scb.vtor;
        let vectors = read_word(table).and_then(|sp| Ok((sp, read_word(table + 4)?)));
        self.debug.leave_reset(vectors.ok());
    }

    fn take_reset_request(&mut self) -> bool {
        std::mem::take(&mut self.reset_requested)
    }

    /// The core fetches the instruction at its PC, through the FPB.
    fn run(&mut self, read_word: &mut WordReader<'_>) {
        if !self.debug.fetching() {
            return;
        }
        let pc = self.debug.core().pc();
        let breakpoint = fpb::breakpoint_at(read_word, pc) || is_bkpt_at(read_word, pc);
        self.debug.fetched(breakpoint);
    }
}

/// Whether the Thumb instruction at `pc` is BKPT (0xBExx). An instruction
/// that cannot be fetched is not one.
fn is_bkpt_at(read_word: &mut WordReader<'_>, pc: u32) -> bool {
    read_word(pc & !3).is_ok_and(|word| {
        let instruction = if pc & 2 == 0 { word } else { word >> 16 };
        instruction & 0xFF00 == BKPT_ENCODING
    })
}
