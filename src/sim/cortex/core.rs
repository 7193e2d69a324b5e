//! The processor's registers, as a debugger reaches them through
//! DCRSR/DCRDR (ARMv7-M C1.6.3, table C1-6 for the REGSEL encoding).
//!
//! The core executes nothing, so these only change when the debugger
//! writes them or the core is reset. What each transfer keeps:
//! - SP (REGSEL 13) is the stack pointer in use: PSP in Thread mode with
//!   CONTROL.SPSEL set, MSP otherwise. MSP and PSP ignore bits 1:0.
//! - DebugReturnAddress (15, the PC) ignores bit 0: Thumb code is halfword
//!   aligned, and the Thumb state lives in xPSR.T.
//! - xPSR keeps only its defined bits (APSR flags and GE, IT/ICI, T, the
//!   exception number).
//! - REGSEL 0x14 packs CONTROL (bits 31:24: nPRIV, SPSEL, FPCA),
//!   FAULTMASK (16), BASEPRI (15:8) and PRIMASK (0). BASEPRI keeps the
//!   implemented priority bits only ([`PRIORITY_MASK`]).
//! - FPSCR (0x21) keeps its defined bits; S0-S31 (0x40-0x5F) are plain
//!   words. The FPU's registers are reachable whatever CPACR says.
//! - Any other REGSEL is reserved: a read leaves DCRDR alone, a write does
//!   nothing.
//!
//! A reset loads MSP and the PC from the vector table, sets xPSR to the
//! Thumb bit of the reset vector, LR to 0xFFFFFFFF and CONTROL and the
//! mask registers to zero; R0-R12, PSP, FPSCR and S0-S31 are UNKNOWN after
//! a reset, and here keep their values.

/// REGSEL values of DCRSR.
pub mod regsel {
    pub const R12: u8 = 12;
    pub const SP: u8 = 13;
    pub const LR: u8 = 14;
    pub const DEBUG_RETURN_ADDRESS: u8 = 15;
    pub const XPSR: u8 = 16;
    pub const MSP: u8 = 17;
    pub const PSP: u8 = 18;
    pub const CONTROL_FAULTMASK_BASEPRI_PRIMASK: u8 = 0x14;
    pub const FPSCR: u8 = 0x21;
    pub const S0: u8 = 0x40;
    pub const S31: u8 = 0x5F;
}

pub const XPSR_THUMB: u32 = 1 << 24;
const XPSR_IMPLEMENTED: u32 = 0xFF0F_FDFF;
const XPSR_EXCEPTION_NUMBER: u32 = 0x1FF;
const FPSCR_IMPLEMENTED: u32 = 0xF7C0_009F;
const CONTROL_SPSEL: u8 = 1 << 1;
const CONTROL_IMPLEMENTED: u8 = 0b111;
/// Four priority bits are implemented, the top ones of each 8-bit field.
pub const PRIORITY_MASK: u8 = 0xF0;
/// Stack pointers are word aligned.
const SP_MASK: u32 = !0b11;

#[derive(Debug, Default)]
pub(crate) struct CoreRegisters {
    general: [u32; 13],
    msp: u32,
    psp: u32,
    lr: u32,
    pc: u32,
    xpsr: u32,
    control: u8,
    faultmask: bool,
    basepri: u8,
    primask: bool,
    fpscr: u32,
    single: [u32; 32],
}

impl CoreRegisters {
    /// The register `regsel` names, or `None` for a reserved REGSEL.
    pub(crate) fn read(&self, regsel: u8) -> Option<u32> {
        match regsel {
            0..=regsel::R12 => self.general.get(usize::from(regsel)).copied(),
            regsel::SP => Some(*self.current_sp()),
            regsel::LR => Some(self.lr),
            regsel::DEBUG_RETURN_ADDRESS => Some(self.pc),
            regsel::XPSR => Some(self.xpsr),
            regsel::MSP => Some(self.msp),
            regsel::PSP => Some(self.psp),
            regsel::CONTROL_FAULTMASK_BASEPRI_PRIMASK => Some(
                u32::from(self.control) << 24
                    | u32::from(self.faultmask) << 16
                    | u32::from(self.basepri) << 8
                    | u32::from(self.primask),
            ),
            regsel::FPSCR => Some(self.fpscr),
            regsel::S0..=regsel::S31 => self.single.get(usize::from(regsel - regsel::S0)).copied(),
            _ => None,
        }
    }

    /// Writes the register `regsel` names; a reserved REGSEL does nothing.
    pub(crate) fn write(&mut self, regsel: u8, value: u32) {
        match regsel {
            0..=regsel::R12 => {
                if let Some(register) = self.general.get_mut(usize::from(regsel)) {
                    *register = value;
                }
            }
            regsel::SP => *self.current_sp_mut() = value & SP_MASK,
            regsel::LR => self.lr = value,
            regsel::DEBUG_RETURN_ADDRESS => self.pc = value & !1,
            regsel::XPSR => self.xpsr = value & XPSR_IMPLEMENTED,
            regsel::MSP => self.msp = value & SP_MASK,
            regsel::PSP => self.psp = value & SP_MASK,
            regsel::CONTROL_FAULTMASK_BASEPRI_PRIMASK => {
                self.control = (value >> 24) as u8 & CONTROL_IMPLEMENTED;
                self.faultmask = value & (1 << 16) != 0;
                self.basepri = (value >> 8) as u8 & PRIORITY_MASK;
                self.primask = value & 1 != 0;
            }
            regsel::FPSCR => self.fpscr = value & FPSCR_IMPLEMENTED,
            regsel::S0..=regsel::S31 => {
                if let Some(register) = self.single.get_mut(usize::from(regsel - regsel::S0)) {
                    *register = value;
                }
            }
            _ => {}
        }
    }

    /// The reset of the processor: `initial_sp` and `reset_vector` are the
    /// first two words of the vector table.
    pub(crate) fn reset(&mut self, initial_sp: u32, reset_vector: u32) {
        self.msp = initial_sp & SP_MASK;
        self.pc = reset_vector & !1;
        self.xpsr = if reset_vector & 1 != 0 { XPSR_THUMB } else { 0 };
        self.lr = 0xFFFF_FFFF;
        self.control = 0;
        self.faultmask = false;
        self.basepri = 0;
        self.primask = false;
    }

    /// DebugReturnAddress: where the core would execute next.
    pub(crate) fn pc(&self) -> u32 {
        self.pc
    }

    /// IPSR: the number of the exception being handled, 0 in Thread mode.
    pub(crate) fn exception_number(&self) -> u32 {
        self.xpsr & XPSR_EXCEPTION_NUMBER
    }

    /// AIRCR.VECTCLRACTIVE clears IPSR along with the active exceptions.
    pub(crate) fn clear_exception_number(&mut self) {
        self.xpsr &= !XPSR_EXCEPTION_NUMBER;
    }

    fn uses_process_stack(&self) -> bool {
        self.control & CONTROL_SPSEL != 0 && self.exception_number() == 0
    }

    fn current_sp(&self) -> &u32 {
        if self.uses_process_stack() {
            &self.psp
        } else {
            &self.msp
        }
    }

    fn current_sp_mut(&mut self) -> &mut u32 {
        if self.uses_process_stack() {
            &mut self.psp
        } else {
            &mut self.msp
        }
    }
}
