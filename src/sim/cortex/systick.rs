//! SysTick (ARMv7-M B3.3), which never counts: the virtual target has no
//! clock, so the counter never wraps and CSR.COUNTFLAG stays zero. It has no reference clock either (CALIB.NOREF), so CSR.CLKSOURCE
//! reads as one and ignores writes; CALIB reports no ten-millisecond value
//! (TENMS 0, SKEW set). A system reset restores the reset values.

/// Offsets in the SCS.
pub const SYST_CSR: u32 = 0x010;
pub const SYST_RVR: u32 = 0x014;
pub const SYST_CVR: u32 = 0x018;
pub const SYST_CALIB: u32 = 0x01C;

const CSR_ENABLE: u32 = 1 << 0;
const CSR_TICKINT: u32 = 1 << 1;
const CSR_CLKSOURCE: u32 = 1 << 2;
const RELOAD_MASK: u32 = 0x00FF_FFFF;
const CALIB_NOREF_SKEW: u32 = 0xC000_0000;

#[derive(Debug, Default)]
pub(crate) struct SysTick {
    control: u32,
    reload: u32,
}

impl SysTick {
    pub(crate) fn read(&self, offset: u32) -> u32 {
        match offset {
            SYST_CSR => self.control | CSR_CLKSOURCE,
            SYST_RVR => self.reload,
            // The counter never leaves zero.
            SYST_CVR => 0,
            SYST_CALIB => CALIB_NOREF_SKEW,
            _ => 0,
        }
    }

    pub(crate) fn write(&mut self, offset: u32, value: u32) {
        match offset {
            SYST_CSR => self.control = value & (CSR_ENABLE | CSR_TICKINT),
            SYST_RVR => self.reload = value & RELOAD_MASK,
            _ => {}
        }
    }
}
