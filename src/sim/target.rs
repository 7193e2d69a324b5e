//! [`SwdTarget`]: the DAP at the level of SWD transactions and their
//! acknowledges, the interface a probe's firmware has to the target.
//!
//! Each call is one SWD transaction: a DP or AP access with A\[3:2\], answered
//! OK (the `Ok` of the result) or with an [`Ack`]. The AP is chosen by
//! SELECT.APSEL and its register bank by SELECT.APBANKSEL, as on the wire.
//!
//! Simplifications, each invisible to a debugger behind a probe:
//! - SWD posts AP reads (the data of one comes back with the next). Probe
//!   firmware hides that by reading RDBUFF, so here an AP read returns its
//!   own data at once, and RDBUFF holds the same value afterwards.
//! - A MEM-AP transfer that gets a bus error is answered FAULT itself and
//!   sets STICKYERR (on hardware the posted transaction is acknowledged OK
//!   and the *next* one faults; a probe reports the fault either way).
//! - While any sticky flag (STICKYORUN, STICKYCMP, STICKYERR, WDATAERR) is
//!   set, every AP transaction is answered FAULT and does nothing; DP
//!   transactions still work, so ABORT can clear the flags.
//! - The AP side is in the debug power domain: until CTRL/STAT.CDBGPWRUPACK
//!   is set (at once, when CDBGPWRUPREQ is written), an AP transaction is
//!   answered FAULT and sets STICKYERR.
//! - Nothing is ever busy, so WAIT only comes from
//!   [`SwdTarget::inject_wait_responses`], a fault injection for tests of the
//!   layers above.
//!
//! APSEL 0 holds the AHB-AP and APSEL 1 a Nordic-style CTRL-AP (`ctrl_ap`:
//! mass erase and a system reset hold); any other APSEL reads as zero, IDR
//! included (what a debugger takes as "no AP here"), and ignores writes.
//!
//! Between transactions the probe may clock raw SWDIO levels
//! ([`SwdTarget::clock_swdio`]): a line reset among them puts the SW-DP in
//! its reset state, in which only a DPIDR read is answered and every other
//! transaction gets [`Ack::NoAck`]. The facts and the choices are in
//! `line`'s module doc.

use super::bus::MemoryBus;
use super::cortex;
use super::ctrl_ap::{CtrlAp, CtrlApEffect};
use super::dp::{DebugPort, TransferMode, DP_IDR, STICKYCMP, STICKYERR, WDATAERR};
use super::faults::{AddressFaults, InjectedAck};
use super::line::SwdLine;
use super::mem_ap::MemAp;

/// A non-OK SWD acknowledge (OK is the `Ok` of a transaction's result).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ack {
    /// The target is busy; the transaction did not happen.
    Wait,
    /// The transaction failed or was refused for a sticky error flag.
    Fault,
    /// No acknowledge at all (the target did not answer the request).
    NoAck,
    /// A read's data failed its parity check on the wire, which the probe
    /// reports as an SWD protocol error. Only an injected fault
    /// (`faults`) gives it: the target is driven at the acknowledge level.
    ParityError,
}

pub use super::cortex::{RAM_BASE, RAM_SIZE};

/// APSEL of the AHB-AP.
const AHB_AP: u8 = 0;
/// APSEL of the CTRL-AP.
const CTRL_AP: u8 = 1;

/// A debug port with an AHB-AP in front of a memory bus and a CTRL-AP.
pub struct SwdTarget {
    line: SwdLine,
    dp: DebugPort,
    ahb_ap: MemAp,
    ctrl_ap: CtrlAp,
    bus: MemoryBus,
    nreset_asserted: bool,
    pending_waits: u32,
    faults: AddressFaults,
    /// Every change of the nRESET line, in order (true: asserted).
    nreset_edges: Vec<bool>,
}

impl SwdTarget {
    /// A target whose AHB-AP reaches `bus`.
    pub fn new(bus: MemoryBus) -> SwdTarget {
        SwdTarget {
            line: SwdLine::default(),
            dp: DebugPort::new(),
            ahb_ap: MemAp::new(),
            ctrl_ap: CtrlAp::default(),
            bus,
            nreset_asserted: false,
            pending_waits: 0,
            faults: AddressFaults::default(),
            nreset_edges: Vec::new(),
        }
    }

    /// The virtual Cortex-M4 ([`cortex::cortex_m4_bus`]).
    pub fn cortex_m() -> SwdTarget {
        SwdTarget::new(cortex::cortex_m4_bus())
    }

