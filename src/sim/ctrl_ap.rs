//! A Nordic-style CTRL-AP at APSEL 1: the access port through which
//! nRF52 parts are mass erased and reset from the debugger, even when
//! their MEM-AP is locked.
//!
//! Registers, by address (APBANKSEL << 4 | A\[3:2\] << 2), as nRF52 parts
//! have them: RESET 0x000 (bit 0 holds the system in reset while set),
//! ERASEALL 0x004 (writing 1 starts an erase of all non-volatile memory),
//! ERASEALLSTATUS 0x008 (1 while that erase runs, 0 when ready),
//! APPROTECTSTATUS 0x00C (1: access port protection not enabled), IDR
//! 0x0FC (0x02880000: designer Nordic, an AP of class 0). Every other
//! address reads as zero and ignores writes.
//!
//! Choices where a real part differs or the documents leave room:
//! - The erase empties the code memory (every [`crate::sim::BusDevice`]
//!   that [`erase`](crate::sim::BusDevice::erase)s itself) at once; then
//!   ERASEALLSTATUS reads as busy for [`ERASE_BUSY_READS`] reads, so a
//!   debugger that does not poll it reads a status it must wait out, as on
//!   a part whose erase takes time. Time does not pass in the model, so
//!   reads count instead.
//! - RESET holds the system (not the debug domain) in reset, like nRESET;
//!   the two are one reset line here: the system leaves reset when neither
//!   holds it (the target decides that, see `target`).
//! - Access port protection is never enabled.

/// RESET: bit 0 set holds the system in reset.
pub const CTRL_AP_RESET: u8 = 0x00;
/// ERASEALL: writing 1 starts an erase of all non-volatile memory.
pub const CTRL_AP_ERASEALL: u8 = 0x04;
/// ERASEALLSTATUS: 1 while the erase runs, 0 when ready.
pub const CTRL_AP_ERASEALLSTATUS: u8 = 0x08;
/// APPROTECTSTATUS: 1 when access port protection is not enabled.
pub const CTRL_AP_APPROTECTSTATUS: u8 = 0x0C;
pub const CTRL_AP_IDR: u8 = 0xFC;
/// The IDR of the nRF52's CTRL-AP.
pub const NORDIC_CTRL_AP_IDR: u32 = 0x0288_0000;
/// How many reads of ERASEALLSTATUS show the erase still running.
pub const ERASE_BUSY_READS: u32 = 3;

/// What a register write asks of the rest of the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CtrlApEffect {
    None,
    /// Erase all non-volatile memory now.
    EraseAll,
    /// The CTRL-AP's hold on the system reset changed to this.
    HoldReset(bool),
}

#[derive(Debug, Default)]
pub(crate) struct CtrlAp {
    reset: bool,
    busy_reads: u32,
}

impl CtrlAp {
    pub(crate) fn read(&mut self, reg: u8) -> u32 {
        match reg {
            CTRL_AP_RESET => u32::from(self.reset),
            CTRL_AP_ERASEALLSTATUS if self.busy_reads > 0 => {
                self.busy_reads -= 1;
                1
            }
            CTRL_AP_APPROTECTSTATUS => 1,
            CTRL_AP_IDR => NORDIC_CTRL_AP_IDR,
            _ => 0,
        }
    }

    pub(crate) fn write(&mut self, reg: u8, value: u32) -> CtrlApEffect {
        match reg {
            CTRL_AP_RESET => {
                let hold = value & 1 != 0;
                if hold == self.reset {
                    return CtrlApEffect::None;
                }
                self.reset = hold;
                CtrlApEffect::HoldReset(hold)
            }
            CTRL_AP_ERASEALL if value & 1 != 0 => {
                self.busy_reads = ERASE_BUSY_READS;
                CtrlApEffect::EraseAll
            }
            _ => CtrlApEffect::None,
        }
    }

    /// Whether the CTRL-AP holds the system in reset.
    pub(crate) fn holds_reset(&self) -> bool {
        self.reset
    }
}
