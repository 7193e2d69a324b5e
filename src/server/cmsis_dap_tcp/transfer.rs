//! DAP_Transfer and DAP_TransferBlock as sequences of register operations,
//! and their replies from what the sequence did.
//!
//! - **Runs of reads.** Consecutive plain reads of one AP register (a
//!   memory read through DRW, as OpenOCD sends them) become one
//!   `ReadApMultiple`, which the driver moves as DAP_TransferBlock packets
//!   kept in flight together; read one by one, each would wait for its own
//!   probe round trip. Writes stay single: the driver packs them, deferred,
//!   into the packets of the reads that follow.
//! - **Writes are confirmed in their packet.** Register writes are
//!   deferred by the driver, so a packet whose last operation is a write
//!   ends with a read of RDBUFF, as CMSIS-DAP firmware ends such a command:
//!   a write's failure is then reported in its own packet's reply, never in
//!   a later one's, and charged to its client's sticky flags.
//! - **Which transfer failed.** A read completes everything queued before
//!   it, so the transfers before the last completed read all succeeded. A
//!   failure reported at an AP read is that read's (the first of a run's,
//!   whose words are not returned). A failure reported at a DP read or at
//!   the confirming read, with writes still unconfirmed before it, is
//!   charged to the first of those that writes memory (DRW or BD0–BD3),
//!   else to the first of them: the count is exact whenever that is the
//!   transfer that failed, as when TAR points where a bus access faults.
//! - **Value match.** A match read compares once: the word read under the
//!   match mask (the firmware's, 0 until a match-mask write sets it) with
//!   the match value as given, as the firmware compares; a mismatch ends
//!   the reply with Value Mismatch. The transfers after it in the packet
//!   have run all the same: the worker runs the whole sequence.

use crate::dap::registers::{DP_RDBUFF, DP_SELECT, SELECT_APBANKSEL, SELECT_APSEL};
use crate::probe::{Op, OpOutput, ProbeError};

use super::command::{
    TransferRequest, ID_TRANSFER, TRANSFER_MATCH_MASK, TRANSFER_MATCH_VALUE, TRANSFER_RNW,
};
use super::reply::{self, TransferReply, ACK_MISMATCH, ACK_OK};

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
enum Step {
    /// Done here: a match-mask write.
    Local,
    /// Operation `op` of the sequence, alone.
    Op(usize),
    /// Word `word` of operation `op`, a run of reads of one AP register.
    RunRead { op: usize, word: usize },
}

impl Step {
    fn op(self) -> Option<usize> {
        match self {
            Step::Local => None,
            Step::Op(op) | Step::RunRead { op, .. } => Some(op),
        }
    }
}

/// One transfer of a DAP_Transfer and how it is carried out.
#[derive(Clone, Copy, Debug)]
pub struct Planned {
    transfer: TransferRequest,
    /// The register it reaches (an AP's in its APSEL and bank).
    addr: u32,
    step: Step,
    /// The mask a match read compares under.
    match_mask: u32,
}

