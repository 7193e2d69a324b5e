//! Taking one probe out of service and back, by hand (the management
//! interface's `disable` and `enable`), without touching the others.
//!
//! Disabling retires the probe's server as a reload removing it would:
//! the port closes at once, clients are told (status 2) on their next
//! request and closed. The probe stays disabled across reloads for as
//! long as the file still names it; enabling serves it again on the port
//! the current configuration gives it.

use super::reload::RETIRE_GRACE;
use super::{discover_if_needed, EntryError, Farm, Served};
use crate::config::ProbeSelector;

/// Why a probe's service could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("probe {0} is not in the configuration")]
    Unknown(ProbeSelector),
    #[error("probe {0} is not served (absent or unusable), so it cannot be disabled")]
    NotServed(ProbeSelector),
    #[error("cannot serve probe {probe} again: {why}")]
    Unavailable { probe: ProbeSelector, why: String },
}

impl Farm {
    /// Stops serving `probe` (see the module doc). Disabling a disabled
    /// probe does nothing.
    pub fn disable(&mut self, probe: &ProbeSelector) -> Result<(), ControlError> {
        if !self.config.probes.iter().any(|e| e.probe == *probe) {
            return Err(ControlError::Unknown(probe.clone()));
        }
        if self.is_disabled(probe) {
            return Ok(());
        }
        let at = self
            .served
            .iter()
            .position(|served| served.probe == *probe)
            .ok_or_else(|| ControlError::NotServed(probe.clone()))?;
        let served = self.served.remove(at);
        served
            .handle
            .retire(RETIRE_GRACE, "disabled by the administrator");
        self.retiring.push(served);
        self.disabled.push(probe.clone());
        log::info!("disabled probe {probe}");
        Ok(())
    }

    /// Serves a disabled `probe` again. Enabling a probe that is not
    /// disabled does nothing.
    pub fn enable(&mut self, probe: &ProbeSelector) -> Result<(), ControlError> {
        let Some(entry) = self
            .config
            .probes
            .iter()
            .find(|e| e.probe == *probe)
            .cloned()
        else {
            return Err(ControlError::Unknown(probe.clone()));
        };
        if !self.is_disabled(probe) {
            return Ok(());
        }
        // A USB probe opens once: its retired server must let go of it
        // first (at most the retire grace).
        for retired in &mut self.retiring {
            if retired.probe == *probe {
                retired.handle.join();
            }
        }
        self.retiring
            .retain(|retired| !retired.handle.is_finished());
        let discovery = discover_if_needed(std::iter::once(&entry));
        let config = self.config.clone();
        let served = self
            .start_entry(&entry, &config, &discovery)
            .map_err(|e: EntryError| ControlError::Unavailable {
                probe: probe.clone(),
                why: e.to_string(),
            })?;
        self.disabled.retain(|disabled| disabled != probe);
        self.insert_in_file_order(served);
        log::info!("enabled probe {probe}");
        Ok(())
    }

    /// Adds `served` where the file lists it, so the farm lists it there.
    pub(super) fn insert_in_file_order(&mut self, served: Served) {
        let config = &self.config;
        // Unlisted probes after the listed ones, in the order they came.
        let rank = |p: &ProbeSelector| {
            config
                .probes
                .iter()
                .position(|e| e.probe == *p)
                .unwrap_or(usize::MAX)
        };
        self.vanished.retain(|vanished| *vanished != served.probe);
        self.served.push(served);
        self.served.sort_by_key(|served| rank(&served.probe));
    }

    /// Whether `probe` was disabled by hand.
    pub fn is_disabled(&self, probe: &ProbeSelector) -> bool {
        self.disabled.contains(probe)
    }
}
