//! The System Control Block registers that hold state of their own
//! (ARMv7-M B3.2), and the fixed identification registers of a
//! Cortex-M4 r0p1 with FPU and no MPU.
//!
//! ICSR, AIRCR and the debug registers need the core or the NVIC and live
//! in `scs`; DHCSR and friends in `debug`. Every register here is reset by
//! a system reset. Choices:
//! - No fault ever happens, so CFSR, HFSR and AFSR read as zero (their
//!   bits are write-one-to-clear, and there is nothing to clear); MMFAR
//!   and BFAR keep what is written, as on hardware.
//! - SHPR1-3 keep four priority bits per implemented handler; the bytes of
//!   reserved handlers read as zero.
//! - CCR resets to 0x200 (STKALIGN), as on the Cortex-M4.
//! - CPACR implements CP10 and CP11 only; FPCCR resets to ASPEN | LSPEN.

/// Offsets in the SCS of the registers kept here.
pub const ACTLR: u32 = 0x008;
pub const CPUID: u32 = 0xD00;
pub const VTOR: u32 = 0xD08;
pub const SCR: u32 = 0xD10;
pub const CCR: u32 = 0xD14;
pub const SHPR1: u32 = 0xD18;
pub const SHPR2: u32 = 0xD1C;
pub const SHPR3: u32 = 0xD20;
/// The bytes of SHPR1-3, which are byte-accessible.
pub const SHPR_BYTES: std::ops::RangeInclusive<u32> = SHPR1..=SHPR3 + 3;
pub const SHCSR: u32 = 0xD24;
pub const CFSR: u32 = 0xD28;
pub const HFSR: u32 = 0xD2C;
pub const MMFAR: u32 = 0xD34;
pub const BFAR: u32 = 0xD38;
pub const AFSR: u32 = 0xD3C;
pub const ID_PFR0: u32 = 0xD40;
pub const ID_ISAR4: u32 = 0xD70;
pub const CPACR: u32 = 0xD88;
pub const MPU_TYPE: u32 = 0xD90;
pub const FPCCR: u32 = 0xF34;
pub const FPCAR: u32 = 0xF38;
pub const FPDSCR: u32 = 0xF3C;
pub const MVFR0: u32 = 0xF40;
pub const MVFR1: u32 = 0xF44;
pub const MVFR2: u32 = 0xF48;

/// Cortex-M4 r0p1: implementer Arm, variant 0, ARMv7-M, part 0xC24, patch 1.
pub const CPUID_CORTEX_M4_R0P1: u32 = 0x410F_C241;
/// Single precision FP with square root and divide, 16 double registers,
/// round-to-nearest only in hardware: the FPv4-SP of the Cortex-M4F.
pub const MVFR0_VALUE: u32 = 0x1011_0021;
pub const MVFR1_VALUE: u32 = 0x1100_0011;
/// ARMv7-M has no MVFR2; the address reads as zero.
pub const MVFR2_VALUE: u32 = 0;
/// ID_PFR0 through ID_ISAR4 (0xD40-0xD70) of the Cortex-M4.
const FEATURE_IDS: [u32; 13] = [
    0x0000_0030, // ID_PFR0
    0x0000_0200, // ID_PFR1
    0x0010_0000, // ID_DFR0
    0x0000_0000, // ID_AFR0
    0x0000_0030, // ID_MMFR0
    0x0000_0000, // ID_MMFR1
    0x0000_0000, // ID_MMFR2
    0x0000_0000, // ID_MMFR3
    0x0114_1110, // ID_ISAR0
    0x0211_1000, // ID_ISAR1
    0x2111_2231, // ID_ISAR2
    0x0111_1110, // ID_ISAR3
    0x0131_0102, // ID_ISAR4
];

/// DISMCYCINT, DISDEFWBUF, DISFOLD, DISFPCA, DISOOFP.
const ACTLR_IMPLEMENTED: u32 = 0x307;
/// VTOR.TBLOFF is bits 31:7.
const VTOR_IMPLEMENTED: u32 = 0xFFFF_FF80;
/// SLEEPONEXIT, SLEEPDEEP, SEVONPEND.
const SCR_IMPLEMENTED: u32 = 0x16;
/// NONBASETHRDENA, USERSETMPEND, UNALIGN_TRP, DIV_0_TRP, BFHFNMIGN, STKALIGN.
const CCR_IMPLEMENTED: u32 = 0x31B;
const CCR_RESET: u32 = 0x200;
/// Priority bytes of MemManage, BusFault, UsageFault; SVCall; DebugMonitor,
/// PendSV, SysTick.
const SHPR_IMPLEMENTED: [u32; 3] = [0x00F0_F0F0, 0xF000_0000, 0xF0F0_00F0];
/// The active, pending and enable bits of the configurable handlers.
const SHCSR_IMPLEMENTED: u32 = 0x0007_FD8B;
/// The active bits, which VECTCLRACTIVE clears.
const SHCSR_ACTIVE: u32 = 0x0000_0D8B;
/// CP10 and CP11 access fields.
const CPACR_IMPLEMENTED: u32 = 0x00F0_0000;
/// LSPACT, USER, THREAD, HFRDY, MMRDY, BFRDY, MONRDY, LSPEN, ASPEN.
const FPCCR_IMPLEMENTED: u32 = 0xC000_017B;
const FPCCR_RESET: u32 = 0xC000_0000;
const FPCAR_IMPLEMENTED: u32 = 0xFFFF_FFF8;
/// AHP, DN, FZ, RMode.
const FPDSCR_IMPLEMENTED: u32 = 0x07C0_0000;