    /// A DP register read; only A\[3:2\] of `addr` count, as on the wire.
    pub fn dp_read(&mut self, addr: u8) -> Result<u32, Ack> {
        self.admit_on_line(addr & 0xC == DP_IDR)?;
        Ok(self.dp.read(addr))
    }

    pub fn dp_write(&mut self, addr: u8, value: u32) -> Result<(), Ack> {
        self.admit_on_line(false)?;
        self.dp.write(addr, value);
        Ok(())
    }

    /// A read of the register at A\[3:2\] = `addr` of the AP SELECT names.
    pub fn ap_read(&mut self, addr: u8) -> Result<u32, Ack> {
        self.admit_on_line(false)?;
        self.admit_ap_transaction(true)?;
        let register = self.dp.ap_register(addr);
        self.injected_fault(register, true)?;
        let result = match self.dp.apsel() {
            AHB_AP => self.ahb_ap.read(register, &mut self.bus),
            CTRL_AP => Ok(self.ctrl_ap.read(register)),
            _ => Ok(0),
        };
        match result {
            Ok(value) => {
                self.dp.ap_read_completed(value);
                Ok(value)
            }
            Err(_) => {
                self.dp.ap_faulted(STICKYERR, true);
                Err(Ack::Fault)
            }
        }
    }

    /// A write of the register at A\[3:2\] = `addr` of the AP SELECT names.
    /// In a pushed transfer mode the write becomes a read and a comparison.
    pub fn ap_write(&mut self, addr: u8, value: u32) -> Result<(), Ack> {
        self.admit_on_line(false)?;
        self.admit_ap_transaction(false)?;
        let register = self.dp.ap_register(addr);
        self.injected_fault(register, false)?;
        let mode = self.dp.transfer_mode();
        let result = match (self.dp.apsel(), mode) {
            (AHB_AP, TransferMode::Normal) => self.ahb_ap.write(register, value, &mut self.bus),
            (CTRL_AP, TransferMode::Normal) => {
                let effect = self.ctrl_ap.write(register, value);
                self.apply(effect);
                Ok(())
            }
            (_, TransferMode::Normal) => Ok(()),
            (AHB_AP, _) => self
                .ahb_ap
                .read(register, &mut self.bus)
                .map(|actual| self.compare(mode, value, actual)),
            (_, _) => {
                self.compare(mode, value, 0);
                Ok(())
            }
        };
        result.map_err(|_| {
            self.dp.ap_faulted(STICKYERR, false);
            Ack::Fault
        })
    }

    /// Clocks `cycles` SWDIO levels outside any transaction, LSB first from
    /// `levels` (a missing byte reads as high): DAP_SWJ_Sequence's bits,
    /// DAP_SWD_Sequence's cycles. A line reset among them puts the SW-DP in
    /// its reset state (`line`).
    pub fn clock_swdio(&mut self, levels: &[u8], cycles: usize) {
        for cycle in 0..cycles {
            let byte = levels.get(cycle / 8).copied().unwrap_or(0xFF);
            self.line.clock((byte >> (cycle % 8)) & 1 != 0);
        }
    }

    /// Whether the SW-DP is in the reset state a line reset leaves it in,
    /// waiting for a DPIDR read.
    pub fn in_line_reset_state(&self) -> bool {
        self.line.in_reset_state()
    }

    /// The nRESET line. Asserting it puts the system into reset (not the
    /// debug domain: DP and AP state survive, as on hardware); releasing it
    /// lets the system out, and the core fetches its vectors.
    pub fn set_nreset(&mut self, asserted: bool) {
        let held_before = self.system_held_in_reset();
        if self.nreset_asserted != asserted {
            self.nreset_edges.push(asserted);
        }
        self.nreset_asserted = asserted;
        self.reset_changed(held_before);
    }

    /// Whether nRESET or the CTRL-AP holds the system in reset.
    pub fn system_held_in_reset(&self) -> bool {
        self.nreset_asserted || self.ctrl_ap.holds_reset()
    }

    /// Enters or leaves the system reset if whether it is held changed.
    fn reset_changed(&mut self, held_before: bool) {
        match (held_before, self.system_held_in_reset()) {
            (false, true) => self.bus.enter_reset(),
            (true, false) => self.bus.leave_reset(),
            _ => {}
        }
    }

