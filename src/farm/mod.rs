//! The probe farm: every `[[probe]]` of a configuration file served on its
//! own port, as `probeshare serve --config FILE` does.
//!
//! Each probe gets a server of its own ([`server::spawn_with_dap`]): its
//! listener (and its DAP port's, CMSIS-DAP over TCP for OpenOCD, when the
//! entry has a `dap_port`), mio loop thread, arbiter and worker. Nothing
//! is shared between probes, so a slow or failing probe cannot delay
//! another probe's clients.
//!
//! A USB probe that is not plugged in (or cannot be opened) at start is
//! logged as a warning and skipped; the others are served. A port that
//! cannot be listened on is an error: the file promised that port.
//!
//! Hot-plug: [`Farm::watch_usb`] starts a rescan that serves USB probes as
//! they appear and retires those that vanish (`rescan`); virtual targets
//! are unplugged and replugged by hand (`plug`).
//!
//! Every probe's server publishes on the farm's one event bus
//! ([`Farm::events`]); the farm itself publishes `probe` events: `present`
//! when it serves a probe, `replugged` when it serves one that had been
//! unplugged or had vanished, and `unplugged` (then the server's
//! `retired`) when one goes.
//!
//! USB probes that no entry names are served too, on ports from
//! `port_range` (and DAP ports from `dap_port_range`, if set) remembered
//! in the state file (`unlisted`), at start and as the rescan finds them;
//! they are retired when they vanish. A reload keeps them served while
//! their ports stay free under the new configuration.

mod control;
mod open;
mod plug;
mod reload;
mod rescan;
mod restart;
#[cfg(test)]
mod tests;
mod unlisted;

use std::collections::HashMap;
use std::io;
use std::net::{SocketAddr, TcpListener};

use crate::cmsis_dap::usb::{self, Discovery, FoundProbe};
use crate::config::ports::PortAllocations;
use crate::config::{Cidr, Config, ProbeEntry, ProbeSelector};
use crate::events::{Event, EventBus, ProbeChange};
use crate::server::{self, ClientFilter, Limits, ServerConfig, ServerHandle, Stopper};

pub use control::ControlError;
pub use open::{open_entry, open_probe, OpenError, Opened, ProbeSource};
pub use plug::PlugError;
pub use reload::ReloadReport;
pub use rescan::RESCAN_INTERVAL;

/// Settings for every probe that the configuration file does not hold.
#[derive(Clone, Debug, Default)]
pub struct FarmOptions {
    /// Hand out memory handles (see [`ServerConfig::memory_handles`]).
    pub memory_handles: bool,
    /// Tests of worker death: this probe's worker panics when it is asked
    /// to read this AP address (`probe::tripwire`).
    #[cfg(test)]
    pub tripwire: Option<(ProbeSelector, u32)>,
}

/// Why the farm could not start.
#[derive(Debug, thiserror::Error)]
pub enum FarmError {
    #[error("cannot listen on {addr} for probe {probe}: {source}")]
    Listen {
        probe: ProbeSelector,
        addr: SocketAddr,
        source: io::Error,
    },
    #[error("cannot start serving probe {probe}: {source}")]
    Start {
        probe: ProbeSelector,
        source: io::Error,
    },
}

