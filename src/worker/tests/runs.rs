//! What a client's run leaves behind: the recovery after its failures
//! (DAPABORT when a transfer was left pending, the flags cleared whatever
//! failed after the FAULT), its STICKYERR noted even when it goes on after
//! the fault and only for a FAULT, cleared only the way its wire clears
//! it, forgotten when the client leaves; a sequence's deferred failure
//! reported inside the sequence; and rule 9's TAR: put back after the
//! server moved it (its own access or a memory handle's), a block write's
//! restored first, a failed block's read back from the AP.

use super::{write_ap, Access, Batch, Task, Worker, A, B, CSW, DRW, TAR, UNMAPPED, WORDS};
use crate::dap::registers::{
    ABORT_DAPABORT, ABORT_ORUNERRCLR, ABORT_STKERRCLR, DP_ABORT, STICKYERR,
};
use crate::memap::{MemoryOp, MemoryRequest};
use crate::probe::{ApAddress, Op, OpOutput, ProbeError, WireProtocol};
use crate::sim::faults::InjectedAck;
use crate::sim::RAM_BASE;
use crate::worker::sticky::clears_stickyerr;

/// A worker whose target answers WAIT at RAM_BASE's word until cleared,
/// A's CSW set to words, and nothing noted yet.
fn waiting_at_ram_base() -> Worker {
    let mut worker = Worker::new();
    worker
        .faults
        .fail_at(RAM_BASE..RAM_BASE + 4, InjectedAck::Wait);
    worker.ok(A, write_ap(CSW, WORDS));
    worker.everything();
    worker
}

/// The values written to ABORT since the last look.
fn abort_writes(worker: &mut Worker) -> Vec<u32> {
    worker
        .everything()
        .into_iter()
        .filter_map(|access| match access {
            Access::WriteDp(DP_ABORT, value) => Some(value),
            _ => None,
        })
        .collect()
}

#[test]
fn a_run_with_a_wait_timeout_ends_with_dapabort_whatever_failed_after_it() {
    let mut worker = waiting_at_ram_base();
    let results = worker.batch(&[
        (Some(A), write_ap(TAR, RAM_BASE)),
        (Some(A), Op::ReadAp(DRW)),
        (Some(A), write_ap(TAR, UNMAPPED)),
        (Some(A), Op::ReadAp(DRW)),
    ]);
    assert!(matches!(results[1], Err(ProbeError::TransferTimeout(_))));
    assert!(matches!(results[3], Err(ProbeError::TransferFault(_))));
    let aborts = abort_writes(&mut worker);
    assert!(
        aborts.iter().any(|value| value & ABORT_DAPABORT != 0),
        "the AP transfer left pending by the WAIT is aborted: {aborts:x?}"
    );
}

#[test]
fn a_run_with_a_wait_timeout_ends_with_dapabort_whatever_failed_before_it() {
    // A client that cleared its FAULT itself can go on to a WAIT.
    let mut worker = waiting_at_ram_base();
    let results = worker.batch(&[
        (Some(A), write_ap(TAR, UNMAPPED)),
        (Some(A), Op::ReadAp(DRW)),
        (
            Some(A),
            Op::WriteDp {
                addr: DP_ABORT,
                value: ABORT_STKERRCLR,
            },
        ),
        (Some(A), write_ap(TAR, RAM_BASE)),
        (Some(A), Op::ReadAp(DRW)),
    ]);
    assert!(matches!(results[1], Err(ProbeError::TransferFault(_))));
    assert!(
        matches!(results[4], Err(ProbeError::TransferTimeout(_))),
        "{:?}",
        results[4]
    );
    let aborts = abort_writes(&mut worker);
    assert_eq!(
        aborts.first(),
        Some(&ABORT_STKERRCLR),
        "A's own ABORT, then the worker's: {aborts:x?}"
    );
    assert!(
        aborts[1..].iter().any(|value| value & ABORT_DAPABORT != 0),
        "{aborts:x?}"
    );
}

#[test]
fn a_run_with_only_a_fault_clears_the_flags_without_aborting() {
    let mut worker = Worker::new();
    worker.ok(A, write_ap(CSW, WORDS));
    worker.everything();
    worker.batch(&[
        (Some(A), write_ap(TAR, UNMAPPED)),
        (Some(A), Op::ReadAp(DRW)),
    ]);
    let aborts = abort_writes(&mut worker);
    assert_eq!(aborts.len(), 1, "{aborts:x?}");
    assert_eq!(aborts[0] & ABORT_DAPABORT, 0, "nothing was pending");
    assert_ne!(aborts[0] & ABORT_STKERRCLR, 0);
}

#[test]
fn a_client_that_goes_on_after_its_fault_in_the_same_run_still_owns_stickyerr() {
    let mut worker = Worker::new();
    let results = worker.batch(&[
        (Some(A), write_ap(TAR, UNMAPPED)),
        (Some(A), Op::ReadAp(DRW)),
        (Some(A), Op::ReadDp(0x0)),
    ]);
    assert!(matches!(results[1], Err(ProbeError::TransferFault(_))));
    assert_eq!(results[2], Ok(OpOutput::Word(0x2BA0_1477)), "DPIDR reads");
    assert_ne!(
        worker.word(A, Op::ReadDp(0x4)) & STICKYERR,
        0,
        "a later successful transfer is no STKERRCLR"
    );
    assert!(worker.run(Some(A), Op::ReadAp(0xFC)).is_err());
}

