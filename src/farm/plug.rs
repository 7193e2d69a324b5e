//! Pulling a virtual target's cable and plugging it back in (the
//! management interface's `unplug` and `replug`), so that what a real
//! probe's disappearance does to its clients can be tried without one.
//!
//! Unplugging first disconnects the emulated firmware, so a request the
//! probe is working on fails with status 2 (probe disconnected) through the
//! driver, as a vanished USB device's would; then the server is retired
//! like a removed probe's: the port closes, later requests get status 2
//! and their clients are closed. The probe shows as absent. Replugging
//! opens a fresh virtual target (a replugged device is opened anew) on the
//! port the current configuration gives it.
//!
//! A virtual target whose cable comes out by itself (an injected USB
//! disconnect, `sim::dap_firmware::ReplyFault::Disconnect`) is retired by
//! the USB rescan as a vanished USB probe is, and then counts as unplugged.

use std::time::Duration;

use super::reload::RETIRE_GRACE;
use super::{discover_if_needed, Farm};
use crate::config::ProbeSelector;
use crate::events::{Event, ProbeChange};
use crate::sim::dap_firmware::FaultHandle;

/// Why a virtual target's cable could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum PlugError {
    #[error("probe {0} is not in the configuration")]
    Unknown(ProbeSelector),
    #[error("probe {0} is a USB probe: only virtual targets are unplugged by hand")]
    NotVirtual(ProbeSelector),
    #[error("probe {0} is not served, so it cannot be unplugged")]
    NotServed(ProbeSelector),
    #[error("probe {0} was not unplugged")]
    NotUnplugged(ProbeSelector),
    #[error("cannot serve probe {probe} again: {why}")]
    Unavailable { probe: ProbeSelector, why: String },
}

impl Farm {
    /// Unplugs virtual target `probe` (see the module doc).
    pub fn unplug(&mut self, probe: &ProbeSelector) -> Result<(), PlugError> {
        self.check_virtual(probe)?;
        let at = self
            .served
            .iter()
            .position(|served| served.probe == *probe)
            .ok_or_else(|| PlugError::NotServed(probe.clone()))?;
        let served = self.served.remove(at);
        if let Some(cable) = &served.cable {
            cable.plug.unplug();
        }
        let event = Event::Probe {
            what: ProbeChange::Unplugged,
            reason: None,
        };
        self.events.publish(&served.handle.info().unique_id, event);
        served.handle.retire(RETIRE_GRACE, "unplugged");
        self.retiring.push(served);
        self.unplugged.push(probe.clone());
        log::info!("unplugged virtual probe {probe}");
        Ok(())
    }

    /// Plugs unplugged virtual target `probe` back in and serves it again.
    pub fn replug(&mut self, probe: &ProbeSelector) -> Result<(), PlugError> {
        self.check_virtual(probe)?;
        if !self.is_unplugged(probe) {
            return Err(PlugError::NotUnplugged(probe.clone()));
        }
        self.retiring
            .retain(|retired| !retired.handle.is_finished());
        let Some(entry) = self.config.probes.iter().find(|e| e.probe == *probe) else {
            return Err(PlugError::Unknown(probe.clone()));
        };
        let entry = entry.clone();
        let config = self.config.clone();
        let discovery = discover_if_needed(std::iter::once(&entry));
        let served =
            self.start_entry(&entry, &config, &discovery)
                .map_err(|e| PlugError::Unavailable {
                    probe: probe.clone(),
                    why: e.to_string(),
                })?;
        self.unplugged.retain(|unplugged| unplugged != probe);
        self.insert_in_file_order(served);
        log::info!("replugged virtual probe {probe}");
        Ok(())
    }

    /// The fault injection of served virtual target `probe`
    /// (`sim::dap_firmware::FaultHandle`), for tests in this process.
    pub fn virtual_faults(&self, probe: &ProbeSelector) -> Option<FaultHandle> {
        let served = self.served.iter().find(|served| served.probe == *probe)?;
        served.cable.as_ref().map(|cable| cable.faults.clone())
    }

    /// Retires the served virtual targets whose cable came out without
    /// [`Farm::unplug`] (a fault injected in the middle of a batch), as
    /// the rescan retires a USB probe that vanished; each then shows as
    /// unplugged, and `replug` serves it again. Whether any was.
    pub(super) fn retire_disconnected_virtual(&mut self, grace: Duration) -> bool {
        let (gone, kept): (Vec<_>, Vec<_>) = std::mem::take(&mut self.served)
            .into_iter()
            .partition(|served| {
                served
                    .cable
                    .as_ref()
                    .is_some_and(|cable| !cable.plug.is_plugged())
            });
        self.served = kept;
        let changed = !gone.is_empty();
        for served in gone {
            log::warn!(
                "virtual probe {} lost its USB connection; no longer served",
                served.probe
            );
            let event = Event::Probe {
                what: ProbeChange::Unplugged,
                reason: None,
            };
            self.events.publish(&served.handle.info().unique_id, event);
            served.handle.retire(grace, "the probe vanished from USB");
            self.unplugged.push(served.probe.clone());
            self.retiring.push(served);
        }
        changed
    }

    /// Whether virtual target `probe` was unplugged by hand.
    pub fn is_unplugged(&self, probe: &ProbeSelector) -> bool {
        self.unplugged.contains(probe)
    }

    fn check_virtual(&self, probe: &ProbeSelector) -> Result<(), PlugError> {
        if !self.config.probes.iter().any(|e| e.probe == *probe) {
            return Err(PlugError::Unknown(probe.clone()));
        }
        match probe {
            ProbeSelector::Sim(_) => Ok(()),
            ProbeSelector::Serial(_) => Err(PlugError::NotVirtual(probe.clone())),
        }
    }
}