impl Planned {
    /// An AP write of a register that moves memory: DRW, or BD0–BD3.
    fn writes_memory(&self) -> bool {
        let register = self.addr & 0xFF;
        self.transfer.is_ap()
            && !self.transfer.is_read()
            && (register == 0x0C || register & 0xF0 == 0x10)
    }
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

/// Adds a plain AP read of `addr` to the run of reads of that register the
/// last operation is, if it is one; the step that reads it.
fn extend_run(
    ops: &mut [Op],
    previous: Option<&mut Planned>,
    transfer: TransferRequest,
    addr: u32,
) -> Option<Step> {
    let plain_ap_read =
        transfer.is_ap() && transfer.is_read() && transfer.request & TRANSFER_MATCH_VALUE == 0;
    let previous = previous?;
    let last = ops.len().checked_sub(1)?;
    if !plain_ap_read || previous.step.op() != Some(last) {
        return None;
    }
    match &mut ops[last] {
        Op::ReadAp(run) if *run == addr => {
            ops[last] = Op::ReadApMultiple { addr, count: 2 };
            previous.step = Step::RunRead { op: last, word: 0 };
            Some(Step::RunRead { op: last, word: 1 })
        }
        Op::ReadApMultiple { addr: run, count } if *run == addr => {
            *count += 1;
            Some(Step::RunRead {
                op: last,
                word: *count as usize - 1,
            })
        }
        _ => None,
    }
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

/// The transfer charged with a failure reported at operation `failed_op`
/// (see the module doc); `None` when it is none of the packet's.
fn charged_transfer(planned: &[Planned], failed_op: usize) -> Option<usize> {
    let own = planned.iter().position(|p| p.step.op() == Some(failed_op));
    let at_dp_read = own.is_none_or(|i| {
        let transfer = planned[i].transfer;
        !transfer.is_ap() && transfer.is_read()
    });
    if at_dp_read {
        let last_read = planned
            .iter()
            .filter(|p| p.transfer.is_read())
            .filter_map(|p| p.step.op())
            .filter(|&op| op < failed_op)
            .max();
        let unconfirmed: Vec<usize> = planned
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.transfer.is_read())
            .filter(|(_, p)| {
                p.step
                    .op()
                    .is_some_and(|op| op < failed_op && last_read.is_none_or(|read| op > read))
            })
            .map(|(i, _)| i)
            .collect();
        let memory = unconfirmed.iter().find(|&&i| planned[i].writes_memory());
        if let Some(&i) = memory.or(unconfirmed.first()) {
            return Some(i);
        }
    }
    own
}

/// The DAP_Transfer reply for `planned` from the sequence's outputs and
/// the failure that ended it.
pub fn transfer_reply(
    planned: &[Planned],
    outputs: &[OpOutput],
    failure: Option<&ProbeError>,
) -> Vec<u8> {
    let charged = failure.and_then(|_| charged_transfer(planned, outputs.len()));
    let mut reply = TransferReply::new(ID_TRANSFER);
    let mut count: u8 = 0;
    for (index, step) in planned.iter().enumerate() {
        if Some(index) == charged {
            let ack = failure.map_or(reply::ACK_NO_ACK, reply::ack_of);
            return reply.finish(count, ack);
        }
        let read = match step.step {
            Step::Local => None,
            Step::Op(op) => match outputs.get(op) {
                Some(OpOutput::Word(word)) => Some(*word),
                Some(_) => None,
                // The sequence stopped before it.
                None => {
                    return reply.finish(count, failure.map_or(reply::ACK_NO_ACK, reply::ack_of))
                }
            },
            Step::RunRead { op, word } => match outputs.get(op) {
                Some(OpOutput::Words(words)) => words.get(word).copied(),
                _ => return reply.finish(count, failure.map_or(reply::ACK_NO_ACK, reply::ack_of)),
            },
        };
        if step.transfer.request & TRANSFER_MATCH_VALUE != 0 {
            // The match value itself, unmasked, as the firmware compares.
            let wanted = step.transfer.data.unwrap_or(0);
            if read.map(|word| word & step.match_mask) != Some(wanted) {
                return reply.finish(count, ACK_OK | ACK_MISMATCH);
            }
        }
        reply.push(step.transfer.request, read);
        count = count.saturating_add(1);
    }
    let ack = failure.map_or(ACK_OK, reply::ack_of);
    reply.finish(count, ack)
}

/// Whether a DAP_TransferBlock's `request` reads.
pub fn block_reads(request: u8) -> bool {
    request & TRANSFER_RNW != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(request: u8, data: Option<u32>) -> TransferRequest {
        TransferRequest { request, data }
    }

    #[test]
    fn runs_of_reads_of_one_ap_register_become_one_multiple_read() {
        let mut registers = ClientRegisters::default();
        let plan = plan_transfers(
            &mut registers,
            &[
                request(0x05, Some(0x2000_0000)), // AP write TAR
                request(0x0F, None),              // AP read DRW ×3
                request(0x0F, None),
                request(0x0F, None),
                request(0x03, None), // AP read CSW
                request(0x0F, None), // AP read DRW
            ],
        );
        assert_eq!(
            plan.ops,
            [
                Op::WriteAp {
                    addr: 0x4,
                    value: 0x2000_0000
                },
                Op::ReadApMultiple {
                    addr: 0xC,
                    count: 3
                },
                Op::ReadAp(0x0),
                Op::ReadAp(0xC),
            ]
        );
        let outputs = [
            OpOutput::Done,
            OpOutput::Words(vec![1, 2, 3]),
            OpOutput::Word(4),
            OpOutput::Word(5),
        ];
        let reply = transfer_reply(&plan.planned, &outputs, None);
        let mut expected = vec![0x05, 6, ACK_OK];
        for word in 1u32..=5 {
            expected.extend(word.to_le_bytes());
        }
        assert_eq!(reply, expected);
    }

    #[test]
    fn a_packet_ending_with_a_write_confirms_it_with_rdbuff() {
        let mut registers = ClientRegisters::default();
        let plan = plan_transfers(
            &mut registers,
            &[request(0x02, None), request(0x05, Some(1))],
        );
        assert_eq!(plan.ops.last(), Some(&Op::ReadDp(DP_RDBUFF)));
        let plan = plan_transfers(
            &mut registers,
            &[request(0x05, Some(1)), request(0x02, None)],
        );
        assert_eq!(plan.ops.len(), 2, "a read confirms it already");
        assert_eq!(
            plan_block(&mut registers, 0x0D, 2, vec![1, 2]).last(),
            Some(&Op::ReadDp(DP_RDBUFF))
        );
    }

    #[test]
    fn a_failure_at_the_confirmation_is_charged_to_the_first_memory_write() {
        let mut registers = ClientRegisters::default();
        let plan = plan_transfers(
            &mut registers,
            &[
                request(0x02, None),              // DP read: completed
                request(0x05, Some(0x1000_0000)), // TAR
                request(0x0D, Some(1)),           // DRW: the write that faults
                request(0x0D, Some(2)),
            ],
        );
        let fault = ProbeError::TransferFault("FAULT".into());
        let outputs = [
            OpOutput::Word(7),
            OpOutput::Done,
            OpOutput::Done,
            OpOutput::Done,
        ];
        assert_eq!(
            transfer_reply(&plan.planned, &outputs, Some(&fault)),
            [0x05, 2, reply::ACK_FAULT, 7, 0, 0, 0]
        );
    }

    #[test]
    fn a_failing_ap_read_is_charged_to_itself_and_a_run_to_its_first_read() {
        let mut registers = ClientRegisters::default();
        let plan = plan_transfers(
            &mut registers,
            &[
                request(0x05, Some(0x1000_0000)),
                request(0x0F, None),
                request(0x0F, None),
            ],
        );
        let fault = ProbeError::TransferFault("FAULT".into());
        assert_eq!(
            transfer_reply(&plan.planned, &[OpOutput::Done], Some(&fault)),
            [0x05, 1, reply::ACK_FAULT]
        );
    }

    #[test]
    fn a_match_compares_the_masked_word_with_the_value_as_given() {
        let mut registers = ClientRegisters::default();
        // The mask starts at zero: a match value of 0 matches anything.
        let plan = plan_transfers(&mut registers, &[request(0x12, Some(0))]);
        assert_eq!(
            transfer_reply(&plan.planned, &[OpOutput::Word(0xAA)], None),
            [0x05, 1, ACK_OK]
        );
        // The value is not masked: bits outside the mask never match.
        let plan = plan_transfers(
            &mut registers,
            &[request(0x20, Some(0xFF)), request(0x12, Some(0x1AA))],
        );
        assert_eq!(
            transfer_reply(&plan.planned, &[OpOutput::Word(0x1AA)], None),
            [0x05, 1, ACK_OK | ACK_MISMATCH]
        );
    }
}
