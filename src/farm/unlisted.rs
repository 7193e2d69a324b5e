//! Which USB probes that no `[[probe]]` entry names are served, and on
//! which ports. Each gets a port from `port_range` and, when
//! `dap_port_range` is set, a DAP port from it, both remembered in the
//! state file (see [`PortAllocations`]) so it keeps its ports across
//! restarts and re-plugs; listed probes' serials and ports are never taken.
//!
//! Failures are per probe: a probe whose port cannot be allocated (range
//! exhausted) is skipped with a warning and the others are served. One
//! whose DAP port cannot be allocated is served without a DAP port, with
//! a warning: its pyOCD clients need not wait for a free DAP port. When
//! the state file cannot be written, the probes are served anyway on the
//! ports just given (they hold for this run) and the failure is logged:
//! refusing to serve a plugged-in probe over a disk problem helps no one.
//! A state file that cannot be read at all serves no unlisted probe, as
//! the ports it promised are unknown (the caller logs that).

use super::{EntryError, Farm};
use crate::cmsis_dap::usb::{Discovery, FoundProbe};
use crate::config::ports::{PortAllocations, PortStateError};
use crate::config::{Config, ProbeEntry, ProbeSelector};

/// An unlisted probe to serve, and its ports.
#[derive(Clone, Debug, PartialEq)]
pub struct UnlistedProbe {
    pub found: FoundProbe,
    pub port: u16,
    /// Its DAP port, when `dap_port_range` is set and had one for it.
    pub dap_port: Option<u16>,
}

impl UnlistedProbe {
    /// The entry it is served as: the global limits, no description (the
    /// USB product string stands in).
    pub fn entry(&self, config: &Config) -> ProbeEntry {
        ProbeEntry {
            probe: ProbeSelector::Serial(self.found.serial.clone()),
            port: self.port,
            dap_port: self.dap_port,
            name: None,
            description: None,
            limits: config.limits.clone(),
            limit_overrides: false,
        }
    }
}

/// The unlisted probes of `discovery` to serve, skipping those for which
/// `is_served` holds and those known to be unopenable. New ports are saved
/// to the state file before returning. Allocation failures are logged and
/// leave out that probe only.
pub fn plan_unlisted(
    config: &Config,
    discovery: &Discovery,
    is_served: impl Fn(&str) -> bool,
    ports: &mut PortAllocations,
) -> Vec<UnlistedProbe> {
    let listed = |serial: &str| {
        config
            .probes
            .iter()
            .any(|entry| matches!(&entry.probe, ProbeSelector::Serial(s) if s == serial))
    };
    let mut plan = Vec::new();
    let mut allocated_new = false;
    for found in &discovery.probes {
        if listed(&found.serial) || is_served(&found.serial) || found.open_problem.is_some() {
            continue;
        }
        let remembered = ports.port_of(&found.serial);
        let port = match ports.allocate(&found.serial) {
            Ok(port) => port,
            Err(e) => {
                log::warn!("unlisted probe {} is not served: {e}", found.serial);
                continue;
            }
        };
        allocated_new |= remembered != Some(port);
        let remembered_dap = ports.dap_port_of(&found.serial);
        let dap_port = match ports.allocate_dap(&found.serial) {
            None => None,
            Some(Ok(dap_port)) => {
                allocated_new |= remembered_dap != Some(dap_port);
                Some(dap_port)
            }
            Some(Err(e)) => {
                log::warn!(
                    "unlisted probe {} is served without a DAP port: {e}",
                    found.serial
                );
                None
            }
        };
        plan.push(UnlistedProbe {
            found: found.clone(),
            port,
            dap_port,
        });
    }
    if allocated_new {
        if let Err(e) = ports.save() {
            log::warn!("{e}; the new ports hold until probeshare restarts");
        }
    }
    plan
}

/// The port allocations for `config`, read from its state file.
pub fn load_ports(config: &Config) -> Result<PortAllocations, PortStateError> {
    PortAllocations::load_with_dap(
        &config.state_file,
        config.port_range,
        config.dap_port_range,
        config.listed_ports(),
    )
}

impl Farm {
    /// Serves the unlisted probes of `discovery` not served yet (see the
    /// module doc). Whether any was started.
    pub(super) fn serve_unlisted(&mut self, discovery: &Discovery) -> bool {
        if discovery.probes.is_empty() {
            return false;
        }
        if self.ports.is_none() {
            match load_ports(&self.config) {
                Ok(ports) => self.ports = Some(ports),
                Err(e) => {
                    if !self.told_ports_unreadable {
                        log::warn!("{e}; probes not in the configuration are not served");
                        self.told_ports_unreadable = true;
                    }
                    return false;
                }
            }
        }
        let Some(mut ports) = self.ports.take() else {
            return false;
        };
        let occupied = |serial: &str| {
            let probe = ProbeSelector::Serial(serial.to_owned());
            // A retiring server may still hold the device.
            self.served
                .iter()
                .chain(&self.retiring)
                .any(|served| served.probe == probe)
        };
        let plan = plan_unlisted(&self.config, discovery, occupied, &mut ports);
        self.ports = Some(ports);
        let config = self.config.clone();
        let mut started = false;
        for unlisted in plan {
            let entry = unlisted.entry(&config);
            match self.start_entry(&entry, &config, discovery) {
                Ok(served) => {
                    match entry.dap_port {
                        Some(dap_port) => log::info!(
                            "serving unlisted probe {} on port {} and DAP port {dap_port}",
                            entry.probe,
                            entry.port
                        ),
                        None => log::info!(
                            "serving unlisted probe {} on port {}",
                            entry.probe,
                            entry.port
                        ),
                    }
                    self.insert_in_file_order(served);
                    started = true;
                }
                // Unopenable ones were logged by `start_entry`.
                Err(EntryError::Unopened(_)) => {}
                Err(EntryError::Failed(e)) => log::warn!("{e}"),
            }
        }
        started
    }
}

#[cfg(test)]
mod tests;
