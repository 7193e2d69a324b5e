//! DAP_Transfer and DAP_TransferBlock as sequences of register operations
//! (their replies from what the operations did are `outcome`'s).
//!
//! - **Runs.** Consecutive plain reads of one AP register (a memory read
//!   through DRW, as OpenOCD sends them) become one `ReadApMultiple`, and
//!   consecutive writes of one AP data register (DRW, BD0–BD3) one
//!   `WriteApMultiple`: one operation for the server to carry instead of
//!   hundreds, which the driver moves in as few packets as it can.
//! - **Writes are confirmed in their packet.** Register writes may be
//!   deferred by the driver, so a packet whose last operation is a write
//!   ends with a read of RDBUFF, as CMSIS-DAP firmware ends such a command:
//!   a write's failure is then reported in its own packet's reply, never in
//!   a later one's, and charged to its client's sticky flags.
//! - **Value match.** A match read compares once: the word read under the
//!   match mask (the firmware's, 0 until a match-mask write sets it) with
//!   the match value as given, as the firmware compares; a mismatch ends
//!   the reply with Value Mismatch. The transfers after it in the packet
//!   have run all the same: the worker runs the whole sequence.

use crate::dap::registers::{DP_RDBUFF, DP_SELECT, SELECT_APBANKSEL, SELECT_APSEL};
use crate::probe::Op;

use super::command::{TransferRequest, TRANSFER_MATCH_MASK, TRANSFER_MATCH_VALUE, TRANSFER_RNW};

/// What a DAP client has set in the firmware rather than in the target;
/// both start at zero, as the firmware's.
#[derive(Clone, Copy, Debug, Default)]
pub struct ClientRegisters {
    /// SELECT as this client last wrote it.
    pub select: u32,
    /// The mask value-match reads compare under.
    pub match_mask: u32,
}

impl ClientRegisters {
    /// The register address of a transfer: A\[3:2\], in the AP and bank of
    /// this client's SELECT for an AP transfer.
    fn address(&self, transfer: TransferRequest) -> u32 {
        if transfer.is_ap() {
            (self.select & (SELECT_APSEL | SELECT_APBANKSEL)) | transfer.a32()
        } else {
            transfer.a32()
        }
    }
}

/// How one transfer of a DAP_Transfer is carried out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Step {
    /// Done here: a match-mask write.
    Local,
    /// Operation `op` of the sequence, alone.
    Op(usize),
    /// Transfer `index` of operation `op`, a run to one AP register.
    Run { op: usize, index: usize },
}

impl Step {
    pub(super) fn op(self) -> Option<usize> {
        match self {
            Step::Local => None,
            Step::Op(op) | Step::Run { op, .. } => Some(op),
        }
    }
}

/// One transfer of a DAP_Transfer and how it is carried out.
#[derive(Clone, Copy, Debug)]
pub struct Planned {
    pub(super) transfer: TransferRequest,
    /// The register it reaches (an AP's in its APSEL and bank).
    pub(super) addr: u32,
    pub(super) step: Step,
    /// The mask a match read compares under.
    pub(super) match_mask: u32,
}

impl Planned {
    /// An AP write of a register that moves memory: DRW, or BD0–BD3.
    pub(super) fn writes_memory(&self) -> bool {
        !self.transfer.is_read() && moves_memory(self.transfer, self.addr)
    }
}

/// Whether an AP transfer to `addr` moves memory: DRW, or BD0–BD3.
fn moves_memory(transfer: TransferRequest, addr: u32) -> bool {
    let register = addr & 0xFF;
    transfer.is_ap() && (register == 0x0C || register & 0xF0 == 0x10)
}

/// A DAP_Transfer as operations: what runs, and how each transfer of the
/// packet is answered from it.
#[derive(Debug)]
pub struct TransferPlan {
    pub ops: Vec<Op>,
    pub planned: Vec<Planned>,
}

