//! What a switch between clients costs: the worker adds nothing a client
//! did not need (no CSW or TAR restored before the client writes its own,
//! no CSW before a non-memory register access, no DPIDR read before a
//! sequence or after the DP answered), and what it must add, it adds.

use super::{
    switch_to_swd, swj, write_ap, Access, Worker, A, AHB_AP_IDR, AP_IDR, B, BYTES, CSW, TAR, WORDS,
};
use crate::probe::Op;
use crate::sim::RAM_BASE;

#[test]
fn a_client_rewriting_its_csw_gets_no_restore_of_the_old_one_first() {
    let mut worker = Worker::new();
    worker.ok(A, write_ap(CSW, WORDS));
    worker.ok(B, write_ap(CSW, BYTES));
    worker.accesses();
    worker.ok(A, write_ap(CSW, BYTES));
    assert_eq!(worker.accesses(), [Access::WriteAp(CSW, BYTES)]);
}

#[test]
fn another_clients_sequence_gets_no_dpidr_read_before_it() {
    let mut worker = Worker::new();
    for op in switch_to_swd() {
        worker.ok(B, op);
    }
    worker.everything();
    worker.ok(A, swj(8, 0));
    assert_eq!(
        worker.everything(),
        [Access::Swj(8)],
        "only transfers need the DP out of its reset state"
    );
}

#[test]
fn reading_an_id_register_restores_no_csw() {
    let mut worker = Worker::new();
    worker.ok(A, write_ap(CSW, WORDS));
    worker.ok(B, write_ap(CSW, BYTES));
    worker.accesses();
    assert_eq!(worker.word(A, Op::ReadAp(AP_IDR)), AHB_AP_IDR);
    assert_eq!(worker.accesses(), [Access::ReadAp(AP_IDR)]);
}

#[test]
fn a_block_read_the_dp_answered_ends_the_line_reset_note() {
    let mut worker = Worker::new();
    // Idle cycles on SWD: noted as a possible line reset, though the DP
    // still answers.
    worker.ok(B, swj(8, 0));
    worker.ok(
        B,
        Op::ReadApMultiple {
            addr: AP_IDR,
            count: 2,
        },
    );
    worker.everything();
    worker.word(A, Op::ReadAp(AP_IDR));
    assert_eq!(
        worker.everything(),
        [Access::ReadAp(AP_IDR)],
        "B's read was answered: no DPIDR read for A"
    );
}

#[test]
fn a_failed_block_read_after_a_line_reset_leaves_the_dpidr_read_to_do() {
    let mut worker = Worker::new();
    for op in switch_to_swd() {
        worker.ok(B, op);
    }
    // B reads without reading DPIDR first: the DP does not answer.
    let failed = worker.run(
        Some(B),
        Op::ReadApMultiple {
            addr: AP_IDR,
            count: 2,
        },
    );
    assert!(failed.is_err(), "{failed:?}");
    worker.everything();
    assert_eq!(worker.word(A, Op::ReadAp(AP_IDR)), AHB_AP_IDR);
    assert_eq!(
        worker.everything(),
        [Access::Swj(8), Access::Dp, Access::ReadAp(AP_IDR)]
    );
}

#[test]
fn a_client_rewriting_its_tar_gets_no_restore_of_the_old_one_first() {
    let mut worker = Worker::new();
    worker.ok(A, write_ap(TAR, RAM_BASE));
    worker.ok(B, write_ap(TAR, RAM_BASE + 0x40));
    worker.accesses();
    worker.ok(A, write_ap(TAR, RAM_BASE + 0x80));
    assert_eq!(worker.accesses(), [Access::WriteAp(TAR, RAM_BASE + 0x80)]);
}
