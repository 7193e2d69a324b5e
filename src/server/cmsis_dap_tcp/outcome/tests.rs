//! Replies cut from what the operations did: the words in place, and the
//! count and acknowledge of a failure where the probe says how far it got
//! (exact, inside runs too) and where it does not (the rules of the module
//! doc).

use super::*;
use crate::dap::registers::DP_RDBUFF;
use crate::probe::Op;
use crate::server::cmsis_dap_tcp::command::TransferRequest;
use crate::server::cmsis_dap_tcp::reply::ACK_FAULT;
use crate::server::cmsis_dap_tcp::transfer::{plan_block, plan_transfers, ClientRegisters};

fn request(request: u8, data: Option<u32>) -> TransferRequest {
    TransferRequest { request, data }
}

fn fault() -> Option<ProbeError> {
    Some(ProbeError::TransferFault("FAULT".into()))
}

fn ran(outputs: Vec<OpOutput>, failure: Option<ProbeError>) -> SequenceOutput {
    SequenceOutput {
        outputs,
        failure,
        progress: None,
    }
}

fn got_to(outputs: Vec<OpOutput>, transfers: u32, words: Vec<u32>) -> SequenceOutput {
    SequenceOutput {
        outputs,
        failure: fault(),
        progress: Some(Progress { transfers, words }),
    }
}

/// A DAP_Transfer reply: count, acknowledge, words.
fn expected(count: u8, ack: u8, words: &[u32]) -> Vec<u8> {
    let mut reply = vec![ID_TRANSFER, count, ack];
    for word in words {
        reply.extend(word.to_le_bytes());
    }
    reply
}

/// TAR, then five reads of DRW.
fn tar_and_five_reads() -> Vec<TransferRequest> {
    let mut transfers = vec![request(0x05, Some(0x2000_0000))];
    transfers.extend((0..5).map(|_| request(0x0F, None)));
    transfers
}

#[test]
fn the_words_of_runs_and_single_reads_come_back_in_order() {
    let plan = plan_transfers(
        &mut ClientRegisters::default(),
        &[
            request(0x05, Some(0x2000_0000)),
            request(0x0F, None),
            request(0x0F, None),
            request(0x0F, None),
            request(0x03, None),
            request(0x0F, None),
        ],
    );
    let outputs = vec![
        OpOutput::Done,
        OpOutput::Words(vec![1, 2, 3]),
        OpOutput::Word(4),
        OpOutput::Word(5),
    ];
    assert_eq!(
        transfer_reply(&plan.planned, &ran(outputs, None)),
        expected(6, ACK_OK, &[1, 2, 3, 4, 5])
    );
}

#[test]
fn a_failure_part_way_through_a_run_of_reads_counts_the_words_before_it() {
    let plan = plan_transfers(&mut ClientRegisters::default(), &tar_and_five_reads());
    // The third read of the run faulted.
    let sequence = got_to(vec![OpOutput::Done], 2, vec![0xA, 0xB]);
    assert_eq!(
        transfer_reply(&plan.planned, &sequence),
        expected(3, ACK_FAULT, &[0xA, 0xB])
    );
}

#[test]
fn a_failure_part_way_through_a_run_of_writes_counts_the_writes_before_it() {
    let mut transfers = vec![request(0x05, Some(0x2000_0000))];
    transfers.extend((1..=4).map(|v| request(0x0D, Some(v))));
    let plan = plan_transfers(&mut ClientRegisters::default(), &transfers);
    assert_eq!(plan.ops.len(), 3, "TAR, the run, the confirming read");
    let sequence = got_to(vec![OpOutput::Done], 2, Vec::new());
    assert_eq!(
        transfer_reply(&plan.planned, &sequence),
        expected(3, ACK_FAULT, &[])
    );
}