/// Why one entry is not served.
#[derive(Debug, thiserror::Error)]
enum EntryError {
    /// Its probe is absent or unusable: the others are served anyway.
    #[error(transparent)]
    Unopened(OpenError),
    /// Its port or server failed.
    #[error(transparent)]
    Failed(#[from] FarmError),
}

/// One probe being served.
struct Served {
    probe: ProbeSelector,
    /// What it is served with; a reload restarts it when that changes.
    serving: ServingKey,
    handle: ServerHandle,
    /// A virtual target's cable, for [`Farm::unplug`], and its faults.
    cable: Option<open::VirtualCable>,
    /// A USB probe's listing, as found when it was opened.
    usb: Option<FoundProbe>,
}

/// Everything of the configuration that shapes how one probe is served.
#[derive(Debug, PartialEq)]
struct ServingKey {
    probe: ProbeSelector,
    addr: SocketAddr,
    dap_addr: Option<SocketAddr>,
    description: Option<String>,
    limits: Limits,
    allow: Vec<Cidr>,
}

impl ServingKey {
    fn of(entry: &ProbeEntry, config: &Config) -> ServingKey {
        ServingKey {
            probe: entry.probe.clone(),
            addr: SocketAddr::new(config.listen, entry.port),
            dap_addr: entry
                .dap_port
                .map(|port| SocketAddr::new(config.listen, port)),
            description: entry.description.clone(),
            limits: entry.limits.clone(),
            allow: config.allow.clone(),
        }
    }
}

/// The running farm. Dropping it stops every server.
pub struct Farm {
    served: Vec<Served>,
    skipped: Vec<ProbeSelector>,
    /// Servers removed by a reload, telling their clients before they end.
    retiring: Vec<Served>,
    /// Probes taken out of service by [`Farm::disable`].
    disabled: Vec<ProbeSelector>,
    /// Virtual targets unplugged by [`Farm::unplug`].
    unplugged: Vec<ProbeSelector>,
    /// USB probes that vanished: when one is served again it is
    /// `replugged`, not `present` (docs/protocol.md, "Events").
    vanished: Vec<ProbeSelector>,
    /// The bus every probe's server publishes on.
    events: EventBus,
    /// The USB rescan, once [`Farm::watch_usb`] started it.
    rescan: Option<rescan::RescanThread>,
    /// USB listings the rescan has applied ([`Farm::rescans`]).
    rescans: u64,
    /// The configuration served, for [`Farm::enable`].
    config: Config,
    options: FarmOptions,
    /// The unlisted probes' ports, read from the state file when first
    /// needed (a farm that never sees one never touches the file).
    ports: Option<PortAllocations>,
    /// The state file could not be read; said once, not every rescan.
    told_ports_unreadable: bool,
    /// How many times each probe's worker thread died (`restart`).
    worker_deaths: HashMap<ProbeSelector, u64>,
}

impl Farm {
    /// Starts a server for every probe in `config` that can be opened.
    /// When it returns, every served probe's port is listening.
    pub fn start(config: &Config) -> Result<Farm, FarmError> {
        Farm::start_with(config, &FarmOptions::default())
    }

    pub fn start_with(config: &Config, options: &FarmOptions) -> Result<Farm, FarmError> {
        let mut farm = Farm {
            served: Vec::new(),
            skipped: Vec::new(),
            retiring: Vec::new(),
            disabled: Vec::new(),
            unplugged: Vec::new(),
            vanished: Vec::new(),
            events: EventBus::new(),
            rescan: None,
            rescans: 0,
            config: config.clone(),
            options: options.clone(),
            ports: None,
            told_ports_unreadable: false,
            worker_deaths: HashMap::new(),
        };
        // Always listed: probes that no entry names are served too.
        let discovery = discover_usb();
        for entry in &config.probes {
            // On an error, `farm` is dropped here, stopping the servers
            // already started.
            match farm.start_entry(entry, config, &discovery) {
                Ok(served) => farm.served.push(served),
                Err(EntryError::Unopened(_)) => farm.skipped.push(entry.probe.clone()),
                Err(EntryError::Failed(e)) => return Err(e),
            }
        }
        farm.serve_unlisted(&discovery);
        Ok(farm)
    }

    /// Opens `entry`'s probe and serves it. A probe that cannot be
    /// opened is logged here.
    fn start_entry(
        &self,
        entry: &ProbeEntry,
        config: &Config,
        discovery: &Discovery,
    ) -> Result<Served, EntryError> {
        let (probe, cable) = open::open_entry(entry, discovery).map_err(|e| {
            log::warn!("{e}; port {} is not served", entry.port);
            EntryError::Unopened(e)
        })?;
        #[cfg(test)]
        let probe = match &self.options.tripwire {
            Some((tripped, address)) if *tripped == entry.probe => {
                crate::probe::tripwire::Tripwire::wrap(probe, *address)
            }
            _ => probe,
        };
        let bind = |port: u16| {
            let addr = SocketAddr::new(config.listen, port);
            TcpListener::bind(addr).map_err(|source| FarmError::Listen {
                probe: entry.probe.clone(),
                addr,
                source,
            })
        };
        let listener = bind(entry.port)?;
        let dap_listener = entry.dap_port.map(bind).transpose()?;
        let server_config = ServerConfig {
            limits: entry.limits.clone(),
            memory_handles: self.options.memory_handles,
            allow: client_filter(config),
            events: self.events.clone(),
        };
        let handle = server::spawn_with_dap(listener, dap_listener, probe, server_config).map_err(
            |source| FarmError::Start {
                probe: entry.probe.clone(),
                source,
            },
        )?;
        let back = self.unplugged.contains(&entry.probe) || self.vanished.contains(&entry.probe);
        let what = if back {
            ProbeChange::Replugged
        } else {
            ProbeChange::Present
        };
        let event = Event::Probe { what, reason: None };
        self.events.publish(&handle.info().unique_id, event);
        let usb = match &entry.probe {
            ProbeSelector::Serial(serial) => discovery
                .probes
                .iter()
                .find(|found| found.serial == *serial)
                .cloned(),
            ProbeSelector::Sim(_) => None,
        };
        Ok(Served {
            probe: entry.probe.clone(),
            serving: ServingKey::of(entry, config),
            handle,
            cable,
            usb,
        })
    }