#[test]
fn a_tar_the_server_moved_is_put_back_before_the_clients_next_access() {
    let mut worker = Worker::new();
    worker.ok(A, write_ap(CSW, WORDS));
    worker.ok(A, write_ap(TAR, RAM_BASE));
    worker.ok(A, write_ap(DRW, 0x1111_1111));
    worker.ok(A, write_ap(DRW, 0x2222_2222));
    worker.ok(A, write_ap(DRW, 0x3333_3333));
    worker.ok(A, write_ap(TAR, RAM_BASE));
    // The server's own register transfers (no client), elsewhere in RAM.
    worker.run(None, write_ap(TAR, RAM_BASE + 0x40)).unwrap();
    worker.run(None, Op::ReadAp(DRW)).unwrap();
    assert_eq!(worker.word(A, Op::ReadAp(DRW)), 0x1111_1111);
    // A DRW read of the server's moves A's TAR on by itself.
    worker.run(None, Op::ReadAp(DRW)).unwrap();
    assert_eq!(worker.word(A, Op::ReadAp(DRW)), 0x2222_2222);
    assert_eq!(worker.word(A, Op::ReadAp(DRW)), 0x3333_3333);
}

#[test]
fn a_deferred_write_that_timed_out_on_wait_leaves_no_stickyerr_to_its_writer() {
    let mut worker = Worker::new();
    worker
        .faults
        .fail_at(RAM_BASE..RAM_BASE + 4, InjectedAck::Wait);
    let results = worker.batch(&[
        (Some(A), write_ap(CSW, WORDS)),
        (Some(A), write_ap(TAR, RAM_BASE)),
        (Some(A), write_ap(DRW, 1)),
    ]);
    assert!(
        matches!(results[2], Err(ProbeError::TransferTimeout(_))),
        "{:?}",
        results[2]
    );
    worker.faults.clear();
    assert_eq!(
        worker.word(A, Op::ReadDp(0x4)) & STICKYERR,
        0,
        "a WAIT sets no sticky flag"
    );
    assert!(worker.run(Some(A), Op::ReadAp(0xFC)).is_ok());
}

/// The flags a client clears are those its wire clears: ABORT's clear bits
/// under SWD only, CTRL/STAT's write-one-to-clear under JTAG only.
#[test]
fn each_wire_clears_sticky_flags_only_its_own_way() {
    use crate::worker::StickyFlags;
    let ap_read = Task::Probe(Op::ReadAp(0xFC));
    let abort = Task::Probe(Op::WriteDp {
        addr: DP_ABORT,
        value: ABORT_STKERRCLR,
    });
    let ctrl_stat = Task::Probe(Op::WriteDp {
        addr: 0x4,
        value: STICKYERR,
    });
    // Another clear bit of ABORT, and a register whose value has the
    // STICKYERR and STKERRCLR bits (SELECT).
    let other_abort = Task::Probe(Op::WriteDp {
        addr: DP_ABORT,
        value: ABORT_DAPABORT | ABORT_ORUNERRCLR,
    });
    let select = Task::Probe(Op::WriteDp {
        addr: 0x8,
        value: STICKYERR | ABORT_STKERRCLR,
    });
    // The power-up requests every debugger writes to CTRL/STAT.
    let power_up = Task::Probe(Op::WriteDp {
        addr: 0x4,
        value: 0x5000_0000,
    });
    for (wire, clearing, ignored) in [
        (
            WireProtocol::Swd,
            &abort,
            [&ctrl_stat, &other_abort, &select, &power_up],
        ),
        (
            WireProtocol::Jtag,
            &ctrl_stat,
            [&abort, &other_abort, &select, &power_up],
        ),
    ] {
        let mut sticky = StickyFlags::default();
        // A second fault noted before the client cleared the first.
        sticky.faulted(A);
        sticky.faulted(A);
        for task in ignored {
            let Task::Probe(op) = task else {
                unreachable!()
            };
            assert!(!clears_stickyerr(op, Some(wire)), "{wire:?} {op:?}");
            sticky.after(Some(A), task, Some(wire), &mut OpOutput::Done);
            assert!(
                sticky.refusal(Some(A), &ap_read).is_some(),
                "{wire:?} {op:?}"
            );
        }
        let Task::Probe(op) = clearing else {
            unreachable!()
        };
        assert!(clears_stickyerr(op, Some(wire)), "{wire:?}");
        sticky.after(Some(A), clearing, Some(wire), &mut OpOutput::Done);
        assert!(sticky.refusal(Some(A), &ap_read).is_none(), "{wire:?}");
    }
}

