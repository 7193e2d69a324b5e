//! Rule 11's sticky flags: a FAULT is the faulting client's alone.
//!
//! At the end of a client's run whose register transfer FAULTed, the
//! worker clears the real flags (`memap::recover`), so the next client's
//! transfers start clean, and notes STICKYERR against that client. Until
//! the client clears it (ABORT.STKERRCLR under SWD; writing the flag to
//! CTRL/STAT under JTAG), it reads STICKYERR in CTRL/STAT and its AP
//! transfers are refused with a FAULT without reaching the probe, as the
//! DP would refuse them were the client alone. Memory-handle requests are
//! the server's transfers: their faults are cleared and noted nowhere.

use std::collections::HashMap;

use crate::dap::registers::{
    ABORT_ORUNERRCLR, ABORT_STKCMPCLR, ABORT_STKERRCLR, ABORT_WDERRCLR, DP_ABORT, DP_CTRL_STAT,
    STICKYCMP, STICKYERR, STICKYORUN, WDATAERR,
};
use crate::ids::ClientId;
use crate::probe::{Op, OpOutput, ProbeError, ProbeResult, WireProtocol};

use super::Task;

/// The sticky flags each client has set and not cleared.
#[derive(Debug, Default)]
pub struct StickyFlags {
    flags: HashMap<ClientId, u32>,
}

impl StickyFlags {
    /// The error an AP access of `client` gets while its STICKYERR is set.
    pub fn refusal(&self, client: Option<ClientId>, task: &Task) -> Option<ProbeError> {
        let Task::Probe(op) = task else {
            return None;
        };
        let flags = *self.flags.get(&client?)?;
        let is_ap_access = matches!(
            op,
            Op::ReadAp(_)
                | Op::WriteAp { .. }
                | Op::ReadApMultiple { .. }
                | Op::WriteApMultiple { .. }
        );
        (is_ap_access && flags & STICKYERR != 0).then(|| {
            ProbeError::TransferFault(format!(
                "{} refused: STICKYERR is still set from this client's earlier fault \
                 (clear it with ABORT.STKERRCLR)",
                op.name()
            ))
        })
    }

    /// Whether `client` has no sticky flag set.
    pub fn is_clear(&self, client: ClientId) -> bool {
        !self.flags.contains_key(&client)
    }

    /// A transfer of `client`'s run FAULTed.
    pub fn faulted(&mut self, client: ClientId) {
        *self.flags.entry(client).or_default() |= STICKYERR;
    }

    /// Applies a successful operation of `client` to its flags, and shows
    /// them in its CTRL/STAT reads.
    pub fn after(
        &mut self,
        client: Option<ClientId>,
        task: &Task,
        wire: Option<WireProtocol>,
        output: &mut OpOutput,
    ) {
        let Task::Probe(op) = task else {
            return;
        };
        if matches!(op, Op::Connect(_) | Op::Disconnect | Op::Close) {
            self.flags.clear();
            return;
        }
        let Some(client) = client else {
            return;
        };
        let Some(flags) = self.flags.get_mut(&client) else {
            return;
        };
        match (op, output) {
            // The arbiter has put the client's bank in the address, so
            // CTRL/STAT is exactly 0x4.
            (Op::ReadDp(DP_CTRL_STAT), OpOutput::Word(value)) => *value |= *flags,
            (Op::WriteDp { addr, value }, _)
                if *addr == DP_ABORT && wire != Some(WireProtocol::Jtag) =>
            {
                for (clear, flag) in [
                    (ABORT_STKCMPCLR, STICKYCMP),
                    (ABORT_STKERRCLR, STICKYERR),
                    (ABORT_WDERRCLR, WDATAERR),
                    (ABORT_ORUNERRCLR, STICKYORUN),
                ] {
                    if value & clear != 0 {
                        *flags &= !flag;
                    }
                }
            }
            (Op::WriteDp { addr, value }, _)
                if *addr == DP_CTRL_STAT && wire == Some(WireProtocol::Jtag) =>
            {
                *flags &= !(value & (STICKYCMP | STICKYERR | STICKYORUN | WDATAERR));
            }
            _ => {}
        }
        if *flags == 0 {
            self.flags.remove(&client);
        }
    }

    pub fn forget_client(&mut self, client: ClientId) {
        self.flags.remove(&client);
    }
}

/// Whether `op`, done, cleared STICKYERR on the DP: ABORT.STKERRCLR under
/// SWD, the flag written to CTRL/STAT under JTAG. A client that clears it
/// after its own FAULT in the same run owes nothing at the run's end.
pub fn clears_stickyerr(op: &Op, wire: Option<WireProtocol>) -> bool {
    match op {
        Op::WriteDp { addr, value } if *addr == DP_ABORT && wire != Some(WireProtocol::Jtag) => {
            value & ABORT_STKERRCLR != 0
        }
        Op::WriteDp { addr, value }
            if *addr == DP_CTRL_STAT && wire == Some(WireProtocol::Jtag) =>
        {
            value & STICKYERR != 0
        }
        _ => false,
    }
}

/// Whether `result` of `task` is a FAULT of a client's own register
/// transfer.
pub fn is_register_fault(task: &Task, result: &ProbeResult<OpOutput>) -> bool {
    let Task::Probe(op) = task else {
        return false;
    };
    let register_transfer = matches!(
        op,
        Op::ReadDp(_)
            | Op::WriteDp { .. }
            | Op::ReadAp(_)
            | Op::WriteAp { .. }
            | Op::ReadApMultiple { .. }
            | Op::WriteApMultiple { .. }
    );
    register_transfer && matches!(result, Err(ProbeError::TransferFault(_)))
}