#[derive(Debug)]
pub(crate) struct SystemControlBlock {
    actlr: u32,
    pub(crate) vtor: u32,
    scr: u32,
    ccr: u32,
    shpr: [u32; 3],
    shcsr: u32,
    mmfar: u32,
    bfar: u32,
    cpacr: u32,
    fpccr: u32,
    fpcar: u32,
    fpdscr: u32,
}

impl SystemControlBlock {
    /// As after a reset.
    pub(crate) fn new() -> SystemControlBlock {
        SystemControlBlock {
            actlr: 0,
            vtor: 0,
            scr: 0,
            ccr: CCR_RESET,
            shpr: [0; 3],
            shcsr: 0,
            mmfar: 0,
            bfar: 0,
            cpacr: 0,
            fpccr: FPCCR_RESET,
            fpcar: 0,
            fpdscr: 0,
        }
    }

    /// The register at `offset`, or `None` if it is not one of these.
    pub(crate) fn read(&self, offset: u32) -> Option<u32> {
        Some(match offset {
            ACTLR => self.actlr,
            CPUID => CPUID_CORTEX_M4_R0P1,
            VTOR => self.vtor,
            SCR => self.scr,
            CCR => self.ccr,
            SHPR1..=SHPR3 => self.shpr.get(shpr_index(offset)).copied().unwrap_or(0),
            SHCSR => self.shcsr,
            CFSR | HFSR | AFSR => 0,
            MMFAR => self.mmfar,
            BFAR => self.bfar,
            ID_PFR0..=ID_ISAR4 => {
                let index = ((offset - ID_PFR0) / 4) as usize;
                FEATURE_IDS.get(index).copied().unwrap_or(0)
            }
            CPACR => self.cpacr,
            MPU_TYPE => 0,
            FPCCR => self.fpccr,
            FPCAR => self.fpcar,
            FPDSCR => self.fpdscr,
            MVFR0 => MVFR0_VALUE,
            MVFR1 => MVFR1_VALUE,
            MVFR2 => MVFR2_VALUE,
            _ => return None,
        })
    }

    /// Writes the register at `offset`; returns false if it is not one of
    /// these. Read-only registers ignore the write.
    pub(crate) fn write(&mut self, offset: u32, value: u32) -> bool {
        match offset {
            ACTLR => self.actlr = value & ACTLR_IMPLEMENTED,
            VTOR => self.vtor = value & VTOR_IMPLEMENTED,
            SCR => self.scr = value & SCR_IMPLEMENTED,
            CCR => self.ccr = value & CCR_IMPLEMENTED,
            SHPR1..=SHPR3 => {
                let index = shpr_index(offset);
                if let (Some(register), Some(mask)) =
                    (self.shpr.get_mut(index), SHPR_IMPLEMENTED.get(index))
                {
                    *register = value & mask;
                }
            }
            SHCSR => self.shcsr = value & SHCSR_IMPLEMENTED,
            MMFAR => self.mmfar = value,
            BFAR => self.bfar = value,
            CPACR => self.cpacr = value & CPACR_IMPLEMENTED,
            FPCCR => self.fpccr = value & FPCCR_IMPLEMENTED,
            FPCAR => self.fpcar = value & FPCAR_IMPLEMENTED,
            FPDSCR => self.fpdscr = value & FPDSCR_IMPLEMENTED,
            CPUID | CFSR | HFSR | AFSR | ID_PFR0..=ID_ISAR4 | MPU_TYPE | MVFR0 | MVFR1 | MVFR2 => {}
            _ => return false,
        }
        true
    }

    /// SHPR1-3 are byte-accessible: writes one priority byte.
    pub(crate) fn write_priority_byte(&mut self, offset: u32, value: u8) {
        let index = shpr_index(offset & !3);
        let shift = 8 * (offset & 3);
        if let (Some(register), Some(mask)) =
            (self.shpr.get_mut(index), SHPR_IMPLEMENTED.get(index))
        {
            let lane = 0xFF << shift;
            *register = (*register & !lane) | ((u32::from(value) << shift) & lane & mask);
        }
    }

    /// The configured priority of system handler `exception` (4-15).
    pub(crate) fn handler_priority(&self, exception: u32) -> u8 {
        let Some(index) = exception.checked_sub(4) else {
            return 0;
        };
        let word = self.shpr.get((index / 4) as usize).copied().unwrap_or(0);
        (word >> (8 * (index % 4))) as u8
    }

    /// AIRCR.VECTCLRACTIVE: no handler is active any more.
    pub(crate) fn clear_active(&mut self) {
        self.shcsr &= !SHCSR_ACTIVE;
    }
}

fn shpr_index(offset: u32) -> usize {
    (offset.saturating_sub(SHPR1) / 4) as usize
}
