//! Another client's line reset (rule 9): the worker reads DPIDR before
//! anyone else's transfer, the server's own included, once; nothing is
//! added inside the sending client's own sequence or after its own DPIDR
//! read; a client's own transfers after its line reset are its business;
//! and a DPIDR read of the worker's that fails is charged to nobody.

use super::{
    switch_to_swd, swj, Access, ClientId, Op, OpOutput, ProbeError, Worker, A, AHB_AP_IDR, AP_IDR,
    B,
};

#[test]
fn after_a_clients_line_reset_the_worker_reads_dpidr_before_anothers_transfer() {
    let mut worker = Worker::new();
    for op in switch_to_swd() {
        worker.ok(B, op);
    }
    worker.everything();
    assert_eq!(worker.word(A, Op::ReadAp(AP_IDR)), AHB_AP_IDR);
    assert_eq!(
        worker.everything(),
        [Access::Swj(8), Access::Dp, Access::ReadAp(AP_IDR)],
        "idle cycles and a DPIDR read, then A's read"
    );
    assert_eq!(worker.word(A, Op::ReadAp(AP_IDR)), AHB_AP_IDR);
    assert_eq!(worker.everything(), [Access::ReadAp(AP_IDR)], "once");
    assert_eq!(worker.word(B, Op::ReadDp(0x0)), 0x2BA0_1477, "B's own read");
}

#[test]
fn the_worker_reads_dpidr_before_the_servers_own_transfer_too() {
    let mut worker = Worker::new();
    for op in switch_to_swd() {
        worker.ok(B, op);
    }
    worker.everything();
    assert_eq!(
        worker.run(None, Op::ReadDp(0x4)).map(|_| ()),
        Ok(()),
        "an internal CTRL/STAT read"
    );
    assert_eq!(
        worker.everything(),
        [Access::Swj(8), Access::Dp, Access::Dp]
    );
}

#[test]
fn nothing_is_added_inside_the_clients_own_sequence_or_after_its_dpidr_read() {
    let mut worker = Worker::new();
    worker.everything();
    let mut jobs: Vec<(Option<ClientId>, Op)> = switch_to_swd()
        .into_iter()
        .map(|op| (Some(B), op))
        .collect();
    jobs.push((Some(B), swj(8, 0)));
    jobs.push((Some(B), Op::ReadDp(0x0)));
    jobs.push((Some(A), Op::ReadAp(AP_IDR)));
    let results = worker.batch(&jobs);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(
        worker.everything(),
        [
            Access::Swj(51),
            Access::Swj(16),
            Access::Swj(51),
            Access::Swj(8),
            Access::Dp,
            Access::ReadAp(AP_IDR),
        ],
        "the client's sequence and its own DPIDR read, as pyOCD sends them"
    );
}

#[test]
fn a_line_reset_by_the_clients_own_transfers_is_the_clients_business() {
    let mut worker = Worker::new();
    for op in switch_to_swd() {
        worker.ok(B, op);
    }
    worker.ok(B, swj(8, 0));
    worker.everything();
    // B reads an AP register without reading DPIDR first: the DP does not
    // answer, as it would not were B alone.
    assert!(worker.run(Some(B), Op::ReadAp(AP_IDR)).is_err());
    assert_eq!(worker.everything(), [Access::ReadAp(AP_IDR)]);
    assert_eq!(worker.word(A, Op::ReadAp(AP_IDR)), AHB_AP_IDR);
}

#[test]
fn a_failed_dpidr_read_of_the_worker_fails_no_client_and_no_run() {
    let mut worker = Worker::new();
    for op in switch_to_swd() {
        worker.ok(B, op);
    }
    worker.everything();
    worker.probe.failing_dp_reads = 1;
    // The DP never left the reset state: A's read gets its answer, no
    // acknowledge, as its own; nothing else is charged to anyone.
    let results = worker.batch(&[
        (Some(A), Op::ReadAp(AP_IDR)),
        (Some(B), swj(8, 0)),
        (Some(B), Op::ReadDp(0x0)),
    ]);
    assert!(
        matches!(&results[0], Err(ProbeError::Transfer(_))),
        "{:?}",
        results[0]
    );
    assert!(results[1].is_ok(), "{:?}", results[1]);
    assert_eq!(results[2], Ok(OpOutput::Word(0x2BA0_1477)), "B's own read");
    assert_eq!(
        worker.everything(),
        [
            Access::Swj(8),
            Access::Dp,
            Access::ReadAp(AP_IDR),
            Access::Swj(8),
            Access::Dp
        ],
        "tried once"
    );
    assert_eq!(worker.word(A, Op::ReadAp(AP_IDR)), AHB_AP_IDR);
}