    /// The bus every probe's events are published on (docs/protocol.md,
    /// "Events"): the management API's `GET /events` listens to it.
    pub fn events(&self) -> &EventBus {
        &self.events
    }

    /// Every served probe and the address it listens on, in file order.
    pub fn addresses(&self) -> Vec<(ProbeSelector, SocketAddr)> {
        self.served
            .iter()
            .map(|served| (served.probe.clone(), served.handle.local_addr()))
            .collect()
    }

    /// The DAP port `probe` is served on (CMSIS-DAP over TCP), if it is
    /// served with one.
    pub fn dap_port(&self, probe: &ProbeSelector) -> Option<u16> {
        self.server(probe)
            .and_then(ServerHandle::dap_addr)
            .map(|addr| addr.port())
    }

    /// The server of `probe`, if it is served.
    pub fn server(&self, probe: &ProbeSelector) -> Option<&ServerHandle> {
        self.served
            .iter()
            .find(|served| served.probe == *probe)
            .map(|served| &served.handle)
    }

    /// What USB listed about `probe` when it was opened, if it is a
    /// served USB probe.
    pub fn usb_facts(&self, probe: &ProbeSelector) -> Option<&FoundProbe> {
        self.served
            .iter()
            .find(|served| served.probe == *probe)
            .and_then(|served| served.usb.as_ref())
    }

    /// The served probes that no entry names, with their ports, in the
    /// order they were found.
    pub fn unlisted(&self) -> Vec<(ProbeSelector, u16)> {
        self.served
            .iter()
            .filter(|served| !self.config.probes.iter().any(|e| e.probe == served.probe))
            .map(|served| (served.probe.clone(), served.serving.addr.port()))
            .collect()
    }

    /// The configuration served.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The entries whose probe could not be opened at start.
    pub fn skipped(&self) -> &[ProbeSelector] {
        &self.skipped
    }

    /// Asks every server to stop, from any thread.
    /// Servers that a later reload starts are not covered.
    pub fn stopper(&self) -> FarmStopper {
        FarmStopper(
            self.served
                .iter()
                .chain(&self.retiring)
                .map(|served| served.handle.stopper())
                .collect(),
        )
    }

    /// Waits until every server has stopped (after [`FarmStopper::stop`]).
    pub fn join(&mut self) {
        for served in &mut self.served {
            served.handle.join();
        }
        for retired in &mut self.retiring {
            retired.handle.join();
        }
    }

    /// Stops every server and waits for all of them: they wind down
    /// (clients released, probes closed) side by side.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        // First, so that no probe is started behind the servers' backs.
        drop(self.rescan.take());
        self.stopper().stop();
        self.join();
    }
}

impl Drop for Farm {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Stops every server of a farm; cheap to clone and send to other threads.
#[derive(Clone)]
pub struct FarmStopper(Vec<Stopper>);

impl FarmStopper {
    pub fn stop(&self) {
        for stopper in &self.0 {
            stopper.stop();
        }
    }
}

/// The allow-list as the servers apply it; none when it allows everyone.
pub fn client_filter(config: &Config) -> Option<ClientFilter> {
    if config.allow.is_empty() {
        return None;
    }
    let allowed = config.clone();
    Some(ClientFilter::new(move |address| allowed.allows(address)))
}

/// The USB probes, listed only if an entry names one.
fn discover_if_needed<'a>(mut entries: impl Iterator<Item = &'a ProbeEntry>) -> Discovery {
    if entries.any(|entry| matches!(entry.probe, ProbeSelector::Serial(_))) {
        discover_usb()
    } else {
        Discovery {
            probes: Vec::new(),
            problems: Vec::new(),
        }
    }
}

fn discover_usb() -> Discovery {
    let discovery = usb::discover();
    for problem in &discovery.problems {
        log::warn!("{problem}");
    }
    discovery
}
