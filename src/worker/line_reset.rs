//! Rule 9 for line resets: one client's line reset, JTAG-to-SWD switch or
//! dormant wake-up leaves the other clients' debug port working.
//!
//! After a line reset the SW-DP answers nothing but a DPIDR read, which must
//! be the first transaction (ADIv5.2 B4.3.3; the virtual target's `sim::line`
//! models it); a line reset leaves SELECT and CTRL/STAT, power-up requests
//! included, as they were. The JTAG-to-SWD switch and the dormant-to-SWD
//! wake-up both end with a line reset. The client that sent the sequence
//! reads DPIDR next (pyOCD does, right after its sequences), but another
//! client's transfer may come first, and would get no acknowledge.
//!
//! So after a client's SWJ or SWD sequence on an SWD wire the worker notes
//! that the DP may be in its reset state, and before the next transfer of
//! anyone else (another client's register access or memory-handle request,
//! or the server's own) it sends eight idle cycles and reads DPIDR itself,
//! as pyOCD's own recovery does after its line reset. Any read the DP
//! answers shows it is out of the reset state, and ends the note.
//!
//! Not right after the sequence: a client's sequence may go on in its next
//! request (pyOCD sends the JTAG-to-SWD switch as four, under its lock), and
//! a transaction in between would break it on a real SWJ-DP, whose JTAG side
//! detects the select sequence only from Test-Logic-Reset (ADIv5.2, chapter
//! B5), which the transaction's cycles leave. Waiting for another client's
//! transfer costs pyOCD nothing: its own DPIDR read ends the note first.
//!
//! The DPIDR read is nobody's request: its result is reported to no client
//! and its failure fails no run. If it fails, the DP stays as the sequence
//! left it: the client whose sequence it was learns that from its own DPIDR
//! read, and the transfer about to run gets the DP's own answer. It is tried
//! once per sequence. The driver forgets its SELECT cache after any sequence
//! (`cmsis_dap::probe`), so the next AP access writes SELECT again.

use crate::dap::registers::DP_IDR;
use crate::ids::ClientId;
use crate::memap::MemoryRequest;
use crate::probe::{DebugProbe, Op, OpOutput, ProbeResult, WireProtocol};

use super::Task;

/// Idle cycles sent before the DPIDR read: a line reset's high run must be
/// followed by at least two before a packet header (ADIv5.2 B4.3.3); eight,
/// as pyOCD and OpenOCD send.
const IDLE_CYCLES: u16 = 8;

/// Whose sequence may have left the SW-DP in its reset state.
#[derive(Debug, Default)]
pub struct LineResets {
    /// The client whose SWJ or SWD sequence ran since the DP last answered
    /// a read.
    pending: Option<ClientId>,
}

impl LineResets {
    /// Before `task` of `client` runs: if it is a transfer and another
    /// client's sequence may have left the DP in its reset state, takes the
    /// DP out of it.
    pub fn before(
        &mut self,
        probe: &mut dyn DebugProbe,
        wire: Option<WireProtocol>,
        client: Option<ClientId>,
        task: &Task,
    ) {
        let Some(sender) = self.pending else {
            return;
        };
        if Some(sender) == client || !is_transfer(task) || wire != Some(WireProtocol::Swd) {
            return;
        }
        self.pending = None;
        let idle = probe
            .swj_sequence(IDLE_CYCLES, &[0])
            .and_then(|()| probe.read_dp(DP_IDR));
        match idle {
            Ok(dpidr) => log::debug!(
                "DPIDR {dpidr:#010x} read after client {sender:?}'s sequence, before another's transfer"
            ),
            Err(error) => log::debug!(
                "reading DPIDR after client {sender:?}'s sequence failed ({error}); the DP is left as it is"
            ),
        }
    }

    /// After `task` of `client` ran with `result`.
    pub fn after(
        &mut self,
        client: Option<ClientId>,
        task: &Task,
        wire: Option<WireProtocol>,
        result: &ProbeResult<OpOutput>,
    ) {
        let Task::Probe(op) = task else {
            return;
        };
        match (op, client) {
            (Op::SwjSequence { .. } | Op::SwdSequence(_), Some(client))
                if wire == Some(WireProtocol::Swd) =>
            {
                self.pending = Some(client);
            }
            // The DP acknowledged a read: it is not in the reset state.
            (Op::ReadDp(_) | Op::ReadAp(_), _) if result.is_ok() => self.pending = None,
            (Op::ReadApMultiple { count, .. }, _) if *count > 0 && result.is_ok() => {
                self.pending = None
            }
            _ => {}
        }
    }

    /// Whose sequence the DP may still be in the reset state after.
    #[cfg(test)]
    pub fn pending(&self) -> Option<ClientId> {
        self.pending
    }
}

/// Whether `task` starts a DP or AP transaction.
fn is_transfer(task: &Task) -> bool {
    match task {
        Task::Probe(op) => matches!(
            op,
            Op::ReadDp(_)
                | Op::WriteDp { .. }
                | Op::ReadAp(_)
                | Op::WriteAp { .. }
                | Op::ReadApMultiple { .. }
                | Op::WriteApMultiple { .. }
        ),
        Task::Memory(MemoryRequest::IdentifyAp(_) | MemoryRequest::Access { .. }) => true,
        // The runner takes a sequence's operations one by one.
        Task::Sequence(_) => false,
        Task::MassErase => true,
    }
}