#[test]
fn a_fault_is_cleared_after_the_run_even_when_a_later_transfer_got_no_answer() {
    let mut worker = Worker::new();
    worker.probe.failing_dp_reads = 1;
    let results = worker.batch(&[
        (Some(A), write_ap(TAR, UNMAPPED)),
        (Some(A), Op::ReadAp(DRW)),
        (Some(A), Op::ReadDp(0x4)),
    ]);
    assert!(matches!(results[1], Err(ProbeError::TransferFault(_))));
    assert!(matches!(results[2], Err(ProbeError::Transfer(_))));
    assert!(
        worker.run(Some(B), Op::ReadAp(0xFC)).is_ok(),
        "B's AP access meets no STICKYERR of A's"
    );
}

#[test]
fn a_sequence_whose_deferred_write_faults_reports_it_after_the_operations_that_ran() {
    let mut worker = Worker::new();
    let ops = vec![
        write_ap(CSW, WORDS),
        write_ap(TAR, UNMAPPED),
        write_ap(DRW, 1),
    ];
    let done = worker.task(Some(A), Task::Sequence(ops));
    let Ok(OpOutput::Sequence(sequence)) = &done else {
        panic!("a sequence's output, with its failure inside: {done:?}");
    };
    assert!(
        matches!(sequence.failure, Some(ProbeError::TransferFault(_))),
        "{sequence:?}"
    );
    assert_eq!(sequence.outputs.len(), 3, "{sequence:?}");
}

#[test]
fn a_block_write_goes_to_the_writers_tar_after_another_client_moved_it() {
    let mut worker = Worker::new();
    worker.ok(A, write_ap(CSW, WORDS));
    worker.ok(A, write_ap(TAR, RAM_BASE));
    worker.ok(B, write_ap(CSW, WORDS));
    worker.ok(B, write_ap(TAR, RAM_BASE + 0x100));
    worker.ok(
        A,
        Op::WriteApMultiple {
            addr: DRW,
            values: vec![0xA1, 0xA2],
        },
    );
    worker.ok(A, write_ap(TAR, RAM_BASE));
    assert_eq!(worker.word(A, Op::ReadAp(DRW)), 0xA1);
    assert_eq!(worker.word(A, Op::ReadAp(DRW)), 0xA2);
}

/// A's TAR as A reads it after a block write that faulted part-way and
/// its own ABORT, with or without B moving TAR in between.
fn tar_after_a_faulted_block(with_b_between: bool) -> u32 {
    let mut worker = Worker::new();
    worker
        .faults
        .fail_at(RAM_BASE + 8..RAM_BASE + 12, InjectedAck::Fault);
    let results = worker.batch(&[
        (Some(A), write_ap(CSW, WORDS)),
        (Some(A), write_ap(TAR, RAM_BASE)),
        (
            Some(A),
            Op::WriteApMultiple {
                addr: DRW,
                values: vec![1, 2, 3, 4],
            },
        ),
    ]);
    assert!(results[2].is_err(), "{results:?}");
    worker.faults.clear();
    worker.ok(
        A,
        Op::WriteDp {
            addr: DP_ABORT,
            value: ABORT_STKERRCLR,
        },
    );
    if with_b_between {
        worker.ok(B, write_ap(CSW, WORDS));
        worker.ok(B, write_ap(TAR, RAM_BASE));
        worker.word(B, Op::ReadAp(DRW));
    }
    worker.word(A, Op::ReadAp(TAR))
}

#[test]
fn after_a_failed_block_the_tar_given_back_is_the_one_the_ap_holds() {
    assert_eq!(
        tar_after_a_faulted_block(true),
        tar_after_a_faulted_block(false),
        "read back from the AP, not what the worker knew before the failure"
    );
}

#[test]
fn a_departed_clients_sticky_error_is_forgotten() {
    let mut worker = Worker::new();
    worker.batch(&[
        (Some(A), write_ap(TAR, UNMAPPED)),
        (Some(A), Op::ReadAp(DRW)),
    ]);
    assert!(!worker.runner.sticky.is_clear(A));
    worker.runner.run_batch(
        &mut worker.probe,
        Batch {
            jobs: Vec::new(),
            departed: vec![A],
        },
    );
    assert!(
        worker.runner.sticky.is_clear(A),
        "nothing kept of a client gone"
    );
}

#[test]
fn a_memory_handle_access_of_the_server_leaves_the_clients_tar_as_it_was() {
    let mut worker = Worker::new();
    worker.ok(A, write_ap(CSW, WORDS));
    worker.ok(A, write_ap(TAR, RAM_BASE));
    worker.ok(A, write_ap(DRW, 0xA1));
    worker.ok(A, write_ap(DRW, 0xA2));
    worker.ok(A, write_ap(TAR, RAM_BASE));
    let read = Task::Memory(MemoryRequest::Access {
        ap: ApAddress::V1(0),
        op: MemoryOp::ReadBlock32 {
            addr: RAM_BASE + 0x100,
            count: 2,
        },
    });
    let done = worker.task(None, read);
    assert!(done.is_ok(), "{done:?}");
    assert_eq!(worker.word(A, Op::ReadAp(DRW)), 0xA1);
    assert_eq!(worker.word(A, Op::ReadAp(DRW)), 0xA2);
}
