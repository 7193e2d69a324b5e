//! The worker's thread as the server holds it: dropping the handle ends
//! the thread and releases the probe before `drop` returns, so a restart
//! or replug can open the same device at once; a pipelined run is ended
//! (its failures cleaned up) as its last reply comes, not when the next
//! batch does.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::super::{Batch, Completion, Job, ProbeWorker, Task, Wake};
use super::{write_ap, A, CSW, DRW, TAR, UNMAPPED, WORDS};
use crate::dap::registers::STICKYERR;
use crate::ids::JobId;
use crate::probe::{Op, OpOutput, ProbeError, ProtocolRequest};
use crate::sim::dap_firmware::{FirmwareConfig, UsbModel};
use crate::sim::{VirtualProbe, VIRTUAL_DESCRIPTION};

/// A loop that never sleeps: nothing to wake.
struct NoLoop;

impl Wake for NoLoop {
    fn wake(&self) {}
}

#[test]
fn dropping_the_worker_releases_its_probe_before_drop_returns() {
    let virtual_probe = VirtualProbe::new(
        "worker-drop",
        VIRTUAL_DESCRIPTION,
        FirmwareConfig::for_model(UsbModel::None),
    )
    .unwrap();
    // The firmware inside the driver holds the target, as do the test's
    // handles (faults, record, ...).
    let target = virtual_probe.target;
    let worker = ProbeWorker::spawn(virtual_probe.probe, Arc::new(NoLoop)).unwrap();
    let with_driver = Arc::strong_count(&target);
    drop(worker);
    assert!(
        Arc::strong_count(&target) < with_driver,
        "the probe (and the firmware behind it) is gone with the worker"
    );
}

/// Submits `batch` and waits for one completion per job.
fn run(worker: &ProbeWorker, batch: Batch) -> Vec<Completion> {
    let expected = batch.jobs.len();
    worker.submit(batch);
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut done = Vec::new();
    while done.len() < expected {
        assert!(Instant::now() < deadline, "worker answered {done:?}");
        done.extend(worker.try_completions());
        std::thread::yield_now();
    }
    done
}

#[test]
fn a_pipelined_run_that_faulted_is_cleaned_up_before_its_answers_are_sent() {
    let virtual_probe = VirtualProbe::new(
        "worker-pipelined-fault",
        VIRTUAL_DESCRIPTION,
        FirmwareConfig::for_model(UsbModel::FsHid),
    )
    .unwrap();
    let target = virtual_probe.target;
    let worker = ProbeWorker::spawn(virtual_probe.probe, Arc::new(NoLoop)).unwrap();
    let job = |id, client, task| Job {
        id: JobId(id),
        client,
        task,
        flush_after: true,
    };
    let set_up = [
        Op::Open,
        Op::Connect(ProtocolRequest::Default),
        Op::WriteDp {
            addr: 0x4,
            value: 0x5000_0000,
        },
    ];
    let jobs = (1..)
        .zip(set_up)
        .map(|(id, op)| job(id, None, Task::Probe(op)));
    let set_up_done = run(
        &worker,
        Batch {
            jobs: jobs.collect(),
            departed: Vec::new(),
        },
    );
    assert!(
        set_up_done.iter().all(|c| c.result.is_ok()),
        "{set_up_done:?}"
    );
    // A DAP packet of A's, as the DAP port passes it: pipelined.
    let packet = Task::Sequence(vec![
        write_ap(CSW, WORDS),
        write_ap(TAR, UNMAPPED),
        Op::ReadApMultiple {
            addr: DRW,
            count: 2,
        },
    ]);
    let done = run(
        &worker,
        Batch {
            jobs: vec![job(10, Some(A), packet)],
            departed: Vec::new(),
        },
    );
    let Ok(OpOutput::Sequence(output)) = &done[0].result else {
        panic!("{done:?}");
    };
    assert!(matches!(output.failure, Some(ProbeError::TransferFault(_))));
    let ctrl_stat = target.lock().dp_read(0x4).unwrap();
    assert_eq!(
        ctrl_stat & STICKYERR,
        0,
        "the run's STICKYERR is cleared on the DP before anyone hears of it"
    );
}
