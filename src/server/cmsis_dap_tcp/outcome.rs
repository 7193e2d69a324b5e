//! The replies to DAP_Transfer and DAP_TransferBlock from what their
//! operations (`transfer`) did: the words read, the count of transfers
//! done and the acknowledge of the one that failed, as firmware gives
//! them.
//!
//! **Which transfer failed.** Where the probe says how far the failing
//! operation got (`probe::Progress`, from the transfer pipeline), the
//! failing transfer is exactly the one after those done, inside a run as
//! anywhere: the reply counts the transfers before it, with the words they
//! read. A posted write whose fault the next transaction reports counts as
//! done, the fault going to the transfer after it, as firmware counts.
//! Otherwise (operations run one at a time) a read completes everything
//! queued before it, so the transfers before the last completed read all
//! succeeded. A failure reported at an AP read is that read's (the first
//! of a run's, whose words are not returned). A failure reported at a DP
//! read or at the confirming read, with writes still unconfirmed before
//! it, is charged to the first of those that writes memory (DRW or
//! BD0–BD3), else to the first of them: exact whenever that is the transfer
//! that failed, as when TAR points where a bus access faults.

use crate::probe::{OpOutput, ProbeError, Progress, SequenceOutput};

use super::command::{ID_TRANSFER, TRANSFER_MATCH_VALUE};
use super::reply::{self, TransferReply, ACK_MISMATCH, ACK_OK};
use super::transfer::{block_reads, Planned, Step};

/// The transfer charged with the failure that stopped operation
/// `failed_op` (see the module doc); `None` when it is none of the
/// packet's (the confirming read's own failure, say).
fn charged_transfer(
    planned: &[Planned],
    failed_op: usize,
    progress: Option<&Progress>,
) -> Option<usize> {
    if let Some(progress) = progress {
        let done = progress.transfers as usize;
        let own = planned
            .iter()
            .enumerate()
            .filter(|(_, p)| p.step.op() == Some(failed_op))
            .map(|(i, _)| i)
            .nth(done);
        // All of it done (a posted write): the fault is the next one's.
        return own.or_else(|| {
            planned
                .iter()
                .position(|p| p.step.op().is_some_and(|op| op > failed_op))
        });
    }
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

/// The DAP_Transfer reply for `planned` from what the sequence did.
pub fn transfer_reply(planned: &[Planned], sequence: &SequenceOutput) -> Vec<u8> {
    let SequenceOutput {
        outputs,
        failure,
        progress,
    } = sequence;
    let failed_op = outputs.len();
    let progress = progress.as_ref().filter(|_| failure.is_some());
    let charged = failure
        .as_ref()
        .and_then(|_| charged_transfer(planned, failed_op, progress));
    let stop_ack = failure.as_ref().map_or(reply::ACK_NO_ACK, reply::ack_of);
    let mut reply = TransferReply::new(ID_TRANSFER);
    let mut count: u8 = 0;
    for (index, step) in planned.iter().enumerate() {
        if Some(index) == charged {
            return reply.finish(count, stop_ack);
        }
        let read = match step.step {
            Step::Local => None,
            Step::Op(op) => match outputs.get(op) {
                Some(OpOutput::Word(word)) => Some(*word),
                Some(_) => None,
                // The sequence stopped before it.
                None => return reply.finish(count, stop_ack),
            },
            Step::Run { op, index } => match (outputs.get(op), progress) {
                (Some(OpOutput::Words(words)), _) => words.get(index).copied(),
                (Some(_), _) => None,
                // Done before the failure in its run.
                (None, Some(progress)) if op == failed_op => progress.words.get(index).copied(),
                (None, _) => return reply.finish(count, stop_ack),
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
    let ack = failure.as_ref().map_or(ACK_OK, reply::ack_of);
    reply.finish(count, ack)
}

/// The DAP_TransferBlock reply to `count` transfers of `request` from
/// what its operations (`transfer::plan_block`) did.
pub fn block_reply(id: u8, request: u8, count: u16, sequence: &SequenceOutput) -> Vec<u8> {
    let reads = block_reads(request);
    // A write's words are the client's; the word its confirming read of
    // RDBUFF got is not.
    let mut words: Vec<u32> = sequence
        .outputs
        .iter()
        .filter(|_| reads)
        .flat_map(|output| match output {
            OpOutput::Word(word) => vec![*word],
            OpOutput::Words(words) => words.clone(),
            _ => Vec::new(),
        })
        .collect();
    let Some(error) = &sequence.failure else {
        return reply::transfer_block(id, count, ACK_OK, &words);
    };
    let done = match &sequence.progress {
        Some(progress) => {
            let before = if reads {
                words.len()
            } else if request & 1 != 0 {
                // One operation wrote them all; after it, the confirming read.
                usize::from(count) * sequence.outputs.len().min(1)
            } else {
                sequence.outputs.len()
            };
            words.extend(&progress.words);
            before + progress.transfers as usize
        }
        None if reads => words.len(),
        None => 0,
    };
    let done = done
        .min(usize::from(count))
        .min(if reads { words.len() } else { usize::MAX });
    let done = u16::try_from(done).unwrap_or(0);
    let words = if reads {
        &words[..usize::from(done)]
    } else {
        &[][..]
    };
    reply::transfer_block(id, done, reply::ack_of(error), words)
}

/// What a failed sequence's probe error is, for a reply.
pub fn failed(error: ProbeError) -> SequenceOutput {
    SequenceOutput {
        outputs: Vec::new(),
        failure: Some(error),
        progress: None,
    }
}

#[cfg(test)]
mod tests;