    /// Carries out what a CTRL-AP write asked for.
    fn apply(&mut self, effect: CtrlApEffect) {
        match effect {
            CtrlApEffect::None => {}
            CtrlApEffect::EraseAll => self.bus.erase_non_volatile(),
            CtrlApEffect::HoldReset(hold) => {
                let held_before = self.nreset_asserted || !hold;
                self.reset_changed(held_before);
            }
        }
    }

    pub fn nreset_asserted(&self) -> bool {
        self.nreset_asserted
    }

    /// Every change of the nRESET line so far, oldest first (true:
    /// asserted): a reset pulse is `[true, false]`.
    pub fn nreset_edges(&self) -> &[bool] {
        &self.nreset_edges
    }

    /// Answers MEM-AP accesses to `addresses` with `ack` instead of running
    /// them, the next `times` of them or (`None`) until
    /// [`SwdTarget::clear_faults`] (`faults`).
    pub fn inject_fault_at(
        &mut self,
        addresses: std::ops::Range<u32>,
        ack: InjectedAck,
        times: Option<u32>,
    ) {
        self.faults.arm(addresses, ack, times);
    }

    /// Disarms every fault [`SwdTarget::inject_fault_at`] armed.
    pub fn clear_faults(&mut self) {
        self.faults.clear();
    }

    /// Transactions answered by an injected fault so far.
    pub fn injected_faults(&self) -> u64 {
        self.faults.injected()
    }

    /// Starts the SW-DP as a real one powers on: deaf to every transaction
    /// until a line reset, then (as after any line reset) answering only a
    /// DPIDR read first (`line`). The default target skips this, so that a
    /// client that never sends a line reset works.
    pub fn require_line_reset(&mut self) {
        self.line.require_line_reset();
    }

    /// Answers the next `count` AP transactions WAIT (fault injection).
    pub fn inject_wait_responses(&mut self, count: u32) {
        self.pending_waits = count;
    }

    /// Records a write-data parity error, as the DP does when the data
    /// phase of a write arrives corrupted: WDATAERR is set (fault
    /// injection; an ACK-level caller cannot corrupt parity otherwise).
    pub fn inject_write_parity_error(&mut self) {
        self.dp.set_sticky(WDATAERR);
    }

    /// The memory system behind the AHB-AP.
    pub fn bus(&self) -> &MemoryBus {
        &self.bus
    }

    pub fn bus_mut(&mut self) -> &mut MemoryBus {
        &mut self.bus
    }

    /// Decides whether an AP transaction may run, and answers it if not.
    /// No acknowledge for a transaction the line does not let through
    /// (`line::SwdLine::admit`).
    fn admit_on_line(&mut self, is_dpidr_read: bool) -> Result<(), Ack> {
        if self.line.admit(is_dpidr_read) {
            Ok(())
        } else {
            Err(Ack::NoAck)
        }
    }

    /// Answers an access to memory that an armed fault covers (`faults`).
    fn injected_fault(&mut self, register: u8, is_read: bool) -> Result<(), Ack> {
        if self.dp.apsel() != 0 {
            return Ok(());
        }
        let Some(address) = self.ahb_ap.access_address(register) else {
            return Ok(());
        };
        let Some(injected) = self.faults.take(address, is_read) else {
            return Ok(());
        };
        match injected {
            InjectedAck::Wait => self.dp.ap_waited(),
            InjectedAck::Fault => self.dp.ap_faulted(STICKYERR, is_read),
            InjectedAck::NoAck | InjectedAck::ParityError => {}
        }
        Err(injected.ack())
    }

    fn admit_ap_transaction(&mut self, is_read: bool) -> Result<(), Ack> {
        if self.dp.sticky_flag_set() {
            self.dp.ap_faulted(0, is_read);
            return Err(Ack::Fault);
        }
        if self.pending_waits > 0 {
            self.pending_waits -= 1;
            self.dp.ap_waited();
            return Err(Ack::Wait);
        }
        if !self.dp.debug_powered_up() {
            self.dp.ap_faulted(STICKYERR, is_read);
            return Err(Ack::Fault);
        }
        Ok(())
    }

    fn compare(&mut self, mode: TransferMode, expected: u32, actual: u32) {
        let mask = self.dp.compare_mask();
        let equal = (expected ^ actual) & mask == 0;
        let flagged = match mode {
            TransferMode::PushedVerify => !equal,
            TransferMode::PushedCompare => equal,
            TransferMode::Normal => false,
        };
        if flagged {
            self.dp.set_sticky(STICKYCMP);
        }
    }
}
