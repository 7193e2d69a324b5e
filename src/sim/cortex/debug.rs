//! Halting debug (ARMv7-M C1.6): DHCSR, DCRSR, DCRDR, DEMCR and DFSR, and
//! the run state of a core that makes no progress.
//!
//! The core executes nothing, but behaves as if it spun on the instruction
//! at its PC, a branch to itself: running, it retires instructions without
//! moving (DHCSR reads S_RETIRE_ST every time, the PC never changes), and
//! whenever it is given a turn (`fetched`, after each bus write) it halts
//! with DFSR.BKPT if a breakpoint matches that instruction, as a real core
//! looping there would. A step (C_STEP with C_HALT cleared, from Debug
//! state) retires one such instruction and halts again with DFSR.HALTED,
//! the PC unchanged; if a breakpoint matches the instruction, the step
//! halts on it with DFSR.BKPT instead, retiring nothing. Nothing sets
//! DFSR.DWTTRAP or EXTERNAL: the loop touches no data, and there is no
//! external debug request. Breakpoints halt only with C_DEBUGEN set; a real
//! core without it would escalate a BKPT to HardFault, which is not
//! modelled (the core just keeps spinning).
//!
//! Choices where the architecture leaves room:
//! - A DHCSR write without DBGKEY (0xA05F in bits 31:16) is ignored. A
//!   write that clears C_DEBUGEN clears the other control bits too and a
//!   halted core leaves Debug state (pyOCD's disconnect resumes first).
//! - C_HALT reads as one whenever the core is in Debug state (entering it
//!   sets the bit); C_STEP, C_MASKINTS and C_SNAPSTALL read as written.
//! - Core register transfers happen only in Debug state, and complete at
//!   once: S_REGRDY reads one exactly when the core is halted. A DCRSR
//!   write while the core runs or is in reset does nothing, and S_REGRDY
//!   reads zero, so a debugger sees the transfer fail.
//! - S_RESET_ST and S_RETIRE_ST clear when DHCSR is read. While the core
//!   is held in reset S_RESET_ST reads one every time, and on the first
//!   read after the release (the reset outlasted the last read); while the
//!   core runs, S_RETIRE_ST reads one every time.
//! - The debug registers are in the debug reset domain: a system reset
//!   keeps C_DEBUGEN, C_MASKINTS, DFSR, DCRDR and DEMCR (except the
//!   DebugMonitor bits 19:16, which a local reset clears). It clears C_HALT
//!   and C_STEP: the core leaves reset running unless C_DEBUGEN is set and
//!   either DEMCR.VC_CORERESET (halt with DFSR.VCATCH) or a C_HALT written
//!   while the core was held in reset (halt with DFSR.HALTED) asks it to
//!   halt at the reset vector.
//! - A vector table the core cannot read (a bus error on the fetch at
//!   reset) locks the core up: S_LOCKUP, until the debugger halts it.

use super::core::CoreRegisters;

pub const DBGKEY: u32 = 0xA05F << 16;
pub const C_DEBUGEN: u32 = 1 << 0;
pub const C_HALT: u32 = 1 << 1;
pub const C_STEP: u32 = 1 << 2;
pub const C_MASKINTS: u32 = 1 << 3;
pub const C_SNAPSTALL: u32 = 1 << 5;
pub const S_REGRDY: u32 = 1 << 16;
pub const S_HALT: u32 = 1 << 17;
pub const S_SLEEP: u32 = 1 << 18;
pub const S_LOCKUP: u32 = 1 << 19;
pub const S_RETIRE_ST: u32 = 1 << 24;
pub const S_RESET_ST: u32 = 1 << 25;
const DHCSR_CONTROL: u32 = C_DEBUGEN | C_HALT | C_STEP | C_MASKINTS | C_SNAPSTALL;

pub const DCRSR_REGWNR: u32 = 1 << 16;
const DCRSR_REGSEL: u32 = 0x7F;

pub const DFSR_HALTED: u32 = 1 << 0;
pub const DFSR_BKPT: u32 = 1 << 1;
pub const DFSR_DWTTRAP: u32 = 1 << 2;
pub const DFSR_VCATCH: u32 = 1 << 3;
pub const DFSR_EXTERNAL: u32 = 1 << 4;
const DFSR_ALL: u32 = DFSR_HALTED | DFSR_BKPT | DFSR_DWTTRAP | DFSR_VCATCH | DFSR_EXTERNAL;

pub const DEMCR_VC_CORERESET: u32 = 1 << 0;
/// VC_MMERR, VC_NOCPERR, VC_CHKERR, VC_STATERR, VC_BUSERR, VC_INTERR,
/// VC_HARDERR: stored, never taken (no fault ever happens).
pub const DEMCR_VC_FAULTS: u32 = 0x7F << 4;
/// MON_EN, MON_PEND, MON_STEP, MON_REQ: stored, no DebugMonitor runs.
pub const DEMCR_MONITOR: u32 = 0xF << 16;
pub const DEMCR_TRCENA: u32 = 1 << 24;
const DEMCR_IMPLEMENTED: u32 = DEMCR_VC_CORERESET | DEMCR_VC_FAULTS | DEMCR_MONITOR | DEMCR_TRCENA;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RunState {
    Running,
    /// A step was asked for; the next fetch completes it.
    Stepping,
    Halted,
    /// Held in reset (nRESET asserted).
    InReset,
    Lockup,
}

#[derive(Debug)]
pub(crate) struct HaltingDebug {
    /// The DHCSR control bits (15:0).
    control: u32,
    state: RunState,
    reset_since_read: bool,
    retired_since_read: bool,
    dfsr: u32,
    demcr: u32,
    dcrdr: u32,
    core: CoreRegisters,
}

