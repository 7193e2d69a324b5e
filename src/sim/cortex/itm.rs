//! The Instrumentation Trace Macrocell at 0xE0000000 (ARMv7-M C1.7), with
//! its 32 stimulus ports and the CoreSight software lock of the Cortex-M4.
//!
//! - The lock (ITM_LAR/ITM_LSR): locked at power-on; writing 0xC5ACCE55 to
//!   ITM_LAR unlocks, any other value locks again. ITM_LSR reports the lock
//!   as implemented (SLI) and its state (SLK). While locked, writes to
//!   ITM_TER, ITM_TPR and ITM_TCR are ignored. On hardware the lock binds
//!   software only; this bus cannot tell the debugger from software, so it
//!   binds every access (pyOCD unlocks before configuring the ITM).
//! - Stimulus ports accept byte, halfword and word writes whatever the
//!   lock; the data goes nowhere (there is no trace port to carry it). A
//!   read returns FIFOREADY (bit 0), set while the ITM is enabled
//!   (ITM_TCR.ITMENA): the FIFO is always ready.
//! - ITM_TCR keeps its writable fields; BUSY reads as zero. ITM_TPR has
//!   four PRIVMASK bits, one per eight ports.
//! - Not gated by DEMCR.TRCENA, and in the debug reset domain: a system
//!   reset changes nothing.

use super::id::{ComponentClass, ComponentId, PIDR4};

pub const ITM_BASE: u32 = 0xE000_0000;
pub const ITM_ID: ComponentId = ComponentId {
    part: 0x001,
    revision: 3,
    class: ComponentClass::GenericIp,
};

pub const ITM_STIM0: u32 = 0x000;
pub const ITM_STIM31: u32 = 0x07C;
pub const ITM_TER: u32 = 0xE00;
pub const ITM_TPR: u32 = 0xE40;
pub const ITM_TCR: u32 = 0xE80;
pub const ITM_LAR: u32 = 0xFB0;
pub const ITM_LSR: u32 = 0xFB4;

pub const LAR_KEY: u32 = 0xC5AC_CE55;
pub const LSR_SLI: u32 = 1 << 0;
pub const LSR_SLK: u32 = 1 << 1;
pub const TCR_ITMENA: u32 = 1 << 0;
/// ITMENA, TSENA, SYNCENA, TXENA, SWOENA, TSPrescale, GTSFREQ, TraceBusID.
const TCR_WRITABLE: u32 = 0x007F_0F1F;
const TPR_WRITABLE: u32 = 0xF;
const STIM_FIFOREADY: u32 = 1 << 0;

#[derive(Debug)]
pub struct Itm {
    locked: bool,
    trace_enable: u32,
    trace_privilege: u32,
    trace_control: u32,
}

impl Itm {
    /// As at power-on: locked and disabled.
    pub fn new() -> Itm {
        Itm {
            locked: true,
            trace_enable: 0,
            trace_privilege: 0,
            trace_control: 0,
        }
    }

    fn read_word(&self, offset: u32) -> u32 {
        match offset {
            ITM_STIM0..=ITM_STIM31 if self.trace_control & TCR_ITMENA != 0 => STIM_FIFOREADY,
            ITM_TER => self.trace_enable,
            ITM_TPR => self.trace_privilege,
            ITM_TCR => self.trace_control,
            ITM_LSR if self.locked => LSR_SLI | LSR_SLK,
            ITM_LSR => LSR_SLI,
            PIDR4.. => ITM_ID.register(offset).unwrap_or(0),
            _ => 0,
        }
    }

    fn write_word(&mut self, offset: u32, value: u32) {
        match offset {
            ITM_LAR => self.locked = value != LAR_KEY,
            _ if self.locked => {}
            ITM_TER => self.trace_enable = value,
            ITM_TPR => self.trace_privilege = value & TPR_WRITABLE,
            ITM_TCR => self.trace_control = value & TCR_WRITABLE,
            _ => {}
        }
    }
}

impl Default for Itm {
    fn default() -> Itm {
        Itm::new()
    }
}

super::word_register_device!(Itm);