/// The operations of a DAP_Transfer for a client with `registers`, which
/// its SELECT and match-mask writes update.
pub fn plan_transfers(
    registers: &mut ClientRegisters,
    transfers: &[TransferRequest],
) -> TransferPlan {
    let mut ops: Vec<Op> = Vec::new();
    let mut planned: Vec<Planned> = Vec::new();
    for &transfer in transfers {
        let match_mask = registers.match_mask;
        let addr = registers.address(transfer);
        let step = if !transfer.is_read() && transfer.request & TRANSFER_MATCH_MASK != 0 {
            registers.match_mask = transfer.data.unwrap_or(0);
            Step::Local
        } else if let Some(step) = extend_run(&mut ops, planned.last_mut(), transfer, addr) {
            step
        } else {
            ops.push(match (transfer.is_ap(), transfer.is_read()) {
                (false, true) => Op::ReadDp(addr),
                (true, true) => Op::ReadAp(addr),
                (false, false) => {
                    let value = transfer.data.unwrap_or(0);
                    if addr == DP_SELECT {
                        registers.select = value;
                    }
                    Op::WriteDp { addr, value }
                }
                (true, false) => Op::WriteAp {
                    addr,
                    value: transfer.data.unwrap_or(0),
                },
            });
            Step::Op(ops.len() - 1)
        };
        planned.push(Planned {
            transfer,
            addr,
            step,
            match_mask,
        });
    }
    confirm_writes(&mut ops);
    TransferPlan { ops, planned }
}

/// Adds a plain AP read of `addr`, or a write of an AP data register, to
/// the run of such transfers of that register the last operation is, if it
/// is one; the step that carries it.
fn extend_run(
    ops: &mut [Op],
    previous: Option<&mut Planned>,
    transfer: TransferRequest,
    addr: u32,
) -> Option<Step> {
    let plain_ap_read =
        transfer.is_ap() && transfer.is_read() && transfer.request & TRANSFER_MATCH_VALUE == 0;
    let memory_write = !transfer.is_read() && moves_memory(transfer, addr);
    let previous = previous?;
    let last = ops.len().checked_sub(1)?;
    if !(plain_ap_read || memory_write) || previous.step.op() != Some(last) {
        return None;
    }
    let index = match &mut ops[last] {
        Op::ReadAp(run) if *run == addr && plain_ap_read => {
            ops[last] = Op::ReadApMultiple { addr, count: 2 };
            1
        }
        Op::ReadApMultiple { addr: run, count } if *run == addr && plain_ap_read => {
            *count += 1;
            *count as usize - 1
        }
        Op::WriteAp { addr: run, value } if *run == addr && memory_write => {
            let values = vec![*value, transfer.data.unwrap_or(0)];
            ops[last] = Op::WriteApMultiple { addr, values };
            1
        }
        Op::WriteApMultiple { addr: run, values } if *run == addr && memory_write => {
            values.push(transfer.data.unwrap_or(0));
            values.len() - 1
        }
        _ => return None,
    };
    if index == 1 {
        previous.step = Step::Run { op: last, index: 0 };
    }
    Some(Step::Run { op: last, index })
}

/// Ends `ops` with a read of RDBUFF if it ends with a write, so that every
/// write of the packet is confirmed before the packet is answered.
fn confirm_writes(ops: &mut Vec<Op>) {
    if matches!(
        ops.last(),
        Some(Op::WriteDp { .. } | Op::WriteAp { .. } | Op::WriteApMultiple { .. })
    ) {
        ops.push(Op::ReadDp(DP_RDBUFF));
    }
}

/// The operations of a DAP_TransferBlock of `count` transfers of `request`
/// for a client with `registers` (`data`: the words a write carries).
pub fn plan_block(
    registers: &mut ClientRegisters,
    request: u8,
    count: u16,
    data: Vec<u32>,
) -> Vec<Op> {
    let transfer = TransferRequest {
        request,
        data: None,
    };
    let addr = registers.address(transfer);
    let mut ops = match (transfer.is_ap(), transfer.is_read()) {
        (true, true) => vec![Op::ReadApMultiple {
            addr,
            count: u32::from(count),
        }],
        (true, false) => vec![Op::WriteApMultiple { addr, values: data }],
        (false, true) => (0..count).map(|_| Op::ReadDp(addr)).collect(),
        (false, false) => {
            if addr == DP_SELECT {
                if let Some(&last) = data.last() {
                    registers.select = last;
                }
            }
            data.into_iter()
                .map(|value| Op::WriteDp { addr, value })
                .collect()
        }
    };
    confirm_writes(&mut ops);
    ops
}

/// Whether a DAP_TransferBlock's `request` reads.
pub fn block_reads(request: u8) -> bool {
    request & TRANSFER_RNW != 0
}

#[cfg(test)]
mod tests;
