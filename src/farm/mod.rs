//! The probe farm: every `[[probe]]` of a configuration file served on its
//! own port, as `probeshare serve --config FILE` does.
//!
//! Each probe gets a server of its own ([`server::spawn`]): its listener,
//! mio loop thread, arbiter and worker. Nothing is shared between probes,
//! so a slow or failing probe cannot delay another probe's clients.
//!
//! A USB probe that is not plugged in (or cannot be opened) at start is
//! logged as a warning and skipped; the others are served. A port that
//! cannot be listened on is an error: the file promised that port.

mod open;
#[cfg(test)]
mod tests;

use std::io;
use std::net::{SocketAddr, TcpListener};

use crate::cmsis_dap::usb::{self, Discovery};
use crate::config::{Config, ProbeSelector};
use crate::server::{self, ClientFilter, ServerConfig, ServerHandle, Stopper};

pub use open::{open_entry, open_usb, OpenError};

/// Settings for every probe that the configuration file does not hold.
#[derive(Clone, Debug, Default)]
pub struct FarmOptions {
    /// Hand out memory handles (see [`ServerConfig::memory_handles`]).
    pub memory_handles: bool,
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

/// One probe being served.
struct Served {
    probe: ProbeSelector,
    handle: ServerHandle,
}

/// The running farm. Dropping it stops every server.
pub struct Farm {
    served: Vec<Served>,
    skipped: Vec<ProbeSelector>,
}

impl Farm {
    /// Starts a server for every probe in `config` that can be opened.
    /// When it returns, every served probe's port is listening.
    pub fn start(config: &Config) -> Result<Farm, FarmError> {
        Farm::start_with(config, &FarmOptions::default())
    }

    pub fn start_with(config: &Config, options: &FarmOptions) -> Result<Farm, FarmError> {
        let filter = client_filter(config);
        let discovery = if config
            .probes
            .iter()
            .any(|entry| matches!(entry.probe, ProbeSelector::Serial(_)))
        {
            discover_usb()
        } else {
            Discovery {
                probes: Vec::new(),
                problems: Vec::new(),
            }
        };
        let mut farm = Farm {
            served: Vec::new(),
            skipped: Vec::new(),
        };
        for entry in &config.probes {
            let probe = match open::open_entry(entry, &discovery) {
                Ok(probe) => probe,
                Err(e) => {
                    log::warn!("{e}; port {} is not served", entry.port);
                    farm.skipped.push(entry.probe.clone());
                    continue;
                }
            };
            // On an error, `farm` is dropped here, stopping the servers
            // already started.
            let addr = SocketAddr::new(config.listen, entry.port);
            let listener = TcpListener::bind(addr).map_err(|source| FarmError::Listen {
                probe: entry.probe.clone(),
                addr,
                source,
            })?;
            let server_config = ServerConfig {
                limits: entry.limits.clone(),
                memory_handles: options.memory_handles,
                allow: filter.clone(),
            };
            let handle = server::spawn(listener, probe, server_config).map_err(|source| {
                FarmError::Start {
                    probe: entry.probe.clone(),
                    source,
                }
            })?;
            farm.served.push(Served {
                probe: entry.probe.clone(),
                handle,
            });
        }
        Ok(farm)
    }

    /// Every served probe and the address it listens on, in file order.
    pub fn addresses(&self) -> Vec<(ProbeSelector, SocketAddr)> {
        self.served
            .iter()
            .map(|served| (served.probe.clone(), served.handle.local_addr()))
            .collect()
    }

    /// The entries whose probe could not be opened at start.
    pub fn skipped(&self) -> &[ProbeSelector] {
        &self.skipped
    }

    /// Asks every server to stop, from any thread.
    pub fn stopper(&self) -> FarmStopper {
        FarmStopper(
            self.served
                .iter()
                .map(|served| served.handle.stopper())
                .collect(),
        )
    }

    /// Waits until every server has stopped (after [`FarmStopper::stop`]).
    pub fn join(&mut self) {
        for served in &mut self.served {
            served.handle.join();
        }
    }

    /// Stops every server and waits for all of them: they wind down
    /// (clients released, probes closed) side by side.
    pub fn shutdown(mut self) {
        self.stopper().stop();
        self.join();
    }
}

impl Drop for Farm {
    fn drop(&mut self) {
        self.stopper().stop();
        self.join();
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
fn client_filter(config: &Config) -> Option<ClientFilter> {
    if config.allow.is_empty() {
        return None;
    }
    let allowed = config.clone();
    Some(ClientFilter::new(move |address| allowed.allows(address)))
}

fn discover_usb() -> Discovery {
    let discovery = usb::discover();
    for problem in &discovery.problems {
        log::warn!("{problem}");
    }
    discovery
}