#[test]
fn a_posted_writes_fault_goes_to_the_transfer_after_it() {
    // The run of two writes is done; the DP read after it took the fault.
    let plan = plan_transfers(
        &mut ClientRegisters::default(),
        &[
            request(0x05, Some(0x2000_0000)),
            request(0x0D, Some(1)),
            request(0x0D, Some(2)),
            request(0x02, None),
        ],
    );
    let sequence = got_to(vec![OpOutput::Done], 2, Vec::new());
    assert_eq!(
        transfer_reply(&plan.planned, &sequence),
        expected(3, ACK_FAULT, &[])
    );
    // The confirming read's own failure: everything counted, as firmware.
    let plan = plan_transfers(
        &mut ClientRegisters::default(),
        &[request(0x05, Some(0x2000_0000)), request(0x0D, Some(1))],
    );
    let sequence = got_to(vec![OpOutput::Done, OpOutput::Done], 0, Vec::new());
    assert_eq!(
        transfer_reply(&plan.planned, &sequence),
        expected(2, ACK_FAULT, &[])
    );
}

#[test]
fn without_progress_a_failure_at_the_confirmation_is_charged_to_the_first_memory_write() {
    let plan = plan_transfers(
        &mut ClientRegisters::default(),
        &[
            request(0x02, None),              // DP read: completed
            request(0x05, Some(0x1000_0000)), // TAR
            request(0x0D, Some(1)),           // DRW: the write that faults
            request(0x0D, Some(2)),
        ],
    );
    assert_eq!(plan.ops.last(), Some(&Op::ReadDp(DP_RDBUFF)));
    let outputs = vec![OpOutput::Word(7), OpOutput::Done, OpOutput::Done];
    assert_eq!(
        transfer_reply(&plan.planned, &ran(outputs, fault())),
        expected(2, ACK_FAULT, &[7])
    );
}

#[test]
fn without_progress_a_failing_run_is_charged_to_its_first_read() {
    let plan = plan_transfers(&mut ClientRegisters::default(), &tar_and_five_reads());
    assert_eq!(
        transfer_reply(&plan.planned, &ran(vec![OpOutput::Done], fault())),
        expected(1, ACK_FAULT, &[])
    );
}

#[test]
fn a_match_compares_the_masked_word_with_the_value_as_given() {
    let mut registers = ClientRegisters::default();
    // The mask starts at zero: a match value of 0 matches anything.
    let plan = plan_transfers(&mut registers, &[request(0x12, Some(0))]);
    assert_eq!(
        transfer_reply(&plan.planned, &ran(vec![OpOutput::Word(0xAA)], None)),
        expected(1, ACK_OK, &[])
    );
    // The value is not masked: bits outside the mask never match.
    let plan = plan_transfers(
        &mut registers,
        &[request(0x20, Some(0xFF)), request(0x12, Some(0x1AA))],
    );
    assert_eq!(
        transfer_reply(&plan.planned, &ran(vec![OpOutput::Word(0x1AA)], None)),
        expected(1, ACK_OK | ACK_MISMATCH, &[])
    );
}

#[test]
fn a_block_reply_counts_what_the_probe_says_was_done() {
    let mut registers = ClientRegisters::default();
    let block = |count, ack, words: &[u32]| reply::transfer_block(0x06, count, ack, words);
    // Reads: the words before the failing one.
    let sequence = got_to(Vec::new(), 2, vec![5, 6]);
    assert_eq!(
        block_reply(0x06, 0x0F, 8, &sequence),
        block(2, ACK_FAULT, &[5, 6])
    );
    // Writes: the ones before it; its confirming read's failure: all.
    assert_eq!(
        plan_block(&mut registers, 0x0D, 4, vec![1, 2, 3, 4]).len(),
        2
    );
    let sequence = got_to(Vec::new(), 3, Vec::new());
    assert_eq!(
        block_reply(0x06, 0x0D, 4, &sequence),
        block(3, ACK_FAULT, &[])
    );
    let sequence = got_to(vec![OpOutput::Done], 0, Vec::new());
    assert_eq!(
        block_reply(0x06, 0x0D, 4, &sequence),
        block(4, ACK_FAULT, &[])
    );
    // Without progress, as before: reads counted, writes not.
    let sequence = ran(vec![OpOutput::Word(9)], fault());
    assert_eq!(
        block_reply(0x06, 0x0E, 3, &sequence),
        block(1, ACK_FAULT, &[9])
    );
    assert_eq!(
        block_reply(0x06, 0x0D, 4, &ran(Vec::new(), fault())),
        block(0, ACK_FAULT, &[])
    );
}
