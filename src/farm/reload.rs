//! Reloading the farm from a changed configuration (SIGHUP): servers whose
//! entry is unchanged keep running untouched, with their listener and
//! clients; the others are retired and new ones started.
//!
//! An entry counts as unchanged only if everything that shapes its serving
//! is (probe, address, DAP port, description, limits, allow-list): a
//! changed entry is a removed one and an added one. A removed probe's clients are told
//! (status 2 on their next request) and closed, see
//! [`ServerHandle::retire`](crate::server::ServerHandle::retire). A probe
//! disabled by hand stays disabled while the file still names it, and a
//! virtual target unplugged by hand stays unplugged.
//!
//! An unlisted USB probe keeps running if it is still unlisted and its
//! port is still in `port_range` and no entry's, its DAP port likewise in
//! `dap_port_range` (none while that is not set; one once it is, unless
//! the same range was already full), with nothing else of its serving changed; otherwise it is retired
//! and the rescan serves it anew (on its new ports) once its old server
//! has let go of the device.

use std::fmt;
use std::time::Duration;

use super::{discover_if_needed, EntryError, Farm, Served, ServingKey};
use crate::config::{Config, ProbeSelector};

/// How long a removed probe's idle clients are kept, waiting for a
/// request to answer with "removed", before they are closed unanswered.
pub const RETIRE_GRACE: Duration = Duration::from_secs(10);

/// What a reload did, by probe, in file order.
#[derive(Debug, Default, PartialEq)]
pub struct ReloadReport {
    pub started: Vec<ProbeSelector>,
    /// Retired: removed from the file, or changed (then also `started`).
    pub stopped: Vec<ProbeSelector>,
    pub unchanged: Vec<ProbeSelector>,
    /// Entries of the new file that are not served, and why.
    pub failed: Vec<(ProbeSelector, String)>,
}

impl fmt::Display for ReloadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let list = |probes: &[ProbeSelector]| {
            probes
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        write!(
            f,
            "started [{}], stopped [{}], unchanged [{}]",
            list(&self.started),
            list(&self.stopped),
            list(&self.unchanged)
        )?;
        for (probe, why) in &self.failed {
            write!(f, "; {probe} not served: {why}")?;
        }
        Ok(())
    }
}

impl Farm {
    /// Serves `new` from now on (see the module doc). Never fails as a
    /// whole: an entry that cannot be served is in `failed`, the rest is
    /// served. Unchanged entries that could not be opened before are
    /// tried again (the probe may be plugged in now).
    pub fn reload(&mut self, new: &Config) -> ReloadReport {
        self.reload_with_grace(new, RETIRE_GRACE)
    }

    /// [`Farm::reload`] with the time a removed probe's idle clients get.
    pub fn reload_with_grace(&mut self, new: &Config, grace: Duration) -> ReloadReport {
        // Dropping a finished server joins a thread that has ended.
        self.retiring
            .retain(|retired| !retired.handle.is_finished());
        let wanted: Vec<ServingKey> = new
            .probes
            .iter()
            .map(|entry| ServingKey::of(entry, new))
            .collect();
        let mut report = ReloadReport::default();
        let (mut kept, gone): (Vec<_>, Vec<_>) = std::mem::take(&mut self.served)
            .into_iter()
            .partition(|served| {
                wanted.contains(&served.serving) || stays_unlisted(served, &self.config, new)
            });
        // Retired first: that frees their ports for the entries that
        // take them over.
        for served in gone {
            served
                .handle
                .retire(grace, "removed from the configuration");
            report.stopped.push(served.probe.clone());
            self.retiring.push(served);
        }
        let discovery = discover_if_needed(
            new.probes
                .iter()
                .zip(&wanted)
                .filter(|(_, key)| !kept.iter().any(|served| &served.serving == *key))
                .map(|(entry, _)| entry),
        );
        self.skipped.clear();
        self.disabled
            .retain(|disabled| new.probes.iter().any(|entry| entry.probe == *disabled));
        self.unplugged
            .retain(|unplugged| new.probes.iter().any(|entry| entry.probe == *unplugged));
        self.config = new.clone();
        // Read again: the range and the listed ports may have changed.
        self.ports = None;
        self.told_ports_unreadable = false;
        for (entry, key) in new.probes.iter().zip(wanted) {
            if self.disabled.contains(&entry.probe) || self.unplugged.contains(&entry.probe) {
                // Stays out of service until enabled or replugged by hand.
                continue;
            }
            if let Some(at) = kept.iter().position(|served| served.serving == key) {
                report.unchanged.push(entry.probe.clone());
                self.served.push(kept.remove(at));
                continue;
            }
            if matches!(entry.probe, ProbeSelector::Serial(_)) {
                // A USB probe opens once: a changed entry's old server
                // must have let go of it (at most `grace`).
                for retired in &mut self.retiring {
                    if retired.probe == entry.probe {
                        retired.handle.join();
                    }
                }
            }
            match self.start_entry(entry, new, &discovery) {
                Ok(served) => {
                    report.started.push(entry.probe.clone());
                    self.vanished.retain(|vanished| *vanished != served.probe);
                    self.served.push(served);
                }
                Err(e) => {
                    if matches!(e, EntryError::Unopened(_)) {
                        self.skipped.push(entry.probe.clone());
                    } else {
                        log::error!("{e}");
                    }
                    report.failed.push((entry.probe.clone(), e.to_string()));
                }
            }
        }
        // What is left of `kept` are the unlisted probes that stay.
        for served in kept {
            report.unchanged.push(served.probe.clone());
            self.insert_in_file_order(served);
        }
        report
    }
}

/// Whether `served`, an unlisted probe under `old`, is served just the
/// same under `new`.
fn stays_unlisted(served: &Served, old: &Config, new: &Config) -> bool {
    let named = |config: &Config| config.probes.iter().any(|e| e.probe == served.probe);
    let port = served.serving.addr.port();
    let dap_port = served.serving.dap_addr.map(|addr| addr.port());
    let free = |port: u16| !new.listed_ports().any(|listed| listed == port);
    let dap_port_stays = match (dap_port, new.dap_port_range) {
        (None, None) => true,
        (Some(dap_port), Some(range)) => range.contains(dap_port) && free(dap_port),
        // Had none in the same range: it was full, and still is.
        (None, Some(range)) => old.dap_port_range == Some(range),
        // Lost its range.
        (Some(_), None) => false,
    };
    served.usb.is_some()
        && !named(old)
        && !named(new)
        && new.port_range.contains(port)
        && free(port)
        && dap_port_stays
        && served.serving
            == ServingKey {
                probe: served.probe.clone(),
                addr: std::net::SocketAddr::new(new.listen, port),
                dap_addr: dap_port.map(|dap_port| std::net::SocketAddr::new(new.listen, dap_port)),
                description: None,
                limits: new.limits.clone(),
                allow: new.allow.clone(),
            }
}
