//! Serving USB probes as they come and go: a thread lists the USB probes
//! every [`RESCAN_INTERVAL`]; a configured serial number that was absent
//! and is now there is served (and so is an unlisted probe that appears),
//! and a served one that is gone is retired (so is a virtual target whose
//! virtual cable came out, `plug`).
//! Its clients have already been getting status 2 since it vanished (its
//! transport reports the device as disconnected); retiring closes them
//! and frees the device for when it returns.
//!
//! Why a rescan rather than libusb's hotplug notification: libusb has
//! none on some platforms (Windows, and Linux without udev in some
//! containers), the CMSIS-DAP v1 probes are found through hidapi, which has
//! none at all, and a rescan needs no callback context to keep alive. It
//! costs one enumeration a second (always: probes the file does not name
//! are served as well, see `unlisted`). When USB cannot be listed at all (no USB on the machine) that is
//! logged once at debug level and the thread carries on; an incomplete
//! listing retires nothing, as absence from it proves nothing.
//!
//! The same tick serves anew the probes whose worker thread died
//! (`restart`).
//!
//! The thread holds the farm only by a weak reference and takes its lock
//! only to apply a listing, never while listing; it stops when the farm
//! is shut down or dropped.

use std::io;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Weak};
use std::thread::JoinHandle;
use std::time::Duration;

use parking_lot::Mutex;

use super::{Farm, Served};
use crate::cmsis_dap::usb::{self, Discovery};
use crate::config::ProbeSelector;
use crate::events::{Event, ProbeChange};

/// How often the USB probes are listed again.
pub const RESCAN_INTERVAL: Duration = Duration::from_secs(1);

/// How long the idle clients of a vanished probe are kept before they are
/// closed: short, as the probe they wait for is gone, and its device
/// cannot be served again before its old server has let go of it.
const VANISHED_GRACE: Duration = Duration::from_secs(1);

/// The running rescan; dropping it stops the thread and waits for it.
pub(super) struct RescanThread {
    stop: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl Drop for RescanThread {
    fn drop(&mut self) {
        // Closing the channel wakes the thread from its wait.
        drop(self.stop.take());
        if let Some(thread) = self.thread.take() {
            // The thread itself drops the farm when it held the last
            // reference: it must not wait for itself.
            if thread.thread().id() != std::thread::current().id() {
                let _ = thread.join();
            }
        }
    }
}

impl Farm {
    /// How many USB listings the rescan has applied so far: that it runs,
    /// for a test or a health check.
    pub fn rescans(&self) -> u64 {
        self.rescans
    }

    /// Starts the USB rescan (see the module doc) for the shared `farm`;
    /// `on_change` is called, with the farm locked, after it served or
    /// retired a probe (to publish the farm anew). It stops with the farm.
    pub fn watch_usb(
        farm: &Arc<Mutex<Farm>>,
        on_change: impl Fn(&Farm) + Send + 'static,
    ) -> io::Result<()> {
        let weak = Arc::downgrade(farm);
        let (stop, stopped) = mpsc::channel();
        let thread = std::thread::Builder::new()
            .name("usb-rescan".into())
            .spawn(move || rescan_loop(&weak, &stopped, &on_change))?;
        let rescan = RescanThread {
            stop: Some(stop),
            thread: Some(thread),
        };
        // The guard is gone before a replaced rescan is waited for, as that
        // thread may be waiting for the lock.
        let replaced = farm.lock().rescan.replace(rescan);
        drop(replaced);
        Ok(())
    }

    /// Serves the configured USB probes `discovery` lists that are not
    /// served yet and, if `complete`, retires those it does not list.
    /// Whether anything changed.
    fn apply_usb_listing(&mut self, discovery: &Discovery, complete: bool) -> bool {
        self.retiring
            .retain(|retired| !retired.handle.is_finished());
        let mut changed = self.restart_dead_workers(discovery);
        let listed = |probe: &ProbeSelector| match probe {
            ProbeSelector::Serial(serial) => discovery
                .probes
                .iter()
                .find(|found| found.serial == *serial),
            ProbeSelector::Sim(_) => None,
        };
        // A virtual target's cable is known whether USB can be listed or not.
        changed |= self.retire_disconnected_virtual(VANISHED_GRACE);
        if complete {
            let (gone, kept): (Vec<Served>, Vec<Served>) = std::mem::take(&mut self.served)
                .into_iter()
                .partition(|served| {
                    matches!(served.probe, ProbeSelector::Serial(_))
                        && listed(&served.probe).is_none()
                });
            self.served = kept;
            for served in gone {
                log::warn!("probe {} was unplugged; no longer served", served.probe);
                let event = Event::Probe {
                    what: ProbeChange::Unplugged,
                    reason: None,
                };
                self.events.publish(&served.handle.info().unique_id, event);
                self.vanished.push(served.probe.clone());
                served
                    .handle
                    .retire(VANISHED_GRACE, "the probe vanished from USB");
                if config_names(&self.config.probes, &served.probe) {
                    self.skipped.push(served.probe.clone());
                }
                self.retiring.push(served);
                changed = true;
            }
        }
        let config = self.config.clone();
        for entry in &config.probes {
            let Some(found) = listed(&entry.probe) else {
                continue;
            };
            let waiting = self.server(&entry.probe).is_none()
                && !self.is_disabled(&entry.probe)
                // One that cannot be opened would be retried, and warned
                // about, every second.
                && found.open_problem.is_none()
                // Its old server still holds the device.
                && !self.retiring.iter().any(|r| r.probe == entry.probe);
            if !waiting {
                continue;
            }
            match self.start_entry(entry, &config, discovery) {
                Ok(served) => {
                    log::info!("probe {} appeared; serving it", entry.probe);
                    self.skipped.retain(|skipped| *skipped != entry.probe);
                    self.insert_in_file_order(served);
                    changed = true;
                }
                Err(e) => log::debug!("probe {} appeared but is not served: {e}", entry.probe),
            }
        }
        changed |= self.serve_unlisted(discovery);
        changed
    }
}

fn config_names(entries: &[crate::config::ProbeEntry], probe: &ProbeSelector) -> bool {
    entries.iter().any(|entry| entry.probe == *probe)
}

fn rescan_loop(farm: &Weak<Mutex<Farm>>, stopped: &Receiver<()>, on_change: &dyn Fn(&Farm)) {
    let mut told_unlistable = false;
    loop {
        match stopped.recv_timeout(RESCAN_INTERVAL) {
            Err(RecvTimeoutError::Timeout) => {}
            Ok(()) | Err(RecvTimeoutError::Disconnected) => return,
        }
        let Some(shared) = farm.upgrade() else {
            return;
        };
        // Not held while listing: the farm may be dropped meanwhile.
        drop(shared);
        let discovery = usb::discover();
        let unlistable = discovery
            .problems
            .iter()
            .find(|problem| problem.contains("unavailable"));
        if let Some(problem) = unlistable {
            if !told_unlistable {
                log::debug!("USB rescan: {problem}; trying again every {RESCAN_INTERVAL:?}");
                told_unlistable = true;
            }
        }
        let Some(shared) = farm.upgrade() else {
            return;
        };
        let mut farm = shared.lock();
        farm.rescans += 1;
        if farm.apply_usb_listing(&discovery, unlistable.is_none()) {
            on_change(&farm);
        }
    }
}