impl HaltingDebug {
    /// As at power-on: debug disabled, the core running.
    pub(crate) fn new() -> HaltingDebug {
        HaltingDebug {
            control: 0,
            state: RunState::Running,
            reset_since_read: false,
            retired_since_read: false,
            dfsr: 0,
            demcr: 0,
            dcrdr: 0,
            core: CoreRegisters::default(),
        }
    }

    pub(crate) fn state(&self) -> RunState {
        self.state
    }

    pub(crate) fn core(&self) -> &CoreRegisters {
        &self.core
    }

    pub(crate) fn core_mut(&mut self) -> &mut CoreRegisters {
        &mut self.core
    }

    pub(crate) fn read_dhcsr(&mut self) -> u32 {
        let mut value = self.control;
        match self.state {
            RunState::Halted => value |= S_HALT | S_REGRDY,
            RunState::Lockup => value |= S_LOCKUP,
            RunState::Running | RunState::Stepping | RunState::InReset => {}
        }
        if self.reset_since_read || self.state == RunState::InReset {
            value |= S_RESET_ST;
        }
        if self.retired_since_read || self.state == RunState::Running {
            value |= S_RETIRE_ST;
        }
        self.reset_since_read = false;
        self.retired_since_read = false;
        value
    }

    pub(crate) fn write_dhcsr(&mut self, value: u32) {
        if value & 0xFFFF_0000 != DBGKEY {
            return;
        }
        let control = value & DHCSR_CONTROL;
        if control & C_DEBUGEN == 0 {
            self.control = 0;
            if matches!(self.state, RunState::Halted | RunState::Stepping) {
                self.resume();
            }
            return;
        }
        self.control = control;
        match self.state {
            // Remembered in C_HALT, and taken when the reset is released.
            RunState::InReset => {}
            RunState::Running | RunState::Stepping | RunState::Lockup => {
                if control & C_HALT != 0 {
                    self.enter_debug_state(DFSR_HALTED);
                }
            }
            RunState::Halted => {
                if control & C_HALT != 0 {
                    // Stays halted; C_MASKINTS may have changed.
                } else if control & C_STEP != 0 {
                    self.state = RunState::Stepping;
                    self.control &= !C_HALT;
                } else {
                    self.resume();
                }
            }
        }
    }

    /// DCRSR is write-only; the transfer it starts completes at once.
    pub(crate) fn write_dcrsr(&mut self, value: u32) {
        if self.state != RunState::Halted {
            return;
        }
        let regsel = (value & DCRSR_REGSEL) as u8;
        if value & DCRSR_REGWNR != 0 {
            self.core.write(regsel, self.dcrdr);
        } else if let Some(register) = self.core.read(regsel) {
            self.dcrdr = register;
        }
    }

    pub(crate) fn dcrdr(&self) -> u32 {
        self.dcrdr
    }

    pub(crate) fn write_dcrdr(&mut self, value: u32) {
        self.dcrdr = value;
    }

    pub(crate) fn dfsr(&self) -> u32 {
        self.dfsr
    }

    /// DFSR bits are sticky; writing one clears them.
    pub(crate) fn write_dfsr(&mut self, value: u32) {
        self.dfsr &= !(value & DFSR_ALL);
    }

    pub(crate) fn demcr(&self) -> u32 {
        self.demcr
    }

    pub(crate) fn write_demcr(&mut self, value: u32) {
        self.demcr = value & DEMCR_IMPLEMENTED;
    }

    /// The system went into reset: the core stops where it is.
    pub(crate) fn enter_reset(&mut self) {
        self.state = RunState::InReset;
        self.control &= !(C_HALT | C_STEP);
        self.demcr &= !DEMCR_MONITOR;
        self.reset_since_read = true;
        self.retired_since_read = false;
    }

    /// The system came out of reset with the vector table's first two
    /// words (`None` when they could not be read).
    pub(crate) fn leave_reset(&mut self, vectors: Option<(u32, u32)>) {
        // The reset lasted until now, after any read made while it was held.
        self.reset_since_read = true;
        let Some((initial_sp, reset_vector)) = vectors else {
            self.state = RunState::Lockup;
            return;
        };
        self.core.reset(initial_sp, reset_vector);
        self.state = RunState::Running;
        if self.control & C_DEBUGEN == 0 {
            return;
        }
        if self.demcr & DEMCR_VC_CORERESET != 0 {
            self.enter_debug_state(DFSR_VCATCH);
        } else if self.control & C_HALT != 0 {
            self.enter_debug_state(DFSR_HALTED);
        }
    }

    /// Whether the core is about to fetch an instruction it may halt on:
    /// it runs or steps with halting debug enabled.
    pub(crate) fn fetching(&self) -> bool {
        matches!(self.state, RunState::Running | RunState::Stepping)
            && self.control & C_DEBUGEN != 0
    }

    /// The core fetched the instruction at its PC; `breakpoint` says
    /// whether a breakpoint matches it.
    pub(crate) fn fetched(&mut self, breakpoint: bool) {
        if !self.fetching() {
            return;
        }
        if breakpoint {
            self.enter_debug_state(DFSR_BKPT);
        } else if self.state == RunState::Stepping {
            self.retired_since_read = true;
            self.enter_debug_state(DFSR_HALTED);
        }
    }

    fn enter_debug_state(&mut self, reason: u32) {
        self.state = RunState::Halted;
        self.control |= C_HALT;
        self.dfsr |= reason;
    }

    fn resume(&mut self) {
        self.state = RunState::Running;
        self.control &= !C_HALT;
        self.retired_since_read = true;
    }
}
