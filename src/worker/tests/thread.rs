//! The worker's thread as the server holds it: dropping the handle ends
//! the thread and releases the probe before `drop` returns, so a restart
//! or replug can open the same device at once.

use std::sync::Arc;

use super::super::{ProbeWorker, Wake};
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
