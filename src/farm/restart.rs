//! Serving a probe anew after its worker thread died (ARCHITECTURE.md,
//! "Worker death").
//!
//! A server whose worker ends on its own (a panic) answers everything the
//! worker had with status 2 `probe disconnected: internal error` and
//! retires itself, as for a probe that vanished: its port closes at once
//! and its clients are closed within a second. The farm's periodic
//! rescan ([`Farm::watch_usb`], every `RESCAN_INTERVAL`) finds such a
//! server, counts the death against the probe (the management
//! interface's `probeshare_worker_deaths_total`), and serves the probe
//! again at once, opened afresh, on the ports the configuration gives it:
//! the panic dropped the device, and the dead server's listeners are
//! already closed, so nothing stands in the way. A probe no entry names
//! is served again as any unlisted probe is, by a rescan after its old
//! server has closed its clients; a listed USB probe that cannot be
//! opened again is served when a later rescan lists it, as a replugged
//! one would be. There is no back-off: a worker that dies again is
//! restarted again on the next rescan, one probe open each time, logged
//! each time.

use super::Farm;
use crate::cmsis_dap::usb::Discovery;
use crate::config::ProbeSelector;

impl Farm {
    /// Takes out the servers whose worker died, counts each death and
    /// serves their listed probes anew. Whether anything changed.
    pub(super) fn restart_dead_workers(&mut self, discovery: &Discovery) -> bool {
        let (dead, alive): (Vec<_>, Vec<_>) = std::mem::take(&mut self.served)
            .into_iter()
            .partition(|served| served.handle.worker_died());
        self.served = alive;
        if dead.is_empty() {
            return false;
        }
        let config = self.config.clone();
        for served in dead {
            let probe = served.probe.clone();
            *self.worker_deaths.entry(probe.clone()).or_insert(0) += 1;
            // It retired itself; it ends once its clients are closed.
            self.retiring.push(served);
            let Some(entry) = config.probes.iter().find(|entry| entry.probe == probe) else {
                log::warn!(
                    "the worker of unlisted probe {probe} died; it is served again \
                     once its old server has closed its clients"
                );
                continue;
            };
            match self.start_entry(entry, &config, discovery) {
                Ok(served) => {
                    log::warn!(
                        "the worker of probe {probe} died; serving it anew on port {}",
                        entry.port
                    );
                    self.insert_in_file_order(served);
                }
                Err(e) => log::warn!(
                    "the worker of probe {probe} died and it cannot be served anew now \
                     (it is once USB lists it again): {e}"
                ),
            }
        }
        true
    }

    /// How many times the worker of `probe` died since the farm started.
    pub fn worker_deaths(&self, probe: &ProbeSelector) -> u64 {
        self.worker_deaths.get(probe).copied().unwrap_or(0)
    }
}

#[cfg(test)]
mod tests;
